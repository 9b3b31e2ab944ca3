//! One source's tag file: the tags in file order and a sorted index of their addresses, read
//! in place through a memory map.
//!
//! ```text
//! header   64 bytes: magic "SLTAGS\0\0", layout version (u32), reserved (u32), tag count,
//!          meta offset, meta length, index offset, file length (u64 each), FNV-1a 64 of the
//!          56 bytes before it
//! rows     one per tag, in file order: length (u32) of the rest, flags (u8), confidence
//!          level (u8), the byte length of each of the ten text fields (u16 each), the fields
//! meta     JSON: source id, format, file, counts
//! index    (FNV-1a 64 of the address's lookup key, row offset) per tag (u64 each),
//!          sorted, so that one binary search finds an address's rows in file order
//! ```
//!
//! All integers are little-endian. Every offset and length is checked against the file before
//! it is used, so a damaged file is reported as [`TagError::Corrupt`], never a panic or a read
//! outside the map.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use crate::address::lookup_key;
use crate::error::TagError;
use crate::tag::{Tag, TagFormat};

/// First bytes of every tag file.
pub(crate) const MAGIC: [u8; 8] = *b"SLTAGS\0\0";
/// Bytes before the first row.
pub(crate) const HEADER_LEN: u64 = 64;
/// Bytes of one index entry.
pub(crate) const ENTRY_LEN: u64 = 16;
/// Text fields of a row, in their order on disk.
pub(crate) const FIELDS: usize = 10;
/// Bytes of a row before its text: flags, level and the field lengths.
pub(crate) const ROW_HEAD: usize = 2 + 2 * FIELDS;

/// Row flags.
pub(crate) const CLUSTER_DEFINER: u8 = 1;
pub(crate) const HAS_LEVEL: u8 = 2;
/// Set for each optional field present: category, actor, abuse, confidence.
pub(crate) const HAS_OPTIONAL: [u8; 4] = [4, 8, 16, 32];

/// What a tag file says about itself, stored as JSON after its rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) source: String,
    pub(crate) format: TagFormat,
    pub(crate) file: String,
    pub(crate) tags: u64,
    pub(crate) addresses: u64,
    pub(crate) by_currency: BTreeMap<String, usize>,
    pub(crate) by_chain: BTreeMap<String, usize>,
}

/// FNV-1a, 64 bit: stable across Rust releases, unlike `DefaultHasher`.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The header's bytes for a file of `tags` rows whose meta and index start where given.
pub(crate) fn header(tags: u64, meta_off: u64, meta_len: u64, index_off: u64, file_len: u64) -> [u8; 64] {
    let mut h = [0u8; 64];
    h[..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&crate::STORE_VERSION.to_le_bytes());
    for (i, v) in [tags, meta_off, meta_len, index_off, file_len].into_iter().enumerate() {
        h[16 + 8 * i..24 + 8 * i].copy_from_slice(&v.to_le_bytes());
    }
    let sum = fnv1a64(&h[..56]);
    h[56..].copy_from_slice(&sum.to_le_bytes());
    h
}

/// Appends the row of `tag` to `out`. The caller has checked every field against
/// [`crate::store::MAX_FIELD_BYTES`], which fits a `u16`.
pub(crate) fn encode_row(tag: &Tag, out: &mut Vec<u8>) {
    let optional = [&tag.category, &tag.actor, &tag.abuse, &tag.confidence];
    let mut flags = 0;
    if tag.is_cluster_definer {
        flags |= CLUSTER_DEFINER;
    }
    if tag.confidence_level.is_some() {
        flags |= HAS_LEVEL;
    }
    for (bit, field) in HAS_OPTIONAL.iter().zip(optional) {
        if field.is_some() {
            flags |= bit;
        }
    }
    let fields = row_fields(tag);
    let len = ROW_HEAD + fields.iter().map(|f| f.len()).sum::<usize>();
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.push(flags);
    out.push(tag.confidence_level.unwrap_or(0));
    for f in &fields {
        out.extend_from_slice(&(f.len() as u16).to_le_bytes());
    }
    for f in &fields {
        out.extend_from_slice(f.as_bytes());
    }
}

/// The text fields of a tag in their order on disk (absent optional fields are empty).
pub(crate) fn row_fields(tag: &Tag) -> [&str; FIELDS] {
    fn o(f: &Option<String>) -> &str {
        f.as_deref().unwrap_or("")
    }
    [
        &tag.address,
        &tag.currency,
        &tag.network,
        &tag.chain,
        &tag.label,
        o(&tag.category),
        o(&tag.actor),
        o(&tag.abuse),
        o(&tag.confidence),
        &tag.source,
    ]
}

