//! What snapshots cost, on an existing index:
//!
//!     cargo bench -p sleuth-index --bench snapshot -- /tmp/sleuth-bench/idx
//!
//! (`scripts/bench-ingest.sh` leaves a 1M-transaction index there.) Prints the time to take a
//! snapshot from the data dir (another process's path: `READERS` lock, `meta.json`, maps) and
//! from the writer, latency percentiles of txid and address lookups through a view, and the
//! throughput of a pass over every transaction's outputs (what clustering and tracing do) and
//! the time to find a random output's transaction (what every trace hop does).
//! With `--cold` (as root) it first empties the page cache and times 2,000 lookups of each
//! kind from the disk.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use sleuth_index::{AddrId, IndexWriter, Snapshot, TxNum};

fn percentiles(mut d: Vec<Duration>) -> String {
    d.sort();
    let p = |q: f64| d[((d.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    format!("p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs", p(0.5), p(0.99), p(1.0))
}

fn timed<T>(n: usize, mut f: impl FnMut(usize) -> T) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let t = Instant::now();
            std::hint::black_box(f(i));
            t.elapsed()
        })
        .collect()
}

fn main() {
    let dir: PathBuf = std::env::args().skip(1).find(|a| !a.starts_with('-')).map(PathBuf::from).unwrap_or_else(|| {
        eprintln!("usage: cargo bench -p sleuth-index --bench snapshot -- <data dir>");
        std::process::exit(2)
    });
    let snap = Snapshot::open(&dir).expect("an index in the data dir");
    let c = snap.counts();
    println!("index: {} blocks, {} transactions, {} outputs, {} addresses", c.blocks, c.txs, c.outputs, c.addrs);
    println!("Snapshot::open (other process): {}", percentiles(timed(2000, |_| Snapshot::open(&dir).unwrap())));
    println!("Snapshot::view: {}", percentiles(timed(100_000, |_| snap.view().counts())));

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let view = snap.view();
    let txids: Vec<_> = (0..20_000).map(|_| view.txid(TxNum::new(rng.gen_range(0..c.txs) as u32))).collect();
    let keys: Vec<_> = (0..20_000).map(|_| view.address_key(AddrId::new(rng.gen_range(0..c.addrs) as u32))).collect();
    if std::env::args().any(|a| a == "--cold") {
        // Cold: the page cache emptied (needs root), then lookups of keys not read since.
        let dropped = std::process::Command::new("sh")
            .args(["-c", "sync && echo 1 > /proc/sys/vm/drop_caches"])
            .status()
            .is_ok_and(|s| s.success());
        if !dropped {
            eprintln!("--cold needs to write /proc/sys/vm/drop_caches (root); skipped");
        } else {
            let n = 2_000;
            println!("cold (page cache dropped) txid → tx: {}", percentiles(timed(n, |i| view.tx(&txids[i]).unwrap())));
            println!(
                "cold (page cache dropped) address: {}",
                percentiles(timed(n, |i| view.address(&keys[i]).unwrap()))
            );
        }
    }
    println!("txid → tx (full answer): {}", percentiles(timed(txids.len(), |i| view.tx(&txids[i]).unwrap())));
    println!("address (balance, history): {}", percentiles(timed(keys.len(), |i| view.address(&keys[i]).unwrap())));
    // Output → transaction, as every trace hop asks: random outputs, each timed (a loop of
    // 200,000 lookups is too short for the clock's resolution per lookup, so batches of 100).
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let outs: Vec<u64> = (0..200_000).map(|_| rng.gen_range(0..c.outputs)).collect();
    let per = |d: Vec<Duration>| d.into_iter().map(|x| x / 100).collect::<Vec<_>>();
    println!(
        "output → transaction (100 random at a time): {}",
        percentiles(per(timed(2_000, |b| {
            (0..100).map(|k| view.tx_of_output(sleuth_index::OutputNum::new(outs[b * 100 + k])).get()).sum::<u32>()
        })))
    );
    let t = Instant::now();
    let mut sum = 0u64;
    for tx in 0..c.txs {
        for o in view.tx_output_range(TxNum::new(tx as u32)) {
            sum = sum.wrapping_add(view.output(sleuth_index::OutputNum::new(o)).value);
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!("pass over every output: {:.2} s, {:.1} M outputs/s (checksum {sum})", s, c.outputs as f64 / s / 1e6);
    drop(view);
    drop(snap);

    let writer =
        IndexWriter::open(&dir, sleuth_index::Snapshot::open(&dir).unwrap().meta().chain).expect("no other writer");
    println!("IndexWriter::snapshot (same process): {}", percentiles(timed(2000, |_| writer.snapshot().unwrap())));
}
