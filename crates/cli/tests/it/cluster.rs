//! Clustering: accuracy against the simulator's truth, explainable merges checked against
//! the index, and wallets of a real `litecoind` that must never mix.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::{json, Value};
use sleuth_analysis::cluster::accuracy::Accuracy;
use sleuth_analysis::cluster::{BuildReport, ClusterInfo, WhyAnswer};
use sleuth_testkit::RegtestNode;

use crate::common::{cluster_export, ingest, rows, simulate, sleuth, tx};

/// CoinJoins a fresh build with the default heuristics recognises.
fn coinjoins_recognised(d: &Path) -> u64 {
    // Switching the heuristics forces the next build to start over.
    sleuth(d, ["cluster", "build", "--heuristics", "multi-input", "-q"]).run();
    let r: BuildReport = sleuth(d, ["cluster", "build", "--json", "-q"]).run_json();
    assert!(!r.incremental);
    r.coinjoins.values().sum()
}

#[test]
fn simulated_chain_clusters_precisely_and_explains_every_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    simulate(&sim, &["--transactions", "30000", "--seed", "7"]);
    let d = tmp.path().join("idx");
    ingest(&d, &sim.join("blocks"), &[]);
    let truth = sim.join("truth");
    let read = |f: &str| std::fs::read_to_string(truth.join(f)).unwrap();
    let (addresses, entities, coinjoins) = (read("addresses.csv"), read("entities.csv"), read("coinjoins.csv"));
    let owner: HashMap<&str, &str> = rows(&addresses).into_iter().map(|r| (r["address"], r["entity_id"])).collect();
    let kind: HashMap<&str, &str> = rows(&entities).into_iter().map(|r| (r["entity_id"], r["kind"])).collect();

    // Multi-input alone, then the default set: both scored against the truth.
    let mut scores = Vec::new();
    for h in ["multi-input", "multi-input,change"] {
        let r: BuildReport = sleuth(&d, ["cluster", "build", "--heuristics", h, "--json", "-q"]).run_json();
        assert!(!r.incremental);
        let acc: Accuracy =
            sleuth(&d, ["cluster", "evaluate", "--truth", truth.to_str().unwrap(), "--json"]).run_json();
        assert!(acc.addresses > 1000, "{acc:?}");
        assert!(acc.precision >= 0.98, "{h}: precision {acc:?}");
        scores.push(acc);
    }
    assert!(scores[1].recall >= scores[0].recall, "change heuristics add links: {scores:?}");

    // No cluster joins a thief with an exchange, and no CoinJoin merged anything.
    let clusters = cluster_export(&d);
    let mut kinds_of: HashMap<u64, HashSet<&str>> = HashMap::new();
    for (a, c) in &clusters {
        if let Some(k) = owner.get(a.as_str()).and_then(|e| kind.get(e)) {
            kinds_of.entry(*c).or_default().insert(k);
        }
    }
    for ks in kinds_of.values() {
        assert!(!(ks.contains("thief") && ks.contains("exchange")), "a cluster mixes a thief and an exchange: {ks:?}");
    }
    let coinjoins = rows(&coinjoins);
    let detected = coinjoins_recognised(&d);
    assert!(detected as f64 >= 0.95 * coinjoins.len() as f64, "{detected} of {} coinjoins recognised", coinjoins.len());
    for cj in &coinjoins {
        // Participants may be linked by other evidence, but never by the CoinJoin itself.
        let t = tx(&d, cj["txid"]);
        let inputs: Vec<&str> = t.inputs.iter().filter_map(|i| i.address.as_deref()).collect();
        for pair in inputs.windows(2) {
            if clusters[pair[0]] == clusters[pair[1]] && owner.get(pair[0]) != owner.get(pair[1]) {
                let why: WhyAnswer = sleuth(&d, ["cluster", "why", pair[0], pair[1], "--json"]).run_json();
                assert!(why.steps.iter().all(|s| s.txid != cj["txid"]), "coinjoin {} merged {pair:?}", cj["txid"]);
            }
        }
    }

    // `cluster why` on two addresses of one wallet: every step is real evidence in the index.
    let mut by_cluster: HashMap<u64, Vec<&String>> = HashMap::new();
    for (a, c) in &clusters {
        by_cluster.entry(*c).or_default().push(a);
    }
    let big = by_cluster.values().filter(|m| m.len() >= 3).take(5).collect::<Vec<_>>();
    assert!(!big.is_empty());
    for members in big {
        let (a, b) = (members[0], members[members.len() - 1]);
        let why: WhyAnswer = sleuth(&d, ["cluster", "why", a, b, "--json"]).run_json();
        assert!(why.linked && !why.steps.is_empty());
        assert_eq!((&why.steps[0].from, &why.steps.last().unwrap().to), (a, b));
        for st in &why.steps {
            let t = tx(&d, &st.txid);
            let ins: HashSet<&str> = t.inputs.iter().filter_map(|i| i.address.as_deref()).collect();
            let outs: HashSet<&str> = t.outputs.iter().filter_map(|o| o.address.as_deref()).collect();
            let (from, to) = (st.from.as_str(), st.to.as_str());
            let spends_both = ins.contains(from) && ins.contains(to);
            let spends_one_pays_other =
                (ins.contains(from) && outs.contains(to)) || (ins.contains(to) && outs.contains(from));
            if st.heuristics == ["multi-input"] {
                assert!(spends_both, "{st:?} is not a common spend");
            } else {
                assert!(spends_one_pays_other, "{st:?} is not a payment with change");
            }
        }
        let info: ClusterInfo = sleuth(&d, ["cluster", a, "--json"]).run_json();
        assert_eq!(info.size as usize, members.len());
    }

    // Unrelated addresses are "not linked".
    let (x, y) = by_cluster
        .values()
        .map(|m| m[0])
        .take(2)
        .collect::<Vec<_>>()
        .try_into()
        .map(|v: [&String; 2]| (v[0], v[1]))
        .unwrap();
    let why: WhyAnswer = sleuth(&d, ["cluster", "why", x, y, "--json"]).run_json();
    assert!(!why.linked && why.steps.is_empty());

    // Incremental: the same build again extends the saved clustering.
    let r: BuildReport = sleuth(&d, ["cluster", "build", "--json", "-q"]).run_json();
    assert!(r.incremental && r.transactions == 0);
}

