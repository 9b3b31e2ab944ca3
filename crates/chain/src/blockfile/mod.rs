//! Reading a node's `blocks/` folder: `blk*.dat` files in file-number order, the XOR key of
//! `xor.dat`, zero-filled gaps and a last file still being written, then choosing the
//! most-work chain among the headers found.

mod best_chain;
mod error;
mod header_cache;
mod reader;
mod xor;

pub use best_chain::{best_chain, BestChainError};
pub use error::BlockFileError;
pub use header_cache::{CachedFile, FileStamp, HeaderCache};
pub use reader::{BlockFileReader, BlockLocation, HeaderRecord, HeaderScan};
pub use xor::XorKey;
