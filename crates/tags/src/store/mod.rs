//! The tag store: one file per imported source in a folder the caller owns (the index data
//! dir's `tags/`), each holding its tags and a sorted index of their addresses, read in place.
//!
//! Opening the store reads each file's 64-byte header and small meta, nothing more; a lookup
//! is one binary search per source in memory-mapped files, so an address query costs
//! microseconds and no memory to speak of however many tags were imported. An import streams
//! the input into a new file under a temporary name ([`writer`]), checks the whole input
//! before that file is renamed over the source's old one, and syncs the folder, so a failed
//! or interrupted import leaves the previous state. Importing the same source again writes
//! the same bytes. One import at a time (`LOCK`); readers never block and never write, so a
//! store on a read-only mount answers queries.

mod file;
mod writer;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use sleuth_durable::FileLock;

use crate::address::lookup_key;
use crate::error::TagError;
use crate::tag::{Entry, ImportReport, TagFormat};
use crate::Tag;
use crate::{csv, ofac, sdn_xml, tagpack};
pub use file::TagRef;
use file::{fnv1a64, SourceFile};
pub use writer::MAX_FIELD_BYTES;

/// Version of the store's file layout; a store of another version must be imported again.
/// Layout 1 was one JSON file per source, loaded whole.
pub const STORE_VERSION: u32 = 2;

/// Refused entries an [`ImportReport`] lists; it counts them all.
pub const MAX_REFUSED_LISTED: usize = 100;

/// Imported tags, persisted under one folder, looked up by address.
#[derive(Debug)]
pub struct TagStore {
    dir: PathBuf,
    /// Each source's file, by source id.
    sources: BTreeMap<String, SourceFile>,
}

impl TagStore {
    /// A store in `dir` with nothing imported, creating nothing.
    pub fn empty(dir: &Path) -> TagStore {
        TagStore { dir: dir.to_owned(), sources: BTreeMap::new() }
    }

