//! [`MappedFile`]: a column or hash table mapped read-only, as a snapshot sees it.
//!
//! A snapshot maps each file after reading the commit it pins, so every record below that
//! commit lies inside the mapping. The writer only ever grows these files (and replaces hash
//! tables by renaming a rebuilt file over them, which leaves this mapping on the old inode),
//! so the mapping stays valid for as long as the snapshot lives. It needs no write
//! permission: a data dir on a read-only mount can be queried.

use std::fs::File;
use std::marker::PhantomData;
use std::path::Path;

use bytemuck::Pod;
use memmap2::Mmap;

use crate::error::IndexError;

/// A read-only mapping of a file of `T` records.
pub struct MappedFile<T: Pod> {
    map: Option<Mmap>,
    _t: PhantomData<T>,
}

impl<T: Pod> MappedFile<T> {
    /// Maps `path`, which must hold at least `need` records.
    ///
    /// # Errors
    /// I/O errors, and [`IndexError::Corrupt`] if the file is shorter than `need` records.
    pub fn open(path: &Path, need: u64) -> Result<MappedFile<T>, IndexError> {
        let size = std::mem::size_of::<T>() as u64;
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && need == 0 => {
                return Ok(MappedFile { map: None, _t: PhantomData })
            }
            Err(e) => return Err(IndexError::io(path, e)),
        };
        let len = file.metadata().map_err(|e| IndexError::io(path, e))?.len();
        if len < need * size {
            return Err(IndexError::Corrupt {
                path: path.to_owned(),
                what: format!("{len} bytes hold fewer than the {need} committed records"),
            });
        }
        // SAFETY: the writer never shrinks these files and never writes below a commit a
        // snapshot can see except as `docs/schema.md` ("Snapshots") describes: words it
        // changes in place are read with atomic loads, and what a reorg overwrites is read
        // from the snapshot's overlay instead.
        let map = (len > 0).then(|| unsafe { Mmap::map(&file) }).transpose().map_err(|e| IndexError::io(path, e))?;
        Ok(MappedFile { map, _t: PhantomData })
    }

    /// Every whole record in the mapping.
    #[inline]
    pub fn slots(&self) -> &[T] {
        match &self.map {
            Some(m) => {
                let n = m.len() / std::mem::size_of::<T>() * std::mem::size_of::<T>();
                bytemuck::cast_slice(&m[..n])
            }
            None => &[],
        }
    }

    /// Asks the kernel to read the page of record `i` (see [`crate::column::Column::will_need`]).
    pub fn will_need(&self, i: u64) {
        const PAGE: usize = 4096;
        if let Some(m) = &self.map {
            let start = i as usize * std::mem::size_of::<T>() / PAGE * PAGE;
            if start < m.len() {
                let _ = m.advise_range(memmap2::Advice::WillNeed, start, PAGE.min(m.len() - start));
            }
        }
    }

    /// Tells the kernel the mapping is read at random (see
    /// [`crate::column::Column::read_at_random`]).
    pub fn read_at_random(&self) {
        if let Some(m) = &self.map {
            let _ = m.advise(memmap2::Advice::Random);
        }
    }
}
