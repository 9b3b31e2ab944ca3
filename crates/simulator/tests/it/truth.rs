//! The ground truth agrees with the block files.

use std::collections::{HashMap, HashSet};

use bitcoin::{OutPoint, Txid};
use sleuth_chain::script::classify;

use crate::common::shared;

fn address(script: &[u8]) -> Option<String> {
    classify(script).1.map(|k| sleuth_chain::address::encode(&k, sleuth_chain::Chain::Regtest))
}

#[test]
fn every_file_starts_with_its_header() {
    let sim = shared();
    for (file, header) in sleuth_simulator::truth::FILES {
        let rows = sim.truth(file);
        assert_eq!(rows[0].join(","), header, "{file}");
        let width = rows[0].len();
        for r in &rows[1..] {
            assert_eq!(r.len(), width, "{file}: {r:?}");
        }
    }
    assert_eq!(sleuth_simulator::truth::ENTITIES, "entity_id,name,kind");
    assert_eq!(sleuth_simulator::truth::ADDRESSES, "address,entity_id");
    assert_eq!(sleuth_simulator::truth::HEISTS, "txid,victim,thief,amount");
    assert_eq!(sleuth_simulator::truth::DEPOSITS, "txid,vout,address,exchange,amount,from_entity");
}

#[test]
fn outputs_to_known_addresses_sum_to_each_entitys_received_and_balance() {
    let sim = shared();
    let owner: HashMap<String, u32> =
        sim.truth("addresses.csv").into_iter().skip(1).map(|r| (r[0].clone(), r[1].parse().unwrap())).collect();
    let entities = sim.truth("entities.csv").len() - 1;
    let mut received = vec![0u64; entities];
    let mut unspent: HashMap<OutPoint, (u32, u64)> = HashMap::new();
    let mut seen = HashSet::new();
    for (height, tx) in sim.transactions() {
        let txid = tx.compute_txid();
        if height > 0 && !tx.is_coinbase() {
            for i in &tx.input {
                unspent.remove(&i.previous_output).expect("spends an unspent output");
            }
        }
        if height == 0 {
            continue; // the genesis output belongs to no one simulated
        }
        for (vout, o) in tx.output.iter().enumerate() {
            let Some(a) = address(o.script_pubkey.as_bytes()) else {
                assert!(o.script_pubkey.is_op_return());
                continue;
            };
            let e = *owner.get(&a).unwrap_or_else(|| panic!("{a} (output {txid}:{vout}) is not in addresses.csv"));
            seen.insert(a);
            received[e as usize] += o.value.to_sat();
            unspent.insert(OutPoint { txid, vout: vout as u32 }, (e, o.value.to_sat()));
        }
    }
    assert_eq!(seen.len(), owner.len(), "every address of addresses.csv is paid on chain");
    assert_eq!(owner.len() as u64, sim.summary.addresses);
    let mut balance = vec![0u64; entities];
    for (e, v) in unspent.values() {
        balance[*e as usize] += v;
    }
    for r in sim.truth("balances.csv").into_iter().skip(1) {
        let e: usize = r[0].parse().unwrap();
        let (rec, spent, bal): (u64, u64, u64) = (r[1].parse().unwrap(), r[2].parse().unwrap(), r[3].parse().unwrap());
        assert_eq!(rec, received[e], "received by entity {e}");
        assert_eq!(bal, balance[e], "balance of entity {e}");
        assert_eq!(rec - spent, bal);
    }
    // utxos.csv is exactly the unspent set the blocks leave, with owners and addresses.
    let listed = sim.truth("utxos.csv");
    assert_eq!(listed.len() - 1, unspent.len(), "utxos.csv lists every unspent output once");
    for r in listed.iter().skip(1) {
        let op = OutPoint { txid: r[0].parse().unwrap(), vout: r[1].parse().unwrap() };
        let (e, v) = unspent.get(&op).unwrap_or_else(|| panic!("{op} in utxos.csv is not unspent on chain"));
        assert_eq!((r[3].parse::<u32>().unwrap(), r[4].parse::<u64>().unwrap()), (*e, *v), "{op}");
        assert_eq!(owner.get(&r[2]), Some(e), "{op} pays {}", r[2]);
    }
}

