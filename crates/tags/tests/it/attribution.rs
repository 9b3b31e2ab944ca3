//! The address facts of `attribution/`: each attributed or tagged address has the tags its
//! sources give it, and OFAC's only where the list has it.

use sleuth_tags::{Tag, TagStore};

use crate::common::{everything_shared, shared};

fn from_file(store: &TagStore, address: &str, file: &str) -> Vec<Tag> {
    store.tags_for(address).unwrap().into_iter().filter(|t| t.file.ends_with(file)).collect()
}

#[test]
fn attributed_addresses_have_their_sources_tags() {
    let store = everything_shared();
    let mut reader = csv::Reader::from_path(shared("attribution/attributed_addresses.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (address, currency, confidence, in_ofac, source) =
        (col("address"), col("currency"), col("confidence"), col("in_ofac_list_same_asset"), col("source"));
    let mut rows = 0;
    for row in reader.records() {
        let row = row.unwrap();
        rows += 1;
        let addr = &row[address];
        // `graphsense/graphsense-tagpacks:packs/lazarus.yaml ; …` → the pack's file.
        let pack = row[source].split(" ; ").next().unwrap().rsplit('/').next().unwrap();
        let pack_tags = from_file(store, addr, pack);
        assert_eq!(pack_tags.len(), 1, "{addr} in {pack}");
        assert_eq!(pack_tags[0].confidence.as_deref(), Some(&row[confidence]), "{addr}");
        assert_eq!(pack_tags[0].currency, row[currency], "{addr}");

        let asset = if &row[currency] == "BTC" { "XBT" } else { &row[currency] };
        let ofac = store.tags_for(addr).unwrap().iter().filter(|t| t.import == format!("ofac:{asset}")).count();
        assert_eq!(ofac, usize::from(&row[in_ofac] == "yes"), "{addr}: on OFAC's {asset} list");
    }
    assert_eq!(rows, 38, "README: 38 rows");
}

#[test]
fn a_lazarus_ofac_address_has_both_tags() {
    let store = everything_shared();
    for address in ["3F2sZ4jbhvDKQdGbHYPC6ZxFXEau2m5Lqj", "1AXUTu9y3H8w4wYx4BjyFWgRhZKDhmcMrn"] {
        let tags = store.tags_for(address).unwrap();
        let pack = tags.iter().find(|t| t.file.ends_with("lazarus.yaml")).expect("lazarus.yaml tag");
        assert_eq!((pack.actor.as_deref(), pack.abuse.as_deref()), (Some("lazarusgroup"), Some("sanction")));
        let ofac = tags.iter().find(|t| t.import == "ofac:XBT").expect("OFAC XBT tag");
        assert_eq!((ofac.currency.as_str(), ofac.abuse.as_deref()), ("BTC", Some("sanction")));
    }
    // The Ronin exploiter: lazarus.yaml, ronin_bridge.yaml and OFAC's ETH list.
    let ronin = store.tags_for("0x098B716B8Aaf21512996dC57EB0615e2383E2f96").unwrap();
    let mut sources: Vec<&str> = ronin.iter().map(|t| t.import.as_str()).collect();
    sources.sort_unstable();
    assert_eq!(
        sources,
        [
            "ofac:ETH",
            "tagpack:GraphSense Core Team/OFAC Tagpack",
            "tagpack:GraphSense Core Team/Ronin bridge hack",
            "tagpack:INTERPOL CNTL/US Treasury OFAC Sanctions List",
        ]
    );
}

#[test]
fn tagged_outputs_in_the_shipped_blocks_have_their_tags() {
    let store = everything_shared();
    let mut reader = csv::Reader::from_path(shared("attribution/tagged_outputs_in_shipped_blocks.csv")).unwrap();
    let mut rows = 0;
    for row in reader.records() {
        let row = row.unwrap();
        rows += 1;
        let (address, expected) = (&row[5], &row[7]);
        // e.g. `OFAC sanctioned_addresses_XBT.txt; tagpack ofac.yaml label=Asset listed under …`
        for part in expected.split("; ") {
            if let Some(rest) = part.strip_prefix("tagpack ") {
                let (file, label) = rest.split_once(" label=").unwrap();
                assert!(from_file(store, address, file).iter().any(|t| t.label == label), "{address}: {part}");
            } else {
                let list = part.strip_prefix("OFAC ").unwrap();
                assert!(store.tags_for(address).unwrap().iter().any(|t| t.file.ends_with(list)), "{address}: {part}");
            }
        }
    }
    assert_eq!(rows, 60, "README: 60 rows");
}