/// The owning wallet of every address the wallets know, asked of the node.
fn owners(node: &RegtestNode, wallets: &[&str], addrs: &HashSet<String>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for a in addrs {
        for w in wallets {
            if node.wallet_rpc(w, "getaddressinfo", json!([a]))["ismine"] == true {
                out.insert(a.clone(), w.to_string());
            }
        }
    }
    out
}

/// A CoinJoin built with PSBTs across wallets: each puts in one coin and takes back `amount`
/// to a fresh address plus its change.
fn coinjoin(node: &RegtestNode, wallets: &[&str], amount: f64) -> String {
    let mut inputs = Vec::new();
    let mut outputs = serde_json::Map::new();
    for w in wallets {
        let utxo = node
            .wallet_rpc(w, "listunspent", json!([1]))
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["amount"].as_f64().unwrap() > amount + 0.01)
            .cloned()
            .unwrap();
        inputs.push(json!({"txid": utxo["txid"], "vout": utxo["vout"]}));
        outputs.insert(node.new_address(w, "bech32"), json!(amount));
        let change = (utxo["amount"].as_f64().unwrap() - amount - 0.0001) * 1e8;
        outputs.insert(node.new_address(w, "bech32"), json!((change.round() / 1e8)));
    }
    let mut psbt = node.rpc("createpsbt", json!([inputs, outputs]));
    for w in wallets {
        psbt = node.wallet_rpc(w, "walletprocesspsbt", json!([psbt]))["psbt"].clone();
    }
    let done = node.rpc("finalizepsbt", json!([psbt]));
    assert_eq!(done["complete"], true, "{done}");
    node.rpc("sendrawtransaction", json!([done["hex"]])).as_str().unwrap().to_owned()
}