    /// Opens the store in `dir` for reading: maps each source's file and checks its header.
    /// A folder that does not exist is an empty store; nothing is created or written, so this
    /// works on a read-only mount. Files of other names (the `*.tmp` of an interrupted import,
    /// `LOCK`) are ignored.
    ///
    /// # Errors
    /// [`TagError::Io`] if the folder cannot be read, [`TagError::Corrupt`] for a store file
    /// that is damaged, was written by another layout version, or repeats a source another
    /// file holds.
    pub fn open(dir: &Path) -> Result<TagStore, TagError> {
        let mut store = TagStore::empty(dir);
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(store),
            Err(e) => return Err(TagError::io(dir, e)),
        };
        for entry in entries {
            let path = entry.map_err(|e| TagError::io(dir, e))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            if name.ends_with(".json") {
                return Err(TagError::Corrupt {
                    path: path.clone(),
                    message: format!(
                        "a tag store file of layout 1 (JSON), written by an older sleuth; this one reads layout \
                         {STORE_VERSION}"
                    ),
                });
            }
            if !name.ends_with(".tags") {
                continue;
            }
            let file = SourceFile::open(&path)?;
            if let Some(other) = store.sources.get(&file.meta.source) {
                return Err(TagError::Corrupt {
                    path: path.clone(),
                    message: format!("source {:?} is also stored in {}", file.meta.source, other.file_name),
                });
            }
            store.sources.insert(file.meta.source.clone(), file);
        }
        Ok(store)
    }

    /// Imports the tags of one file, replacing everything an earlier import of the same source
    /// brought in. Creates the store's folder if needed.
    ///
    /// The source id is `tagpack:<creator>/<title>` for a TagPack, `ofac:<ASSET>` for an OFAC
    /// list, `ofac-sdn:<file name>` and `csv:<file name>` for the others; so a TagPack keeps
    /// its identity when its file is renamed, and a fresh download of a list replaces the old.
    ///
    /// # Errors
    /// [`TagError::Io`] if the file cannot be read or the store written; [`TagError::Syntax`],
    /// [`TagError::Invalid`] or [`TagError::WrongFile`], naming the file and line, if the file
    /// breaks its format; [`TagError::Busy`] while another import runs. On error nothing is
    /// imported.
    pub fn import(&mut self, path: &Path, format: TagFormat) -> Result<ImportReport, TagError> {
        fs::create_dir_all(&self.dir).map_err(|e| TagError::io(&self.dir, e))?;
        let lock_path = self.dir.join("LOCK");
        let _lock = FileLock::try_exclusive(&lock_path)
            .map_err(|e| TagError::io(&lock_path, e))?
            .ok_or_else(|| TagError::Busy { path: lock_path.clone() })?;
        let file = path.display().to_string();
        let mut out = writer::SourceWriter::create(&self.dir)?;
        let mut refused = Vec::new();
        let mut refused_count = 0;
        let mut sink = |entry: Entry, line: u64| match entry {
            Entry::Tag(tag) => out.push(&tag, path, line),
            Entry::Refused(r) => {
                refused_count += 1;
                if refused.len() < MAX_REFUSED_LISTED {
                    refused.push(r);
                }
                Ok(())
            }
        };
        let source = match format {
            TagFormat::OfacSdn => sdn_xml::parse(path, &file, &mut sink)?,
            TagFormat::TagPack => tagpack::parse(path, &file, &mut sink)?,
            TagFormat::Ofac => ofac::parse(path, &file, &mut sink)?,
            TagFormat::Csv => csv::parse(path, &file, &mut sink)?,
        };
        let (tmp, meta) = out.finish(&source, format, &file)?;
        let file_name = store_file_name(&source);
        let target = self.dir.join(&file_name);
        fs::rename(&tmp, &target).map_err(|e| TagError::io(&target, e))?;
        sleuth_durable::sync_dir(&self.dir).map_err(|e| TagError::io(&self.dir, e))?;
        let previous = self.sources.insert(source.clone(), SourceFile::open(&target)?);
        if let Some(old) = previous.as_ref().filter(|old| old.file_name != file_name) {
            // Renamed by hand: the new file holds the source now.
            let old_path = self.dir.join(&old.file_name);
            fs::remove_file(&old_path).map_err(|e| TagError::io(&old_path, e))?;
        }
        Ok(ImportReport {
            source: meta.source,
            format,
            file,
            tags: meta.tags as usize,
            addresses: meta.addresses as usize,
            replaced: previous.is_some(),
            by_currency: meta.by_currency,
            by_chain: meta.by_chain,
            refused: refused_count,
            refused_tags: refused,
        })
    }

    /// Removes every tag of `source` (an [`ImportReport::source`]); returns whether there were any.
    ///
    /// # Errors
    /// [`TagError::Io`] if the source's file cannot be deleted.
    pub fn remove(&mut self, source: &str) -> Result<bool, TagError> {
        let Some(stored) = self.sources.get(source) else { return Ok(false) };
        let path = self.dir.join(&stored.file_name);
        fs::remove_file(&path).map_err(|e| TagError::io(&path, e))?;
        self.sources.remove(source);
        Ok(true)
    }

    /// Every tag of `address`, from every source, in source-id then file order.
    ///
    /// The match is exact, except that bech32 and `0x` addresses match whatever their case
    /// (see [`crate::address::lookup_key`]).
    ///
    /// # Errors
    /// [`TagError::Corrupt`] if a store file is damaged where the lookup reads it.
    pub fn tags_for(&self, address: &str) -> Result<Vec<Tag>, TagError> {
        let key = lookup_key(address.trim());
        let mut out = Vec::new();
        for file in self.sources.values() {
            file.lookup(&key, &mut out)?;
        }
        Ok(out)
    }

    /// Calls `f` with every tag, in source-id then file order, read in place.
    ///
    /// # Errors
    /// [`TagError::Corrupt`] if a store file is damaged.
    pub fn scan(&self, mut f: impl FnMut(TagRef<'_>)) -> Result<(), TagError> {
        for file in self.sources.values() {
            file.scan(&mut f)?;
        }
        Ok(())
    }

    /// Every tag, in source-id then file order (all in memory: for small stores and tests;
    /// see [`TagStore::scan`]).
    ///
    /// # Errors
    /// As [`TagStore::scan`].
    pub fn all(&self) -> Result<Vec<Tag>, TagError> {
        let mut out = Vec::new();
        self.scan(|t| out.push(t.to_tag()))?;
        Ok(out)
    }

    /// The ids of the imported sources, sorted.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(String::as_str)
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.sources.values().map(|s| s.meta.tags as usize).sum()
    }

    /// Whether no tags are stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every source with the name of its file in the store folder.
    pub fn source_files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sources.iter().map(|(s, f)| (s.as_str(), f.file_name.as_str()))
    }

    /// The folder the store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// `<readable part>-<hash>.tags`: readable in a listing, and distinct for distinct sources.