/// A tag read in place from a tag file: what [`Tag`] holds, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagRef<'a> {
    /// See [`Tag::address`].
    pub address: &'a str,
    /// See [`Tag::currency`].
    pub currency: &'a str,
    /// See [`Tag::network`].
    pub network: &'a str,
    /// See [`Tag::chain`].
    pub chain: &'a str,
    /// See [`Tag::label`].
    pub label: &'a str,
    /// See [`Tag::category`].
    pub category: Option<&'a str>,
    /// See [`Tag::actor`].
    pub actor: Option<&'a str>,
    /// See [`Tag::abuse`].
    pub abuse: Option<&'a str>,
    /// See [`Tag::confidence`].
    pub confidence: Option<&'a str>,
    /// See [`Tag::confidence_level`].
    pub confidence_level: Option<u8>,
    /// See [`Tag::source`].
    pub source: &'a str,
    /// See [`Tag::import`].
    pub import: &'a str,
    /// See [`Tag::file`].
    pub file: &'a str,
    /// See [`Tag::is_cluster_definer`].
    pub is_cluster_definer: bool,
}

impl TagRef<'_> {
    /// The owned tag.
    pub fn to_tag(&self) -> Tag {
        let o = |f: Option<&str>| f.map(str::to_owned);
        Tag {
            address: self.address.to_owned(),
            currency: self.currency.to_owned(),
            network: self.network.to_owned(),
            chain: self.chain.to_owned(),
            label: self.label.to_owned(),
            category: o(self.category),
            actor: o(self.actor),
            abuse: o(self.abuse),
            confidence: o(self.confidence),
            confidence_level: self.confidence_level,
            source: self.source.to_owned(),
            import: self.import.to_owned(),
            file: self.file.to_owned(),
            is_cluster_definer: self.is_cluster_definer,
        }
    }
}

/// One source's tag file, opened read-only and mapped.
#[derive(Debug)]
pub(crate) struct SourceFile {
    path: PathBuf,
    pub(crate) file_name: String,
    map: Mmap,
    pub(crate) meta: Meta,
    rows_end: u64,
    index_off: u64,
}

impl SourceFile {
    /// Opens and checks the header, the bounds of every section and the meta.
    ///
    /// # Errors
    /// [`TagError::Io`] if the file cannot be read; [`TagError::Corrupt`] if it is no tag
    /// file of this layout or its sections do not fit it.
    pub(crate) fn open(path: &Path) -> Result<SourceFile, TagError> {
        let corrupt = |message: String| TagError::Corrupt { path: path.to_owned(), message };
        let file = File::open(path).map_err(|e| TagError::io(path, e))?;
        let len = file.metadata().map_err(|e| TagError::io(path, e))?.len();
        if len < HEADER_LEN {
            return Err(corrupt(format!("{len} bytes, shorter than a tag file's {HEADER_LEN}-byte header")));
        }
        // SAFETY: tag files are written whole under a temporary name and renamed into place,
        // never written again; a replaced file's inode stays valid while it is mapped.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| TagError::io(path, e))?;
        let h = &map[..HEADER_LEN as usize];
        if h[..8] != MAGIC {
            return Err(corrupt("not a tag file (its first bytes are not SLTAGS)".into()));
        }
        let version = u32::from_le_bytes(h[8..12].try_into().expect("4 bytes"));
        if version != crate::STORE_VERSION {
            return Err(corrupt(format!(
                "tag store layout version {version}, this sleuth reads version {}",
                crate::STORE_VERSION
            )));
        }
        let word = |i: usize| u64::from_le_bytes(h[16 + 8 * i..24 + 8 * i].try_into().expect("8 bytes"));
        let (tags, meta_off, meta_len, index_off, file_len) = (word(0), word(1), word(2), word(3), word(4));
        if fnv1a64(&h[..56]) != word(5) {
            return Err(corrupt("the header's checksum does not match: the file is damaged".into()));
        }
        let fits = file_len == len
            && meta_off >= HEADER_LEN
            && meta_off.checked_add(meta_len) == Some(index_off)
            && tags.checked_mul(ENTRY_LEN).and_then(|n| n.checked_add(index_off)) == Some(len);
        if !fits {
            return Err(corrupt(format!(
                "its sections do not fit its {len} bytes (meta at {meta_off}+{meta_len}, index at {index_off}, \
                 {tags} tags, {file_len} bytes written): it is cut short or damaged"
            )));
        }
        let meta: Meta = serde_json::from_slice(&map[meta_off as usize..index_off as usize])
            .map_err(|e| corrupt(format!("its meta does not parse: {e}")))?;
        if meta.tags != tags {
            return Err(corrupt(format!("its meta counts {} tags, its header {tags}", meta.tags)));
        }
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(SourceFile { path: path.to_owned(), file_name, map, meta, rows_end: meta_off, index_off })
    }