#[test]
fn deposits_and_heists_name_real_outputs() {
    let sim = shared();
    let outputs = sim.outputs();
    let owner: HashMap<String, u32> =
        sim.truth("addresses.csv").into_iter().skip(1).map(|r| (r[0].clone(), r[1].parse().unwrap())).collect();
    let by_name: HashMap<String, (u32, String)> = sim
        .truth("entities.csv")
        .into_iter()
        .skip(1)
        .map(|r| (r[1].clone(), (r[0].parse().unwrap(), r[2].clone())))
        .collect();
    let deposits = sim.truth("deposits.csv");
    assert!(deposits.len() > 10, "deposits happen");
    assert_eq!(deposits.len() as u64 - 1, sim.summary.deposits);
    for r in deposits.iter().skip(1) {
        let op = OutPoint { txid: r[0].parse().unwrap(), vout: r[1].parse().unwrap() };
        let (value, script) = outputs.get(&op).unwrap_or_else(|| panic!("deposit {op} not on chain"));
        assert_eq!(address(script).as_deref(), Some(r[2].as_str()));
        assert_eq!(value.to_string(), r[4]);
        let (id, kind) = &by_name[&r[3]];
        assert!(kind == "exchange" || kind == "otc", "{kind}");
        assert_eq!(owner[&r[2]], *id, "the deposit address belongs to the exchange");
    }
    let heists = sim.truth("heists.csv");
    assert!(heists.len() > 1, "at least one theft");
    assert_eq!(heists.len() - 1, sim.summary.heists.len());
    let txs: HashMap<Txid, &bitcoin::Transaction> = sim.transactions().map(|(_, t)| (t.compute_txid(), t)).collect();
    for (r, s) in heists.iter().skip(1).zip(&sim.summary.heists) {
        let txid: Txid = r[0].parse().unwrap();
        assert_eq!(txid, s.txid);
        let tx = txs.get(&txid).unwrap_or_else(|| panic!("heist {txid} not on chain"));
        let (victim, vkind) = &by_name[&r[1]];
        let (thief, tkind) = &by_name[&r[2]];
        assert_eq!((vkind.as_str(), tkind.as_str()), ("exchange", "thief"));
        let to_thief: u64 = tx
            .output
            .iter()
            .filter(|o| address(o.script_pubkey.as_bytes()).map(|a| owner[&a]) == Some(*thief))
            .map(|o| o.value.to_sat())
            .sum();
        assert_eq!(to_thief.to_string(), r[3]);
        for i in &tx.input {
            let (_, script) = &outputs[&i.previous_output];
            assert_eq!(owner[&address(script).unwrap()], *victim, "the drain spends the victim's coins");
        }
    }
}

#[test]
fn transactions_file_lists_every_transaction_with_its_fee() {
    let sim = shared();
    let rows = sim.truth("transactions.csv");
    assert_eq!(rows.len() as u64 - 1, sim.summary.transactions);
    let outputs = sim.outputs();
    let fee: HashMap<String, (String, String)> =
        rows.iter().skip(1).map(|r| (r[0].clone(), (r[4].clone(), r[2].clone()))).collect();
    for (_, tx) in sim.transactions() {
        let (f, kind) = &fee[&tx.compute_txid().to_string()];
        if tx.is_coinbase() {
            assert_eq!(kind, "coinbase");
            continue;
        }
        let inv: u64 = tx.input.iter().map(|i| outputs[&i.previous_output].0).sum();
        let outv: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
        assert_eq!((inv - outv).to_string(), *f);
    }
}

#[test]
fn every_actor_and_laundering_step_appears() {
    let sim = shared();
    let kinds: HashSet<String> = sim.truth("transactions.csv").into_iter().skip(1).map(|r| r[2].clone()).collect();
    for k in [
        "coinbase",
        "payment",
        "merchant_payment",
        "deposit",
        "withdrawal_batch",
        "sweep",
        "pool_payout",
        "bet",
        "gambling_payout",
        "otc_trade",
        "settlement",
        "coinjoin_wasabi",
        "whirlpool_tx0",
        "coinjoin_whirlpool",
        "coinjoin_joinmarket",
        "heist_drain",
        "launder_split",
        "launder_peel",
        "launder_consolidate",
        "launder_cashout",
    ] {
        assert!(kinds.contains(k), "no {k} transaction");
    }
    let entities = sim.truth("entities.csv");
    let kind_of: HashMap<String, String> = entities.iter().skip(1).map(|r| (r[0].clone(), r[2].clone())).collect();
    let entity_kinds: HashSet<&String> = kind_of.values().collect();
    for k in [
        "user",
        "exchange",
        "merchant",
        "payment_processor",
        "mining_pool",
        "gambling",
        "coinjoin_coordinator",
        "otc",
        "thief",
    ] {
        assert!(entity_kinds.contains(&k.to_owned()), "no {k}");
    }
    let thieves: HashSet<String> = entities.iter().skip(1).filter(|r| r[2] == "thief").map(|r| r[0].clone()).collect();
    assert!(thieves.len() >= 2, "more than one thief");
    let heists: HashSet<String> = sim.truth("heists.csv").into_iter().skip(1).map(|r| r[0].clone()).collect();
    let heist_thieves: HashSet<String> = sim.truth("heists.csv").into_iter().skip(1).map(|r| r[2].clone()).collect();
    assert!(heists.len() >= 2 && heist_thieves.len() >= 2, "several thefts by more than one thief");
    // Cash-out: deposits at exchanges and OTC desks made by thieves.
    let cashouts = sim.truth("deposits.csv").into_iter().skip(1).filter(|r| thieves.contains(&r[5])).count();
    assert!(cashouts > 5, "{cashouts} thief deposits");
    // Innocent users receive stolen coins directly from thieves.
    let taint = sim.truth("taint.csv");
    assert!(
        taint.iter().skip(1).any(|r| kind_of[&r[4]] == "user" && r[6] == "1"),
        "an innocent user is paid by a thief"
    );
    assert!(taint.iter().skip(1).all(|r| heists.contains(&r[3])));
    // Every laundering step names its theft.
    for r in sim.truth("transactions.csv").into_iter().skip(1) {
        if r[2].starts_with("launder_") || r[2] == "heist_drain" {
            assert!(heists.contains(&r[6]), "{} launders no known theft", r[0]);
        }
    }
}

