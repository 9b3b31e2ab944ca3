//! Errors of the block-file reader: each names the file and byte offset and says what to do.

use std::path::PathBuf;

use crate::decode::DecodeError;
use crate::params::Chain;

/// A problem with a node's block files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockFileError {
    /// The folder or a file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The folder holds no `blk*.dat` file.
    #[error("{}: no blk*.dat files here; pass the node's blocks folder with --blocks-dir", path.display())]
    NoBlockFiles {
        /// The folder.
        path: PathBuf,
    },
    /// `xor.dat` is not 8 bytes long.
    #[error("{}: XOR key of {len} bytes, expected 8", path.display())]
    BadXorKey {
        /// Path of `xor.dat`.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// A record starts with a magic of no known chain.
    #[error("{}: bad magic {found} at byte {offset}; expected {expected}{}", path.display(), chain.map(|c| format!(" ({c})")).unwrap_or_default())]
    BadMagic {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// The four bytes found, in hex.
        found: String,
        /// The expected magic, in hex, or a description of the known ones.
        expected: String,
        /// The chain expected, if known.
        chain: Option<Chain>,
    },
    /// A record's size field makes no sense.
    #[error("{}: block record at byte {offset} declares {size} bytes, which is not a plausible block size; the file is corrupt", path.display())]
    BadSize {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// Declared size.
        size: u32,
    },
    /// A record is cut short in a file that is not the newest one.
    #[error("{}: block record at byte {offset} declares {size} bytes but the file ends after {available}; the file is truncated", path.display())]
    Truncated {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// Declared size.
        size: u32,
        /// Bytes present after the record header.
        available: u64,
    },
    /// A record that cannot be read, with whole records after it.
    #[error("{}: block record at byte {offset} declares {size} bytes, which runs past the end of the file, but another record starts at byte {next}; the file is damaged (a size field or a record between them)", path.display())]
    Gap {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the unreadable record.
        offset: u64,
        /// Its declared size.
        size: u32,
        /// Byte offset of the next whole record.
        next: u64,
    },
    /// The last record's size field is larger than the whole block it holds.
    #[error("{}: block record at byte {offset} declares {size} bytes but holds a whole block of {actual} bytes up to the end of the file; its size field is damaged (not a block still being written)", path.display())]
    SizeMismatch {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// Its declared size.
        size: u32,
        /// Bytes of the whole block after the record header.
        actual: u64,
    },
    /// A block's bytes do not decode.
    #[error("{}: block at byte {offset} (hash {hash}) is corrupt: {source}", path.display())]
    Corrupt {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// Hash of the block's header.
        hash: String,
        /// What was wrong.
        source: DecodeError,
    },
    /// The files belong to another chain than the one asked for.
    #[error("{}: these block files belong to {found}, not {expected}; pass --chain {found} or the right --blocks-dir", path.display())]
    WrongChain {
        /// The folder.
        path: PathBuf,
        /// The chain asked for.
        expected: Chain,
        /// The chain the files are of.
        found: Chain,
    },
    /// No chain has the genesis block found in the files.
    #[error("{}: no genesis block of a known chain among these block files (magic {magic}); pass --chain", path.display())]
    UnknownChain {
        /// The folder.
        path: PathBuf,
        /// The magic found, in hex.
        magic: String,
    },
}
