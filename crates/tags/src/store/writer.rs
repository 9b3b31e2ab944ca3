//! Writes one source's tag file as the parser reads it: rows go straight to a temporary file,
//! index entries are sorted in runs of bounded size and merged at the end (an external sort),
//! so an import holds one entry and one run in memory, whatever the size of the file.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::address::lookup_key;
use crate::error::TagError;
use crate::store::file::{self, encode_row, fnv1a64, Meta, ENTRY_LEN, HEADER_LEN};
use crate::tag::{Tag, TagFormat};

/// Longest text field a tag may carry (label, source, …); addresses have their own, shorter
/// bound ([`crate::address::MAX_TAG_ADDRESS_LEN`]).
pub const MAX_FIELD_BYTES: usize = 16 * 1024;

/// Index entries sorted in memory before a run is written out: 16 MiB.
const RUN_ENTRIES: usize = 1 << 20;

/// A tag file being written under a temporary name; dropped unfinished, it deletes itself.
pub(crate) struct SourceWriter {
    tmp: PathBuf,
    /// `None` once [`SourceWriter::finish`] has taken it.
    out: Option<BufWriter<File>>,
    offset: u64,
    row: Vec<u8>,
    entries: Vec<(u64, u64)>,
    runs: Vec<PathBuf>,
    tags: u64,
    by_currency: BTreeMap<String, usize>,
    by_chain: BTreeMap<String, usize>,
    done: bool,
}

