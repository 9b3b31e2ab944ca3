//! The tag store: one JSON file per imported source in a folder the caller owns (the index
//! data dir's `tags/`), and an in-memory map from address to tags.
//!
//! An import parses and checks the whole file before anything is written, then replaces the
//! source's file atomically (write `*.json.tmp`, fsync, rename), so a failed or interrupted
//! import leaves the previous state. Importing the same source again rewrites the same file
//! with the same bytes. One process at a time may import into a store.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::address::lookup_key;
use crate::error::TagError;
use crate::tag::{ImportReport, Parsed, Tag, TagFormat};
use crate::{csv, ofac, sdn_xml, tagpack};

/// Version of the store's file layout; a store of another version must be rebuilt.
pub const STORE_VERSION: u32 = 1;

/// Imported tags, persisted under one folder, looked up by address.
#[derive(Debug)]
pub struct TagStore {
    dir: PathBuf,
    imports: BTreeMap<String, Stored>,
    by_address: HashMap<String, Vec<Tag>>,
}

/// One imported source as held in memory.
#[derive(Debug)]
struct Stored {
    /// Name of its file in the store folder.
    file_name: String,
    tags: Vec<Tag>,
}

/// One store file.
#[derive(Serialize, Deserialize)]
struct StoreFile<'a> {
    version: u32,
    source: Cow<'a, str>,
    format: TagFormat,
    file: Cow<'a, str>,
    tags: Vec<Row<'a>>,
}

/// A tag as stored: its import id and file are the store file's, not repeated per tag.
#[derive(Serialize, Deserialize)]
struct Row<'a> {
    address: Cow<'a, str>,
    currency: Cow<'a, str>,
    network: Cow<'a, str>,
    chain: Cow<'a, str>,
    label: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    category: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actor: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    abuse: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    confidence: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    confidence_level: Option<u8>,
    source: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    is_cluster_definer: bool,
}

impl<'a> From<&'a Tag> for Row<'a> {
    fn from(t: &'a Tag) -> Row<'a> {
        let opt = |o: &'a Option<String>| o.as_deref().map(Cow::Borrowed);
        Row {
            address: Cow::Borrowed(&t.address),
            currency: Cow::Borrowed(&t.currency),
            network: Cow::Borrowed(&t.network),
            chain: Cow::Borrowed(&t.chain),
            label: Cow::Borrowed(&t.label),
            category: opt(&t.category),
            actor: opt(&t.actor),
            abuse: opt(&t.abuse),
            confidence: opt(&t.confidence),
            confidence_level: t.confidence_level,
            source: Cow::Borrowed(&t.source),
            is_cluster_definer: t.is_cluster_definer,
        }
    }
}

impl Row<'_> {
    fn into_tag(self, import: &str, file: &str) -> Tag {
        let opt = |o: Option<Cow<'_, str>>| o.map(Cow::into_owned);
        Tag {
            address: self.address.into_owned(),
            currency: self.currency.into_owned(),
            network: self.network.into_owned(),
            chain: self.chain.into_owned(),
            label: self.label.into_owned(),
            category: opt(self.category),
            actor: opt(self.actor),
            abuse: opt(self.abuse),
            confidence: opt(self.confidence),
            confidence_level: self.confidence_level,
            source: self.source.into_owned(),
            import: import.to_owned(),
            file: file.to_owned(),
            is_cluster_definer: self.is_cluster_definer,
        }
    }
}

impl TagStore {
    /// A store in `dir` with nothing imported, creating nothing: what a data dir without a
    /// tag store (or on a read-only mount) holds.
    pub fn empty(dir: &Path) -> TagStore {
        TagStore { dir: dir.to_owned(), imports: BTreeMap::new(), by_address: HashMap::new() }
    }

