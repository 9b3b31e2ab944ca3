//! [`EngineError`]: what can go wrong answering a view, by the store at fault.

use std::path::{Path, PathBuf};

/// A problem answering a view or changing a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The index is missing, damaged, or does not hold what was asked.
    #[error(transparent)]
    Index(#[from] sleuth_index::IndexError),
    /// The ingest failed.
    #[error(transparent)]
    Ingest(#[from] sleuth_index::ingest::IngestError),
    /// The clustering is damaged, missing or does not cover what was asked.
    #[error(transparent)]
    Cluster(#[from] sleuth_analysis::cluster::ClusterError),
    /// The tag store is damaged, or an import failed.
    #[error(transparent)]
    Tags(#[from] sleuth_tags::TagError),
    /// The EVM index failed.
    #[error(transparent)]
    Evm(#[from] sleuth_evm::EvmError),
    /// An address that is not one of the indexed chain's.
    #[error(transparent)]
    Address(#[from] sleuth_chain::address::AddressError),
    /// The clustering was built on a branch a reorg removed, or at a commit newer than the
    /// snapshot's.
    #[error("the clustering in {} (built up to transaction {upto_tx}) does not match the index at height {height}; build it again", path.display())]
    ClusteringStale {
        /// The clustering folder.
        path: PathBuf,
        /// Transactions it covers.
        upto_tx: u64,
        /// The index's tip height.
        height: i64,
    },
    /// Another process is changing the same store.
    #[error("{}: another sleuth process is building here; wait for it to finish", path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// An incident is malformed, a duplicate, or names no output (the message says which).
    #[error("{0}")]
    Incident(String),
    /// A watch is malformed, or the watch list or alert log is damaged (the message says which).
    #[error("{0}")]
    Watch(String),
    /// A price table is malformed or lacks a day (the message names the file and day).
    #[error("{0}")]
    Prices(String),
    /// A report file cannot be read.
    #[error("{}: {what}", path.display())]
    Report {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A file of the data dir could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl EngineError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> EngineError {
        EngineError::Io { path: path.to_owned(), source }
    }
}
