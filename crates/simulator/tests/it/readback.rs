//! The block files are what a node would have written: they read back through sleuth_chain,
//! every block connects, and every transaction spends what exists.

use std::collections::HashMap;

use bitcoin::{Amount, OutPoint, Target};
use sleuth_chain::Chain;

use crate::common::{read_blocks, run, scratch, shared, TRANSACTIONS};

const SUBSIDY: u64 = 50 * 100_000_000;

#[test]
fn blocks_read_back_with_valid_merkle_roots_and_consecutive_heights() {
    let sim = shared();
    assert_eq!(sim.blocks.len() as u64, sim.summary.blocks);
    assert_eq!(sim.summary.tip_height + 1, sim.summary.blocks);
    assert_eq!(sim.blocks.last().unwrap().block_hash(), sim.summary.tip_hash);
    assert_eq!(sim.blocks[0], sleuth_simulator::genesis_block(Chain::Regtest));
    let mut times = vec![sim.blocks[0].header.time];
    for (height, b) in sim.blocks.iter().enumerate().skip(1) {
        assert_eq!(b.header.prev_blockhash, sim.blocks[height - 1].block_hash(), "height {height}");
        assert_eq!(b.header.bits.to_consensus(), 0x207f_ffff);
        assert!(Target::from_compact(b.header.bits).is_met_by(b.block_hash()), "proof of work at {height}");
        let bip34 = bitcoin::script::Builder::new().push_int(height as i64).into_script();
        assert!(b.txdata[0].input[0].script_sig.as_bytes().starts_with(bip34.as_bytes()), "BIP34 height at {height}");
        assert!(b.check_merkle_root());
        assert!(b.check_witness_commitment(), "witness commitment at {height}");
        assert!(b.weight().to_wu() <= 4_000_000);
        let mut last11: Vec<u32> = times.iter().rev().take(11).copied().collect();
        last11.sort();
        assert!(b.header.time > last11[last11.len() / 2], "time above the median of the last 11");
        times.push(b.header.time);
    }
}

#[test]
fn counts_match_the_summary() {
    let sim = shared();
    let (mut txs, mut inputs, mut outputs, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    for b in &sim.blocks {
        txs += b.txdata.len() as u64;
        inputs += b.txdata.iter().map(|t| t.input.len() as u64).sum::<u64>();
        outputs += b.txdata.iter().map(|t| t.output.len() as u64).sum::<u64>();
        bytes += 8 + bitcoin::consensus::serialize(b).len() as u64;
    }
    assert_eq!(txs, sim.summary.transactions);
    assert_eq!(txs - sim.summary.blocks, TRANSACTIONS, "economy transactions as asked");
    assert_eq!(inputs, sim.summary.inputs);
    assert_eq!(outputs, sim.summary.outputs);
    assert_eq!(bytes, sim.summary.bytes);
}

#[test]
fn every_input_spends_an_existing_unspent_output_once_and_coinbases_pay_subsidy_plus_fees() {
    let sim = shared();
    // outpoint -> (value, height of its coinbase if it is a coinbase output)
    let mut utxos: HashMap<OutPoint, (u64, Option<usize>)> = HashMap::new();
    let mut total_fees = 0u64;
    for (height, b) in sim.blocks.iter().enumerate() {
        let mut fees = 0u64;
        for (i, tx) in b.txdata.iter().enumerate() {
            let txid = tx.compute_txid();
            if i == 0 {
                assert!(tx.is_coinbase());
            } else {
                assert!(!tx.is_coinbase());
                let mut in_value = 0u64;
                for input in &tx.input {
                    let (value, coinbase_height) = utxos.remove(&input.previous_output).unwrap_or_else(|| {
                        panic!("{txid} at {height} spends missing or spent {}", input.previous_output)
                    });
                    if let Some(h) = coinbase_height {
                        assert!(height - h >= 100, "{txid} spends an immature coinbase");
                    }
                    in_value += value;
                }
                let out_value: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
                assert!(in_value >= out_value, "{txid} creates money");
                let fee = in_value - out_value;
                assert!(fee >= tx.vsize() as u64, "{txid} pays {fee} sat for {} vB", tx.vsize());
                fees += fee;
                let lock = tx.lock_time.to_consensus_u32();
                assert!(lock < height as u32, "{txid} is final at {height}");
                assert!(!tx.output.is_empty());
                for o in &tx.output {
                    assert!(o.value >= Amount::from_sat(294) || o.script_pubkey.is_op_return(), "{txid} has dust");
                }
            }
            for (vout, o) in tx.output.iter().enumerate() {
                if !o.script_pubkey.is_op_return() {
                    utxos.insert(OutPoint { txid, vout: vout as u32 }, (o.value.to_sat(), (i == 0).then_some(height)));
                }
            }
        }
        if height > 0 {
            let cb: u64 = b.txdata[0].output.iter().map(|o| o.value.to_sat()).sum();
            assert_eq!(cb, SUBSIDY + fees, "coinbase of block {height}");
        }
        total_fees += fees;
    }
    assert_eq!(total_fees, sim.summary.fees);
}

#[test]
fn litecoin_regtest_chain_reads_back() {
    let dir = scratch("litecoin");
    let summary = run(&dir, 1_500, 3, Chain::LitecoinRegtest);
    let blocks = read_blocks(&dir, Chain::LitecoinRegtest);
    assert_eq!(blocks.len() as u64, summary.blocks);
    assert_eq!(blocks[0].block_hash(), Chain::LitecoinRegtest.genesis_hash());
    let truth = crate::common::read_csv(&dir.join("truth/addresses.csv"));
    assert!(truth.iter().skip(1).any(|r| r[0].starts_with("rltc1")), "litecoin addresses");
    std::fs::remove_dir_all(dir).unwrap();
}
