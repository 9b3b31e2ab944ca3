//! The write path (`docs/schema.md`, "Write path"): on a large index, hash-table inserts,
//! spenders and moved heads wait in memory and reach the files in file order at each commit;
//! on a small one they are written in place. Either way, built in many small batches, under
//! a tiny memory budget, or unwound to a height inside a committed batch, the index must
//! answer exactly as one built in a single batch.

use std::path::Path;

use sleuth_index::ingest::{ingest, IngestOptions, NoProgress};
use sleuth_index::IndexWriter;

use crate::common::{digest, ingest as ingest_cli, simulate};

fn blocks(sim: &Path) -> std::path::PathBuf {
    sim.join("blocks")
}

#[test]
fn many_batches_a_tiny_memory_budget_and_unwinds_inside_a_batch_give_the_single_batch_index() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    simulate(&sim, &["--transactions", "12000", "--seed", "11"]);
    let reference = tmp.path().join("reference");
    let r = ingest_cli(&reference, &blocks(&sim), &[]);
    assert_eq!(r["commits"], 1, "one batch by default at this size");
    let expected = digest(&reference);
    let tip = r["height"].as_u64().unwrap();

    // Both write paths: in place (the default at this size) and deferred to the commit (what
    // large indexes use, forced with --direct-limit 0).
    // And deferred with tables split into segments of 500 ids (`docs/schema.md`,
    // "Segments"): dozens are frozen, lookups cross them, and the unwinds below reach into
    // frozen ones.
    // And deferred with the coin cache on from the first block (by default it waits for
    // lookups that read the disk): inputs of every batch resolved from memory.
    let modes: [(&str, &[&'static str]); 4] = [
        ("in place", &[]),
        ("deferred", &["--direct-limit", "0"]),
        ("segmented", &["--direct-limit", "0", "--segment-ids", "500"]),
        ("coin cache", &["--direct-limit", "0", "--coin-cache", "always"]),
    ];
    for (mode, flag) in modes {
        let with = |extra: &[&'static str]| -> Vec<&'static str> {
            let mut v = extra.to_vec();
            v.extend(flag.iter().copied());
            v
        };
        let dir = |name: &str| tmp.path().join(format!("{name}-{}", mode.replace(' ', "-")));

        // Coins and addresses of earlier batches are spent and paid again in later ones.
        let batched = dir("batched");
        let r = ingest_cli(&batched, &blocks(&sim), &with(&["--batch-txs", "700"]));
        assert!(r["commits"].as_u64().unwrap() >= 12, "{r}");
        // The cache resolves inputs only where it is on from the first block.
        let hits = r["coin_cache_hits"].as_u64().unwrap();
        assert_eq!(hits > 0, mode == "coin cache", "{mode}: {hits} inputs from the coin cache");
        if mode == "segmented" {
            let meta: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(batched.join("meta.json")).unwrap()).unwrap();
            for table in ["txid", "addr"] {
                let segs = meta["tables"][table].as_array().unwrap().len();
                assert!(segs >= 20, "{table}: {segs} segments for 12000 transactions in segments of 500 ids");
                assert!(batched.join(format!("{table}.{}.bloom", segs - 2)).exists());
            }
        }
        assert_eq!(digest(&batched), expected, "{mode}: ingested in batches of ~700 transactions");

        // Below the fixed memory an ingest holds, every block is a batch of its own.
        let tiny = dir("tiny");
        let r = ingest_cli(&tiny, &blocks(&sim), &with(&["--memory", "64M"]));
        assert_eq!(r["commits"], r["added_blocks"], "{r}");
        assert_eq!(digest(&tiny), expected, "{mode}: ingested under --memory 64M");

        // A reorg unwinds to a height inside one batch: with deferred writes its table
        // entries were written in slot order, not id order, and those above the unwind
        // become leftovers that lookups of the ids below must step over, and that the next
        // batch, re-adding the same transactions under the same ids, must take again.
        let whole = dir("whole");
        ingest_cli(&whole, &blocks(&sim), &with(&[]));
        for keep in [tip * 2 / 3, tip / 3, 150] {
            let below = tmp.path().join(format!("until{keep}"));
            if !below.exists() {
                let opts = IngestOptions { until_height: Some(keep as u32 - 1), ..IngestOptions::new(blocks(&sim)) };
                ingest(&below, &opts, &mut NoProgress, &Default::default()).unwrap();
            }
            {
                let mut w = IndexWriter::open(&whole, sleuth_chain::Chain::Regtest).unwrap();
                w.unwind_to(keep).unwrap();
            }
            assert_eq!(digest(&whole), digest(&below), "{mode}: unwound to {keep} blocks");
            let r = ingest_cli(&whole, &blocks(&sim), &with(&[]));
            assert_eq!(r["height"].as_u64(), Some(tip));
            assert_eq!(digest(&whole), expected, "{mode}: re-ingested after unwinding to {keep} blocks");
        }
    }
}

#[test]
fn simulate_without_truth_writes_the_same_blocks_and_they_still_ingest() {
    let tmp = tempfile::tempdir().unwrap();
    let (full, bare) = (tmp.path().join("full"), tmp.path().join("bare"));
    simulate(&full, &["--transactions", "3000", "--seed", "4"]);
    simulate(&bare, &["--transactions", "3000", "--seed", "4", "--no-truth"]);
    let read = |d: &Path| std::fs::read(d.join("blocks/blk00000.dat")).unwrap();
    assert_eq!(read(&full), read(&bare), "the same seed writes the same blocks");
    let lines = |d: &Path, f: &str| std::fs::read_to_string(d.join("truth").join(f)).unwrap().lines().count();
    assert_eq!(lines(&bare, "addresses.csv"), 1, "only the header");
    assert_eq!(lines(&bare, "entities.csv"), lines(&full, "entities.csv"));
    assert_eq!(lines(&bare, "heists.csv"), lines(&full, "heists.csv"));
    let r = ingest_cli(&tmp.path().join("idx"), &blocks(&bare), &[]);
    assert!(r["added_transactions"].as_u64().unwrap() > 3000, "{r}");
}
