//! The first MiB of mainnet's `blk00000.dat` (heights 0..4521 and a cut-off record), read
//! through [`BlockFileReader`] and checked against the index CSV, the manifest and the README.

use std::collections::{HashMap, HashSet};

use bitcoin::Txid;
use sleuth_chain::address::encode;
use sleuth_chain::blockfile::{best_chain, BlockFileError, BlockFileReader, HeaderScan};
use sleuth_chain::decode::ParsedBlock;
use sleuth_chain::{Chain, ScriptKind};

use crate::common::{
    btc_manifest, csv_rows, parse, read_shared, s, tx_inputs, tx_outputs, u, BlocksDir, BTC_MAGIC, COIN,
};
use crate::manifest_blocks::assert_block_facts;

/// A row of `blk00000_heights0-4521.index.csv`.
pub struct IndexRow {
    pub height: u64,
    pub hash: String,
    pub prev: String,
    pub ntx: u64,
    pub size: u64,
    pub offset: u64,
}

pub fn index_rows(rel: &str) -> Vec<IndexRow> {
    csv_rows(rel, 7)
        .into_iter()
        .map(|r| IndexRow {
            height: r[0].parse().unwrap(),
            hash: r[1].clone(),
            prev: r[2].clone(),
            ntx: r[4].parse().unwrap(),
            size: r[5].parse().unwrap(),
            offset: r[6].parse().unwrap(),
        })
        .collect()
}

/// The blocks of the best chain of `scan`, decoded, by height.
pub fn decode_best_chain(reader: &mut BlockFileReader, scan: &HeaderScan) -> Vec<ParsedBlock> {
    let chain = best_chain(&scan.records, Chain::Bitcoin.genesis_hash()).unwrap();
    let mut buf = Vec::new();
    chain
        .iter()
        .map(|&i| {
            reader.read_block(&scan.records[i].loc, &mut buf).unwrap();
            parse(&buf, false)
        })
        .collect()
}

/// The first MiB, in a folder as its only `blk00000.dat`.
fn first_mib_dir() -> BlocksDir {
    BlocksDir::with_files(&[&read_shared("blocks/blk00000_first1MiB.dat")])
}

#[test]
fn scan_finds_4522_blocks_in_height_order_and_the_cut_off_record() {
    let dir = first_mib_dir();
    let (mut reader, scan) = dir.scan();
    let m = btc_manifest();
    let f = &m["files"]["blk00000_first1MiB.dat"];
    assert_eq!(scan.magic, BTC_MAGIC);
    assert_eq!(scan.bytes, u(f, "bytes"));
    assert_eq!(scan.records.len() as u64, u(f, "blocks"));
    let tail = &f["trailing_truncated_record"];
    assert_eq!(scan.partial_tail, Some((dir.blk(0), u(tail, "offset"))));
    assert_eq!(u(tail, "offset"), 1_048_537, "README");
    assert_eq!(reader.detect_chain(&scan, None).unwrap(), Chain::Bitcoin);
    assert_eq!(reader.detect_chain(&scan, Some(Chain::Bitcoin)).unwrap(), Chain::Bitcoin);
    let err = reader.detect_chain(&scan, Some(Chain::Litecoin)).unwrap_err();
    assert!(
        matches!(err, BlockFileError::WrongChain { expected: Chain::Litecoin, found: Chain::Bitcoin, .. }),
        "{err:?}"
    );

    let rows = index_rows("blocks/blk00000_heights0-4521.index.csv");
    assert_eq!(rows.len(), 4522);
    let chain = best_chain(&scan.records, Chain::Bitcoin.genesis_hash()).unwrap();
    assert_eq!(chain.len(), rows.len(), "heights 0..4521");
    for (h, (&i, row)) in chain.iter().zip(&rows).enumerate() {
        assert_eq!(row.height, h as u64);
        let r = &scan.records[i];
        assert_eq!(i, h, "the file is in height order");
        assert_eq!(r.hash.to_string(), row.hash, "height {h}");
        assert_eq!(r.header.prev_blockhash.to_string(), row.prev, "height {h}");
        assert_eq!((r.loc.file, r.loc.offset, u64::from(r.loc.size)), (0, row.offset, row.size), "height {h}");
    }

    let blocks = decode_best_chain(&mut reader, &scan);
    for (b, row) in blocks.iter().zip(&rows) {
        assert_eq!(b.hash.to_string(), row.hash);
        assert_eq!(b.txs.len() as u64, row.ntx, "height {}", row.height);
    }
    let ntx: usize = blocks.iter().map(|b| b.txs.len()).sum();
    assert_eq!(ntx as u64, u(f, "transactions"));
    assert_eq!(ntx, 4583, "README");
    assert_eq!(blocks.iter().flat_map(|b| &b.txs).filter(|t| t.segwit).count() as u64, u(f, "segwit_transactions"));
    assert_eq!(blocks.iter().filter(|b| b.txs.len() > 1).count() as u64, u(f, "multi_tx_blocks"));
    for key in ["first_block", "last_block", "max_ntx_block"] {
        let facts = &f[key];
        assert_block_facts(&blocks[u(facts, "height") as usize], facts, key);
    }
    assert_eq!(blocks[2813].txs.len(), 6, "README: 2812 and 2813 hold 6 txs each");
    assert_eq!(blocks[546].txs.len(), 4, "README: block 546 holds 4");
    assert_eq!(blocks.iter().map(|b| b.txs.len()).max(), Some(6));
}