    fn corrupt(&self, message: String) -> TagError {
        TagError::Corrupt { path: self.path.clone(), message }
    }

    /// The `i`-th index entry: (key hash, row offset).
    fn entry(&self, i: u64) -> (u64, u64) {
        let at = (self.index_off + i * ENTRY_LEN) as usize;
        let word = |o: usize| u64::from_le_bytes(self.map[o..o + 8].try_into().expect("8 bytes"));
        (word(at), word(at + 8))
    }

    /// Every tag whose address has the lookup key `key`, in file order.
    pub(crate) fn lookup(&self, key: &str, out: &mut Vec<Tag>) -> Result<(), TagError> {
        let hash = fnv1a64(key.as_bytes());
        let n = self.meta.tags;
        // partition_point over the entries, by hand since they are not a slice of structs.
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid).0 < hash {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut i = lo;
        while i < n {
            let (h, off) = self.entry(i);
            if h != hash {
                break;
            }
            let (tag, _) = self.row(off)?;
            if lookup_key(tag.address) == key {
                out.push(tag.to_tag());
            }
            i += 1;
        }
        Ok(())
    }

    /// Calls `f` with every tag in file order.
    pub(crate) fn scan(&self, f: &mut dyn FnMut(TagRef<'_>)) -> Result<(), TagError> {
        let mut off = HEADER_LEN;
        let mut count = 0;
        while off < self.rows_end {
            let (tag, next) = self.row(off)?;
            f(tag);
            off = next;
            count += 1;
        }
        if count != self.meta.tags {
            return Err(self.corrupt(format!("{count} rows where the header counts {}", self.meta.tags)));
        }
        Ok(())
    }

    /// The row at byte `off` and the offset of the next one.
    fn row(&self, off: u64) -> Result<(TagRef<'_>, u64), TagError> {
        let damaged = |what: &str| self.corrupt(format!("the row at byte {off} {what}: the file is damaged"));
        if off < HEADER_LEN || off.saturating_add(4 + ROW_HEAD as u64) > self.rows_end {
            return Err(damaged("lies outside the rows"));
        }
        let at = off as usize;
        let len = u32::from_le_bytes(self.map[at..at + 4].try_into().expect("4 bytes")) as u64;
        let end = off + 4 + len;
        if len < ROW_HEAD as u64 || end > self.rows_end {
            return Err(damaged("has a length that does not fit"));
        }
        let body = &self.map[at + 4..end as usize];
        let (flags, level) = (body[0], body[1]);
        let mut fields = [""; FIELDS];
        let mut pos = ROW_HEAD;
        for (i, field) in fields.iter_mut().enumerate() {
            let flen = u16::from_le_bytes([body[2 + 2 * i], body[3 + 2 * i]]) as usize;
            let bytes = body.get(pos..pos + flen).ok_or_else(|| damaged("has fields longer than itself"))?;
            *field = std::str::from_utf8(bytes).map_err(|_| damaged("holds text that is not UTF-8"))?;
            pos += flen;
        }
        if pos != body.len() {
            return Err(damaged("has bytes after its fields"));
        }
        let opt = |i: usize, bit: u8| (flags & bit != 0).then_some(fields[i]);
        let tag = TagRef {
            address: fields[0],
            currency: fields[1],
            network: fields[2],
            chain: fields[3],
            label: fields[4],
            category: opt(5, HAS_OPTIONAL[0]),
            actor: opt(6, HAS_OPTIONAL[1]),
            abuse: opt(7, HAS_OPTIONAL[2]),
            confidence: opt(8, HAS_OPTIONAL[3]),
            confidence_level: (flags & HAS_LEVEL != 0).then_some(level),
            source: fields[9],
            import: &self.meta.source,
            file: &self.meta.file,
            is_cluster_definer: flags & CLUSTER_DEFINER != 0,
        };
        Ok((tag, end))
    }
}
