//! Integration tests for sleuth-chain against the real blocks and lists in `../shared/data`:
//! every fact asserted here comes from the data's manifests, index CSVs or README, not from
//! this crate.

mod addresses;
mod blk00000;
mod common;
mod errors;
mod forks;
mod gaps;
mod litecoin;
mod manifest_blocks;
mod xor;
