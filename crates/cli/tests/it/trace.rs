//! Tracing and screening against a real `litecoind -regtest`: an exchange's hot wallet is
//! drained into a thief's wallet, which moves the coins through a change chain and a PSBT
//! CoinJoin with two other wallets and pays deposit addresses at two exchanges; a clean user
//! deposits too. Every figure is checked against what the node's wallets report.

use std::collections::HashMap;

use serde_json::{json, Value};
use sleuth_testkit::RegtestNode;

use crate::common::{ingest, sleuth};

/// Satoshis as the node's amount strings (8 decimals).
fn btc(sat: u64) -> Value {
    json!(format!("{}.{:08}", sat / 100_000_000, sat % 100_000_000))
}

fn sats(v: &Value) -> u64 {
    (v.as_f64().expect("an amount") * 1e8).round() as u64
}

/// Spends exactly `inputs` (txid, vout) of `wallet` to `outputs` (address, sat), in order.
fn spend(node: &RegtestNode, wallet: &str, inputs: &[(String, u32)], outputs: &[(String, u64)]) -> String {
    let ins: Vec<Value> = inputs.iter().map(|(t, v)| json!({"txid": t, "vout": v})).collect();
    let outs: Vec<Value> = outputs.iter().map(|(a, s)| json!({ a.as_str(): btc(*s) })).collect();
    let raw = node.rpc("createrawtransaction", json!([ins, outs]));
    let signed = node.wallet_rpc(wallet, "signrawtransactionwithwallet", json!([raw]));
    assert_eq!(signed["complete"], true, "{signed}");
    node.rpc("sendrawtransaction", json!([signed["hex"]])).as_str().unwrap().to_owned()
}

/// The value of output `vout` of `txid`.
fn value_of(node: &RegtestNode, txid: &str, vout: u32) -> u64 {
    sats(&node.rpc("getrawtransaction", json!([txid, true]))["vout"][vout as usize]["value"])
}

/// The output of `txid` paying `address`.
fn vout_to(node: &RegtestNode, txid: &str, address: &str) -> u32 {
    let tx = node.rpc("getrawtransaction", json!([txid, true]));
    tx["vout"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| {
            let spk = &o["scriptPubKey"];
            spk["address"].as_str() == Some(address) || spk["addresses"][0].as_str() == Some(address)
        })
        .map(|o| o["n"].as_u64().unwrap() as u32)
        .unwrap_or_else(|| panic!("{txid} pays nothing to {address}"))
}

/// A coin of `wallet` worth more than `min` sat.
fn coin(node: &RegtestNode, wallet: &str, min: u64) -> (String, u32, u64) {
    let u = node.wallet_rpc(wallet, "listunspent", json!([1]));
    let u = u.as_array().unwrap().iter().find(|u| sats(&u["amount"]) > min).expect("a coin").clone();
    (u["txid"].as_str().unwrap().to_owned(), u["vout"].as_u64().unwrap() as u32, sats(&u["amount"]))
}

/// What the receiving wallet says it received at `address` (`listreceivedbyaddress`).
fn received(node: &RegtestNode, wallet: &str, address: &str) -> u64 {
    let all = node.wallet_rpc(wallet, "listreceivedbyaddress", json!([1, false, false]));
    all.as_array().unwrap().iter().find(|r| r["address"] == address).map_or(0, |r| sats(&r["amount"]))
}

