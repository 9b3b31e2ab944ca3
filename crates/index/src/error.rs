//! Errors of the index, each naming the file or value involved and what to do.

use std::path::{Path, PathBuf};

/// A problem opening, writing or querying the index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// A file of the index could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The data dir was written by another version of Sleuth.
    #[error("{}: index format version {found}, this sleuth reads version {expected}; delete the data dir and ingest again", path.display())]
    Version {
        /// The meta file.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
    /// The data dir holds an index of another chain.
    #[error("{}: this index holds {found}, not {expected}; use another --data-dir for {expected}", path.display())]
    WrongChain {
        /// The meta file.
        path: PathBuf,
        /// Chain of the index.
        found: sleuth_chain::Chain,
        /// Chain asked for.
        expected: sleuth_chain::Chain,
    },
    /// No index exists in the data dir.
    #[error("{}: no index here; run `sleuth --data-dir {} ingest` first", path.display(), path.display())]
    NoIndex {
        /// The data dir.
        path: PathBuf,
    },
    /// Another process is writing the index.
    #[error("{}: another sleuth process is writing this index; wait for it to finish", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A file of the index does not hold what the meta file says.
    #[error("{}: {what}; the index is damaged: delete the data dir and ingest again", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is inconsistent.
        what: String,
    },
    /// A block spends an output the index does not have.
    #[error("block {height} ({hash}) transaction {txid} input {vin} spends {prev_txid}:{prev_vout}, which is not in the chain below it; the block files are inconsistent")]
    MissingPrevout {
        /// Height of the block.
        height: u32,
        /// Hash of the block.
        hash: String,
        /// The spending transaction.
        txid: String,
        /// Its input.
        vin: u32,
        /// The missing output's transaction.
        prev_txid: String,
        /// The missing output's index.
        prev_vout: u32,
    },
    /// A query for something the index does not hold.
    #[error("{0}")]
    NotFound(String),
}

impl IndexError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> IndexError {
        IndexError::Io { path: path.to_owned(), source }
    }
}
