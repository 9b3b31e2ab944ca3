//! Sleuth's account-model index: any EVM chain (Ethereum, its test networks, a local Anvil),
//! read from an execution client's JSON-RPC and kept beside the UTXO index, not bent into
//! it. An account is a pool of value, so the unit here is the [`model::Transfer`], one
//! movement of one asset, where the UTXO side has outputs and spends.
//!
//! Data flows one way: [`rpc`] fetches, [`extract`] decodes a block's value movements,
//! [`store`] keeps them (redb), [`ingest`] drives the sync and its reorgs, [`views`] answer
//! the investigator's questions, [`trace`] follows value through accounts.

pub mod amount;
pub mod chain;
pub mod error;
pub mod extract;
pub mod genesis;
pub mod ingest;
pub mod model;
pub mod rpc;
pub mod store;
pub mod trace;
pub mod views;

pub use amount::BaseUnits;
pub use chain::{is_evm_chain_name, EvmChain};
pub use error::EvmError;
pub use ingest::{sync, SyncOptions, SyncReport};
pub use rpc::{EvmNode, TraceDialect};
pub use store::{is_evm_data_dir, EvmReader, EvmStore};

/// Re-exported so callers name addresses and hashes with the same types.
pub use alloy::primitives::{Address, B256, U256};
