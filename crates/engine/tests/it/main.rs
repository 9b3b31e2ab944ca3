//! Integration tests of the engine: against a real `litecoind -regtest`, and on simulated chains.

mod carry_over;
mod coinjoin_bits;
mod lookups;
mod snapshots;
