//! Clustering measured on real wallets: the real-wallet economy of the test kit, built on a
//! real `litecoind -regtest`, clustered with the default heuristics and scored against the
//! truth the node's wallets give back.

use std::collections::HashSet;

use sleuth_analysis::cluster::{BuildReport, WhyAnswer};
use sleuth_testkit::economy::{Economy, EconomyConfig};
use sleuth_testkit::RegtestNode;

use crate::common::{cluster_export, ingest, sleuth, tx};

/// Seed of the economy this test builds.
const SEED: u64 = 7;

/// The default set's recall on this economy as a share of the oracle ceiling: measured at
/// 50 % on seed 7 (41–56 % on small seeds 0–3, 46–54 % on nine large economies), where
/// multi-input alone reaches 7–16 %. What the node chooses itself (keys, change positions)
/// moves it between runs of one seed (up to 6 points seen), hence the margin; a rule change
/// that loses the change links fails here.
const MIN_SHARE_OF_CEILING: f64 = 0.42;

#[test]
fn real_wallets_never_mix_and_the_default_reaches_its_measured_recall() {
    let node = RegtestNode::start();
    let economy = Economy::build(&node, EconomyConfig::small(SEED));
    let truth = &economy.truth;
    assert!(truth.txs.len() > 200 && truth.change.len() > 80, "a small economy after all: {} txs", truth.txs.len());
    assert!(economy.coinjoins.len() >= 2, "{:?}", economy.coinjoins);

    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("idx");
    ingest(&d, &node.blocks_dir(), &[]);

    let ceiling = truth.score(&truth.ceiling_clusters());
    assert_eq!((ceiling.precision, ceiling.mixed_clusters), (1.0, 0), "the oracle never mixes wallets: {ceiling:?}");

    let r: BuildReport = sleuth(&d, ["cluster", "build", "--heuristics", "multi-input", "--json", "-q"]).run_json();
    assert!(r.coinjoins.values().sum::<u64>() >= economy.coinjoins.len() as u64, "{r:?}");
    let multi_input = truth.score(&cluster_export(&d));

    let r: BuildReport = sleuth(&d, ["cluster", "build", "--json", "-q"]).run_json();
    assert!(!r.incremental);
    let clusters = cluster_export(&d);
    let default = truth.score(&clusters);
    assert_eq!(default.mixed_clusters, 0, "a cluster mixes wallets: {default:?}");
    assert!(default.precision >= 0.999, "{default:?}");
    assert!(default.recall > multi_input.recall, "change adds links: {default:?} vs {multi_input:?}");
    let share = default.recall / ceiling.recall;
    assert!(
        share >= MIN_SHARE_OF_CEILING,
        "default recall {:.4} is {:.0} % of the ceiling {:.4}; at least {:.0} % was measured",
        default.recall,
        share * 100.0,
        ceiling.recall,
        MIN_SHARE_OF_CEILING * 100.0
    );

    // No CoinJoin merged its participants: each one's inputs sit in distinct clusters.
    for t in &economy.coinjoins {
        let info = tx(&d, t);
        let ids: HashSet<u64> = info.inputs.iter().map(|i| clusters[i.address.as_ref().unwrap()]).collect();
        assert_eq!(ids.len(), info.inputs.len(), "coinjoin {t}: inputs of different wallets share a cluster");
    }
    // But each participant's change is tied to its own input (`coinjoin-change`): of the
    // CoinJoins' change outputs the node's wallets report, every one the default links sits
    // with an input of its own wallet (the no-mixing check above), and most are linked.
    let (mut linked, mut changes) = (0, 0);
    for t in &economy.coinjoins {
        let info = tx(&d, t);
        for o in info.outputs.iter().filter(|o| truth.change.contains(&(t.clone(), o.n))) {
            let change = o.address.as_ref().unwrap();
            changes += 1;
            let own_inputs = info
                .inputs
                .iter()
                .filter_map(|i| i.address.as_ref())
                .filter(|a| truth.owner.get(*a) == truth.owner.get(change));
            linked += usize::from(own_inputs.into_iter().any(|a| clusters[a] == clusters[change]));
        }
    }
    assert!(
        changes >= 2 && linked * 2 > changes,
        "{linked} of {changes} CoinJoin change outputs linked to their owner's input"
    );
}

