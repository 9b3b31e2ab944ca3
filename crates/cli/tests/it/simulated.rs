//! A simulated chain ingested like a node's files must agree with the simulator's truth:
//! transaction count, every address's balance, every entity's received and unspent value,
//! heists and deposits.

use std::collections::HashMap;

use sleuth_index::{BlockRef, Snapshot};

use crate::common::{ingest, rows, simulate, sleuth, status, tx};

#[test]
fn simulated_chain_ingests_to_its_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let summary = simulate(&sim, &["--transactions", "40000", "--seed", "11"]);
    let d = tmp.path().join("idx");
    let r = ingest(&d, &sim.join("blocks"), &[]);
    assert_eq!(r["chain"], "regtest");
    let st = status(&d);
    assert_eq!(st.transactions, summary["transactions"].as_u64().unwrap());
    assert_eq!(st.blocks, summary["blocks"].as_u64().unwrap());
    assert_eq!(st.inputs, summary["inputs"].as_u64().unwrap());
    assert_eq!(st.outputs, summary["outputs"].as_u64().unwrap());

    let truth = |f: &str| std::fs::read_to_string(sim.join("truth").join(f)).unwrap();
    // Every address's balance and unspent outputs, as the truth's UTXO set states them, and
    // every entity's received and unspent value, summed over its addresses.
    let snap = Snapshot::open(&d).unwrap();
    let index = snap.view();
    let utxos = truth("utxos.csv");
    let mut unspent: HashMap<&str, (u64, u64)> = HashMap::new();
    for row in rows(&utxos) {
        let e = unspent.entry(row["address"]).or_default();
        e.0 += row["amount"].parse::<u64>().unwrap();
        e.1 += 1;
    }
    assert!(unspent.len() > 1000);
    let mut got: HashMap<String, (u64, u64)> = HashMap::new();
    let addresses = truth("addresses.csv");
    for row in rows(&addresses) {
        let key = sleuth_chain::address::decode(row["address"], index.chain()).unwrap();
        let Ok(info) = index.address(&key) else { continue }; // generated but never paid
        let (balance, count) = unspent.get(row["address"]).copied().unwrap_or_default();
        assert_eq!((info.balance_sat.get(), info.unspent_count), (balance, count), "address {}", row["address"]);
        let e = got.entry(row["entity_id"].to_owned()).or_default();
        e.0 += info.received_sat.get();
        e.1 += info.balance_sat.get();
    }
    let balances = truth("balances.csv");
    let expected = rows(&balances);
    assert!(expected.len() > 100);
    for row in &expected {
        let (received, balance) = got.get(row["entity_id"]).copied().unwrap_or_default();
        assert_eq!(received.to_string(), row["received"], "entity {} received", row["entity_id"]);
        assert_eq!(balance.to_string(), row["balance"], "entity {} balance", row["entity_id"]);
    }

    // Heists: each drain is in the index and pays the thief the stated amount.
    let owner: HashMap<&str, &str> = rows(&addresses).into_iter().map(|r| (r["address"], r["entity_id"])).collect();
    let entities = truth("entities.csv");
    let name_of: HashMap<&str, &str> = rows(&entities).into_iter().map(|r| (r["entity_id"], r["name"])).collect();
    let heists = truth("heists.csv");
    let heists = rows(&heists);
    assert!(!heists.is_empty(), "the simulation has heists");
    assert_eq!(heists.len(), summary["heists"].as_array().unwrap().len());
    for h in &heists {
        let t = tx(&d, h["txid"]);
        let to_thief: u64 = t
            .outputs
            .iter()
            .filter(|o| o.address.as_deref().and_then(|a| owner.get(a)).map(|e| name_of[e]) == Some(h["thief"]))
            .map(|o| o.value_sat.get())
            .sum();
        assert_eq!(to_thief.to_string(), h["amount"], "heist {}", h["txid"]);
        let victim_inputs = t
            .inputs
            .iter()
            .filter(|i| i.address.as_deref().and_then(|a| owner.get(a)).map(|e| name_of[e]) == Some(h["victim"]));
        assert!(victim_inputs.count() > 0, "heist {} spends the victim's coins", h["txid"]);
    }

    // Deposits: each stated output exists with its address and amount.
    let deposits = truth("deposits.csv");
    for dep in rows(&deposits).iter().take(200) {
        let t = tx(&d, dep["txid"]);
        let o = &t.outputs[dep["vout"].parse::<usize>().unwrap()];
        assert_eq!(o.address.as_deref(), Some(dep["address"]));
        assert_eq!(o.value_sat.get().to_string(), dep["amount"]);
    }
    // Block heights are consecutive and every block holds a coinbase first.
    for h in [0u32, 1, st.height.unwrap()] {
        let b = index.block(BlockRef::Height(h)).unwrap();
        assert!(tx(&d, &b.txids[0]).coinbase);
    }
}

