//! Address strings from the attribution and sanctions lists round-trip, and outputs of the
//! shipped blocks render as the addresses those lists tag.

use std::collections::HashMap;

use sleuth_chain::address::{decode, encode, AddressError};
use sleuth_chain::decode::ParsedBlock;
use sleuth_chain::script::AddressPayload;
use sleuth_chain::Chain;

use crate::common::{csv_rows, parse, read_shared, tx_outputs, unframe};

fn lines(rel: &str) -> Vec<String> {
    String::from_utf8(read_shared(rel))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// "p2pkh", "p2sh", "p2wpkh", "p2wsh" or "p2tr" for a key's payload.
fn type_of(payload: AddressPayload<'_>) -> &'static str {
    match payload {
        AddressPayload::PubkeyHash(_) => "p2pkh",
        AddressPayload::ScriptHash(_) => "p2sh",
        AddressPayload::Witness { version: 0, program } if program.len() == 20 => "p2wpkh",
        AddressPayload::Witness { version: 0, program } if program.len() == 32 => "p2wsh",
        AddressPayload::Witness { version: 1, program } if program.len() == 32 => "p2tr",
        AddressPayload::Witness { .. } => "witness",
    }
}

#[test]
fn attributed_bitcoin_addresses_round_trip() {
    let rows = csv_rows("attribution/attributed_addresses.csv", 4);
    assert_eq!(rows.len(), 38, "README");
    let mut by_type: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        let (addr, currency, kind) = (&r[0], &r[1], &r[2]);
        match currency.as_str() {
            "BTC" => {
                let key = decode(addr, Chain::Bitcoin).unwrap_or_else(|e| panic!("{addr}: {e}"));
                assert_eq!(encode(&key, Chain::Bitcoin), *addr);
                assert_eq!(type_of(key.payload()), kind, "{addr}");
                *by_type.entry(type_of(key.payload())).or_default() += 1;
                assert!(decode(addr, Chain::Litecoin).is_err() || addr.starts_with('3'), "{addr}");
            }
            _ => assert!(decode(addr, Chain::Bitcoin).is_err(), "{addr} ({currency}) is no Bitcoin address"),
        }
    }
    // WannaCry 5 + Lazarus 9 P2PKH; Lazarus 11 + FBI 6 P2SH.
    assert_eq!(by_type, HashMap::from([("p2pkh", 14), ("p2sh", 17)]));
}

#[test]
fn sanctioned_bitcoin_addresses_round_trip_and_the_tron_one_is_refused() {
    let list = lines("sanctions/sanctioned_addresses_XBT.txt");
    assert_eq!(list.len(), 435, "README");
    let mut by_type: HashMap<&str, usize> = HashMap::new();
    for addr in &list {
        if addr == "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq" {
            let err = decode(addr, Chain::Bitcoin).unwrap_err();
            assert!(matches!(err, AddressError::WrongChain { .. } | AddressError::Invalid { .. }));
            continue;
        }
        let key = decode(addr, Chain::Bitcoin).unwrap_or_else(|e| panic!("{addr}: {e}"));
        assert_eq!(encode(&key, Chain::Bitcoin), *addr);
        *by_type.entry(type_of(key.payload())).or_default() += 1;
    }
    assert_eq!(by_type, HashMap::from([("p2pkh", 196), ("p2sh", 158), ("p2wpkh", 72), ("p2wsh", 8)]));
}

#[test]
fn sanctioned_litecoin_addresses_round_trip() {
    let list = lines("sanctions/sanctioned_addresses_LTC.txt");
    assert_eq!(list.len(), 10, "README");
    for addr in &list {
        let key = decode(addr, Chain::Litecoin).unwrap_or_else(|e| panic!("{addr}: {e}"));
        assert_eq!(encode(&key, Chain::Litecoin), *addr);
        let expected = if addr.starts_with('M') { "p2sh" } else { "p2pkh" };
        assert_eq!(type_of(key.payload()), expected, "{addr}");
        assert!(
            matches!(decode(addr, Chain::Bitcoin), Err(AddressError::WrongChain { .. })),
            "{addr} has a Litecoin prefix"
        );
    }
}

#[test]
fn tagged_outputs_of_the_shipped_blocks_render_as_their_addresses() {
    let rows = csv_rows("attribution/tagged_outputs_in_shipped_blocks.csv", 8);
    assert_eq!(rows.len(), 60, "README");
    let mut blocks: HashMap<String, ParsedBlock> = HashMap::new();
    for r in &rows {
        let (file, block_hash, tx_index, txid, vout, address, value) =
            (&r[0], &r[1], r[2].parse::<usize>().unwrap(), &r[3], r[4].parse::<usize>().unwrap(), &r[5], &r[6]);
        let b = blocks.entry(file.clone()).or_insert_with(|| {
            let bytes = read_shared(file);
            if file.contains("/raw/") {
                parse(&bytes, false)
            } else {
                parse(unframe(&bytes)[0], false)
            }
        });
        let what = format!("{file} tx {tx_index} vout {vout}");
        assert_eq!(b.hash.to_string(), *block_hash, "{what}");
        assert_eq!(b.txs[tx_index].txid.to_string(), *txid, "{what}");
        let o = tx_outputs(b, tx_index)[vout];
        assert_eq!(o.value.to_string(), *value, "{what}");
        let key = o.address.unwrap_or_else(|| panic!("{what}: output has an address"));
        assert_eq!(encode(&key, Chain::Bitcoin), *address, "{what}");
    }
    // The README's OFAC hit.
    let b = &blocks["blocks/raw/block574200.bin"];
    assert_eq!(b.txs[1611].txid.to_string(), "41f366c2afcc222fe45398b6dc13dcca8874ca6ed288420700575495d03f8dad");
    let o = tx_outputs(b, 1611)[0];
    assert_eq!(o.value, 38_796_959);
    assert_eq!(encode(&o.address.unwrap(), Chain::Bitcoin), "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d");
}
