//! The store: idempotent re-imports, all-or-nothing failures, persistence.

use std::path::Path;

use sleuth_tags::{Tag, TagError, TagFormat, TagStore};

use crate::common::{everything, shared, snapshot, store};

fn tags(store: &TagStore) -> Vec<Tag> {
    store.all().unwrap()
}

#[test]
fn importing_everything_twice_changes_nothing() {
    let (dir, mut store) = everything();
    let folder = dir.path().join("tags");
    let (before, files) = (tags(&store), snapshot(&folder));
    assert_eq!(files.len(), 14 + 17, "one file per source");
    assert!(files.iter().all(|(name, _)| name.ends_with(".tags")), "nothing else in the folder");

    for pack in crate::common::packs() {
        assert!(store.import(&pack, TagFormat::TagPack).unwrap().replaced);
    }
    for list in crate::common::ofac_lists() {
        assert!(store.import(&list, TagFormat::Ofac).unwrap().replaced);
    }
    assert_eq!(tags(&store), before);
    assert_eq!(snapshot(&folder), files, "same files, same bytes");

    let reopened = TagStore::open(&folder).unwrap();
    assert_eq!(tags(&reopened), before);
    assert_eq!(
        reopened.tags_for("1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d").unwrap(),
        store.tags_for("1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d").unwrap()
    );
}

/// Writes a copy of lazarus.yaml with `edit` applied, under the same title (so the same source).
fn lazarus_variant(dir: &Path, edit: impl Fn(&str) -> String) -> std::path::PathBuf {
    let text = std::fs::read_to_string(shared("tagpacks/packs/lazarus.yaml")).unwrap();
    let path = dir.join("lazarus-edited.yaml");
    std::fs::write(&path, edit(&text)).unwrap();
    path
}

#[test]
fn a_bad_file_names_its_line_and_changes_nothing() {
    let (dir, mut store) = store();
    let folder = dir.path().join("tags");
    store.import(&shared("tagpacks/packs/lazarus.yaml"), TagFormat::TagPack).unwrap();
    let (before, files) = (tags(&store), snapshot(&folder));

    // Line 41 of lazarus.yaml is `- address: 3HQRveQzPifZorZLDXHernc5zjoZax8U9f`, tag 15.
    const TAG_15: &str = "- address: 3HQRveQzPifZorZLDXHernc5zjoZax8U9f\n  currency: BTC\n";
    let cases = [
        (
            "unknown category",
            TAG_15,
            format!("{TAG_15}  category: lazarus\n"),
            43,
            "tag 15: unknown category \"lazarus\"",
        ),
        ("broken YAML", TAG_15, TAG_15.replace("address: ", "address: ["), 41, ""),
        ("missing label", "label: Lazarus group\n", String::new(), 12, "tag 1: mandatory field label is missing"),
        (
            "unknown field",
            "  currency: ETH\n",
            "  currency: ETH\n  colour: red\n".into(),
            55,
            "tag 21: field \"colour\" is not in the TagPack schema",
        ),
    ];
    for (what, from, to, line, message) in cases {
        let path = lazarus_variant(dir.path(), |t| t.replacen(from, &to, 1));
        let err = store.import(&path, TagFormat::TagPack).unwrap_err();
        assert!(err.line().is_some_and(|l| l == line || (what == "broken YAML" && l >= 41)), "{what}: {err}");
        assert_eq!(what == "broken YAML", matches!(err, TagError::Syntax { .. }), "{what}: {err}");
        let msg = err.to_string();
        assert!(msg.starts_with(&path.display().to_string()), "{what}: {msg}");
        assert!(msg.contains(message), "{what}: {msg}");
        assert_eq!(tags(&store), before, "{what}: nothing imported");
        assert_eq!(snapshot(&folder), files, "{what}: nothing written");
    }
    assert_eq!(tags(&TagStore::open(&folder).unwrap()), before);
}

#[test]
fn a_new_source_that_fails_leaves_no_trace() {
    let (dir, mut store) = store();
    let path = lazarus_variant(dir.path(), |t| {
        t.replace("title: OFAC Tagpack", "title: New").replace("abuse: sanction", "abuse: sanctioned")
    });
    let err = store.import(&path, TagFormat::TagPack).unwrap_err();
    assert!(matches!(err, TagError::Invalid { line: 10, .. }), "{err}");
    assert!(store.is_empty());
    assert!(snapshot(&dir.path().join("tags")).is_empty());
}

#[test]
fn remove_drops_a_source() {
    let (dir, mut store) = store();
    let report = store.import(&shared("tagpacks/packs/lazarus.yaml"), TagFormat::TagPack).unwrap();
    store.import(&shared("sanctions/sanctioned_addresses_XBT.txt"), TagFormat::Ofac).unwrap();
    assert_eq!(store.tags_for("134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak").unwrap().len(), 2);
    assert!(store.remove(&report.source).unwrap());
    assert!(!store.remove(&report.source).unwrap());
    assert_eq!(store.tags_for("134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak").unwrap().len(), 1);
    assert_eq!(TagStore::open(&dir.path().join("tags")).unwrap().len(), 435);
}

#[test]
fn unknown_addresses_have_no_tags() {
    let (_dir, store) = store();
    assert!(store.tags_for("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa").unwrap().is_empty());
    assert_eq!(store.all().unwrap().len(), 0);
}
