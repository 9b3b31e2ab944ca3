//! [`NodeError`]: what went wrong talking to a node or with what it sent, naming the node's
//! URL, the call, the block and what to do.

use std::path::PathBuf;

use sleuth_index::IndexError;

/// Why a call to the node, or a sync from it, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The URL is not one Core serves.
    #[error("--rpc-url {url}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The cookie or password file cannot be used.
    #[error("cannot read the node's credentials from {}: {reason}", path.display())]
    Credentials {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No answer (connection refused, reset, timed out, not HTTP).
    #[error("no answer from the node at {url}: {detail}; is it running with -server, and does its -rpcbind/-rpcallowip let this machine in?")]
    Unreachable {
        /// The node's URL.
        url: String,
        /// The transport's error.
        detail: String,
    },
    /// The node refused the credentials.
    #[error("the node at {url} refused the credentials (HTTP 401): give its current .cookie (it changes at each start) or the -rpcuser and password it runs with")]
    Unauthorized {
        /// The node's URL.
        url: String,
    },
    /// The node answered a call with an error.
    #[error("the node at {url} answered {method} with error {code}: {message}")]
    Rpc {
        /// The node's URL.
        url: String,
        /// The call.
        method: String,
        /// Core's error code.
        code: i32,
        /// Its message.
        message: String,
    },
    /// An answer without what the call returns.
    #[error("the node at {url} answered {method} with something unexpected: {detail}")]
    Unexpected {
        /// The node's URL.
        url: String,
        /// The call.
        method: String,
        /// What was wrong.
        detail: String,
    },
    /// The node is on another chain than the index.
    #[error("the node at {url} is on {node_chain} (genesis {genesis}), the index in {} holds {index_chain}: point --rpc-url at a {index_chain} node, or use another --data-dir", data_dir.display())]
    WrongChain {
        /// The node's URL.
        url: String,
        /// The node's chain's name, or "an unknown chain".
        node_chain: String,
        /// The node's genesis hash.
        genesis: String,
        /// The index's chain.
        index_chain: String,
        /// The data dir.
        data_dir: PathBuf,
    },
    /// A block the node served fails decoding or validation: it is not indexed.
    #[error("the node at {url} served block {height} ({hash}) that Sleuth refuses: {detail}; it is not indexed (nor anything above it)")]
    BadBlock {
        /// The node's URL.
        url: String,
        /// Its height.
        height: u32,
        /// Its hash.
        hash: String,
        /// What is wrong.
        detail: String,
    },
    /// The index cannot be opened or written.
    #[error(transparent)]
    Index(#[from] IndexError),
}
