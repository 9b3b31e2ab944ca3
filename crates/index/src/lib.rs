//! Sleuth's embedded index of a chain.
//!
//! Blocks, transactions, inputs, outputs and addresses are numbered densely in chain order
//! and stored as memory-mapped columns of fixed-size records (`*.col`); txids, block hashes
//! and addresses map to their numbers through memory-mapped hash tables (`*.idx`). Every
//! input points at the output it spends, every output at its spender, and the outputs of an
//! address form a linked list. `meta.json` holds the committed counts and is replaced
//! atomically at each batch commit, so an interrupted ingest resumes from the last commit.
//!
//! One [`IndexWriter`] per data dir appends, commits and unwinds; any number of
//! [`Snapshot`]s, each pinned to one commit, read it, in the writer's process or in others.
//! A [`View`] is one read of a snapshot. See `docs/schema.md` for the byte layout, the
//! crash-safety argument and the snapshot rule.

mod checked_append;
mod coin_cache;
mod column;
mod commit;
mod damaged;
mod deferred;
mod error;
mod failpoint;
mod graph;
mod graph_prefetch;
mod hashtable;
pub mod ingest;
mod mapped;
mod meta;
mod overlay;
mod query;
mod schema;
mod snapshot;
mod store;
mod unwind;
mod utxo_rules;
mod view;
mod writer;

pub use checked_append::{append_checked, AppendError};
pub use coin_cache::CoinCacheUse;
pub use damaged::Damaged;
pub use error::{IndexError, Lookup};
pub use graph::{prefetch, OutputView, SpentView, TxFingerprint};
pub use meta::Meta;
pub use query::{AddressInfo, BlockInfo, BlockRef, SpentBy, Status, TxInfo, TxInput, TxOutput};
pub use schema::{AddrId, Counts, Height, InputNum, OutputNum, TxNum, FORMAT_VERSION};
pub use snapshot::{unwind_waiting, Snapshot, SnapshotSource, UNWIND_WAITING_FILE};
pub use store::IndexWriter;
pub use view::{list_scans, View};
pub use writer::Appended;
