//! Sleuth's embedded index of a chain.
//!
//! Blocks, transactions, inputs, outputs and addresses are numbered densely in chain order
//! and stored as memory-mapped columns of fixed-size records (`*.col`); txids, block hashes
//! and addresses map to their numbers through memory-mapped hash tables (`*.idx`). Every
//! input points at the output it spends, every output at its spender, and the outputs of an
//! address form a linked list. `meta.json` holds the committed counts and is replaced
//! atomically at each batch commit, so an interrupted ingest resumes from the last commit.
//! See `docs/schema.md` for the byte layout and the crash-safety argument.

mod column;
mod error;
mod failpoint;
mod graph;
mod hashtable;
pub mod ingest;
mod meta;
mod query;
mod schema;
mod store;
mod writer;

pub use error::IndexError;
pub use graph::{OutputView, TxFingerprint};
pub use meta::Meta;
pub use query::{AddressInfo, BlockInfo, BlockRef, SpentBy, Status, TxInfo, TxInput, TxOutput};
pub use schema::{AddrId, Height, InputNum, OutputNum, TxNum, FORMAT_VERSION};
pub use store::Index;
pub use writer::Appended;
