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
    let fee: HashMap<String, (String, String)> = rows.iter().skip(1).map(|r| (r[0].clone(), (r[4].clone(), r[2].clone()))).collect();
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
