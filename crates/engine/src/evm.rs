//! The engine's door to an EVM chain's data dir: its own index (`evm.redb`), opened by the
//! same engine, so the CLI, the server and the reports reach the account model through one
//! crate as they reach the UTXO model. The account index itself lives in `sleuth-evm`.

use std::path::Path;
use std::sync::atomic::AtomicBool;

pub use sleuth_evm::amount::format_units;
pub use sleuth_evm::views::{EvmAddressView, EvmBlockView, EvmStatusView, EvmTxView, TransferView};
pub use sleuth_evm::{
    is_evm_chain_name, Address, EvmChain, EvmError, EvmNode, EvmReader, EvmStore, SyncOptions, SyncReport,
    TraceDialect, B256,
};

/// Whether `data_dir` holds an EVM chain's index rather than a UTXO chain's.
pub fn is_evm_data_dir(data_dir: &Path) -> bool {
    sleuth_evm::is_evm_data_dir(data_dir)
}

/// A read snapshot of the EVM index in `data_dir`: one commit, whatever an ingest beside it
/// commits meanwhile.
pub fn open(data_dir: &Path) -> Result<EvmReader, EvmError> {
    EvmStore::open(data_dir)?.reader()
}

/// Brings the EVM index in `data_dir` to the tip of the node at `url` (reorgs included);
/// `progress` hears (indexed height, target height).
pub fn ingest(
    data_dir: &Path,
    url: &str,
    opts: &SyncOptions,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SyncReport, EvmError> {
    let node = EvmNode::connect(url)?;
    sleuth_evm::sync(data_dir, &node, opts, stop, progress)
}

/// Parses an EVM address, naming the input when it is not one.
pub fn parse_address(s: &str) -> Result<Address, EvmError> {
    let t = s.trim();
    if !(t.len() == 42 && t.starts_with("0x")) {
        return Err(EvmError::NotFound(format!("{t:?} is not an EVM address: expected 0x and 40 hex digits")));
    }
    t.parse().map_err(|_| EvmError::NotFound(format!("{t:?} is not an EVM address: expected 0x and 40 hex digits")))
}

/// Parses a block or transaction hash (0x and 64 hex digits).
pub fn parse_hash(s: &str) -> Result<B256, EvmError> {
    let t = s.trim();
    let hex = t.strip_prefix("0x").unwrap_or(t);
    if hex.len() != 64 {
        return Err(EvmError::NotFound(format!("{t:?} is not a hash: expected 0x and 64 hex digits")));
    }
    hex.parse().map_err(|_| EvmError::NotFound(format!("{t:?} is not a hash: expected 0x and 64 hex digits")))
}
