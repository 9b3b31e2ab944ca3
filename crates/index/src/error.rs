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
    #[error("{}: this index holds {found}, not {expected}; index {expected} in another data dir", path.display())]
    WrongChain {
        /// The meta file.
        path: PathBuf,
        /// Chain of the index.
        found: sleuth_chain::Chain,
        /// Chain asked for.
        expected: sleuth_chain::Chain,
    },
    /// No index exists in the data dir.
    #[error("{}: no index here", path.display())]
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
    /// A block spends an output that an earlier input already spent.
    #[error("block {height} ({hash}) transaction {txid} input {vin} breaks rule double-spend: it spends {prev_txid}:{prev_vout}, which an earlier input already spent; the block files are damaged or forged")]
    DoubleSpend {
        /// Height of the block.
        height: u32,
        /// Hash of the block.
        hash: String,
        /// The spending transaction.
        txid: String,
        /// Its input.
        vin: u32,
        /// The spent output's transaction.
        prev_txid: String,
        /// The spent output's index.
        prev_vout: u32,
    },
    /// A transaction repeats the txid of an earlier one that still has unspent outputs.
    #[error("block {height} ({hash}) transaction {txid} breaks rule bip30: an earlier transaction with this txid still has output {vout} unspent; the block files are damaged or forged")]
    DuplicateTxid {
        /// Height of the block.
        height: u32,
        /// Hash of the block.
        hash: String,
        /// The repeated txid.
        txid: String,
        /// An unspent output of the earlier transaction.
        vout: u32,
    },
    /// A block spends a coinbase output fewer than 100 blocks after it was mined.
    #[error("block {height} ({hash}) transaction {txid} input {vin} breaks rule coinbase-maturity: it spends {prev}, the coinbase of block {coinbase_height}, {} blocks later where 100 are needed; the block files are damaged or forged", height - coinbase_height)]
    ImmatureSpend {
        /// Height of the block.
        height: u32,
        /// Hash of the block.
        hash: String,
        /// The spending transaction.
        txid: String,
        /// Its input.
        vin: u32,
        /// The spent output, `txid:vout`.
        prev: String,
        /// Height of the block the coinbase is in.
        coinbase_height: u32,
    },
    /// A transaction pays out more than its inputs spend.
    #[error("block {height} ({hash}) transaction {txid} breaks rule value-in: it pays {value_out} base units but spends only {value_in}; the block files are damaged or forged")]
    ValueOutExceedsIn {
        /// Height of the block.
        height: u32,
        /// Hash of the block.
        hash: String,
        /// The transaction.
        txid: String,
        /// What its inputs spend.
        value_in: u64,
        /// What its outputs pay.
        value_out: u64,
    },
    /// A query for something the index does not hold.
    #[error("{message}")]
    NotFound {
        /// What was looked up.
        lookup: Lookup,
        /// The sentence to show: what is missing and why.
        message: String,
    },
    /// Values that do not add up in 64 bits: damaged blocks.
    #[error("{what} add up to more than 2^64 base units; the indexed blocks are damaged")]
    Overflow {
        /// Which sum.
        what: String,
    },
}

/// What a query looked up: the subject of [`IndexError::NotFound`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lookup {
    /// A block by height.
    Height(u32),
    /// A block by hash.
    Block(bitcoin::BlockHash),
    /// A transaction.
    Tx(bitcoin::Txid),
    /// An output of a transaction.
    Output(bitcoin::Txid, u32),
    /// An address, as written.
    Address(String),
}

impl std::fmt::Display for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lookup::Height(h) => write!(f, "block at height {h}"),
            Lookup::Block(h) => write!(f, "block {h}"),
            Lookup::Tx(t) => write!(f, "transaction {t}"),
            Lookup::Output(t, v) => write!(f, "output {t}:{v}"),
            Lookup::Address(a) => write!(f, "address {a}"),
        }
    }
}

impl IndexError {
    /// An address no indexed output pays.
    pub fn not_found_address(address: &str) -> IndexError {
        IndexError::NotFound {
            lookup: Lookup::Address(address.to_owned()),
            message: format!("address {address} has no transactions in the index"),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> IndexError {
        IndexError::Io { path: path.to_owned(), source }
    }
}