    /// Opens the store in `dir`, creating the folder if it does not exist, and loads every
    /// source imported so far. Files not ending in `.json` (such as the `.json.tmp` left by an
    /// interrupted import) are ignored.
    ///
    /// # Errors
    /// [`TagError::Io`] if the folder cannot be created or read, [`TagError::Corrupt`] for a
    /// store file that does not parse, was written by another layout version, or repeats a
    /// source another file holds.
    pub fn open(dir: &Path) -> Result<TagStore, TagError> {
        fs::create_dir_all(dir).map_err(|e| TagError::io(dir, e))?;
        let mut store = TagStore { dir: dir.to_owned(), imports: BTreeMap::new(), by_address: HashMap::new() };
        for entry in fs::read_dir(dir).map_err(|e| TagError::io(dir, e))? {
            let path = entry.map_err(|e| TagError::io(dir, e))?.path();
            let Some(file_name) = path.file_name().and_then(|n| n.to_str()).filter(|n| n.ends_with(".json")) else {
                continue;
            };
            let file_name = file_name.to_owned();
            let bytes = fs::read(&path).map_err(|e| TagError::io(&path, e))?;
            let corrupt = |message: String| TagError::Corrupt { path: path.clone(), message };
            let file: StoreFile<'static> =
                serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not a tag store file: {e}")))?;
            if file.version != STORE_VERSION {
                return Err(corrupt(format!(
                    "store layout version {}, this sleuth reads version {STORE_VERSION}",
                    file.version
                )));
            }
            if let Some(other) = store.imports.get(file.source.as_ref()) {
                return Err(corrupt(format!("source {:?} is also stored in {}", file.source, other.file_name)));
            }
            let tags = file.tags.into_iter().map(|row| row.into_tag(&file.source, &file.file)).collect();
            store.imports.insert(file.source.into_owned(), Stored { file_name, tags });
        }
        let sources: Vec<String> = store.imports.keys().cloned().collect();
        for source in &sources {
            store.index(source);
        }
        Ok(store)
    }

    /// Imports the tags of one file, replacing everything an earlier import of the same source
    /// brought in.
    ///
    /// The source id is `tagpack:<creator>/<title>` for a TagPack, `ofac:<ASSET>` for an OFAC
    /// list, `ofac-sdn:<file name>` and `csv:<file name>` for the others; so a TagPack keeps
    /// its identity when its file is renamed, and a fresh download of a list replaces the old.
    ///
    /// # Errors
    /// [`TagError::Io`] if the file cannot be read or the store written; [`TagError::Syntax`],
    /// [`TagError::Invalid`] or [`TagError::WrongFile`], naming the file and line, if the file
    /// breaks its format. On error nothing is imported.
    pub fn import(&mut self, path: &Path, format: TagFormat) -> Result<ImportReport, TagError> {
        let file = path.display().to_string();
        let bytes = fs::read(path).map_err(|e| TagError::io(path, e))?;
        let Parsed { source, tags } = match format {
            TagFormat::OfacSdn => sdn_xml::parse(path, &bytes, &file)?,
            TagFormat::TagPack => tagpack::parse(path, &utf8(path, bytes)?, &file)?,
            TagFormat::Ofac => ofac::parse(path, &utf8(path, bytes)?, &file)?,
            TagFormat::Csv => csv::parse(path, &utf8(path, bytes)?, &file)?,
        };

        let file_name = store_file_name(&source);
        let json = serde_json::to_vec(&StoreFile {
            version: STORE_VERSION,
            source: Cow::Borrowed(&source),
            format,
            file: Cow::Borrowed(&file),
            tags: tags.iter().map(Row::from).collect(),
        })
        .expect("tags serialize to JSON");
        write_atomic(&self.dir.join(&file_name), &json)?;
        let previous = self.imports.insert(source.clone(), Stored { file_name: file_name.clone(), tags });
        self.unindex(&source, previous.as_ref().map_or(&[][..], |old| &old.tags));
        self.index(&source);
        if let Some(old) = previous.as_ref().filter(|old| old.file_name != file_name) {
            // Renamed by hand: the new file holds the source now.
            let old_path = self.dir.join(&old.file_name);
            fs::remove_file(&old_path).map_err(|e| TagError::io(&old_path, e))?;
        }
        Ok(ImportReport::new(&source, format, &file, &self.imports[&source].tags, previous.is_some()))
    }

