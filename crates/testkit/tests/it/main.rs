//! Integration tests for sleuth-testkit: a real litecoind and the shared data folder.

mod node;
mod shared_data;
