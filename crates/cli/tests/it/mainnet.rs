//! Real Bitcoin mainnet blocks 0–4521 from `../shared/data`, checked against the facts its
//! README and index CSV state.

use std::path::PathBuf;

use sleuth_testkit::shared_data;

use crate::common::{address, ingest, sleuth, status, tx};

fn blocks(tmp: &std::path::Path, file: &str) -> PathBuf {
    let b = tmp.join("blocks");
    std::fs::create_dir_all(&b).unwrap();
    std::fs::copy(shared_data(file), b.join("blk00000.dat")).unwrap();
    b
}

#[test]
fn first_4522_mainnet_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let b = blocks(tmp.path(), "blocks/blk00000_first1MiB.dat");
    let d = tmp.path().join("idx");
    let r = ingest(&d, &b, &[]);
    assert_eq!(r["chain"], "bitcoin");
    assert_eq!(r["partial_tail"], true, "the file ends in a truncated record");

    let st = status(&d);
    assert_eq!(st.blocks, 4522);
    assert_eq!(st.transactions, 4583);
    assert_eq!(st.height, Some(4521));
    assert_eq!(st.tip_hash.as_deref(), Some("00000000ac08f7d984f6b36027395e654a5f1e3bb006cd9df9c60b9897ea4c40"));
    assert_eq!(st.inputs, 4522 + 260, "one coinbase input a block plus the 260 spends");

    // Every height's hash, as the index CSV lists them.
    let csv = std::fs::read_to_string(shared_data("blocks/blk00000_heights0-4521.index.csv")).unwrap();
    let snap = sleuth_index::Snapshot::open(&d).unwrap();
    let index = snap.view();
    let mut rows = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let h: u32 = f[0].parse().unwrap();
        let info = index.block(sleuth_index::BlockRef::Height(h)).unwrap();
        assert_eq!(info.hash, f[1], "height {h}");
        assert_eq!(info.tx_count.to_string(), f[4], "height {h} ntx");
        rows += 1;
    }
    assert_eq!(rows, 4522);

    // Satoshi to Hal Finney, block 170.
    let t = tx(&d, "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16");
    assert_eq!(t.block_height, 170);
    assert_eq!(
        t.inputs[0].prev_txid.as_deref(),
        Some("0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9")
    );
    assert_eq!(t.inputs[0].prev_vout, Some(0));
    assert_eq!(t.inputs[0].value_sat.get(), 5_000_000_000);
    assert_eq!(t.outputs[0].address.as_deref(), Some("1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"));
    assert_eq!(t.outputs[0].value_sat.get(), 1_000_000_000);
    assert_eq!(t.outputs[1].address.as_deref(), Some("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"));
    assert_eq!(t.outputs[1].value_sat.get(), 4_000_000_000);
    assert_eq!(t.fee_sat.get(), 0);
    // The block 9 coinbase it spends points forward to it.
    let cb = tx(&d, "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9");
    assert!(cb.coinbase);
    assert_eq!(cb.block_height, 9);
    let spent = cb.outputs[0].spent_by.as_ref().unwrap();
    assert_eq!((spent.txid.as_str(), spent.vin, spent.height), (t.txid.as_str(), 0, 170));

    // Genesis pays Satoshi's P2PK key, shown as its P2PKH address.
    let g = address(&d, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    assert_eq!((g.received_sat.get(), g.first_seen_height, g.tx_count), (5_000_000_000, 0, 1));

    // Flow facts: total fees 2.01 BTC, and the unspent set of 4,348 outputs worth 4521 × 50 BTC
    // (the README leaves the unspendable genesis output out; the index keeps it).
    let mut fees = 0;
    let mut unspent = (0u64, 0u64);
    for h in 0..4522 {
        for txid in index.block(sleuth_index::BlockRef::Height(h)).unwrap().txids {
            let info = index.tx(&txid.parse().unwrap()).unwrap();
            fees += info.fee_sat.get();
            for o in info.outputs.iter().filter(|o| o.spent_by.is_none()) {
                unspent.0 += 1;
                unspent.1 += o.value_sat.get();
            }
        }
    }
    assert_eq!(fees, 201_000_000);
    assert_eq!(unspent, (4_348 + 1, 22_605_000_000_000 + 5_000_000_000));
}

#[test]
fn multi_input_clusters_of_the_first_blocks_match_the_reference_counts() {
    // The data README: common-input clustering (P2PK keyed by HASH160) of blocks 0..4521
    // gives 28 clusters of more than one address, covering 224 addresses, the largest 44.
    let tmp = tempfile::tempdir().unwrap();
    let b = blocks(tmp.path(), "blocks/blk00000_heights0-4521.dat");
    let d = tmp.path().join("idx");
    ingest(&d, &b, &[]);
    sleuth(&d, ["-q", "cluster", "build", "--heuristics", "multi-input"]).run();
    let csv = sleuth(&d, ["cluster", "export", "--csv"]).run();
    let mut sizes = std::collections::HashMap::<&str, u64>::new();
    for line in csv.lines().skip(1) {
        *sizes.entry(line.split_once(',').unwrap().1).or_default() += 1;
    }
    let multi: Vec<u64> = sizes.values().copied().filter(|&s| s > 1).collect();
    assert_eq!(multi.len(), 28);
    assert_eq!(multi.iter().sum::<u64>(), 224);
    assert_eq!(multi.iter().max(), Some(&44));
}

