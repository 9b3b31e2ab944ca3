//! [`HeaderCache`]: the record headers of an earlier scan, so that an incremental ingest
//! reads only what a node appended since, not 88 bytes of every block in every file.
//!
//! A file's records are reused only while the file is exactly as it was scanned: same size,
//! inode, modification and change times (the kernel updates the change time on every write,
//! and no tool can set it back), so a file that was damaged and then restored is read again.
//! The cache itself ends with a SHA-256 of its contents, so a damaged cache is not used.
//!
//! Layout (little-endian): `b"SLHC"`, version `u32`, magic `[4]`, XOR key `[8]`, file count
//! `u32`, then per file: number `u32`, end `u64` (where its known records end), stamp (size
//! `u64`, inode `u64`, mtime ns `i64`, ctime ns `i64`), record count `u32`, then per record:
//! header `[80]`, hash `[32]`, offset `u64`, size `u32`; then SHA-256 `[32]` of all before.

use std::io::Read;
use std::path::Path;

use bitcoin::block::Header;
use bitcoin::consensus::{Decodable, Encodable};
use bitcoin::hashes::Hash;
use bitcoin::BlockHash;

use super::{BlockLocation, HeaderRecord};

const MAGIC: &[u8; 4] = b"SLHC";
const VERSION: u32 = 2;

/// What the file system says of a file: if any of it changed, the file was written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStamp {
    /// Size in bytes.
    pub len: u64,
    /// Inode number (a file replaced by a copy has another).
    pub ino: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Status change time, nanoseconds since the epoch.
    pub ctime_ns: i64,
}

impl FileStamp {
    /// The stamp of an open file's metadata.
    pub fn of(m: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            len: m.len(),
            ino: m.ino(),
            mtime_ns: m.mtime().saturating_mul(1_000_000_000).saturating_add(m.mtime_nsec()),
            ctime_ns: m.ctime().saturating_mul(1_000_000_000).saturating_add(m.ctime_nsec()),
        }
    }
}

/// The records of one file as far as they were scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedFile {
    /// The `N` of `blkN.dat`.
    pub file: u32,
    /// Offset where its known records end: the next record, zero-filled space or the end.
    pub end: u64,
    /// The file as it was when it was scanned.
    pub stamp: FileStamp,
    /// Its records, in file order.
    pub records: Vec<HeaderRecord>,
}

/// What a scan found, kept for the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderCache {
    /// Magic of the records.
    pub magic: [u8; 4],
    /// XOR key the files were read with.
    pub xor: [u8; 8],
    /// Per file.
    pub files: Vec<CachedFile>,
}

impl HeaderCache {
    /// The cached records of `blkN.dat`.
    pub fn file(&self, n: u32) -> Option<&CachedFile> {
        self.files.iter().find(|f| f.file == n)
    }

    /// Reads a cache written by [`HeaderCache::save`]; `None` if it is missing, of another
    /// version or damaged (the scan then reads every file, as without a cache).
    pub fn load(path: &Path) -> Option<HeaderCache> {
        let bytes = std::fs::read(path).ok()?;
        let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
        if bitcoin::hashes::sha256::Hash::hash(body).as_byte_array() != sum {
            return None;
        }
        let mut r = body;
        let mut word = [0u8; 4];
        r.read_exact(&mut word).ok()?;
        if &word != MAGIC || u32::consensus_decode(&mut r).ok()? != VERSION {
            return None;
        }
        let mut cache = HeaderCache { magic: [0; 4], xor: [0; 8], files: Vec::new() };
        r.read_exact(&mut cache.magic).ok()?;
        r.read_exact(&mut cache.xor).ok()?;
        for _ in 0..u32::consensus_decode(&mut r).ok()? {
            let file = u32::consensus_decode(&mut r).ok()?;
            let end = u64::consensus_decode(&mut r).ok()?;
            let stamp = FileStamp {
                len: u64::consensus_decode(&mut r).ok()?,
                ino: u64::consensus_decode(&mut r).ok()?,
                mtime_ns: i64::consensus_decode(&mut r).ok()?,
                ctime_ns: i64::consensus_decode(&mut r).ok()?,
            };
            let count = u32::consensus_decode(&mut r).ok()?;
            let mut records = Vec::with_capacity(count.min(1 << 20) as usize);
            for _ in 0..count {
                let header = Header::consensus_decode(&mut r).ok()?;
                let mut hash = [0u8; 32];
                r.read_exact(&mut hash).ok()?;
                let offset = u64::consensus_decode(&mut r).ok()?;
                let size = u32::consensus_decode(&mut r).ok()?;
                let hash = BlockHash::from_byte_array(hash);
                records.push(HeaderRecord { header, hash, loc: BlockLocation { file, offset, size } });
            }
            cache.files.push(CachedFile { file, end, stamp, records });
        }
        r.is_empty().then_some(cache)
    }

    /// Writes the cache atomically (a temporary file renamed over the old one).
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        VERSION.consensus_encode(&mut out)?;
        out.extend_from_slice(&self.magic);
        out.extend_from_slice(&self.xor);
        (self.files.len() as u32).consensus_encode(&mut out)?;
        for f in &self.files {
            f.file.consensus_encode(&mut out)?;
            f.end.consensus_encode(&mut out)?;
            f.stamp.len.consensus_encode(&mut out)?;
            f.stamp.ino.consensus_encode(&mut out)?;
            f.stamp.mtime_ns.consensus_encode(&mut out)?;
            f.stamp.ctime_ns.consensus_encode(&mut out)?;
            (f.records.len() as u32).consensus_encode(&mut out)?;
            for r in &f.records {
                r.header.consensus_encode(&mut out)?;
                out.extend_from_slice(r.hash.as_byte_array());
                r.loc.offset.consensus_encode(&mut out)?;
                r.loc.size.consensus_encode(&mut out)?;
            }
        }
        let sum = bitcoin::hashes::sha256::Hash::hash(&out);
        out.extend_from_slice(sum.as_byte_array());
        sleuth_durable::write_atomic(path, &out)
    }
}
