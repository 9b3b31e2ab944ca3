//! [`Column`]: a growable, memory-mapped array of fixed-size records in one file.
//!
//! The file is grown ahead of use (doubling), so its size says nothing about how many
//! records are valid: the committed count lives in the index's meta file, and anything past
//! it is the leftover of an interrupted batch, ignored and overwritten.
//!
//! The accessors are `#[inline(always)]`: the writer's block loop calls them for every input
//! and output, and out of line each call re-derives the slice from the mapping (see
//! `hashtable.rs`).

use std::fs::{File, OpenOptions};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use bytemuck::Pod;
use memmap2::{MmapMut, MmapOptions};

use crate::error::IndexError;

/// Smallest file a column starts with.
const MIN_BYTES: u64 = 1 << 16;

/// A memory-mapped array of `T` backed by the file at `path`.
pub struct Column<T: Pod> {
    path: PathBuf,
    file: File,
    map: MmapMut,
    len: u64,
    /// Whether the writer reads it at random ([`Column::read_at_random`]).
    random: bool,
    /// Whether every page of the current mapping has its page-table entry
    /// ([`Column::populate`]).
    populated: bool,
    _t: PhantomData<T>,
}

impl<T: Pod> Column<T> {
    const SIZE: u64 = std::mem::size_of::<T>() as u64;

    /// Opens (creating if needed) the column with `len` valid records.
    pub fn open(path: &Path, len: u64) -> Result<Column<T>, IndexError> {
        let io = |e| IndexError::io(path, e);
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
        let have = file.metadata().map_err(io)?.len();
        let need = (len * Self::SIZE).max(MIN_BYTES);
        if have < need {
            if len * Self::SIZE > have {
                return Err(IndexError::Corrupt {
                    path: path.to_owned(),
                    what: format!("{have} bytes hold fewer than the {len} committed records"),
                });
            }
            file.set_len(need).map_err(io)?;
        }
        // SAFETY: the file is private to this index (the data dir is locked against other
        // writers) and is only resized through `grow`, which remaps first.
        let map = unsafe { MmapOptions::new().map_mut(&file) }.map_err(io)?;
        Ok(Column { path: path.to_owned(), file, map, len, random: false, populated: false, _t: PhantomData })
    }

    /// Opens (creating if needed) a column of at least `records` records, all counted valid:
    /// a fixed-size table rather than a growing array.
    pub fn open_full(path: &Path, records: u64) -> Result<Column<T>, IndexError> {
        let mut c = Column::open(path, 0)?;
        c.reserve(records)?;
        c.len = c.capacity();
        Ok(c)
    }

    /// Number of valid records.
    #[inline(always)]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Records the file has room for.
    #[inline(always)]
    pub fn capacity(&self) -> u64 {
        self.map.len() as u64 / Self::SIZE
    }

    #[inline(always)]
    fn slots(&self) -> &[T] {
        bytemuck::cast_slice(&self.map[..(self.capacity() * Self::SIZE) as usize])
    }

    #[inline(always)]
    fn slots_mut(&mut self) -> &mut [T] {
        let n = (self.capacity() * Self::SIZE) as usize;
        bytemuck::cast_slice_mut(&mut self.map[..n])
    }

    /// Every record the file has room for, valid or not: what a snapshot's walk back along
    /// an address list may read past the commit.
    #[inline(always)]
    pub fn all_slots(&self) -> &[T] {
        self.slots()
    }

    /// The valid records.
    #[inline(always)]
    pub fn as_slice(&self) -> &[T] {
        &self.slots()[..self.len as usize]
    }

