//! Simulates a chain and prints the summary as JSON-like debug output with the rate.
//!
//! `cargo run --release -p sleuth-simulator --example simulate -- OUT_DIR [TRANSACTIONS] [SEED] [CHAIN]`

use std::time::Instant;

use sleuth_simulator::{simulate, SimConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or("usage: simulate OUT_DIR [TRANSACTIONS] [SEED] [CHAIN]")?;
    let transactions = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1_000_000);
    let seed = args.next().map(|s| s.parse()).transpose()?.unwrap_or(42);
    let chain = args.next().map(|s| s.parse()).transpose()?.unwrap_or(sleuth_chain::Chain::Regtest);
    let cfg = SimConfig { out: out.into(), transactions, seed, chain, truth: true };
    let start = Instant::now();
    let mut next_report = 0u64;
    let summary = simulate(&cfg, &mut |n| {
        if n >= next_report {
            eprintln!("{n} transactions, {:.1} s", start.elapsed().as_secs_f64());
            next_report = n + transactions / 10 + 1;
        }
    })?;
    let secs = start.elapsed().as_secs_f64();
    println!("{summary:#?}");
    println!(
        "{} transactions in {secs:.2} s: {:.0} tx/s, {:.1} MB of block files ({:.1} MB/s)",
        summary.transactions,
        summary.transactions as f64 / secs,
        summary.bytes as f64 / 1e6,
        summary.bytes as f64 / 1e6 / secs
    );
    Ok(())
}
