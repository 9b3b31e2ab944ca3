//! Tracing and screening speed on an existing data dir (ingested, clustered, tagged):
//!
//!     cargo bench -p sleuth-engine --bench trace -- <data dir> <TXID> [queries=10000]
//!
//! `scripts/bench-trace.sh` prepares a 10M-transaction chain and runs it. Prints the time of a
//! forward trace from every output of `TXID` under all five policies in one pass and under
//! each alone, with the transactions visited, then the latency of screening random addresses
//! and random outputs (median, p99).

use std::str::FromStr;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use sleuth_analysis::trace::{Policy, TraceOptions};
use sleuth_engine::{Engine, Subject};
use sleuth_index::{AddrId, OutputNum, TxNum};

fn pct(mut d: Vec<Duration>, q: f64) -> f64 {
    d.sort();
    d[((d.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let (Some(dir), Some(txid)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cargo bench -p sleuth-engine --bench trace -- <data dir> <TXID> [queries]");
        std::process::exit(2)
    };
    let queries: usize = args.get(2).map_or(10_000, |q| q.parse().expect("a number of queries"));
    // A fourth argument picks one part, for profiling: `trace` or `screen` (both by default),
    // or `screen-slow`: the screenings, then the 100 slowest of each kind 20 times again
    // (under `perf record`, a profile of the tail that sets the p99).
    let part = args.get(3).map_or("both", String::as_str);
    let engine = Engine::open(std::path::Path::new(dir));
    let t = Instant::now();
    let snap = engine.snapshot().expect("an index");
    let attribution = snap.attribution().expect("a readable tag store");
    println!(
        "snapshot with clustering and {} labelled clusters: {:.2} s",
        attribution.len(),
        t.elapsed().as_secs_f64()
    );
    if part == "both" || part == "trace" {
        trace_speed(&snap, txid);
    }
    if part != "trace" {
        screen_speed(&snap, queries, part == "screen-slow");
    }
}

/// Times a forward trace from `txid` under all five policies in one pass and under each alone.
fn trace_speed(snap: &sleuth_engine::EngineSnapshot, txid: &str) {
    let from = [Subject::from_str(txid).expect("a txid")];
    let opts =
        |policies: Vec<Policy>| TraceOptions { policies, max_hops: 1_000, min_sat: 1, ..TraceOptions::default() };
    let t = Instant::now();
    let all = snap.trace(&from, &opts(Policy::ALL.to_vec()), None).unwrap();
    let all_s = t.elapsed().as_secs_f64();
    println!(
        "forward trace, all five policies in one pass: {:.3} s (the walk {:.3} s, the rest the report of its {} listed endpoints), {} transactions visited, {} endpoints, {} CoinJoins crossed",
        all_s, all.seconds, all.endpoints.len(), all.transactions_visited, all.endpoint_count, all.coinjoins_crossed
    );
    let mut sum = 0.0;
    for p in Policy::ALL {
        let t = Instant::now();
        let r = snap.trace(&from, &opts(vec![p]), None).unwrap();
        let s = t.elapsed().as_secs_f64();
        sum += s;
        println!("  {p:<8} alone: {s:.3} s, {} transactions visited", r.transactions_visited);
    }
    println!(
        "  five runs one after another: {sum:.3} s; all in one pass: {all_s:.3} s ({:.0} % of them)",
        100.0 * all_s / sum
    );
}

/// Times screenings of `queries` random addresses and as many random outputs.
fn screen_speed(snap: &sleuth_engine::EngineSnapshot, queries: usize, slowest_again: bool) {
    let view = snap.index().view();
    let (n_addr, n_tx) = (view.address_count(), view.tx_count());
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let addrs: Vec<String> =
        (0..queries).map(|_| view.address_of(AddrId::new(rng.gen_range(0..n_addr) as u32))).collect();
    let outs: Vec<Subject> = (0..queries)
        .map(|_| {
            let t = TxNum::new(rng.gen_range(1..n_tx) as u32);
            let r = view.tx_output_range(t);
            let o = OutputNum::new(rng.gen_range(r.start..r.end));
            let (txid, vout) = snap.outpoint(&view, o);
            Subject::Tx(txid, Some(vout))
        })
        .collect();
    drop(view);
    for (name, subjects) in [("address", addrs.into_iter().map(Subject::Address).collect::<Vec<_>>()), ("output", outs)]
    {
        let mut times = Vec::with_capacity(queries);
        let (mut scored, mut limited) = (0, 0);
        for s in &subjects {
            let t = Instant::now();
            let r = snap.screen(s, 3).unwrap();
            times.push(t.elapsed());
            scored += (r.score > 0) as u32;
            limited += r.indirect_limited as u32;
        }
        if slowest_again {
            let mut idx: Vec<usize> = (0..times.len()).collect();
            idx.sort_by_key(|&k| std::cmp::Reverse(times[k]));
            let t = Instant::now();
            for _ in 0..20 {
                for &k in idx.iter().take(100) {
                    snap.screen(&subjects[k], 3).unwrap();
                }
            }
            println!("  the 100 slowest again, 20 times: {:.3} ms each", t.elapsed().as_secs_f64() * 1e3 / 2000.0);
        }
        println!(
            "screen {name} (3 hops), {queries} random: median {:.3} ms, p99 {:.3} ms, max {:.1} ms; {scored} with a score above 0, {limited} indirect traces cut at the visit limit",
            pct(times.clone(), 0.5),
            pct(times.clone(), 0.99),
            pct(times, 1.0)
        );
    }
}
