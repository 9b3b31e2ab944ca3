//! Litecoin mainnet: pre-MWEB blocks and block 2265985 with its HogEx and MWEB extension,
//! against `blocks/litecoin/MANIFEST.json` and the README's "Litecoin" section.

use std::collections::HashSet;

use serde_json::Value;
use sleuth_chain::address::{decode, encode};
use sleuth_chain::blockfile::{best_chain, BlockFileError};
use sleuth_chain::decode::{parse_block, DecodeError, ParsedBlock, ParsedOutput};
use sleuth_chain::script::AddressPayload;
use sleuth_chain::{Chain, ScriptKind};

use crate::common::{ltc_manifest, parse, read_shared, s, tx_inputs, tx_outputs, u, BlocksDir, LTC_MAGIC};

/// The four blocks in height order: (file name, manifest facts, bytes).
fn blocks() -> Vec<(String, Value, Vec<u8>)> {
    let m = ltc_manifest();
    let mut v: Vec<_> = m["blocks"]
        .as_object()
        .expect("manifest has blocks")
        .iter()
        .map(|(name, f)| (name.clone(), f.clone(), read_shared(&format!("blocks/litecoin/{name}"))))
        .collect();
    v.sort_by_key(|(_, f, _)| u(f, "height"));
    assert_eq!(v.len(), 4);
    v
}

fn assert_ltc_facts(b: &ParsedBlock, f: &Value, what: &str) {
    assert_eq!(b.hash.to_string(), s(f, "hash"), "{what}: hash");
    assert_eq!(b.header.prev_blockhash.to_string(), s(f, "prev"), "{what}");
    assert_eq!(b.header.merkle_root.to_string(), s(f, "merkle_root"), "{what}");
    assert_eq!(format!("{:08x}", b.header.version.to_consensus()), s(f, "version"), "{what}");
    assert_eq!(format!("{:08x}", b.header.bits.to_consensus()), s(f, "bits"), "{what}");
    assert_eq!(u64::from(b.header.time), u(f, "time"), "{what}");
    assert_eq!(u64::from(b.header.nonce), u(f, "nonce"), "{what}");
    assert_eq!(b.size as u64, u(f, "size"), "{what}");
    assert_eq!(b.txs.len() as u64, u(f, "ntx"), "{what}: tx count");
    assert_eq!(b.txs.iter().filter(|t| t.segwit).count() as u64, u(f, "segwit_txs"), "{what}");
    assert_eq!(b.txs[0].txid.to_string(), s(f, "coinbase_txid"), "{what}: coinbase txid");
    assert!(tx_inputs(b, 0)[0].is_null(), "{what}");
}

#[test]
fn every_block_matches_its_manifest() {
    for (name, f, raw) in blocks() {
        let b = parse(&raw, true);
        assert_ltc_facts(&b, &f, &name);
        if f["mweb"].is_null() {
            assert_eq!(b.mweb_bytes, 0, "{name}");
            // Nothing Litecoin-specific: the Bitcoin decoder takes it too.
            assert_eq!(parse(&raw, false).txs, b.txs, "{name}");
        }
    }
    let genesis = parse(&read_shared("blocks/litecoin/block0.bin"), true);
    assert_eq!(genesis.hash, Chain::Litecoin.genesis_hash());
    assert_eq!(
        genesis.header.merkle_root.to_string(),
        "97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9"
    );
}

#[test]
fn the_framed_file_reads_as_litecoin() {
    let dir = BlocksDir::with_files(&[&read_shared("blocks/litecoin/litecoin_mainnet_framed.dat")]);
    let (mut reader, scan) = dir.scan();
    assert_eq!(scan.magic, LTC_MAGIC);
    assert_eq!(scan.bytes, u(&ltc_manifest()["framed_file"], "bytes"));
    assert_eq!(scan.partial_tail, None);
    assert_eq!(reader.detect_chain(&scan, None).unwrap(), Chain::Litecoin);
    let err = reader.detect_chain(&scan, Some(Chain::Bitcoin)).unwrap_err();
    assert!(
        matches!(err, BlockFileError::WrongChain { expected: Chain::Bitcoin, found: Chain::Litecoin, .. }),
        "{err:?}"
    );
    let expected = blocks();
    assert_eq!(scan.records.len(), expected.len());
    let mut buf = Vec::new();
    for (r, (name, f, raw)) in scan.records.iter().zip(&expected) {
        assert_eq!(r.hash.to_string(), s(f, "hash"), "{name}");
        reader.read_block(&r.loc, &mut buf).unwrap();
        assert_eq!(&buf, raw, "{name}: read_block gives the block's bytes");
        assert_ltc_facts(&parse(&buf, true), f, name);
    }
    // Heights 0, 1, 900000, 2265985: only 0-1 connect to genesis.
    let chain = best_chain(&scan.records, Chain::Litecoin.genesis_hash()).unwrap();
    assert_eq!(chain, [0, 1]);
}

/// Witness version and program length of an output's address, if it is a witness program.
fn witness(o: &ParsedOutput) -> Option<(u8, usize)> {
    match o.address.as_ref()?.payload() {
        AddressPayload::Witness { version, program } => Some((version, program.len())),
        _ => None,
    }
}