#[test]
fn a_drain_through_a_change_chain_and_a_coinjoin_is_traced_to_the_deposits_the_node_reports() {
    let node = RegtestNode::start();
    for w in ["miner", "exa", "exb", "exc", "thief", "u1", "u2", "clean"] {
        node.create_wallet(w);
    }
    let miner = node.new_address("miner", "bech32");
    node.mine(110, &miner);
    // Exchange A's hot wallet, the CoinJoin partners and a clean user get coins.
    for (w, n) in [("exa", 3), ("u1", 1), ("u2", 1), ("clean", 1)] {
        for _ in 0..n {
            let a = node.new_address(w, "bech32");
            node.wallet_rpc("miner", "sendtoaddress", json!([a, btc(1_500_000_000)]));
        }
    }
    node.mine(1, &miner);

    // The drain: three outputs to the thief, change back to Exchange A.
    let thief_in: Vec<String> = (0..3).map(|_| node.new_address("thief", "bech32")).collect();
    let stolen = [1_000_000_000u64, 800_000_000, 600_000_000];
    let mut pay = serde_json::Map::new();
    for (a, s) in thief_in.iter().zip(stolen) {
        pay.insert(a.clone(), btc(s));
    }
    let drain = node.wallet_rpc("exa", "sendmany", json!(["", pay])).as_str().unwrap().to_owned();
    node.mine(1, &miner);

    // Change chain from the first stolen coin: a payment to itself, then a deposit at C.
    let (dc, db1, db2, db3) = (
        node.new_address("exc", "bech32"),
        node.new_address("exb", "bech32"),
        node.new_address("exb", "p2sh-segwit"),
        node.new_address("exb", "bech32"),
    );
    let t1 = vout_to(&node, &drain, &thief_in[0]);
    let hop = node.new_address("thief", "bech32");
    let c1 = spend(
        &node,
        "thief",
        &[(drain.clone(), t1)],
        &[(hop.clone(), 100_000_000), (node.new_address("thief", "legacy"), 899_990_000)],
    );
    let to_c = spend(
        &node,
        "thief",
        &[(c1.clone(), 1)],
        &[(dc.clone(), 400_000_000), (node.new_address("thief", "bech32"), 499_980_000)],
    );

    // The CoinJoin: the thief's second stolen coin with one coin each of u1 and u2; each takes
    // 1 LTC to a fresh address and its change. The thief's input and outputs come first.
    let t2 = vout_to(&node, &drain, &thief_in[1]);
    let (u1c, u2c) = (coin(&node, "u1", 1_000_000_000), coin(&node, "u2", 1_000_000_000));
    let (tj, tc) = (node.new_address("thief", "bech32"), node.new_address("thief", "bech32"));
    let mut outs = vec![(tj.clone(), 100_000_000), (tc.clone(), 800_000_000 - 100_000_000 - 10_000)];
    for (w, c) in [("u1", &u1c), ("u2", &u2c)] {
        outs.push((node.new_address(w, "bech32"), 100_000_000));
        outs.push((node.new_address(w, "bech32"), c.2 - 100_000_000 - 10_000));
    }
    let ins = [(drain.clone(), t2), (u1c.0.clone(), u1c.1), (u2c.0.clone(), u2c.1)];
    let raw = node.rpc(
        "createpsbt",
        json!([
            ins.iter().map(|(t, v)| json!({"txid": t, "vout": v})).collect::<Vec<_>>(),
            outs.iter().map(|(a, s)| json!({ a.as_str(): btc(*s) })).collect::<Vec<_>>()
        ]),
    );
    let mut psbt = raw;
    for w in ["thief", "u1", "u2"] {
        psbt = node.wallet_rpc(w, "walletprocesspsbt", json!([psbt]))["psbt"].clone();
    }
    let done = node.rpc("finalizepsbt", json!([psbt]));
    assert_eq!(done["complete"], true, "{done}");
    let cj = node.rpc("sendrawtransaction", json!([done["hex"]])).as_str().unwrap().to_owned();
    node.mine(1, &miner);
    // Deposits at B from the mixed coins, and a clean user's deposit at B.
    let to_b1 = spend(&node, "thief", &[(cj.clone(), 0)], &[(db1.clone(), 99_990_000)]);
    let to_b2 = spend(
        &node,
        "thief",
        &[(cj.clone(), 1)],
        &[(db2.clone(), 300_000_000), (node.new_address("thief", "bech32"), 399_980_000)],
    );
    let clean_dep = node.wallet_rpc("clean", "sendtoaddress", json!([db3, btc(200_000_000)]));
    let clean_dep = clean_dep.as_str().unwrap().to_owned();
    node.mine(1, &miner);
    // Exchange B sweeps its deposits together: one cluster.
    let hot = node.new_address("exb", "bech32");
    let bal = sats(&node.wallet_rpc("exb", "getbalance", json!([])));
    node.wallet_rpc("exb", "sendtoaddress", json!([hot, btc(bal), "", "", true]));
    node.mine(1, &miner);

    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("idx");
    ingest(&d, &node.blocks_dir(), &[]);
    sleuth(&d, ["-q", "cluster", "build", "--json"]).run();
    // What an investigator knows: the theft's outputs, one address of each exchange.
    let tags = tmp.path().join("tags.csv");
    let mut csv = String::from("address,label,category,source\n");
    for a in &thief_in {
        csv += &format!("{a},Exchange A drain,service_hack,incident report\n");
    }
    csv += &format!("{db3},Exchange B,exchange,subpoena\n{dc},Exchange C,exchange,subpoena\n");
    std::fs::write(&tags, csv).unwrap();
    sleuth(&d, ["-q", "tags", "import", tags.to_str().unwrap(), "--format", "csv"]).run();

    // Forward from the stolen outputs, every policy side by side.
    let from: Vec<String> = thief_in.iter().map(|a| format!("{drain}:{}", vout_to(&node, &drain, a))).collect();
    let r: Value =
        sleuth(&d, ["trace", "--from", &from.join(","), "--policy", "all", "--min-sat", "1", "--json"]).run_json();
    let source: u64 = stolen.iter().sum();
    assert_eq!(r["source_sat"], source);
    for p in ["haircut", "fifo", "lifo", "tiho"] {
        let rec = &r["reconciliation"][p];
        let parts: u64 = ["to_services_sat", "unspent_sat", "fees_sat", "mixers_sat", "limited_sat"]
            .iter()
            .map(|k| rec[k].as_u64().unwrap())
            .sum();
        assert_eq!(
            (rec["traced_sat"].as_u64().unwrap(), parts),
            (source, source),
            "{p} reconciles to the satoshi: {rec}"
        );
    }
    let by: HashMap<&str, &Value> =
        r["by_entity"].as_array().unwrap().iter().map(|e| (e["entity"].as_str().unwrap(), &e["amount_sat"])).collect();
    let (got_b, got_c) = (by["Exchange B"], by["Exchange C"]);
    // The node's own figures: what B's and C's wallets received from the thief.
    let (recv_b, recv_c) = (received(&node, "exb", &db1) + received(&node, "exb", &db2), received(&node, "exc", &dc));
    assert_eq!((recv_b, recv_c), (99_990_000 + 300_000_000, 400_000_000));
    assert_eq!(value_of(&node, &to_c, 0), recv_c);
    // FIFO: the thief's satoshis came first in the CoinJoin and fill its outputs: exact.
    assert_eq!((got_b["fifo"].as_u64(), got_c["fifo"].as_u64()), (Some(recv_b), Some(recv_c)));
    // Poison: every deposit from tainted coins in full, and the clean user's not at all.
    assert_eq!((got_b["poison"].as_u64(), got_c["poison"].as_u64()), (Some(recv_b), Some(recv_c)));
    // Haircut: C exactly (only stolen coins on the way), B diluted by the CoinJoin's clean inputs.
    assert_eq!(got_c["haircut"].as_u64(), Some(recv_c));
    let hb = got_b["haircut"].as_u64().unwrap();
    assert!(hb > 0 && hb < recv_b, "haircut at B: {hb} of {recv_b}");
    // The endpoints at B say they crossed a CoinJoin, and their path shows the drain and it.
    let ends = r["endpoints"].as_array().unwrap();
    let at_b: Vec<&Value> = ends.iter().filter(|e| e["entity"] == "Exchange B").collect();
    assert_eq!(at_b.len(), 2, "both deposits of the thief at B, not the clean user's");
    for e in &at_b {
        assert_eq!(e["stop_reason"], "service");
        assert_eq!(e["coinjoin"], true);
        let path: Vec<&str> = e["path_txids"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert_eq!(path.first(), Some(&drain.as_str()), "{path:?}");
        assert!(path.contains(&cj.as_str()) && (path.contains(&to_b1.as_str()) || path.contains(&to_b2.as_str())));
    }
    let at_c = ends.iter().find(|e| e["entity"] == "Exchange C").unwrap();
    assert_eq!(at_c["coinjoin"], false);
    assert_eq!(at_c["path_txids"], json!([drain, c1, to_c]));
    assert!(at_c["hops"].as_u64().unwrap() >= 1);

    // Screening: the thief's deposits at B are exposed to the theft, and say so; the clean
    // user's deposit is not. The 1 LTC deposit came from the thief's CoinJoin output of the
    // denomination: haircut through the CoinJoin, the stolen input's share of its inputs, to
    // the satoshi (largest remainder), of the deposit.
    let s: Value = sleuth(&d, ["screen", &format!("{to_b1}:{}", vout_to(&node, &to_b1, &db1)), "--json"]).run_json();
    let reason = s["reasons"].as_array().unwrap().iter().find(|r| r["category"] == "theft").expect("a theft reason");
    assert_eq!(reason["entity"], "Exchange A drain");
    assert!(reason["path_txids"].as_array().unwrap().contains(&json!(cj)), "{reason}");
    let share = 800_000_000u128 * 99_990_000 / (800_000_000 + u1c.2 + u2c.2) as u128;
    let got = reason["amount_sat"].as_u64().unwrap() as u128;
    assert!(got == share || got == share + 1, "theft exposure {got}, expected {share}");
    // The 3 LTC deposit came from the thief's CoinJoin change, which `coinjoin-change` ties to
    // the stolen coin it is the remainder of (800,000,000 − 100,000,000 − the fee): it is the
    // thief's own money, so the deposit is stolen in full, received from the thief's cluster.
    let s: Value = sleuth(&d, ["screen", &format!("{to_b2}:{}", vout_to(&node, &to_b2, &db2)), "--json"]).run_json();
    let reason = s["reasons"].as_array().unwrap().iter().find(|r| r["category"] == "theft").expect("a theft reason");
    assert_eq!(
        (&reason["entity"], reason["amount_sat"].as_u64()),
        (&json!("Exchange A drain"), Some(300_000_000)),
        "{reason}"
    );
    let why: Value = sleuth(&d, ["cluster", "why", &thief_in[1], &tc, "--json"]).run_json();
    assert!(
        why["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| st["txid"] == json!(cj) && st["heuristics"] == json!(["coinjoin-change"])),
        "{why}"
    );
    assert!(matches!(s["level"].as_str(), Some("high" | "severe")), "{s}");
    // The clean user's deposit: screened as the output it is. (Its address sits in Exchange B's
    // cluster, which did receive stolen coins; the output itself came from the clean wallet.)
    let clean_out = format!("{clean_dep}:{}", vout_to(&node, &clean_dep, &db3));
    let clean: Value = sleuth(&d, ["screen", &clean_out, "--json"]).run_json();
    assert!(matches!(clean["level"].as_str(), Some("none" | "low")), "{clean}");
    assert!(clean["reasons"].as_array().unwrap().iter().all(|r| r["category"] != "theft"), "{clean}");
}

/// On the simulator's truth: every heist traced forward from the thief's outputs of the drain
/// reaches the exchanges and OTC desks where the thief deposited (`taint.csv`, outputs that
/// leave the thief with only the thief's inputs), with amounts close to the truth under haircut
/// and FIFO; poison's over-reach is measured. Every exchange and OTC address is tagged (as a
/// service that can freeze), from the truth.
#[test]
fn heists_traced_forward_reach_the_thieves_deposits_of_the_truth() {
    use crate::common::{rows, simulate};
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    simulate(&sim, &["--transactions", "30000", "--seed", "21"]);
    let d = tmp.path().join("idx");
    ingest(&d, &sim.join("blocks"), &[]);
    sleuth(&d, ["-q", "cluster", "build", "--json"]).run();
    let truth = |f: &str| std::fs::read_to_string(sim.join("truth").join(f)).unwrap();
    let (entities, addresses, heists, taint) =
        (truth("entities.csv"), truth("addresses.csv"), truth("heists.csv"), truth("taint.csv"));
    let entities = rows(&entities);
    let kind: HashMap<&str, &str> = entities.iter().map(|e| (e["entity_id"], e["kind"])).collect();
    let name: HashMap<&str, &str> = entities.iter().map(|e| (e["entity_id"], e["name"])).collect();
    let addresses = rows(&addresses);
    let owner: HashMap<&str, &str> = addresses.iter().map(|r| (r["address"], r["entity_id"])).collect();
    let service = |e: &str| matches!(kind[e], "exchange" | "otc");
    let mut csv = String::from("address,label,category,source\n");
    for r in &addresses {
        if service(r["entity_id"]) {
            csv += &format!("{},{},exchange,truth\n", r["address"], name[r["entity_id"]]);
        }
    }
    let tags = tmp.path().join("services.csv");
    std::fs::write(&tags, csv).unwrap();
    sleuth(&d, ["-q", "tags", "import", tags.to_str().unwrap(), "--format", "csv"]).run();

    let taint = rows(&taint);
    let heists = rows(&heists);
    assert!(!heists.is_empty());
    let mut summary = Vec::new();
    for h in &heists {
        let drain: Value = sleuth(&d, ["tx", h["txid"], "--json"]).run_json();
        let from: Vec<String> = drain["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["address"].as_str().and_then(|a| owner.get(a)).map(|e| name[e]) == Some(h["thief"]))
            .map(|o| format!("{}:{}", h["txid"], o["n"]))
            .collect();
        let stolen: u64 = h["amount"].parse().unwrap();
        let r: Value =
            sleuth(&d, ["trace", "--from", &from.join(","), "--policy", "all", "--min-sat", "1", "--json"]).run_json();
        assert_eq!(r["source_sat"].as_u64(), Some(stolen), "the thief's outputs of the drain are the heist");
        let mut want: HashMap<String, u64> = HashMap::new();
        for t in taint.iter().filter(|t| t["heist"] == h["txid"] && t["direct"] == "1" && service(t["to_entity"])) {
            *want.entry(name[t["to_entity"]].to_owned()).or_default() += t["amount"].parse::<u64>().unwrap();
        }
        let want_total: u64 = want.values().sum();
        assert!(want_total > 0, "the thief deposited at services");
        let got = |p: &str, e: &str| {
            r["by_entity"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["entity"] == e)
                .map_or(0, |x| x["amount_sat"][p].as_u64().unwrap())
        };
        for p in ["poison", "haircut", "fifo", "lifo", "tiho"] {
            let rec = &r["reconciliation"][p];
            let total: u64 = want.keys().map(|e| got(p, e)).sum();
            let err: u64 = want.iter().map(|(e, &w)| got(p, e).abs_diff(w)).sum();
            summary.push(format!(
                "heist {} ({} sat) {p}: services {} / truth {want_total} ({:+.1} %), per-exchange error {:.1} %, traced {:.2}x",
                &h["txid"][..12],
                stolen,
                rec["to_services_sat"],
                100.0 * (total as f64 / want_total as f64 - 1.0),
                100.0 * err as f64 / want_total as f64,
                rec["traced_sat"].as_u64().unwrap() as f64 / stolen as f64
            ));
            if p != "poison" {
                assert_eq!(rec["traced_sat"].as_u64(), Some(stolen), "{p} conserves value");
            }
            if p == "haircut" || p == "fifo" {
                // Every service the thief deposited a tenth of the loot at is found.
                for (e, &w) in &want {
                    if w * 10 >= want_total {
                        assert!(got(p, e) > 0, "{p}: {e} received {w} of the truth and nothing traced");
                    }
                }
                assert!(err * 2 <= want_total, "{p}: per-exchange error above 50 %: {}", summary.last().unwrap());
                assert!(
                    total.abs_diff(want_total) * 5 <= want_total,
                    "{p}: total off by more than 20 %: {}",
                    summary.last().unwrap()
                );
            }
        }
        let poison = r["reconciliation"]["poison"]["traced_sat"].as_u64().unwrap();
        assert!(poison >= stolen, "poison never reaches less than the sources");
    }
    for l in &summary {
        eprintln!("{l}");
    }
}
