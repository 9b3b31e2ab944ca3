//! OFAC's per-asset sanctioned-address lists.

use std::collections::BTreeMap;

use sleuth_tags::{TagError, TagFormat};

use crate::common::{ofac_lists, shared, snapshot, store};

#[test]
fn xbt_list_keeps_the_tron_address_marked() {
    let (_dir, mut store) = store();
    let report = store.import(&shared("sanctions/sanctioned_addresses_XBT.txt"), TagFormat::Ofac).unwrap();
    assert_eq!((report.source.as_str(), report.tags, report.addresses), ("ofac:XBT", 435, 435));
    assert_eq!(report.by_currency, BTreeMap::from([("BTC".to_owned(), 435)]));
    assert_eq!(report.by_chain, BTreeMap::from([("bitcoin".to_owned(), 434), ("tron".to_owned(), 1)]));

    let Ok([tron]) = <[_; 1]>::try_from(store.tags_for("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq").unwrap()) else {
        panic!("one tag")
    };
    assert_eq!((tron.currency.as_str(), tron.chain.as_str()), ("BTC", "tron"));

    // README: the OFAC hit paid in block 574200.
    let Ok([hit]) = <[_; 1]>::try_from(store.tags_for("1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d").unwrap()) else {
        panic!("one tag")
    };
    assert_eq!(hit.label, "OFAC sanctioned address");
    assert_eq!(
        (hit.abuse.as_deref(), hit.confidence.as_deref(), hit.confidence_level),
        (Some("sanction"), Some("authority_data"), Some(60))
    );
    assert_eq!(hit.source, sleuth_tags::ofac::OFAC_SDN_URL);
}

#[test]
fn ltc_list_has_ten_litecoin_addresses() {
    let (_dir, mut store) = store();
    let report = store.import(&shared("sanctions/sanctioned_addresses_LTC.txt"), TagFormat::Ofac).unwrap();
    assert_eq!((report.tags, report.addresses), (10, 10));
    assert_eq!(report.by_chain, BTreeMap::from([("litecoin".to_owned(), 10)]));
}

#[test]
fn every_list_imports_one_tag_per_line() {
    let (_dir, mut store) = store();
    let mut total = 0;
    for list in ofac_lists() {
        let lines = std::fs::read_to_string(&list).unwrap().lines().filter(|l| !l.trim().is_empty()).count();
        let report = store.import(&list, TagFormat::Ofac).unwrap();
        assert_eq!(report.tags, lines, "{}", list.display());
        total += lines;
    }
    assert_eq!(store.sources().count(), 17);
    assert_eq!(store.len(), total);
    assert_eq!(total, 654);
    // TRX addresses parse as TRON, ETH ones as EVM, whatever list they come from.
    assert!(store.all().unwrap().into_iter().filter(|t| t.currency == "TRX").all(|t| t.chain == "tron"));
    assert!(store.all().unwrap().into_iter().filter(|t| t.currency == "ETH").all(|t| t.chain == "evm"));
}

#[test]
fn the_json_list_replaces_the_txt_list_of_its_asset() {
    let (dir, mut store) = store();
    store.import(&shared("sanctions/sanctioned_addresses_XBT.txt"), TagFormat::Ofac).unwrap();
    let from_txt: Vec<_> = store.all().unwrap().into_iter().map(|t| t.address.clone()).collect();
    let report = store.import(&shared("sanctions/sanctioned_addresses_XBT.json"), TagFormat::Ofac).unwrap();
    assert!(report.replaced);
    assert_eq!(store.all().unwrap().into_iter().map(|t| t.address.clone()).collect::<Vec<_>>(), from_txt);
    assert_eq!(snapshot(&dir.path().join("tags")).len(), 1, "one file per source");
}

#[test]
fn a_list_without_an_asset_in_its_name_is_refused() {
    let (dir, mut store) = store();
    let path = dir.path().join("addresses.txt");
    std::fs::write(&path, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n").unwrap();
    let err = store.import(&path, TagFormat::Ofac).unwrap_err();
    assert!(matches!(err, TagError::WrongFile { .. }), "{err}");
    assert!(store.is_empty());
}
