//! The block decoder on arbitrary bytes, as Bitcoin and as Litecoin (MWEB): an error or a
//! block, never a panic, a hang or a read past the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sleuth_chain::decode::{parse_block, ParsedBlock};

fuzz_target!(|data: &[u8]| {
    let mut out = ParsedBlock::default();
    for litecoin in [false, true] {
        let _ = parse_block(data, litecoin, &mut out);
    }
});
