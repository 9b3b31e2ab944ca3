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
    /// Entries held before a run is written out ([`RUN_ENTRIES`]; fewer in tests).
    run_entries: usize,
    done: bool,
}

impl SourceWriter {
    /// Starts a tag file in `dir` under a name no other import uses.
    pub(crate) fn create(dir: &Path) -> Result<SourceWriter, TagError> {
        SourceWriter::with_run_entries(dir, RUN_ENTRIES)
    }

    fn with_run_entries(dir: &Path, run_entries: usize) -> Result<SourceWriter, TagError> {
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
            run_entries,
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
        if self.entries.len() >= self.run_entries {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(i: u32) -> Tag {
        Tag {
            // Every third address repeats an earlier one, so equal keys span runs.
            address: format!("addr{}", if i.is_multiple_of(3) { i / 3 } else { i }),
            currency: "BTC".into(),
            network: "BTC".into(),
            chain: "unknown".into(),
            label: format!("label {i}"),
            category: i.is_multiple_of(2).then(|| "exchange".into()),
            actor: None,
            abuse: None,
            confidence: None,
            confidence_level: None,
            source: "s".into(),
            import: "csv:t".into(),
            file: "t".into(),
            is_cluster_definer: i.is_multiple_of(5),
        }
    }

    fn write(dir: &Path, run_entries: usize) -> (Vec<u8>, Meta) {
        let mut w = SourceWriter::with_run_entries(dir, run_entries).unwrap();
        for i in 0..10_000 {
            w.push(&tag(i), Path::new("t"), u64::from(i) + 2).unwrap();
        }
        let (path, meta) = w.finish("csv:t", TagFormat::Csv, "t").unwrap();
        let bytes = fs::read(&path).unwrap();
        fs::remove_file(path).unwrap();
        (bytes, meta)
    }

    /// The external sort (runs of 1,000 entries, merged) writes the very bytes the in-memory
    /// sort writes, and leaves no run behind.
    #[test]
    fn merged_runs_write_the_same_file_as_one_sort_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let (in_memory, meta) = write(dir.path(), usize::MAX);
        let (merged, merged_meta) = write(dir.path(), 1_000);
        assert!(in_memory == merged, "the files differ");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "runs and temporary files are removed");
        assert_eq!((meta.tags, merged_meta.tags), (10_000, 10_000));
        // addr0..addr3333 (from the multiples of 3) and the 6,666 others, which are all above 3333.
        assert_eq!(meta.addresses, 3_334 + 6_666 - (1..3_334).filter(|i| i % 3 != 0).count() as u64);
        assert_eq!(merged_meta.addresses, meta.addresses);
        let path = dir.path().join("t.tags");
        fs::write(&path, &merged).unwrap();
        let file = file::SourceFile::open(&path).unwrap();
        let mut found = Vec::new();
        file.lookup("addr7", &mut found).unwrap();
        // addr7 is tag 7 and tag 21 (21 / 3 = 7), in file order.
        assert_eq!(found.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(), ["label 7", "label 21"]);
    }

    #[test]
    fn an_unfinished_file_removes_itself() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SourceWriter::with_run_entries(dir.path(), 10).unwrap();
        for i in 0..25 {
            w.push(&tag(i), Path::new("t"), 1).unwrap();
        }
        assert!(fs::read_dir(dir.path()).unwrap().count() > 1, "the file and its runs exist");
        let mut long = tag(0);
        long.label = "x".repeat(MAX_FIELD_BYTES + 1);
        let err = w.push(&long, Path::new("t.csv"), 9).unwrap_err();
        assert!(err.to_string().starts_with("t.csv:9: label has 16385 bytes"), "{err}");
        drop(w);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
