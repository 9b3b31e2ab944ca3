//! [`BlockFileReader`]: the records of a node's `blk*.dat` files.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bitcoin::block::Header;
use bitcoin::consensus::Decodable;
use bitcoin::hashes::Hash;
use bitcoin::BlockHash;

use super::header_cache::{CachedFile, FileStamp, HeaderCache};
use super::{BlockFileError, XorKey};
use crate::params::Chain;

/// Largest record accepted: Bitcoin blocks are at most 4 MB, Litecoin's MWEB extension adds
/// at most a few more; anything near this is a corrupt size field.
const MAX_RECORD: u32 = 64 << 20;

/// Where a block's record sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLocation {
    /// The `N` of `blkN.dat`.
    pub file: u32,
    /// Byte offset of the record (its magic) in the file.
    pub offset: u64,
    /// Size of the serialized block, after the 8-byte record header.
    pub size: u32,
}

/// A block header found in the files, with its location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRecord {
    /// The header.
    pub header: Header,
    /// Its hash.
    pub hash: BlockHash,
    /// Its record.
    pub loc: BlockLocation,
}

/// Every header of a blocks folder, in file order.
#[derive(Debug, Clone)]
pub struct HeaderScan {
    /// The magic of the records.
    pub magic: [u8; 4],
    /// Headers in file order (not height order).
    pub records: Vec<HeaderRecord>,
    /// Bytes of block files read past.
    pub bytes: u64,
    /// A record at the end of the newest file that is not whole yet (a running node is
    /// still writing it): its file and offset. It is left for the next run.
    pub partial_tail: Option<(PathBuf, u64)>,
    /// `from_cache[i]`: record `i` came from the header cache rather than the files.
    pub from_cache: Vec<bool>,
}

/// Reads the `blk*.dat` files of one folder, undoing the XOR obfuscation of `xor.dat`.
#[derive(Debug)]
pub struct BlockFileReader {
    dir: PathBuf,
    files: Vec<(u32, PathBuf)>,
    xor: XorKey,
    open: Option<(u32, File)>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn read_raw_at(file: &File, path: &Path, offset: u64, buf: &mut [u8]) -> Result<(), BlockFileError> {
    file.read_exact_at(buf, offset).map_err(|source| BlockFileError::Io { path: path.to_owned(), source })
}

/// Offset of the first non-zero byte on disk at or after `from`, or `None` at the end of the file.
fn next_nonzero(file: &File, path: &Path, from: u64, len: u64) -> Result<Option<u64>, BlockFileError> {
    let mut buf = vec![0u8; 1 << 16];
    let mut off = from;
    while off < len {
        let n = ((len - off) as usize).min(buf.len());
        read_raw_at(file, path, off, &mut buf[..n])?;
        if let Some(p) = buf[..n].iter().position(|&b| b != 0) {
            return Ok(Some(off + p as u64));
        }
        off += n as u64;
    }
    Ok(None)
}

/// A found magic in hex, with the chains it belongs to.
fn describe_magic(m: [u8; 4]) -> String {
    let chains: Vec<&str> = Chain::with_magic(m).map(Chain::name).collect();
    if chains.is_empty() {
        hex(&m)
    } else {
        format!("{} (the magic of {})", hex(&m), chains.join(" or "))
    }
}

impl BlockFileReader {
    /// Lists the block files of `dir` in order of file number and loads its XOR key.
    ///
    /// # Errors
    /// [`BlockFileError::Io`] if the folder cannot be listed, [`BlockFileError::NoBlockFiles`]
    /// if it holds no `blk*.dat`.
    pub fn open(dir: &Path) -> Result<BlockFileReader, BlockFileError> {
        let io = |source| BlockFileError::Io { path: dir.to_owned(), source };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(n) = name.strip_prefix("blk").and_then(|r| r.strip_suffix(".dat")) {
                if let Ok(n) = n.parse::<u32>() {
                    files.push((n, entry.path()));
                }
            }
        }
        if files.is_empty() {
            return Err(BlockFileError::NoBlockFiles { path: dir.to_owned() });
        }
        files.sort();
        Ok(BlockFileReader { dir: dir.to_owned(), files, xor: XorKey::load(dir)?, open: None })
    }

