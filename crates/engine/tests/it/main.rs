//! Integration tests of the engine against a real `litecoind -regtest`.

mod snapshots;
