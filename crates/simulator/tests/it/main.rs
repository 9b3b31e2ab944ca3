//! Integration tests of the simulator: its block files read back through `sleuth_chain`, and
//! its ground truth agrees with them.

mod common;
mod determinism;
mod readback;
mod truth;
