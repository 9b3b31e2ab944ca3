//! Sleuth's link to a running node over Bitcoin Core's (and Litecoin Core's) JSON-RPC.
//!
//! Block files are the fast path to the tip (`sleuth ingest`); a node's RPC takes over at the
//! tip, for a node on another machine or one whose files Sleuth cannot read:
//!
//! - [`client`]: [`NodeClient`], the RPC calls Sleuth makes, with Core's cookie or a user and
//!   password file, reconnecting (and re-reading the cookie) after the node restarts;
//! - [`sync`]: [`sync()`], the index brought to the node's best chain, reorgs unwound, every
//!   block checked as block files are.

pub mod client;
mod error;
pub mod sync;

pub use client::{NodeClient, RpcAuth};
pub use error::NodeError;
pub use sync::{node_chain, sync, sync_data_dir, SyncOptions, SyncReport};
