//! Integration tests of the engine: against a real `litecoind -regtest`, and on simulated chains.

mod lookups;
mod snapshots;
