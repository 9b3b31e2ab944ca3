//! What can go wrong reading an EVM node or the account index, each naming what and where.

use std::path::PathBuf;

/// Errors of the account index and its ingest.
#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    /// The node's RPC failed or answered something unreadable.
    #[error("{url}: {method}: {message}")]
    Rpc {
        /// The node.
        url: String,
        /// The call.
        method: String,
        /// What went wrong.
        message: String,
    },
    /// The node's answer for a block contradicts itself.
    #[error("block {number}: {what}")]
    BadBlock {
        /// Its height.
        number: u64,
        /// What did not add up.
        what: String,
    },
    /// The data dir holds another chain than the node's.
    #[error("{dir} indexes {indexed}, but the node is {node}: use another --data-dir for this node")]
    WrongChain {
        /// The data dir.
        dir: PathBuf,
        /// What the index holds.
        indexed: String,
        /// What the node serves.
        node: String,
    },
    /// The node serves another chain than the one asked for.
    #[error("--chain {asked} but the node at {url} serves {node}")]
    ChainMismatch {
        /// What `--chain` said.
        asked: String,
        /// The node.
        url: String,
        /// What it serves.
        node: String,
    },
    /// An account's balance would go below zero: value came from somewhere not indexed.
    #[error("block {block}: {account} would spend {amount} wei more than it holds: {hint}")]
    Overdraft {
        /// The block.
        block: u64,
        /// The account.
        account: String,
        /// By how much.
        amount: String,
        /// What to do.
        hint: String,
    },
    /// The index's store failed.
    #[error("{path}: {message}")]
    Store {
        /// The store's file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A genesis file that cannot be read.
    #[error("{path}: {message}")]
    Genesis {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A block, transaction or account the index does not hold.
    #[error("{0}")]
    NotFound(String),
    /// Input that is not what it should be: a malformed address or hash, no policy.
    #[error("{0}")]
    BadInput(String),
}