fn store_file_name(source: &str) -> String {
    let slug: String = source
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
        .take(60)
        .collect();
    format!("{slug}-{:016x}.tags", fnv1a64(source.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_stable_and_safe() {
        assert_eq!(store_file_name("ofac:XBT"), format!("ofac_XBT-{:016x}.tags", fnv1a64(b"ofac:XBT")));
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let name = store_file_name("tagpack:GraphSense Core Team/OFAC Tagpack");
        assert!(name.starts_with("tagpack_GraphSense_Core_Team_OFAC_Tagpack-"), "{name}");
        assert_ne!(store_file_name("a/b"), store_file_name("a_b"));
    }

    #[test]
    fn a_corrupt_store_file_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x.tags"), "{").unwrap();
        fs::write(dir.path().join("y.tags.tmp"), "ignored").unwrap();
        let err = TagStore::open(dir.path()).unwrap_err();
        assert!(matches!(err, TagError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("x.tags") && err.to_string().contains("delete this file"), "{err}");
        fs::remove_file(dir.path().join("x.tags")).unwrap();
        fs::write(dir.path().join("old.json"), "{\"version\":1}").unwrap();
        let err = TagStore::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("layout 1 (JSON)"), "{err}");
    }

    /// Every byte of a small store file flipped in turn, and every length it can be cut to:
    /// opening, scanning and looking up either work or say the file is damaged; none panics.
    #[test]
    fn damage_anywhere_in_a_store_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("t.csv");
        let a = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
        let b = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
        fs::write(&input, format!("address,label,category,source\n{a},x,exchange,s\n{b},y,,t\n{a},z,,u\n")).unwrap();
        let store_dir = dir.path().join("store");
        let mut store = TagStore::open(&store_dir).unwrap();
        store.import(&input, TagFormat::Csv).unwrap();
        let name = store.source_files().next().unwrap().1.to_owned();
        let clean = fs::read(store_dir.join(&name)).unwrap();
        let expected = store.tags_for(a).unwrap();
        assert_eq!(expected.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(), ["x", "z"]);
        let damaged_dir = dir.path().join("damaged");
        fs::create_dir(&damaged_dir).unwrap();
        let path = damaged_dir.join(&name);
        let (mut errors, mut same) = (0, 0);
        let mut variants: Vec<Vec<u8>> = (0..clean.len())
            .map(|i| {
                let mut v = clean.clone();
                v[i] ^= 0x5a;
                v
            })
            .collect();
        variants.extend((0..clean.len()).map(|n| clean[..n].to_vec()));
        for bytes in variants {
            fs::write(&path, &bytes).unwrap();
            let outcome = TagStore::open(&damaged_dir).and_then(|s| {
                s.scan(|_| ())?;
                s.tags_for(a)
            });
            match outcome {
                Ok(tags) if tags == expected => same += 1,
                Ok(_) => {}
                Err(e) => {
                    assert!(matches!(e, TagError::Corrupt { .. }), "{e}");
                    errors += 1;
                }
            }
        }
        // The header, the lengths and the meta are checked; a flipped byte inside a label is
        // read as the label it now spells (no per-row checksum).
        assert!(errors > clean.len(), "{errors} errors, {same} unchanged answers");
    }
}
