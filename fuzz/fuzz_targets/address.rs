//! The address parsers on arbitrary text: decoding for every chain, the tag store's chain
//! detection and lookup key, and the per-chain check of tag files. A decoded address must
//! encode back to a string that decodes to the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sleuth_chain::address::{decode, encode};
use sleuth_chain::Chain;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for chain in Chain::ALL {
        if let Ok(key) = decode(&text, chain) {
            let again = encode(&key, chain);
            assert_eq!(decode(&again, chain).ok(), Some(key), "{text:?} → {again:?}");
        }
    }
    let _ = sleuth_tags::address::chain_of(&text);
    let _ = sleuth_tags::address::lookup_key(&text);
    let _ = sleuth_tags::address::checked_chain(std::path::Path::new("f"), 1, &text, Some("BTC"));
});
