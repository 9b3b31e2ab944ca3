//! Every block that `blocks/MANIFEST.json` lists one by one (`raw/`, the single-block framed
//! files and `synthetic/`), read through [`BlockFileReader`] and decoded, against the
//! manifest's per-block facts.

use serde_json::Value;
use sleuth_chain::blockfile::BlockFileReader;
use sleuth_chain::decode::ParsedBlock;
use sleuth_chain::Chain;

use crate::common::{
    btc_manifest, frame, parse, read_shared, s, tx_inputs, tx_outputs, u, unframe, BlocksDir, BTC_MAGIC,
};

/// Asserts that `b` has the facts the manifest gives for one block.
pub fn assert_block_facts(b: &ParsedBlock, f: &Value, what: &str) {
    assert_eq!(b.hash.to_string(), s(f, "hash"), "{what}: hash");
    assert_eq!(b.header.prev_blockhash.to_string(), s(f, "prev"), "{what}: prev");
    assert_eq!(b.header.merkle_root.to_string(), s(f, "merkle_root"), "{what}: merkle root");
    assert_eq!(u64::from(b.header.time), u(f, "time"), "{what}: time");
    assert_eq!(i64::from(b.header.version.to_consensus()), f["version"].as_i64().unwrap(), "{what}: version");
    assert_eq!(b.size as u64, u(f, "size"), "{what}: size");
    assert_eq!(b.mweb_bytes, 0, "{what}: Bitcoin blocks have no MWEB data");
    assert_eq!(b.txs.len() as u64, u(f, "ntx"), "{what}: tx count");
    let segwit = b.txs.iter().filter(|t| t.segwit).count() as u64;
    assert_eq!(segwit, u(f, "segwit_txs"), "{what}: segwit tx count");
    assert_eq!(b.inputs.len() as u64, u(f, "n_inputs"), "{what}: inputs");
    assert_eq!(b.outputs.len() as u64, u(f, "n_outputs"), "{what}: outputs");
    let n_in: u64 = b.txs.iter().map(|t| u64::from(t.n_inputs)).sum();
    let n_out: u64 = b.txs.iter().map(|t| u64::from(t.n_outputs)).sum();
    assert_eq!((n_in, n_out), (b.inputs.len() as u64, b.outputs.len() as u64), "{what}: per-tx counts add up");
    assert_eq!(b.txs[0].txid.to_string(), s(f, "coinbase_txid"), "{what}: coinbase txid");
    let coinbase_in = tx_inputs(b, 0);
    assert!(coinbase_in.len() == 1 && coinbase_in[0].is_null(), "{what}: the coinbase spends the null outpoint");
    for i in 1..b.txs.len() {
        assert!(tx_inputs(b, i).iter().all(|inp| !inp.is_null()), "{what}: tx {i} is not a coinbase");
    }
    let total: u64 = b.outputs.iter().map(|o| o.value).sum();
    assert_eq!(total, u(f, "total_out_sat"), "{what}: total output value");
    assert!(!tx_outputs(b, 0).is_empty(), "{what}: the coinbase has outputs");
}

/// Writes `framed` as `blk{file_no}.dat` in a fresh folder, scans it and checks every record
/// against `facts` (the manifest's `block_list`), at the offsets the manifest gives.
fn check_through_reader(framed: &[u8], file_no: u32, facts: &[Value], name: &str) -> Vec<Vec<u8>> {
    let dir = BlocksDir::new();
    dir.write_blk(file_no, framed);
    let mut reader = BlockFileReader::open(dir.path()).unwrap();
    let scan = reader.scan_headers(None).unwrap();
    assert_eq!(scan.magic, BTC_MAGIC, "{name}");
    assert_eq!(scan.bytes, framed.len() as u64, "{name}: bytes scanned");
    assert_eq!(scan.partial_tail, None, "{name}");
    assert_eq!(scan.records.len(), facts.len(), "{name}: records");
    let mut blocks = Vec::new();
    let mut buf = Vec::new();
    for (r, f) in scan.records.iter().zip(facts) {
        let what = format!("{name} @{}", r.loc.offset);
        assert_eq!(r.hash.to_string(), s(f, "hash"), "{what}: scanned hash");
        assert_eq!(r.header.prev_blockhash.to_string(), s(f, "prev"), "{what}");
        assert_eq!(r.loc.file, file_no, "{what}");
        assert_eq!(r.loc.offset, u(f, "offset"), "{what}: record offset");
        assert_eq!(u64::from(r.loc.size), u(f, "size"), "{what}: record size");
        reader.read_block(&r.loc, &mut buf).unwrap();
        let b = parse(&buf, false);
        assert_eq!(b.header, r.header, "{what}: the scanned header is the block's");
        assert_block_facts(&b, f, &what);
        blocks.push(buf.clone());
    }
    blocks
}

fn manifest_files(filter: impl Fn(&str) -> bool) -> Vec<(String, Value)> {
    let m = btc_manifest();
    let files = m["files"].as_object().expect("manifest has files").clone();
    let picked: Vec<_> = files.into_iter().filter(|(name, f)| filter(name) && f["block_list"].is_array()).collect();
    assert!(!picked.is_empty(), "the manifest lists such files");
    picked
}