#[test]
fn the_complete_prefix_scans_without_a_tail() {
    let m = btc_manifest();
    let f = &m["files"]["blk00000_heights0-4521.dat"];
    let dir = BlocksDir::with_files(&[&read_shared("blocks/blk00000_heights0-4521.dat")]);
    let (_, scan) = dir.scan();
    assert_eq!(scan.records.len() as u64, u(f, "blocks"));
    assert_eq!(scan.partial_tail, None);
    assert_eq!(scan.records.last().unwrap().hash.to_string(), s(&f["last_block"], "hash"));
}

#[test]
fn readme_facts_of_genesis_block_9_and_block_170() {
    let dir = first_mib_dir();
    let (mut reader, scan) = dir.scan();
    let blocks = decode_best_chain(&mut reader, &scan);
    let addr = |b: &ParsedBlock, tx: usize, vout: usize| {
        encode(&tx_outputs(b, tx)[vout].address.expect("output has an address"), Chain::Bitcoin)
    };

    let genesis = &blocks[0];
    assert_eq!(genesis.hash.to_string(), "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
    assert_eq!((genesis.size, genesis.header.time), (285, 1_231_006_505));
    assert_eq!(genesis.txs[0].txid.to_string(), "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b");
    assert_eq!(genesis.outputs.len(), 1);
    assert_eq!(genesis.outputs[0].value, 50 * COIN);
    assert_eq!(genesis.outputs[0].kind, ScriptKind::P2pk);
    assert_eq!(addr(genesis, 0, 0), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    assert_eq!(scan.records[0].loc.offset, 0);
    assert_eq!(scan.records[1].loc.offset, 293);
    assert_eq!(blocks[1].hash.to_string(), "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048");
    assert_eq!(scan.records[2].loc.offset, 516);
    assert_eq!(blocks[2].hash.to_string(), "000000006a625f06636b8bb6ac7b960a8d03705d1ace08b1a19da3fdcc99ddbd");

    let block9_coinbase = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9";
    assert_eq!(blocks[9].txs[0].txid.to_string(), block9_coinbase);
    assert_eq!(addr(&blocks[9], 0, 0), "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S");

    let b170 = &blocks[170];
    assert_eq!(scan.records[170].loc.offset, 38_032);
    assert_eq!(b170.hash.to_string(), "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee");
    assert_eq!(b170.txs.len(), 2);
    assert_eq!(b170.txs[1].txid.to_string(), "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16");
    let ins = tx_inputs(b170, 1);
    assert_eq!(ins.len(), 1);
    assert_eq!((ins[0].prev_txid.to_string().as_str(), ins[0].prev_vout), (block9_coinbase, 0));
    let outs = tx_outputs(b170, 1);
    assert_eq!(outs.len(), 2);
    assert_eq!(outs[0].value, 10 * COIN);
    assert_eq!(addr(b170, 1, 0), "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3");
    assert_eq!(outs[1].value, 40 * COIN);
    assert_eq!(addr(b170, 1, 1), "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S");
    assert_eq!(blocks[4521].hash.to_string(), "00000000ac08f7d984f6b36027395e654a5f1e3bb006cd9df9c60b9897ea4c40");
}

#[test]
fn utxo_and_flow_facts_of_the_first_4522_blocks() {
    let dir = first_mib_dir();
    let (mut reader, scan) = dir.scan();
    let blocks = decode_best_chain(&mut reader, &scan);

    let mut utxo: HashMap<(Txid, u32), u64> = HashMap::new();
    let (mut spends, mut multi_input, mut fees, mut coinbase_out) = (0usize, 0usize, 0u64, 0u64);
    let (mut p2pk, mut p2pkh, mut other) = (0usize, 0usize, 0usize);
    for (h, b) in blocks.iter().enumerate() {
        for (i, tx) in b.txs.iter().enumerate() {
            let ins = tx_inputs(b, i);
            if ins.len() > 1 {
                multi_input += 1;
            }
            let outs = tx_outputs(b, i);
            let out_sum: u64 = outs.iter().map(|o| o.value).sum();
            if i == 0 {
                if h > 0 {
                    coinbase_out += out_sum;
                }
            } else {
                let mut in_sum = 0;
                for inp in ins {
                    spends += 1;
                    in_sum += utxo
                        .remove(&(inp.prev_txid, inp.prev_vout))
                        .unwrap_or_else(|| panic!("height {h} tx {i} spends an output in the file"));
                }
                fees += in_sum.checked_sub(out_sum).expect("no tx creates coins");
            }
            for o in outs {
                match o.kind {
                    ScriptKind::P2pk => p2pk += 1,
                    ScriptKind::P2pkh => p2pkh += 1,
                    _ => other += 1,
                }
            }
            // The genesis output is unspendable: it never enters the UTXO set.
            if h > 0 {
                for (vout, o) in outs.iter().enumerate() {
                    utxo.insert((tx.txid, vout as u32), o.value);
                }
            }
        }
    }
    assert_eq!(spends, 260, "non-coinbase inputs");
    assert_eq!(multi_input, 32, "txs with more than one input");
    assert_eq!(fees, 201_000_000, "total fees");
    assert_eq!(coinbase_out, 4521 * 50 * COIN + fees, "fees are all collected by coinbases");
    assert_eq!(utxo.len(), 4348, "final UTXO set");
    assert_eq!(utxo.values().sum::<u64>(), 22_605_000_000_000);
    assert_eq!((p2pk, p2pkh, other), (4591, 18, 0), "output kinds");
    // For P2PK and P2PKH, (kind, HASH160) identifies the script.
    let scripts: HashSet<_> = blocks.iter().flat_map(|b| &b.outputs).map(|o| (o.kind, o.address.unwrap())).collect();
    assert_eq!(scripts.len(), 4571, "distinct output scripts");
}