/// The collapse guard on a real node. Wallets A and B each have a cluster of two addresses
/// (each spent two of its coins together). A then spends its two coins in one transaction
/// paying a round amount to an address of a third wallet that was paid before and the rest,
/// smaller than either input and not round, to one of B's clustered addresses: optimal change
/// and round-number payment both name B's address as A's change (and `change-fresh`, with
/// no output to a new address, abstains). That one inference would join two clusters of several
/// addresses: the default build holds it back, says so, and `cluster why` shows it; with the
/// guard off the two wallets become one cluster through that transaction.
#[test]
fn the_collapse_guard_holds_back_a_change_inference_bridging_two_clusters() {
    let node = RegtestNode::start();
    for w in ["miner", "a", "b", "c"] {
        node.create_wallet(w);
    }
    let m = node.new_address("miner", "bech32");
    node.mine(101, &m);
    let addr = |w: &str| node.new_address(w, "bech32");
    let (a1, a2, b1, b2) = (addr("a"), addr("a"), addr("b"), addr("b"));
    let amounts = serde_json::json!({ &a1: 1.0, &a2: 1.1, &b1: 0.5, &b2: 0.6 });
    node.wallet_rpc("miner", "sendmany", serde_json::json!(["", amounts]));
    node.mine(1, &m);
    // B spends both its coins together: b1 and b2 become one cluster.
    let c1 = addr("c");
    node.wallet_rpc("b", "sendtoaddress", serde_json::json!([&c1, 1.05]));
    node.mine(1, &m);
    // A's bridge: both its coins in, 1.5 (round) to C's c1 again, 0.59987654 to B's b1.
    let coins = node.wallet_rpc("a", "listunspent", serde_json::json!([1]));
    let inputs: Vec<_> =
        coins.as_array().unwrap().iter().map(|c| serde_json::json!({"txid": c["txid"], "vout": c["vout"]})).collect();
    assert_eq!(inputs.len(), 2, "{coins}");
    let outputs = serde_json::json!([{ &c1: 1.5 }, { &b1: 0.59987654 }]);
    let raw = node.rpc("createrawtransaction", serde_json::json!([inputs, outputs]));
    let signed = node.wallet_rpc("a", "signrawtransactionwithwallet", serde_json::json!([raw]));
    assert_eq!(signed["complete"], true, "{signed}");
    let bridge = node.rpc("sendrawtransaction", serde_json::json!([signed["hex"]]));
    let bridge = bridge.as_str().unwrap().to_owned();
    node.mine(1, &m);

    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("idx");
    ingest(&d, &node.blocks_dir(), &[]);
    let r: BuildReport = sleuth(&d, ["cluster", "build", "--json", "-q"]).run_json();
    assert!(r.held_back >= 1, "{r:?}");
    let why: WhyAnswer = sleuth(&d, ["cluster", "why", &a1, &b2, "--json"]).run_json();
    assert!(!why.linked, "{why:?}");
    let held: Vec<_> = why.held_back.iter().filter(|h| h.txid == bridge).collect();
    assert_eq!(held.len(), 1, "the bridge is listed as held back: {why:?}");
    assert!([&a1, &a2].contains(&&held[0].from) && held[0].to == b1, "from A's first input to b1: {why:?}");
    assert!(held[0].from_cluster_size >= 2 && held[0].to_cluster_size >= 2, "{why:?}");
    assert!(held[0].heuristics.iter().any(|h| h == "change-optimal"), "{why:?}");
    let human = sleuth(&d, ["cluster", "why", &a1, &b2]).run();
    assert!(human.contains("not linked") && human.contains("held back") && human.contains(&bridge), "{human}");

    let off = "multi-input,change,collapse-guard=0";
    let r: BuildReport = sleuth(&d, ["cluster", "build", "--heuristics", off, "--json", "-q"]).run_json();
    assert_eq!(r.held_back, 0, "{r:?}");
    let why: WhyAnswer = sleuth(&d, ["cluster", "why", &a1, &b2, "--json"]).run_json();
    assert!(why.linked && why.steps.iter().any(|s| s.txid == bridge), "{why:?}");
}