    /// The folder read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The numbers `N` of the folder's `blkN.dat` files, in order.
    pub fn file_numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.files.iter().map(|(n, _)| *n)
    }

    /// The XOR key in use.
    pub fn xor_key(&self) -> XorKey {
        self.xor
    }

    /// Path of `blkN.dat`.
    pub fn path_of(&self, file: u32) -> PathBuf {
        self.files
            .iter()
            .find(|(n, _)| *n == file)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| self.dir.join(format!("blk{file:05}.dat")))
    }

    fn read_at(&self, file: &File, path: &Path, offset: u64, buf: &mut [u8]) -> Result<(), BlockFileError> {
        read_raw_at(file, path, offset, buf)?;
        self.xor.apply(offset, buf);
        Ok(())
    }

    /// Reads the header of every record in every file. With `magic` unset, the first record's
    /// magic must be one of a known chain's and is then required of all others.
    ///
    /// # Errors
    /// A [`BlockFileError`] naming the file and byte offset of a bad magic, an implausible size
    /// or a truncated record in a file other than the newest.
    pub fn scan_headers(&self, magic: Option<[u8; 4]>) -> Result<HeaderScan, BlockFileError> {
        Ok(self.scan_headers_cached(magic, None)?.0)
    }

    /// As [`BlockFileReader::scan_headers`], but reuses the records of an earlier scan for
    /// every file that is exactly as it was then (size, inode, modification and change time,
    /// and its last cached record still in place); any other file is read again whole.
    /// Returns the scan, the cache for the next run, and how many records came from the cache.
    ///
    /// # Errors
    /// As [`BlockFileReader::scan_headers`].
    pub fn scan_headers_cached(
        &self,
        magic: Option<[u8; 4]>,
        cache: Option<&HeaderCache>,
    ) -> Result<(HeaderScan, HeaderCache, u64), BlockFileError> {
        let mut scan = HeaderScan {
            magic: magic.unwrap_or_default(),
            records: Vec::new(),
            bytes: 0,
            partial_tail: None,
            from_cache: Vec::new(),
        };
        let mut magic = magic;
        let cache = cache.filter(|c| c.xor == self.xor.0 && magic.is_none_or(|m| m == c.magic));
        if let Some(c) = cache {
            magic = Some(c.magic);
            scan.magic = c.magic;
        }
        let mut next = HeaderCache { magic: [0; 4], xor: self.xor.0, files: Vec::new() };
        let mut reused = 0u64;
        let last = self.files.len() - 1;
        for (i, (n, path)) in self.files.iter().enumerate() {
            let io = |source| BlockFileError::Io { path: path.clone(), source };
            let file = File::open(path).map_err(io)?;
            let stamp = FileStamp::of(&file.metadata().map_err(io)?);
            let len = stamp.len;
            scan.bytes += len;
            let first = scan.records.len();
            let cached = cache.and_then(|c| c.file(*n)).filter(|cf| cf.end <= len);
            // Unchanged files are trusted (one record checked); a file written to since (the
            // node appended, or it was damaged or restored) has every cached record read again.
            let cached = cached.filter(|cf| {
                if cf.stamp == stamp {
                    self.still_there(&file, cf.records.last())
                } else {
                    cf.records.iter().all(|r| self.still_there(&file, Some(r)))
                }
            });
            let end = match cached {
                Some(cf) => {
                    scan.records.extend_from_slice(&cf.records);
                    scan.from_cache.resize(scan.records.len(), true);
                    reused += cf.records.len() as u64;
                    // Unchanged: what lies past the known records (zeros, or a record still
                    // being written) is looked at again, as in a full scan.
                    self.scan_file(&file, path, *n, len, cf.end, i == last, &mut magic, &mut scan)?
                }
                _ => self.scan_file(&file, path, *n, len, 0, i == last, &mut magic, &mut scan)?,
            };
            scan.from_cache.resize(scan.records.len(), false);
            next.files.push(CachedFile { file: *n, end, stamp, records: scan.records[first..].to_vec() });
        }
        next.magic = scan.magic;
        Ok((scan, next, reused))
    }

    /// Whether the record cached as `last` is still at its place with the same magic, size
    /// and header.
    fn still_there(&self, file: &File, last: Option<&HeaderRecord>) -> bool {
        let Some(r) = last else { return true };
        let mut hb = [0u8; 88];
        if file.read_exact_at(&mut hb, r.loc.offset).is_err() {
            return false;
        }
        self.xor.apply(r.loc.offset, &mut hb);
        Chain::with_magic(hb[..4].try_into().expect("4 bytes")).next().is_some()
            && hb[4..8] == r.loc.size.to_le_bytes()
            && BlockHash::from_raw_hash(bitcoin::hashes::sha256d::Hash::hash(&hb[8..])) == r.hash
    }

    /// Scans one file from `off`, appending its records; returns where the known records end
    /// (the start of a partial record or of zero-filled space, or the file's end).
    #[allow(clippy::too_many_arguments)]
    fn scan_file(
        &self,
        file: &File,
        path: &Path,
        n: u32,
        len: u64,
        mut off: u64,
        is_last: bool,
        magic: &mut Option<[u8; 4]>,
        scan: &mut HeaderScan,
    ) -> Result<u64, BlockFileError> {
        while off + 8 <= len {
            let mut head = [0u8; 8];
            read_raw_at(file, path, off, &mut head)?;
            if head[..4] == [0; 4] {
                // Preallocated space: the node writes plain zeros, bypassing the XOR key,
                // so it is recognised before de-obfuscating. Skip to the next record.
                match next_nonzero(file, path, off, len)? {
                    Some(next) => {
                        off = next;
                        continue;
                    }
                    None => return Ok(off),
                }
            }
            self.xor.apply(off, &mut head);
            let m: [u8; 4] = head[..4].try_into().expect("4 bytes");
            let expected = match *magic {
                Some(e) => e,
                None if Chain::with_magic(m).next().is_some() => {
                    *magic = Some(m);
                    scan.magic = m;
                    m
                }
                None => {
                    return Err(BlockFileError::BadMagic {
                        path: path.to_owned(),
                        offset: off,
                        found: hex(&m),
                        expected: "the magic of a known chain".into(),
                        chain: None,
                    })
                }
            };
            if m != expected {
                return Err(BlockFileError::BadMagic {
                    path: path.to_owned(),
                    offset: off,
                    found: describe_magic(m),
                    expected: hex(&expected),
                    chain: Chain::with_magic(expected).next(),
                });
            }
            let size = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
            if !(80..=MAX_RECORD).contains(&size) {
                return Err(BlockFileError::BadSize { path: path.to_owned(), offset: off, size });
            }
            if off + 8 + size as u64 > len {
                if let Some(next) = self.next_record(file, path, off + 8, len)? {
                    // A record that runs past the end with a whole record after it: not a
                    // block still being written, but a damaged size field or a lost record.
                    return Err(BlockFileError::Gap { path: path.to_owned(), offset: off, size, next });
                }
                if is_last {
                    // A node writing a block has written a prefix of it; bytes that already
                    // hold a whole block mean the size field, not the block, is unfinished.
                    let mut raw = vec![0u8; (len - off - 8) as usize];
                    self.read_at(file, path, off + 8, &mut raw)?;
                    if crate::decode::parse_block(&raw, true, &mut crate::decode::ParsedBlock::default()).is_ok() {
                        return Err(BlockFileError::SizeMismatch {
                            path: path.to_owned(),
                            offset: off,
                            size,
                            actual: raw.len() as u64,
                        });
                    }
                    scan.partial_tail = Some((path.to_owned(), off));
                    return Ok(off);
                }
                return Err(BlockFileError::Truncated {
                    path: path.to_owned(),
                    offset: off,
                    size,
                    available: len - off - 8,
                });
            }
            let mut hb = [0u8; 80];
            self.read_at(file, path, off + 8, &mut hb)?;
            let header = Header::consensus_decode(&mut &hb[..]).expect("80 bytes decode as a header");
            scan.records.push(HeaderRecord {
                hash: BlockHash::from_raw_hash(bitcoin::hashes::sha256d::Hash::hash(&hb)),
                header,
                loc: BlockLocation { file: n, offset: off, size },
            });
            off += 8 + size as u64;
        }
        if off < len && is_last && next_nonzero(file, path, off, len)?.is_some() {
            // Fewer than 8 bytes of a record header: a node that has begun writing a record.
            scan.partial_tail = Some((path.to_owned(), off));
            return Ok(off);
        }
        if off < len && !is_last && next_nonzero(file, path, off, len)?.is_some() {
            return Err(BlockFileError::Truncated {
                path: path.to_owned(),
                offset: off,
                size: 0,
                available: len - off,
            });
        }
        Ok(off.min(len))
    }

    /// The offset of the first whole record at or after `from`: a magic of a known chain, a
    /// plausible size and all its bytes in the file. Used to tell a record still being
    /// written (nothing follows it) from a damaged one (more records follow).
    fn next_record(&self, file: &File, path: &Path, from: u64, len: u64) -> Result<Option<u64>, BlockFileError> {
        const CHUNK: u64 = 1 << 20;
        let mut buf = vec![0u8; CHUNK as usize + 8];
        let mut start = from;
        while start + 8 <= len {
            let n = (len - start).min(CHUNK + 8) as usize;
            self.read_at(file, path, start, &mut buf[..n])?;
            for p in 0..n.saturating_sub(7) {
                let m: [u8; 4] = buf[p..p + 4].try_into().expect("4 bytes");
                if m == [0; 4] || Chain::with_magic(m).next().is_none() {
                    continue;
                }
                let size = u32::from_le_bytes(buf[p + 4..p + 8].try_into().expect("4 bytes"));
                let at = start + p as u64;
                if (80..=MAX_RECORD).contains(&size) && at + 8 + size as u64 <= len {
                    return Ok(Some(at));
                }
            }
            start += CHUNK;
        }
        Ok(None)
    }

    /// Reads the serialized block at `loc` into `buf`, de-obfuscated.
    ///
    /// # Errors
    /// [`BlockFileError::Io`] if the file cannot be read at that place.
    pub fn read_block(&mut self, loc: &BlockLocation, buf: &mut Vec<u8>) -> Result<(), BlockFileError> {
        if self.open.as_ref().map(|(n, _)| *n) != Some(loc.file) {
            let path = self.path_of(loc.file);
            let f = File::open(&path).map_err(|source| BlockFileError::Io { path, source })?;
            self.open = Some((loc.file, f));
        }
        let (_, file) = self.open.as_ref().expect("opened above");
        buf.resize(loc.size as usize, 0);
        file.read_exact_at(buf, loc.offset + 8)
            .map_err(|source| BlockFileError::Io { path: self.path_of(loc.file), source })?;
        drop_from_page_cache(file, loc.offset, loc.size as u64 + 8);
        self.xor.apply(loc.offset + 8, buf);
        Ok(())
    }

    /// Tells which chain the scanned files belong to, from their magic and genesis block, and
    /// checks it against the chain asked for.
    ///
    /// # Errors
    /// [`BlockFileError::WrongChain`] when the files are of another chain than `requested`,
    /// [`BlockFileError::UnknownChain`] when no known genesis block is among them.
    pub fn detect_chain(&self, scan: &HeaderScan, requested: Option<Chain>) -> Result<Chain, BlockFileError> {
        let genesis = scan
            .records
            .iter()
            .filter(|r| r.header.prev_blockhash == BlockHash::all_zeros())
            .find_map(|r| Chain::with_genesis(&r.hash).filter(|c| c.magic() == scan.magic));
        match (requested, genesis) {
            (Some(want), Some(found)) if want != found => {
                Err(BlockFileError::WrongChain { path: self.dir.clone(), expected: want, found })
            }
            (_, Some(found)) => Ok(found),
            (Some(want), None) if scan.records.is_empty() || want.magic() == scan.magic => Ok(want),
            (Some(want), None) => Err(BlockFileError::WrongChain {
                path: self.dir.clone(),
                expected: want,
                found: Chain::with_magic(scan.magic).next().unwrap_or(want),
            }),
            (None, None) => Err(BlockFileError::UnknownChain { path: self.dir.clone(), magic: hex(&scan.magic) }),
        }
    }
}

/// Tells the kernel that the bytes just read will not be read again soon. An ingest reads
/// each block once; hundreds of gigabytes of block files kept in the page cache would push
/// out the index's pages that the ingest reads at random (the tables, the young outputs),
/// which it then reads from the disk again. Dirty pages (the node still writing the newest
/// file) are not dropped. A hint: failure changes nothing.
fn drop_from_page_cache(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain syscall on an open descriptor; it reads no memory of ours.
        unsafe {
            libc::posix_fadvise(file.as_raw_fd(), offset as libc::off_t, len as libc::off_t, libc::POSIX_FADV_DONTNEED);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}