impl SourceWriter {
    /// Starts a tag file in `dir` under a name no other import uses.
    pub(crate) fn create(dir: &Path) -> Result<SourceWriter, TagError> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let tmp = dir.join(format!("import-{}-{nanos}.tags.tmp", std::process::id()));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(|e| TagError::io(&tmp, e))?);
        out.write_all(&[0u8; HEADER_LEN as usize]).map_err(|e| TagError::io(&tmp, e))?;
        Ok(SourceWriter {
            tmp,
            out: Some(out),
            offset: HEADER_LEN,
            row: Vec::new(),
            entries: Vec::new(),
            runs: Vec::new(),
            tags: 0,
            by_currency: BTreeMap::new(),
            by_chain: BTreeMap::new(),
            done: false,
        })
    }

    /// Appends `tag`, read at `line` of `input`.
    ///
    /// # Errors
    /// [`TagError::Invalid`] for a field longer than [`MAX_FIELD_BYTES`]; [`TagError::Io`].
    pub(crate) fn push(&mut self, tag: &Tag, input: &Path, line: u64) -> Result<(), TagError> {
        const NAMES: [&str; file::FIELDS] =
            ["address", "currency", "network", "chain", "label", "category", "actor", "abuse", "confidence", "source"];
        for (name, value) in NAMES.iter().zip(file::row_fields(tag)) {
            if value.len() > MAX_FIELD_BYTES {
                return Err(TagError::Invalid {
                    path: input.to_owned(),
                    line,
                    message: format!(
                        "{name} has {} bytes; Sleuth keeps fields of up to {MAX_FIELD_BYTES} bytes",
                        value.len()
                    ),
                });
            }
        }
        self.row.clear();
        encode_row(tag, &mut self.row);
        let out = self.out.as_mut().expect("only finish takes the output");
        out.write_all(&self.row).map_err(|e| TagError::io(&self.tmp, e))?;
        self.entries.push((fnv1a64(lookup_key(&tag.address).as_bytes()), self.offset));
        self.offset += self.row.len() as u64;
        self.tags += 1;
        bump(&mut self.by_currency, &tag.currency);
        bump(&mut self.by_chain, &tag.chain);
        if self.entries.len() >= RUN_ENTRIES {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorts the entries held and writes them out as a run.
    fn spill(&mut self) -> Result<(), TagError> {
        self.entries.sort_unstable();
        let path = self.tmp.with_extension(format!("run{}", self.runs.len()));
        let mut w = BufWriter::new(File::create(&path).map_err(|e| TagError::io(&path, e))?);
        self.runs.push(path.clone());
        for (h, off) in self.entries.drain(..) {
            write_entry(&mut w, h, off).map_err(|e| TagError::io(&path, e))?;
        }
        w.flush().map_err(|e| TagError::io(&path, e))
    }

    /// Writes the meta, the sorted index and the header, and syncs the file; returns its
    /// temporary path (for the store to rename) and its meta.
    pub(crate) fn finish(mut self, source: &str, format: TagFormat, file: &str) -> Result<(PathBuf, Meta), TagError> {
        let tmp = self.tmp.clone();
        let io = |e| TagError::io(&tmp, e);
        let meta_off = self.offset;
        let mut meta = Meta {
            source: source.to_owned(),
            format,
            file: file.to_owned(),
            tags: self.tags,
            addresses: 0,
            by_currency: std::mem::take(&mut self.by_currency),
            by_chain: std::mem::take(&mut self.by_chain),
        };
        // The address count is only known once the index is sorted, so the meta is written
        // after it is counted: sort first, into the runs or memory.
        let addresses = if self.runs.is_empty() {
            self.entries.sort_unstable();
            distinct(self.entries.iter().map(|e| e.0))
        } else {
            self.spill()?;
            self.merged_count()?
        };
        meta.addresses = addresses;
        let meta_json = serde_json::to_vec(&meta).expect("meta serializes to JSON");
        let mut out = self.out.take().expect("finish runs once");
        out.write_all(&meta_json).map_err(io)?;
        let index_off = meta_off + meta_json.len() as u64;
        if self.runs.is_empty() {
            for &(h, off) in &self.entries {
                write_entry(&mut out, h, off).map_err(io)?;
            }
        } else {
            self.merge(&mut |h, off| write_entry(&mut out, h, off).map_err(io))?;
        }
        let file_len = index_off + self.tags * ENTRY_LEN;
        let mut out = out.into_inner().map_err(|e| io(e.into_error()))?;
        out.seek(SeekFrom::Start(0)).map_err(io)?;
        out.write_all(&file::header(self.tags, meta_off, meta_json.len() as u64, index_off, file_len)).map_err(io)?;
        out.sync_all().map_err(io)?;
        self.remove_runs();
        self.done = true;
        Ok((tmp, meta))
    }

    /// Readers of every run, for the merge.
    fn open_runs(&self) -> Result<Vec<BufReader<File>>, TagError> {
        self.runs
            .iter()
            .map(|p| File::open(p).map(|f| BufReader::with_capacity(64 * 1024, f)).map_err(|e| TagError::io(p, e)))
            .collect()
    }

    /// Merges the runs and calls `f` with each entry in order.
    fn merge(&self, f: &mut dyn FnMut(u64, u64) -> Result<(), TagError>) -> Result<(), TagError> {
        let mut readers = self.open_runs()?;
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(e) = next_entry(r, &self.runs[i])? {
                heap.push(Reverse((e, i)));
            }
        }
        while let Some(Reverse(((h, off), i))) = heap.pop() {
            f(h, off)?;
            if let Some(e) = next_entry(&mut readers[i], &self.runs[i])? {
                heap.push(Reverse((e, i)));
            }
        }
        Ok(())
    }

    fn merged_count(&self) -> Result<u64, TagError> {
        let mut last = None;
        let mut count = 0;
        self.merge(&mut |h, _| {
            if last != Some(h) {
                count += 1;
                last = Some(h);
            }
            Ok(())
        })?;
        Ok(count)
    }

    fn remove_runs(&mut self) {
        for run in self.runs.drain(..) {
            let _ = fs::remove_file(run);
        }
    }
}

impl Drop for SourceWriter {
    fn drop(&mut self) {
        if !self.done {
            self.remove_runs();
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn bump(counts: &mut BTreeMap<String, usize>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_owned(), 1);
        }
    }
}

/// Distinct values of a sorted sequence.
fn distinct(sorted: impl Iterator<Item = u64>) -> u64 {
    let mut last = None;
    sorted.filter(|&h| last.replace(h) != Some(h)).count() as u64
}

fn write_entry(w: &mut impl Write, hash: u64, row: u64) -> std::io::Result<()> {
    w.write_all(&hash.to_le_bytes())?;
    w.write_all(&row.to_le_bytes())
}

fn next_entry(r: &mut BufReader<File>, path: &Path) -> Result<Option<(u64, u64)>, TagError> {
    let mut buf = [0u8; 16];
    match r.read_exact(&mut buf) {
        Ok(()) => Ok(Some((
            u64::from_le_bytes(buf[..8].try_into().expect("8 bytes")),
            u64::from_le_bytes(buf[8..].try_into().expect("8 bytes")),
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(TagError::io(path, e)),
    }
}