const HOGEX: &str = "b0a867c72f417dc0a904f708ba37fa2d94c3b25a288ea6e8fbe8cd14d8ca7119";

#[test]
fn block_2265985_with_its_hogex_and_mweb_extension() {
    let m = ltc_manifest();
    let f = &m["blocks"]["block2265985.bin"];
    let raw = read_shared("blocks/litecoin/block2265985.bin");
    let b = parse(&raw, true);
    assert_eq!(b.hash.to_string(), "9bacbef81b42f777fabc19d08bceddb56d219fd4585f85946cb27470c6f4f596");
    assert_eq!(b.header.prev_blockhash.to_string(), "418dcad142cd2d94da49f4d0025efa73adde9d7ac971392852f7bce7c716d11c");
    assert_eq!(b.txs.len(), 58);
    assert_eq!(b.txs.iter().filter(|t| t.segwit).count(), 44);
    assert_eq!(b.txs[57].txid.to_string(), HOGEX);
    assert_eq!(s(f, "hogex_txid"), HOGEX);
    assert_eq!(b.mweb_bytes, 5965);
    assert_eq!((b.size - b.mweb_bytes) as u64, u(f, "tx_section_end"));

    // The HogEx: 4 inputs (the previous HogEx output, then 3 peg-ins of this block), 1 output
    // to a witness-v8 program.
    let ins = tx_inputs(&b, 57);
    assert_eq!(ins.len(), 4);
    let prev = ins[0].prev_txid.to_string();
    assert!(prev.starts_with("69b57b9d") && prev.ends_with("c1409b") && ins[0].prev_vout == 0, "{prev}");
    let pegin_txs: HashSet<String> = ins[1..].iter().map(|i| i.prev_txid.to_string()).collect();
    let txs_2_7_8: HashSet<String> = [2, 7, 8].iter().map(|&i| b.txs[i].txid.to_string()).collect();
    assert_eq!(pegin_txs, txs_2_7_8);
    let outs = tx_outputs(&b, 57);
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].value, 9_191_015_763);
    assert_eq!(outs[0].kind, ScriptKind::WitnessUnknown);
    assert_eq!(witness(&outs[0]), Some((8, 32)));

    // The peg-ins the HogEx spends are witness-v9 outputs whose sum the MWEB kernels peg in.
    let mut pegins = Vec::new();
    for inp in &ins[1..] {
        let i = b.txs.iter().position(|t| t.txid == inp.prev_txid).unwrap();
        let o = tx_outputs(&b, i)[inp.prev_vout as usize];
        assert_eq!(witness(&o), Some((9, 32)), "{o:?}");
        pegins.push(o.value);
    }
    pegins.sort_unstable();
    assert_eq!(pegins, [4_217_283, 2_996_898_140, 6_064_917_570]);
    assert_eq!(pegins.iter().sum::<u64>(), u(&f["mweb"], "pegin_sat"));
    let v9: u64 = b.outputs.iter().filter(|o| witness(o).is_some_and(|(v, _)| v == 9)).map(|o| o.value).sum();
    assert_eq!(v9, 9_066_032_993, "all v9 outputs are these peg-ins");
}

#[test]
fn block_2265985_without_its_mweb_section_parses_to_the_same_txs() {
    // As served to peers without MWEB support: the extension block is left off.
    let raw = read_shared("blocks/litecoin/block2265985.bin");
    let full = parse(&raw, true);
    let stripped = parse(&raw[..raw.len() - 5965], true);
    assert_eq!(stripped.mweb_bytes, 0);
    assert_eq!(stripped.txs, full.txs);
    assert_eq!(stripped.outputs, full.outputs);
}

#[test]
fn block_2265985_is_refused_as_bitcoin() {
    let raw = read_shared("blocks/litecoin/block2265985.bin");
    let mut b = ParsedBlock::default();
    let err = parse_block(&raw, false, &mut b).unwrap_err();
    assert!(matches!(err, DecodeError::BadFlag { tx_index: 57, flag: 0x08, .. }), "{err:?}");
}

#[test]
fn litecoin_outputs_render_with_litecoin_prefixes() {
    let mut seen = HashSet::new();
    for (name, _, raw) in blocks() {
        let b = parse(&raw, true);
        for o in &b.outputs {
            let Some(key) = o.address else { continue };
            let addr = encode(&key, Chain::Litecoin);
            let prefix = match o.kind {
                ScriptKind::P2pk | ScriptKind::P2pkh => "L",
                ScriptKind::P2sh => "M",
                _ => "ltc1",
            };
            assert!(addr.starts_with(prefix), "{name}: {:?} output renders as {addr}", o.kind);
            seen.insert(prefix);
            assert_eq!(decode(&addr, Chain::Litecoin), Ok(key), "{name}: {addr}");
            assert!(decode(&addr, Chain::Bitcoin).is_err(), "{name}: {addr} is no Bitcoin address");
            assert_ne!(encode(&key, Chain::Bitcoin), addr);
        }
    }
    assert!(seen.contains("L") && seen.contains("ltc1"), "{seen:?}");
}
