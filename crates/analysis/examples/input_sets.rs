//! Writes the multi-input sets of an indexed chain — for every transaction that is not a
//! coinbase nor a CoinJoin, the distinct address ids of its inputs, exactly what
//! `sleuth cluster build`'s multi-input rule unites — for a peer clusterer to read, as two
//! little-endian `u32` files: `offsets.u32` (one more than there are sets; set `k` is
//! `values[offsets[k]..offsets[k + 1]]`) and `values.u32`. `scripts/compare-cluster.sh`
//! feeds them to GraphSense's union-find (`graphsense-clustering`).
//!
//!     cargo run --release -p sleuth-analysis --example input_sets -- <data dir> <out dir>

use std::io::{BufWriter, Write};
use std::path::Path;

use sleuth_analysis::cluster::{coinjoin, TxView};
use sleuth_index::{Snapshot, TxNum};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, out] = args.as_slice() else {
        eprintln!("usage: input_sets <data dir> <out dir>");
        std::process::exit(2)
    };
    // The index alone: the clustering, whatever its format, is not read.
    let snap = Snapshot::open(Path::new(dir)).unwrap_or_else(|e| {
        eprintln!("input_sets: {dir}: {e}");
        std::process::exit(1)
    });
    let index = snap.view();
    std::fs::create_dir_all(out).unwrap_or_else(|e| panic!("{out}: {e}"));
    let file = |name: &str| {
        let path = Path::new(out).join(name);
        BufWriter::new(std::fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    };
    let (mut offsets, mut values) = (file("offsets.u32"), file("values.u32"));
    let (mut at, mut sets, mut coinjoins) = (0u32, 0u64, 0u64);
    let (mut view, mut scratch) = (TxView::default(), Vec::new());
    offsets.write_all(&at.to_le_bytes()).unwrap();
    for t in 0..index.tx_count() {
        view.load(&index, TxNum::new(t as u32));
        if view.coinbase || view.input_addrs.is_empty() {
            continue;
        }
        if coinjoin::detect(&view, &mut scratch).is_some() {
            coinjoins += 1;
            continue;
        }
        for a in &view.input_addrs {
            values.write_all(&a.get().to_le_bytes()).unwrap();
        }
        at += view.input_addrs.len() as u32;
        sets += 1;
        offsets.write_all(&at.to_le_bytes()).unwrap();
    }
    offsets.flush().unwrap();
    values.flush().unwrap();
    println!("{sets} sets, {at} inputs, {} addresses, {coinjoins} coinjoins left out", index.address_count());
}
