//! The block-file reader on an arbitrary `blk00000.dat`: scan the records, pick the best
//! chain, read and decode every block it names. Errors are fine; panics and hangs are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sleuth_chain::blockfile::{best_chain, BlockFileReader};
use sleuth_chain::decode::{parse_block, ParsedBlock};
use sleuth_chain::Chain;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(dir.path().join("blk00000.dat"), data).expect("written");
    let Ok(mut reader) = BlockFileReader::open(dir.path()) else { return };
    let Ok(scan) = reader.scan_headers(None) else { return };
    let Ok(chain) = reader.detect_chain(&scan, None) else { return };
    let genesis = chain.genesis_hash();
    let best = best_chain(&scan.records, genesis).unwrap_or_default();
    let mut buf = Vec::new();
    let mut block = ParsedBlock::default();
    for i in best {
        if reader.read_block(&scan.records[i].loc, &mut buf).is_ok() {
            let _ = parse_block(
                &buf,
                matches!(chain, Chain::Litecoin | Chain::LitecoinTestnet | Chain::LitecoinRegtest),
                &mut block,
            );
        }
    }
});