#[test]
fn regtest_chains_that_share_a_magic_are_told_apart_by_genesis() {
    let tmp = tempfile::tempdir().unwrap();
    for chain in ["regtest", "litecoin-regtest"] {
        let sim = tmp.path().join(chain);
        sleuth(
            tmp.path(),
            ["-q", "simulate", "--out", sim.to_str().unwrap(), "--transactions", "2000", "--chain", chain],
        )
        .run();
        let d = tmp.path().join(format!("{chain}-idx"));
        let r = ingest(&d, &sim.join("blocks"), &[]);
        assert_eq!(r["chain"], chain);
        // The other regtest's index refuses these files.
        let other = if chain == "regtest" { "litecoin-regtest" } else { "regtest" };
        let (_, err) = sleuth(
            &tmp.path().join(format!("{chain}-as-{other}")),
            ["ingest", "-q", "--chain", other, "--blocks-dir", sim.join("blocks").to_str().unwrap()],
        )
        .run_fail();
        assert!(err.contains(chain) && err.contains(other), "{err}");
    }
}

#[test]
fn queries_during_an_ingest_see_a_consistent_committed_state() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let summary = simulate(&sim, &["--transactions", "30000", "--seed", "5"]);
    let d = tmp.path().join("idx");
    let mut child = std::process::Command::new(crate::common::BIN)
        .args(["--data-dir", d.to_str().unwrap(), "-q", "ingest", "--batch-txs", "500"])
        .args(["--blocks-dir", sim.join("blocks").to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut last = 0;
    let mut seen = 0;
    let mut tips = std::collections::BTreeSet::new();
    while child.try_wait().unwrap().is_none() {
        let snap = match Snapshot::open(&d) {
            Ok(snap) => snap,
            // Before the first commit there is nothing to read; any other error is a failure.
            Err(sleuth_index::IndexError::NoIndex { .. }) if seen == 0 => {
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            }
            Err(e) => panic!("a reader during the ingest failed: {e}"),
        };
        {
            let index = snap.view();
            // Whatever is committed answers consistently: the tip block and its transactions.
            let st = index.status();
            assert!(st.blocks >= last, "the committed tip never goes back");
            last = st.blocks;
            if let Some(h) = st.height {
                let b = index.block(BlockRef::Height(h)).unwrap();
                assert_eq!(Some(b.hash), st.tip_hash);
                for t in &b.txids {
                    assert_eq!(index.tx(&t.parse().unwrap()).unwrap().block_height, h);
                }
                seen += 1;
                tips.insert(st.blocks);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(child.wait().unwrap().success());
    eprintln!("{seen} consistent views of {} different tips while the index was written", tips.len());
    let blocks = summary["blocks"].as_u64().unwrap();
    assert_eq!(status(&d).blocks, blocks);
    // The views were taken while the writer worked: several tips, some short of the end.
    assert!(tips.len() >= 3 && tips.first().is_some_and(|&t| t < blocks), "tips seen: {tips:?}");
}
