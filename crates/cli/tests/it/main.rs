//! Integration tests of the `sleuth` binary: real block files, a real `litecoind` node.

mod cluster;
mod common;
mod crash;
mod errors;
mod follow;
mod mainnet;
mod mutants;
mod regtest;
mod simulated;
mod tags;
mod validation;
