//! Every tag format on arbitrary bytes, through the store: the first byte picks the format,
//! the rest is the file. An import either fails and leaves the store as it was, or the store
//! re-opens and reads back every tag it reports.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sleuth_tags::{TagFormat, TagStore};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else { return };
    let (name, format) = match pick % 5 {
        0 => ("pack.yaml", TagFormat::TagPack),
        1 => ("sanctioned_addresses_XBT.txt", TagFormat::Ofac),
        2 => ("sanctioned_addresses_ETH.json", TagFormat::Ofac),
        3 => ("sdn_advanced.xml", TagFormat::OfacSdn),
        _ => ("tags.csv", TagFormat::Csv),
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let input = dir.path().join(name);
    std::fs::write(&input, file).expect("written");
    let store_dir = dir.path().join("tags");
    let mut store = TagStore::open(&store_dir).expect("an empty store opens");
    match store.import(&input, format) {
        Err(_) => assert!(store.is_empty(), "a failed import left tags"),
        Ok(report) => {
            let reopened = TagStore::open(&store_dir).expect("the store re-opens");
            let tags = reopened.all().expect("the store reads back");
            assert_eq!(tags.len(), report.tags);
            for t in &tags {
                assert!(reopened.tags_for(&t.address).expect("a lookup").contains(t));
            }
        }
    }
});
