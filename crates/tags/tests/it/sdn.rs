//! OFAC's SDN advanced XML, on the excerpt in `tests/fixtures`.

use std::collections::BTreeMap;

use sleuth_tags::sdn_xml::read_sdn;
use sleuth_tags::TagFormat;

use crate::common::{fixture, shared, store};

const EXCERPT: &str = "sdn_advanced_excerpt.xml";

#[test]
fn excerpt_yields_address_asset_name_triples() {
    let got: Vec<_> =
        read_sdn(&fixture(EXCERPT)).unwrap().into_iter().map(|a| (a.address, a.asset, a.name, a.fixed_ref)).collect();
    let want = [
        ("149w62rY42aZBox8fGcmqNsXUzSStKeq8C", "XBT", "KHORASHADIZADEH, Ali", "26137"),
        ("1AjZPMsnmpdK2Rv9KQNfMurTXinscVro9V", "XBT", "GHORBANIYAN, Mohammad", "26138"),
        ("0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "ETH", "LAZARUS GROUP", "27307"),
        ("0xa0e1c89Ef1a489c9C7dE96311eD5Ce5D32c20E4B", "ETH", "LAZARUS GROUP", "27307"),
        ("0xd882cfc20f52f2599d84b8e8d58c7fb62cfe344b", "ETH", "KARASAVIDI, Dmitrii", "29585"),
        ("LNwgtMxcKUQ51dw7bQL1yPQjBVZh6QEqsd", "LTC", "KARASAVIDI, Dmitrii", "29585"),
        ("XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2", "DASH", "KARASAVIDI, Dmitrii", "29585"),
        ("GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS", "BTG", "KARASAVIDI, Dmitrii", "29585"),
        ("0xd882cfc20f52f2599d84b8e8d58c7fb62cfe344b", "ETC", "KARASAVIDI, Dmitrii", "29585"),
        ("5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320", "XMR", "KARASAVIDI, Dmitrii", "29585"),
        ("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", "XBT", "WANG, Mingming", "45404"),
    ];
    let want: Vec<_> =
        want.iter().map(|(a, s, n, r)| (a.to_string(), s.to_string(), n.to_string(), r.to_string())).collect();
    assert_eq!(got, want);
}

#[test]
fn every_excerpt_address_is_on_the_list_of_its_asset() {
    for a in read_sdn(&fixture(EXCERPT)).unwrap() {
        let list = std::fs::read_to_string(shared(&format!("sanctions/sanctioned_addresses_{}.txt", a.asset))).unwrap();
        assert!(list.lines().any(|l| l == a.address), "{} {}", a.asset, a.address);
    }
}

#[test]
fn import_labels_tags_with_the_party() {
    let (_dir, mut store) = store();
    let report = store.import(&fixture(EXCERPT), TagFormat::OfacSdn).unwrap();
    assert_eq!(report.source, "ofac-sdn:sdn_advanced_excerpt.xml");
    assert_eq!((report.tags, report.addresses), (11, 10), "ETH and ETC share an address");
    let want: BTreeMap<String, usize> =
        [("BTC", 3), ("BTG", 1), ("DASH", 1), ("ETC", 1), ("ETH", 3), ("LTC", 1), ("XMR", 1)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
    assert_eq!(report.by_currency, want);

    let Ok([wang]) = <[_; 1]>::try_from(store.tags_for("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq").unwrap()) else {
        panic!("one tag")
    };
    assert_eq!((wang.label.as_str(), wang.currency.as_str(), wang.chain.as_str()), ("WANG, Mingming", "BTC", "tron"));
    assert_eq!((wang.abuse.as_deref(), wang.confidence_level), (Some("sanction"), Some(60)));

    let karasavidi = store.tags_for("0xD882CFC20F52F2599D84B8E8D58C7FB62CFE344B").unwrap();
    let currencies: Vec<_> = karasavidi.iter().map(|t| t.currency.as_str()).collect();
    assert_eq!(currencies, ["ETH", "ETC"]);
    assert!(karasavidi.iter().all(|t| t.label == "KARASAVIDI, Dmitrii"));
}

#[test]
fn a_per_asset_list_is_not_sdn_xml() {
    let (_dir, mut store) = store();
    let err = store.import(&shared("sanctions/sanctioned_addresses_XBT.txt"), TagFormat::OfacSdn).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("sanctioned_addresses_XBT.txt") && msg.contains("advanced XML"), "{msg}");
    assert!(store.is_empty());
}

/// A download cut short between two elements is still well-formed XML up to the cut; only
/// the unclosed root shows it. It imports nothing, and the full import before it stays.
#[test]
fn a_truncated_download_leaves_the_previous_import() {
    let (dir, mut store) = store();
    let path = dir.path().join("sdn_advanced.xml");
    let full = std::fs::read_to_string(fixture(EXCERPT)).unwrap();
    std::fs::write(&path, &full).unwrap();
    store.import(&path, TagFormat::OfacSdn).unwrap();
    let before = store.all().unwrap();
    assert_eq!(before.len(), 11);

    // Cut right after the third party closes: everything before the cut parses.
    let cut = full.match_indices("</DistinctParty>").nth(2).map(|(i, m)| i + m.len()).unwrap();
    std::fs::write(&path, &full[..cut]).unwrap();
    let err = store.import(&path, TagFormat::OfacSdn).unwrap_err();
    assert!(err.to_string().contains("cut short"), "{err}");
    assert_eq!(store.all().unwrap(), before, "the store keeps the full import");
    let reopened = sleuth_tags::TagStore::open(&dir.path().join("tags")).unwrap();
    assert_eq!(reopened.all().unwrap(), before, "and so does the folder");
}
