//! Integration tests of the `sleuth` binary: real block files, a real `litecoind` node.

mod bip30;
mod cluster;
mod common;
mod crash;
mod demo;
mod errors;
mod evm;
mod evm_incidents;
mod evm_watch;
mod follow;
mod mainnet;
mod mutants;
mod mweb;
mod real_wallets;
mod regtest;
mod report;
mod rpc;
mod serve;
mod simulated;
mod tags;
mod trace;
mod validation;
mod watch;
mod write_path;