#[test]
fn raw_blocks_match_the_manifest_directly_and_through_the_reader() {
    let files = manifest_files(|n| n.starts_with("raw/"));
    assert_eq!(files.len(), 10, "README lists ten raw blocks");
    for (name, f) in files {
        let raw = read_shared(&format!("blocks/{name}"));
        assert_eq!(raw.len() as u64, u(&f, "bytes"), "{name}");
        let facts = f["block_list"].as_array().unwrap();
        assert_eq!(facts.len(), 1, "{name}");
        // Directly from the bare bytes.
        let b = parse(&raw, false);
        assert_block_facts(&b, &facts[0], &name);
        assert_eq!(b.txs.len() as u64, u(&f, "transactions"), "{name}");
        assert_eq!(b.txs.iter().filter(|t| t.segwit).count() as u64, u(&f, "segwit_transactions"), "{name}");
        // Framed as a node would store it: record at offset 0, 8-byte header.
        let mut facts = facts.clone();
        facts[0]["offset"] = 0.into();
        let read = check_through_reader(&frame(BTC_MAGIC, &[&raw]), 0, &facts, &name);
        assert_eq!(read, vec![raw], "{name}: read_block returns the block's bytes");
    }
}

#[test]
fn framed_mainnet_files_match_the_manifest() {
    for (name, file_no) in [("block277647.dat", 0u32), ("blk01234_block518256.dat", 1234)] {
        let (_, f) = manifest_files(|n| n == name).pop().unwrap();
        let bytes = read_shared(&format!("blocks/{name}"));
        let facts = f["block_list"].as_array().unwrap();
        let read = check_through_reader(&bytes, file_no, facts, name);
        assert_eq!(read.concat().len() + 8 * read.len(), bytes.len(), "{name}: the records fill the file");
        assert_eq!(read, unframe(&bytes), "{name}: read_block returns each record's bytes");
    }
}

#[test]
fn readme_facts_of_the_modern_blocks() {
    // block277647.dat: 213 txs, 733 inputs and 769 outputs (README).
    let b = parse(unframe(&read_shared("blocks/block277647.dat"))[0], false);
    assert_eq!(b.hash.to_string(), "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8");
    assert_eq!(b.header.prev_blockhash.to_string(), "0000000000000000c86826ab2fbe4639ec413004955a36e77c2267988579e653");
    assert_eq!((b.txs.len(), b.inputs.len(), b.outputs.len()), (213, 733, 769));

    // blk01234: block 518256, 55 txs of which 8 segwit, coinbase and tx 1 (README).
    let b = parse(unframe(&read_shared("blocks/blk01234_block518256.dat"))[0], false);
    assert_eq!(b.hash.to_string(), "0000000000000000003e4380732d71704005146a6f425a203166e29b72fe2214");
    assert_eq!(b.txs.len(), 55);
    assert_eq!(b.txs.iter().filter(|t| t.segwit).count(), 8);
    assert_eq!(b.txs[0].txid.to_string(), "886723399667ca1591161b6e355f1c7c5aada0a229bd30a02cc6269b877d68d1");
    assert_eq!(b.txs[1].txid.to_string(), "697af18a115485a0ca683cc2b86f42f8e764cc1e81d8fe2ce297722f332ae9ed");

    // 227836's parent is 227835.
    let b835 = parse(&read_shared("blocks/raw/block227835.bin"), false);
    let b836 = parse(&read_shared("blocks/raw/block227836.bin"), false);
    assert_eq!(b836.header.prev_blockhash, b835.hash);

    // 540107: 230 txs (104 segwit), 7,033 inputs, more than 1 MB.
    let b = parse(&read_shared("blocks/raw/block540107.bin"), false);
    assert_eq!((b.txs.len(), b.txs.iter().filter(|t| t.segwit).count(), b.inputs.len()), (230, 104, 7033));
    assert!(b.size > 1_000_000);

    // 481829 holds the first segwit tx of the set; 481815 none.
    let b = parse(&read_shared("blocks/raw/block481829.bin"), false);
    assert_eq!(b.txs.iter().filter(|t| t.segwit).count(), 1);
}

#[test]
fn synthetic_btcd_files_match_the_manifest() {
    let files = manifest_files(|n| n.starts_with("synthetic/"));
    assert_eq!(files.len(), 4);
    for (name, f) in files {
        let bytes = read_shared(&format!("blocks/{name}"));
        let facts = f["block_list"].as_array().unwrap();
        let read = check_through_reader(&bytes, 0, facts, &name);
        let ntx: usize = read.iter().map(|r| parse(r, false).txs.len()).sum();
        assert_eq!(ntx as u64, u(&f, "transactions"), "{name}");
    }
    // They use the mainnet magic and the real genesis block.
    let dir = BlocksDir::with_files(&[&read_shared("blocks/synthetic/btcd_blk_0_to_4.dat")]);
    let (reader, scan) = dir.scan();
    assert_eq!(reader.detect_chain(&scan, None).unwrap(), Chain::Bitcoin);
}