    /// The valid records, for writes in bulk (a batch's deferred writes at its commit).
    #[inline(always)]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        let n = self.len as usize;
        &mut self.slots_mut()[..n]
    }

    /// Record `i`, which must be valid.
    #[inline(always)]
    pub fn get(&self, i: u64) -> T {
        debug_assert!(i < self.len, "{}: record {i} of {}", self.path.display(), self.len);
        self.slots()[i as usize]
    }

    /// Record `i` even past the valid ones (what an interrupted batch left), if the file
    /// reaches that far. Only crash repair reads there.
    pub fn get_leftover(&self, i: u64) -> Option<T> {
        self.slots().get(i as usize).copied()
    }

    /// Hints the CPU to load record `i` into cache (a no-op off x86-64 or past the file).
    #[inline(always)]
    pub fn prefetch(&self, i: u64) {
        #[cfg(target_arch = "x86_64")]
        if let Some(r) = self.slots().get(i as usize) {
            // SAFETY: prefetching is a hint; the pointer is in bounds of the mapping.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((r as *const T).cast()) };
        }
    }

    /// Asks the kernel to start reading the page of record `i` from disk if it is not in
    /// memory (`MADV_WILLNEED`). A CPU prefetch is dropped on a page that is not resident, so
    /// without this each lookup into a file larger than the page cache stalls on its own
    /// read; with it, the reads of a block's lookups are in flight together. A system call:
    /// for files that are read cold.
    pub fn will_need(&self, i: u64) {
        const PAGE: u64 = 4096;
        let start = i * Self::SIZE / PAGE * PAGE;
        if start < self.capacity() * Self::SIZE {
            let _ = self.map.advise_range(memmap2::Advice::WillNeed, start as usize, PAGE as usize);
        }
    }

    /// Overwrites valid record `i`.
    #[inline(always)]
    pub fn set(&mut self, i: u64, v: T) {
        debug_assert!(i < self.len);
        self.slots_mut()[i as usize] = v;
    }

    /// Mutable access to valid record `i`, for writes of single fields that readers in other
    /// threads may be loading at the same time (see [`store_u64`]).
    #[inline(always)]
    pub fn get_mut(&mut self, i: u64) -> &mut T {
        debug_assert!(i < self.len);
        &mut self.slots_mut()[i as usize]
    }

    /// Appends a record, growing the file when full.
    #[inline(always)]
    pub fn push(&mut self, v: T) -> Result<(), IndexError> {
        if self.len == self.capacity() {
            self.grow(self.len + 1)?;
        }
        let i = self.len as usize;
        self.slots_mut()[i] = v;
        self.len += 1;
        Ok(())
    }

    /// Makes room for at least `records` records.
    pub fn reserve(&mut self, records: u64) -> Result<(), IndexError> {
        if records > self.capacity() {
            self.grow(records)?;
        }
        Ok(())
    }

    fn grow(&mut self, records: u64) -> Result<(), IndexError> {
        let mut bytes = (self.map.len() as u64).max(MIN_BYTES);
        while bytes < records * Self::SIZE {
            bytes *= 2;
        }
        let io = |e| IndexError::io(&self.path, e);
        self.map.flush_async().map_err(io)?;
        self.file.set_len(bytes).map_err(io)?;
        self.map_file()
    }

    /// Maps the whole file again, after it grew.
    fn map_file(&mut self) -> Result<(), IndexError> {
        // SAFETY: as in `open`.
        self.map = unsafe { MmapOptions::new().map_mut(&self.file) }.map_err(|e| IndexError::io(&self.path, e))?;
        self.populated = false;
        if self.random {
            let _ = self.map.advise(memmap2::Advice::Random);
        }
        Ok(())
    }

    /// Gives every page of the file in memory its page-table entry now, once per mapping
    /// (`MADV_POPULATE_READ`), for a file read at random that fits in memory: a CPU prefetch
    /// of a page without one is dropped, so prefetched lookups stalled anyway until each page
    /// had been touched since the mapping (10M ingest 29 s -> 24 s, same run). Not for files
    /// past memory: it reads the whole file in (the writer asks only while writing in place).
    pub fn populate(&mut self) {
        if !self.populated {
            self.populated = true;
            let _ = self.map.advise(memmap2::Advice::PopulateRead);
        }
    }

    /// Whether [`Column::read_at_random`] was called.
    pub fn is_read_at_random(&self) -> bool {
        self.random
    }

    /// Tells the kernel that the writer reads this mapping at random (`MADV_RANDOM`), from
    /// now on and after every remap. Its reads are lookups: a txid's slot, the spent output,
    /// an address's key and head. By default a fault on a page not in memory reads a window
    /// around it (128 KiB): for a lookup, 31 pages of disk traffic and of page cache taken from
    /// pages that are asked for. Only once lookups read from disk, though: the advice also
    /// turns off the mapping of neighbouring cached pages at each fault, which made an index
    /// in memory ingest 3× slower (measured at 10M transactions).
    pub fn read_at_random(&mut self) {
        if self.random {
            return;
        }
        self.random = true;
        let _ = self.map.advise(memmap2::Advice::Random);
    }

    /// Forgets records from `len` on (they stay in the file until overwritten).
    pub fn truncate(&mut self, len: u64) {
        self.len = self.len.min(len);
    }

    /// Writes every change to disk.
    pub fn flush(&self) -> Result<(), IndexError> {
        self.map.flush().map_err(|e| IndexError::io(&self.path, e))
    }
}

/// Tells a column that its file was renamed to `path` (its mapping stays valid).
pub fn rename_path<T: Pod>(c: &mut Column<T>, path: &Path) {
    c.path = path.to_owned();
}

/// Loads a word that the writer may be storing at the same moment (an address-list head, a
/// spender, a hash-table slot): an atomic load, so that a reader in another thread sees the
/// old value or the new one, and, with `Acquire`, everything the writer stored before it.
#[inline(always)]
pub fn load_u64(word: &u64, order: std::sync::atomic::Ordering) -> u64 {
    // SAFETY: `word` is a valid, aligned u64 (records are `repr(C)` with u64 fields at 8-byte
    // offsets in page-aligned maps); the atomic view only reads it.
    unsafe { std::sync::atomic::AtomicU64::from_ptr(word as *const u64 as *mut u64) }.load(order)
}

/// Stores a word that readers may be loading at the same moment; `Release` publishes every
/// earlier store with it (the output record before the head that points at it).
#[inline(always)]
pub fn store_u64(word: &mut u64, v: u64, order: std::sync::atomic::Ordering) {
    // SAFETY: as in `load_u64`; the writer holds `&mut`, so no other store races it.
    unsafe { std::sync::atomic::AtomicU64::from_ptr(word as *mut u64) }.store(v, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_hints_keep_every_record_and_survive_a_remap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.col");
        let mut c = Column::<u64>::open(&path, 0).unwrap();
        c.read_at_random();
        // Growing remaps the file: the advice is given again and the records stay.
        for i in 0..200_000u64 {
            c.push(i * 3).unwrap();
        }
        assert!(c.is_read_at_random());
        for i in [0, 1, 4095, 65_536, 199_999, 10_000_000] {
            c.will_need(i); // past the file too: a hint, never an error
        }
        assert!((0..200_000u64).all(|i| c.get(i) == i * 3));
        drop(c);
        let c = Column::<u64>::open(&path, 200_000).unwrap();
        assert!(!c.is_read_at_random(), "the advice is the writer's, not the file's");
        assert_eq!(c.get(123_456), 370_368);
    }
}
