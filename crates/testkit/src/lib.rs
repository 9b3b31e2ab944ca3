//! Test helpers for Sleuth's crates; a dev-dependency only.
//!
//! - [`RegtestNode`] runs a real `litecoind -regtest` in a tempdir on free ports, so tests
//!   compare Sleuth against the node's own RPC answers instead of a mock.
//! - [`shared_data`] finds the reference fixtures in `../shared/data`, read in place.
//! - [`economy`] builds an economy of real wallets on a node and reads its truth back.
//! - [`anvil::Anvil`] runs a real Anvil (a local Ethereum node) and [`anvil::test_contracts`]
//!   compiles the test contracts with solc-js.
//! - [`Sleuth`] runs the CLI binary and checks its exit code, stdout and stderr.

pub mod anvil;
mod command;
pub mod economy;
mod node;
mod rng;
mod rpc;
mod shared_data;

pub use command::Sleuth;
pub use node::RegtestNode;
pub use rng::Rng;
pub use rpc::RpcError;
pub use shared_data::{shared_data, shared_data_dir, SHARED_DATA_ENV};
