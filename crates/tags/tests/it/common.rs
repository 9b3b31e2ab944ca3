//! Paths and a fresh store for each test.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sleuth_tags::{TagFormat, TagStore};
use tempfile::TempDir;

/// A file of the shared reference data, read in place.
pub fn shared(rel: &str) -> PathBuf {
    sleuth_testkit::shared_data(rel)
}

/// A file of this crate's `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// An empty store in `<tempdir>/tags`, as the CLI lays it out below a data dir.
pub fn store() -> (TempDir, TagStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = TagStore::open(&dir.path().join("tags")).unwrap();
    (dir, store)
}

/// Every TagPack of the shared data, sorted by name.
pub fn packs() -> Vec<PathBuf> {
    let mut packs: Vec<PathBuf> = std::fs::read_dir(shared("tagpacks/packs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    packs.sort();
    packs
}

/// Every OFAC per-asset `.txt` list of the shared data, sorted by name.
pub fn ofac_lists() -> Vec<PathBuf> {
    let mut lists: Vec<PathBuf> = std::fs::read_dir(shared("sanctions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    lists.sort();
    lists
}

/// A store holding every real pack and every OFAC list.
pub fn everything() -> (TempDir, TagStore) {
    let (dir, mut store) = store();
    for pack in packs() {
        store.import(&pack, TagFormat::TagPack).unwrap();
    }
    for list in ofac_lists() {
        store.import(&list, TagFormat::Ofac).unwrap();
    }
    (dir, store)
}

/// One store holding everything, shared by the tests that only read it. Its folder is gone
/// (the store answers from memory), so no test can write to it.
pub fn everything_shared() -> &'static TagStore {
    static STORE: OnceLock<TagStore> = OnceLock::new();
    STORE.get_or_init(|| everything().1)
}

/// Files of the store folder with their bytes, sorted: the persisted state (the import
/// lock, an empty file, is no state).
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "LOCK")
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}