#[test]
fn files_that_end_below_the_indexed_tip_remove_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("idx");
    ingest(&d, &blocks(tmp.path(), "blocks/blk00000_heights0-4521.dat"), &[]);
    // The same chain, but only up to height 255 (as a node still syncing would have it).
    let short = tmp.path().join("short");
    std::fs::create_dir_all(&short).unwrap();
    let bytes = std::fs::read(shared_data("blocks/blk00000_heights0-4521.dat")).unwrap();
    std::fs::write(short.join("blk00000.dat"), &bytes[..59_024]).unwrap();
    let r = ingest(&d, &short, &[]);
    assert_eq!((r["added_blocks"].as_u64(), r["unwound_blocks"].as_u64()), (Some(0), Some(0)));
    assert_eq!(status(&d).height, Some(4521));
}

#[test]
fn a_longer_branch_in_new_files_unwinds_and_replaces_the_old_tip() {
    // A real node's chain 0..=103, then its longer branch 102'..104' in a new file.
    let tmp = tempfile::tempdir().unwrap();
    let chain = crate::common::Branches::mine();
    let b = chain.main_folder(tmp.path());
    let d = tmp.path().join("idx");
    ingest(&d, &b, &[]);
    assert_eq!(tx(&d, &chain.payment).block_height, 102);
    let old_tip = &chain.main_hashes[103];

    chain.add_branch(&b, [2, 0, 1]); // out of height order
    let r = ingest(&d, &b, &[]);
    assert_eq!((r["unwound_blocks"].as_u64(), r["added_blocks"].as_u64()), (Some(2), Some(3)));
    assert_eq!(r["stale_blocks"], 2);
    let st = status(&d);
    assert_eq!(st.height, Some(104));
    assert_eq!(st.tip_hash.as_deref(), Some(chain.branch_hashes[2].as_str()));
    let (_, err) = sleuth(&d, ["block", old_tip]).run_fail();
    assert!(err.contains(old_tip.as_str()), "{err}");
    // The node mined the payment again in the branch's first block.
    assert_eq!(tx(&d, &chain.payment).block_height, 102);
    let block: serde_json::Value = sleuth(&d, ["block", "102", "--json"]).run_json();
    assert_eq!(block["hash"], chain.branch_hashes[0]);
    // An index built from scratch over the same files answers the same.
    let fresh = tmp.path().join("fresh");
    ingest(&fresh, &b, &[]);
    assert_eq!(crate::common::digest(&d), crate::common::digest(&fresh));
}

#[test]
fn incremental_runs_reuse_the_header_cache_and_notice_rewritten_files() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("blocks");
    std::fs::create_dir_all(&b).unwrap();
    let full = std::fs::read(shared_data("blocks/blk00000_heights0-4521.dat")).unwrap();
    std::fs::write(b.join("blk00000.dat"), &full[..59_024]).unwrap(); // heights 0..255
    let d = tmp.path().join("idx");
    let r = ingest(&d, &b, &[]);
    assert_eq!((r["headers_cached"].as_u64(), r["added_blocks"].as_u64()), (Some(0), Some(256)));
    // The node appends: only the new part of the file is read.
    std::fs::write(b.join("blk00000.dat"), &full).unwrap();
    let r = ingest(&d, &b, &[]);
    assert_eq!((r["headers_cached"].as_u64(), r["added_blocks"].as_u64()), (Some(256), Some(4266)));
    assert_eq!(r["records"], 4522);
    let r = ingest(&d, &b, &[]);
    assert_eq!((r["headers_cached"].as_u64(), r["added_blocks"].as_u64()), (Some(4522), Some(0)));
    // The folder is replaced by another chain from the same genesis (the first block of btcd's
    // test chain, whose later blocks break coinbase maturity): the cache no longer matches the
    // file, so it is read again and the index follows it.
    let btcd = std::fs::read(shared_data("blocks/synthetic/btcd_blk_0_to_4.dat")).unwrap();
    let two_records = 8 + 285 + 8 + u32::from_le_bytes(btcd[297..301].try_into().unwrap()) as usize;
    std::fs::write(b.join("blk00000.dat"), &btcd[..two_records]).unwrap();
    let r = ingest(&d, &b, &[]);
    assert_eq!((r["headers_cached"].as_u64(), r["records"].as_u64()), (Some(0), Some(2)));
    assert_eq!((r["unwound_blocks"].as_u64(), r["added_blocks"].as_u64()), (Some(4521), Some(1)));
    assert!(status(&d).tip_hash.as_deref().unwrap().starts_with("00000000ebe5ec3e"));
}

#[test]
fn block_queries_by_height_and_hash_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let b = blocks(tmp.path(), "blocks/blk00000_heights0-4521.dat");
    let d = tmp.path().join("idx");
    let r = ingest(&d, &b, &["--chain", "bitcoin"]);
    assert_eq!(r["partial_tail"], false);
    let by_height: serde_json::Value = sleuth(&d, ["block", "170", "--json"]).run_json();
    let by_hash: serde_json::Value =
        sleuth(&d, ["block", "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee", "--json"]).run_json();
    assert_eq!(by_height, by_hash);
    assert_eq!(by_height["tx_count"], 2);
    assert_eq!(by_height["txids"][1], "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16");
    // Human output carries the same facts.
    let text = sleuth(&d, ["tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"]).run();
    assert!(text.contains("1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3") && text.contains("1,000,000,000 sat"), "{text}");
}
