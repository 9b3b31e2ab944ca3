//! Parse-only baseline: reads every best-chain block of a blocks folder with the
//! `bitcoin-block-parser` crate (rust-bitcoin decoding, one thread per core) and computes
//! every txid, the least an index must also do. Prints seconds and tx/s as JSON.

use std::time::Instant;

use bitcoin_block_parser::BlockParser;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: parse-baseline <blocks-dir>");
    let started = Instant::now();
    let parser = BlockParser::new(&dir).expect("readable block files");
    let (blocks, txs, check) = parser
        .parse(|block| {
            let mut check = 0u64;
            for tx in &block.txdata {
                let txid = tx.compute_txid();
                check ^= u64::from_le_bytes(AsRef::<[u8]>::as_ref(&txid)[..8].try_into().unwrap());
            }
            (1u64, block.txdata.len() as u64, check)
        })
        .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 ^ b.2));
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"parser\":\"bitcoin-block-parser 0.5\",\"blocks\":{blocks},\"transactions\":{txs},\"seconds\":{secs:.3},\"tx_per_s\":{:.0},\"txid_xor\":\"{check:016x}\"}}",
        txs as f64 / secs
    );
}