#[test]
fn coinjoins_file_matches_the_transactions() {
    let sim = shared();
    let txs: HashMap<String, &bitcoin::Transaction> =
        sim.transactions().map(|(_, t)| (t.compute_txid().to_string(), t)).collect();
    let rows = sim.truth("coinjoins.csv");
    let styles: HashSet<&str> = rows.iter().skip(1).map(|r| r[1].as_str()).collect();
    assert_eq!(styles, HashSet::from(["wasabi", "whirlpool", "joinmarket"]));
    for r in rows.iter().skip(1) {
        let tx = txs[&r[0]];
        assert_eq!(tx.input.len().to_string(), r[3]);
        assert_eq!(tx.output.len().to_string(), r[4]);
        let mut counts: HashMap<u64, usize> = HashMap::new();
        for o in &tx.output {
            *counts.entry(o.value.to_sat()).or_default() += 1;
        }
        let equal = counts.values().max().unwrap();
        assert_eq!(equal.to_string(), r[5], "{}", r[0]);
        assert_eq!(counts[&r[6].parse::<u64>().unwrap()], *equal);
        assert!(*equal >= 2, "a CoinJoin has equal outputs");
        if r[1] == "whirlpool" {
            assert_eq!((tx.input.len(), tx.output.len(), *equal), (5, 5, 5));
        }
    }
}

#[test]
fn change_output_pays_the_spender() {
    let sim = shared();
    let owner: HashMap<String, String> =
        sim.truth("addresses.csv").into_iter().skip(1).map(|r| (r[0].clone(), r[1].clone())).collect();
    let txs: HashMap<String, &bitcoin::Transaction> =
        sim.transactions().map(|(_, t)| (t.compute_txid().to_string(), t)).collect();
    let mut with_change = 0;
    for r in sim.truth("transactions.csv").into_iter().skip(1) {
        if r[5].is_empty() || r[3].is_empty() {
            continue; // no change, or a multi-party CoinJoin (whose change is the taker's)
        }
        with_change += 1;
        let o = &txs[&r[0]].output[r[5].parse::<usize>().unwrap()];
        let a = address(o.script_pubkey.as_bytes()).unwrap();
        assert_eq!(owner[&a], r[3], "change of {} goes to its spender", r[0]);
    }
    assert!(with_change > 1000);
}

#[test]
fn wallets_differ_in_locktime_sequence_ordering_and_script_types() {
    let sim = shared();
    let (mut anti_snipe, mut zero_final, mut bip69, mut multi) = (0, 0, 0, 0);
    let mut kinds = HashSet::new();
    let mut paid: HashMap<Vec<u8>, usize> = HashMap::new();
    for (height, tx) in sim.transactions() {
        if tx.is_coinbase() {
            continue;
        }
        let lock = tx.lock_time.to_consensus_u32();
        let seq = tx.input[0].sequence.0;
        if lock + 1 >= height as u32 && lock > 0 && seq == 0xffff_fffd {
            anti_snipe += 1;
        }
        if lock == 0 && seq == 0xffff_ffff {
            zero_final += 1;
        }
        if tx.output.len() >= 3 {
            multi += 1;
            let sorted = tx
                .output
                .windows(2)
                .all(|w| (w[0].value, w[0].script_pubkey.as_bytes()) <= (w[1].value, w[1].script_pubkey.as_bytes()));
            bip69 += sorted as usize;
        }
        for o in &tx.output {
            kinds.insert(classify(o.script_pubkey.as_bytes()).0);
            *paid.entry(o.script_pubkey.to_bytes()).or_default() += 1;
        }
    }
    assert!(anti_snipe > 500 && zero_final > 500, "{anti_snipe} anti-fee-sniping, {zero_final} locktime 0");
    assert!(bip69 > 20 && bip69 < multi, "{bip69} of {multi} multi-output transactions are BIP69-ordered");
    use sleuth_chain::ScriptKind::*;
    for k in [P2pkh, P2sh, P2wpkh, P2tr, P2wsh, OpReturn] {
        assert!(kinds.contains(&k), "no {k:?} output");
    }
    let reused = paid.values().filter(|&&n| n > 1).count();
    assert!(reused > 100 && reused * 5 < paid.len(), "{reused} of {} addresses reused", paid.len());
}

#[test]
fn summary_serializes_for_the_cli() {
    let sim = shared();
    let json = serde_json::to_value(&sim.summary).unwrap();
    for field in ["blocks", "transactions", "inputs", "outputs", "bytes", "heists"] {
        assert!(json.get(field).is_some(), "{field}");
    }
    assert_eq!(json["heists"][0]["txid"], sim.summary.heists[0].txid.to_string());
}
