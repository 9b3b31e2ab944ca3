//! EVM ingest throughput against the node's own ceiling: `cargo bench -p sleuth-evm --bench
//! ingest -- URL [IN_FLIGHT]` (scripts/bench-evm-ingest.sh starts Anvil and fills it first).
//!
//! Runs a plain fetch of every block (the same three calls per block — block with its
//! transactions, receipts, traces — answers read but not decoded), then Sleuth's ingest of
//! the same blocks into a fresh data dir, then the plain fetch again, and prints blocks/s,
//! transactions/s and transfers/s of each and the ratio to the faster plain fetch.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use sleuth_evm::model::AssetId;
use sleuth_evm::store::EvmStore;
use sleuth_evm::trace::{trace_backward, trace_forward, AccountLabel, AccountTraceOptions, TraceStart};
use sleuth_evm::{sync, Address, EvmNode, SyncOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let url = args.first().map(String::as_str).unwrap_or("http://127.0.0.1:8545");
    let in_flight: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(16);
    let node = EvmNode::connect(url).expect("a node URL");
    let tip = node.block_number().expect("the node answers eth_blockNumber");
    let dialect = node.detect_dialect().expect("the node traces");

    let plain = |label: &str| {
        let t = Instant::now();
        let n = node.fetch_blocks_plain(0, tip, dialect, in_flight).expect("plain fetch");
        let s = t.elapsed().as_secs_f64();
        println!("{label}: {n} blocks in {s:.2} s ({:.0} blocks/s)", n as f64 / s);
        s
    };
    let plain_a = plain("plain fetch (1)");

    let dir = tempfile::tempdir().expect("a temp dir");
    let opts = SyncOptions { in_flight, ..SyncOptions::default() };
    let t = Instant::now();
    let r = sync(dir.path(), &node, &opts, &AtomicBool::new(false), &mut |_, _| {}).expect("ingest");
    let s = t.elapsed().as_secs_f64();
    let plain_b = plain("plain fetch (2)");
    let best = plain_a.min(plain_b);
    println!(
        "sleuth ingest: {} blocks, {} transactions, {} transfers in {s:.2} s ({:.0} blocks/s, {:.0} tx/s, {:.0} transfers/s; traces {})",
        r.added_blocks,
        r.added_transactions,
        r.added_transfers,
        r.added_blocks as f64 / s,
        r.added_transactions as f64 / s,
        r.added_transfers as f64 / s,
        r.traces.as_str()
    );
    println!(
        "plain fetch (best): {:.0} blocks/s, {:.0} tx/s; sleuth / plain time: {:.2}x",
        (tip + 1) as f64 / best,
        r.added_transactions as f64 / best,
        s / best
    );

    // Tracing and screening on the index just built (no tags: every account is followed).
    let store = EvmStore::open(dir.path()).expect("the index");
    let reader = store.reader().expect("a reader");
    let no_labels = |_: &Address| -> Option<AccountLabel> { None };
    let accounts = reader.account_addresses().expect("accounts");
    let busiest = accounts
        .iter()
        .max_by_key(|a| reader.account(a).ok().flatten().map_or(0, |x| x.sent))
        .copied()
        .expect("an account");
    let t = Instant::now();
    let tr = trace_forward(&reader, &TraceStart::Account(busiest), &AccountTraceOptions::default(), &no_labels)
        .expect("trace");
    println!(
        "forward trace from the busiest sender, 4 policies: {} transfers replayed, {} accounts reached in {:.3} s ({:.0} transfers/s)",
        tr.transfers_replayed,
        tr.accounts_reached,
        t.elapsed().as_secs_f64(),
        tr.transfers_replayed as f64 / t.elapsed().as_secs_f64()
    );
    let mut lat = Vec::new();
    let mut state = 0x9e3779b97f4a7c15u64;
    for _ in 0..1000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let a = accounts[(state % accounts.len() as u64) as usize];
        let t = Instant::now();
        trace_backward(&reader, &a, AssetId::ETH, 3, &no_labels, &Default::default()).expect("screen");
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "backward screening trace (3 hops) of 1000 random accounts: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100],
        lat[lat.len() - 1]
    );
    let size = std::fs::metadata(dir.path().join("evm.redb")).map(|m| m.len()).unwrap_or(0);
    println!(
        "index: {:.1} MB ({:.0} bytes per transfer)",
        size as f64 / 1e6,
        size as f64 / r.added_transfers.max(1) as f64
    );
}