#[test]
fn wallets_of_a_real_node_never_mix() {
    let node = RegtestNode::start();
    let wallets = ["alice", "bob", "carol", "dave"];
    for w in wallets {
        node.create_wallet(w);
    }
    let miner = node.new_address("alice", "bech32");
    node.mine(105, &miner);
    // Fund everyone with several coins, then ordinary payments with change between them.
    for w in &wallets[1..] {
        for kind in ["legacy", "p2sh-segwit", "bech32"] {
            let a = node.new_address(w, kind);
            node.wallet_rpc("alice", "sendtoaddress", json!([a, 3.0]));
        }
    }
    node.mine(1, &miner);
    for (from, to) in [("bob", "carol"), ("carol", "dave"), ("dave", "bob"), ("bob", "alice"), ("carol", "alice")] {
        let a = node.new_address(to, "bech32");
        node.wallet_rpc(from, "sendtoaddress", json!([a, 4.2])); // needs two coins: multi-input
    }
    node.mine(1, &miner);
    let cj = [coinjoin(&node, &wallets[1..], 1.0), coinjoin(&node, &["alice", "bob"], 0.5)];
    node.mine(1, &miner);

    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("idx");
    ingest(&d, &node.blocks_dir(), &[]);
    let r: Value = sleuth(&d, ["cluster", "build", "--json", "-q"]).run_json();
    assert!(r["coinjoins"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum::<u64>() >= 2, "{r}");
    let clusters = cluster_export(&d);
    let addrs: HashSet<String> = clusters.keys().cloned().collect();
    let owner = owners(&node, &wallets, &addrs);
    let mut wallets_of: HashMap<u64, HashSet<&String>> = HashMap::new();
    for (a, w) in &owner {
        wallets_of.entry(clusters[a]).or_default().insert(w);
    }
    for (c, ws) in &wallets_of {
        assert_eq!(ws.len(), 1, "cluster {c} mixes wallets {ws:?}");
    }
    // Multi-input did link something in each payer's wallet.
    assert!(wallets_of.len() < owner.len(), "no address was linked at all");
    for t in cj {
        let info = tx(&d, &t);
        let ids: HashSet<u64> = info.inputs.iter().map(|i| clusters[i.address.as_ref().unwrap()]).collect();
        assert_eq!(ids.len(), info.inputs.len(), "coinjoin {t} inputs were merged");
    }

    // New blocks extend the saved clustering, which then equals one built from scratch.
    for (from, to) in [("dave", "carol"), ("carol", "bob")] {
        let a = node.new_address(to, "p2sh-segwit");
        node.wallet_rpc(from, "sendtoaddress", json!([a, 2.5]));
    }
    node.mine(2, &miner);
    ingest(&d, &node.blocks_dir(), &[]);
    let r: BuildReport = sleuth(&d, ["cluster", "build", "--json", "-q"]).run_json();
    assert!(r.incremental && r.transactions > 0, "{r:?}");
    let fresh = tmp.path().join("fresh");
    ingest(&fresh, &node.blocks_dir(), &[]);
    let r: BuildReport = sleuth(&fresh, ["cluster", "build", "--json", "-q"]).run_json();
    assert!(!r.incremental);
    assert_eq!(partition(&cluster_export(&d)), partition(&cluster_export(&fresh)));
}

/// Clusters as sets of addresses, independent of their ids.
fn partition(clusters: &HashMap<String, u64>) -> HashSet<Vec<String>> {
    let mut by_id: HashMap<u64, Vec<String>> = HashMap::new();
    for (a, c) in clusters {
        by_id.entry(*c).or_default().push(a.clone());
    }
    by_id
        .into_values()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect()
}
