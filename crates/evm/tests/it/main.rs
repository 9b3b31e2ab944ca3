//! The account index against a real Anvil node running contracts compiled by solc-js.

mod heist;
mod ingest;
mod reorg;
mod trace;
