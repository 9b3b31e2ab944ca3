//! Issue 14's mutation test for tag files: real TagPacks and OFAC lists, the SDN excerpt and a
//! CSV made from the XBT list, damaged in the ways downloads and hand edits are (bit flips,
//! byte runs, truncations, removed, duplicated and swapped lines, random bytes inserted), each
//! imported over a clean import of the same source. Every mutant must either fail with an error
//! that leaves the store as it was (in memory and on disk), or import tags whose addresses are
//! what their recorded chain says and which lookups find; none may panic.
//!
//! `SLEUTH_TAG_MUTANTS` (default 1,000) and `SLEUTH_TAG_MUTANTS_SEED` set the count and seed.

use std::path::{Path, PathBuf};

use sleuth_tags::{address, Tag, TagFormat, TagStore};

use sleuth_testkit::Rng;

use crate::common::{fixture, shared};

const KINDS: [&str; 7] =
    ["bit flip", "byte run", "truncation", "removed line", "duplicated line", "swapped lines", "inserted bytes"];

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').collect()
}

fn mutate(clean: &[u8], kind: &str, rng: &mut Rng) -> Vec<u8> {
    let mut b = clean.to_vec();
    match kind {
        "bit flip" => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
        }
        "byte run" => {
            let at = rng.below(b.len());
            let len = (1 + rng.below(64)).min(b.len() - at);
            let v = rng.next_u64() as u8;
            b[at..at + len].fill(v);
        }
        "truncation" => b.truncate(rng.below(b.len())),
        "inserted bytes" => {
            let at = rng.below(b.len());
            let junk: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next_u64() as u8).collect();
            b.splice(at..at, junk);
        }
        _ => {
            let mut ls: Vec<Vec<u8>> = lines(clean).into_iter().map(<[u8]>::to_vec).collect();
            let i = rng.below(ls.len());
            match kind {
                "removed line" => {
                    ls.remove(i);
                }
                "duplicated line" => {
                    let l = ls[i].clone();
                    ls.insert(i, l);
                }
                _ => {
                    let j = rng.below(ls.len());
                    ls.swap(i, j);
                }
            }
            b = ls.concat();
        }
    }
    b
}

/// The sources: (file name the mutant is written under, clean bytes, format).
fn sources(tmp: &Path) -> Vec<(String, Vec<u8>, TagFormat)> {
    let xbt = std::fs::read_to_string(shared("sanctions/sanctioned_addresses_XBT.txt")).unwrap();
    let mut csv = String::from("address,label,category,source\n");
    for (i, a) in xbt.lines().take(60).enumerate() {
        csv +=
            &format!("{a},\"Entity {i}, Ltd\",{},https://example.org/{i}\n", ["exchange", "", "mixing_service"][i % 3]);
    }
    let _ = tmp;
    vec![
        ("lazarus.yaml".into(), std::fs::read(shared("tagpacks/packs/lazarus.yaml")).unwrap(), TagFormat::TagPack),
        ("plustoken.yaml".into(), std::fs::read(shared("tagpacks/packs/plustoken.yaml")).unwrap(), TagFormat::TagPack),
        ("sanctioned_addresses_XBT.txt".into(), xbt.into_bytes(), TagFormat::Ofac),
        (
            "sanctioned_addresses_ETH.json".into(),
            std::fs::read(shared("sanctions/sanctioned_addresses_ETH.json")).unwrap(),
            TagFormat::Ofac,
        ),
        ("sdn_advanced.xml".into(), std::fs::read(fixture("sdn_advanced_excerpt.xml")).unwrap(), TagFormat::OfacSdn),
        ("tags.csv".into(), csv.into_bytes(), TagFormat::Csv),
    ]
}

fn check_imported(store: &TagStore, tags: &[Tag], what: &str) {
    for t in tags {
        assert_eq!(address::chain_of(&t.address), t.chain, "{what}: {t:?}");
        assert!(store.tags_for(&t.address).unwrap().contains(t), "{what}: {} is not found", t.address);
    }
}

#[test]
fn damaged_tag_files_import_cleanly_or_not_at_all() {
    let count: usize = std::env::var("SLEUTH_TAG_MUTANTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000);
    let seed: u64 = std::env::var("SLEUTH_TAG_MUTANTS_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let tmp = tempfile::tempdir().unwrap();
    let sources = sources(tmp.path());
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (mut refused, mut imported) = (0, 0);
    for (s, (name, clean, format)) in sources.iter().enumerate() {
        let dir = tmp.path().join(format!("s{s}"));
        std::fs::create_dir_all(&dir).unwrap();
        let input: PathBuf = dir.join(name);
        std::fs::write(&input, clean).unwrap();
        let store_dir = dir.join("tags");
        let mut store = TagStore::open(&store_dir).unwrap();
        store.import(&input, *format).unwrap();
        for m in 0..count / sources.len() + 1 {
            let kind = KINDS[rng.below(KINDS.len())];
            let what = format!("{name} mutant {m} ({kind})");
            std::fs::write(&input, clean).unwrap();
            store.import(&input, *format).unwrap();
            let before = store.all().unwrap();
            let bytes = mutate(clean, kind, &mut rng);
            std::fs::write(&input, &bytes).unwrap();
            match store.import(&input, *format) {
                Err(e) => {
                    assert!(e.line().is_some() || !e.to_string().is_empty(), "{what}: {e}");
                    assert_eq!(store.all().unwrap(), before, "{what}: failed ({e}) but changed the store");
                    assert_eq!(TagStore::open(&store_dir).unwrap().all().unwrap(), before, "{what}: on disk");
                    refused += 1;
                }
                Ok(report) => {
                    let reopened = TagStore::open(&store_dir).unwrap();
                    // A damaged title or file name is another source: count this one's.
                    let tags: Vec<Tag> =
                        reopened.all().unwrap().into_iter().filter(|t| t.import == report.source).collect();
                    assert_eq!(tags.len(), report.tags, "{what}");
                    check_imported(&reopened, &tags, &what);
                    imported += 1;
                }
            }
        }
    }
    assert!(refused + imported >= count, "{refused} + {imported}");
    // Both outcomes occur: a test where every mutant failed (or none) would prove little.
    assert!(refused > count / 10 && imported > count / 10, "{refused} refused, {imported} imported");
    eprintln!("{} tag-file mutants: {refused} refused with an error, {imported} imported cleanly", refused + imported);
}