    /// Removes every tag of `source` (an [`ImportReport::source`]); returns whether there were any.
    ///
    /// # Errors
    /// [`TagError::Io`] if the source's file cannot be deleted.
    pub fn remove(&mut self, source: &str) -> Result<bool, TagError> {
        let Some(stored) = self.imports.get(source) else { return Ok(false) };
        let path = self.dir.join(&stored.file_name);
        fs::remove_file(&path).map_err(|e| TagError::io(&path, e))?;
        let stored = self.imports.remove(source).expect("looked up above");
        self.unindex(source, &stored.tags);
        Ok(true)
    }

    /// Every tag of `address`, from every source, in source-id then file order.
    ///
    /// The match is exact, except that bech32 and `0x` addresses match whatever their case
    /// (see [`crate::address::lookup_key`]).
    pub fn tags_for(&self, address: &str) -> &[Tag] {
        self.by_address.get(lookup_key(address.trim()).as_ref()).map_or(&[], Vec::as_slice)
    }

    /// Every tag, in source-id then file order.
    pub fn all(&self) -> impl Iterator<Item = &Tag> {
        self.imports.values().flat_map(|s| s.tags.iter())
    }

    /// The ids of the imported sources, sorted.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.imports.keys().map(String::as_str)
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.imports.values().map(|s| s.tags.len()).sum()
    }

    /// Whether no tags are stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every source with the name of its file in the store folder.
    pub fn source_files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.imports.iter().map(|(s, st)| (s.as_str(), st.file_name.as_str()))
    }

    /// The folder the store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds the tags of `source` to the address map, keeping each address's tags in
    /// source-id then file order.
    fn index(&mut self, source: &str) {
        let tags = &self.imports[source].tags;
        let mut touched = Vec::new();
        for tag in tags {
            let key = lookup_key(&tag.address).into_owned();
            let list = self.by_address.entry(key.clone()).or_default();
            if list.last().is_some_and(|t| t.import.as_str() > source) {
                touched.push(key);
            }
            list.push(tag.clone());
        }
        for key in touched {
            // A stable sort keeps the file order within each source.
            self.by_address.get_mut(&key).expect("inserted above").sort_by(|a, b| a.import.cmp(&b.import));
        }
    }

    /// Drops the tags of `source` (which were `tags`) from the address map.
    fn unindex(&mut self, source: &str, tags: &[Tag]) {
        for tag in tags {
            let key = lookup_key(&tag.address);
            if let Some(list) = self.by_address.get_mut(key.as_ref()) {
                list.retain(|t| t.import != source);
                if list.is_empty() {
                    self.by_address.remove(key.as_ref());
                }
            }
        }
    }
}

/// The text of a tag file, or the line of its first byte that is not UTF-8.
fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String, TagError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        TagError::Syntax {
            path: path.to_owned(),
            line: e.as_bytes()[..valid].iter().filter(|&&b| b == b'\n').count() as u64 + 1,
            message: "the file is not UTF-8 text; convert it to UTF-8".into(),
        }
    })
}

/// `<readable part>-<hash>.json`: readable in a listing, and distinct for distinct sources.
fn store_file_name(source: &str) -> String {
    let slug: String = source
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
        .take(60)
        .collect();
    format!("{slug}-{:016x}.json", fnv1a64(source.as_bytes()))
}

/// FNV-1a, 64 bit: stable across Rust releases, unlike `DefaultHasher`.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TagError> {
    sleuth_durable::write_atomic(path, bytes).map_err(|e| TagError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_stable_and_safe() {
        assert_eq!(store_file_name("ofac:XBT"), format!("ofac_XBT-{:016x}.json", fnv1a64(b"ofac:XBT")));
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let name = store_file_name("tagpack:GraphSense Core Team/OFAC Tagpack");
        assert!(name.starts_with("tagpack_GraphSense_Core_Team_OFAC_Tagpack-"), "{name}");
        assert_ne!(store_file_name("a/b"), store_file_name("a_b"));
    }

    #[test]
    fn a_corrupt_store_file_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x.json"), "{").unwrap();
        fs::write(dir.path().join("y.json.tmp"), "ignored").unwrap();
        let err = TagStore::open(dir.path()).unwrap_err();
        assert!(matches!(err, TagError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("x.json") && err.to_string().contains("delete this file"), "{err}");
    }
}
