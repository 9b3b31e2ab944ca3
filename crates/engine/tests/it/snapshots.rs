//! Snapshots against a real node's reorgs: a snapshot held open keeps answering exactly as at
//! its commit while an ingest commits after every block and while reorgs unwind under it
//! (twice, the second deeper than the first); fresh snapshots taken by reader threads during
//! the whole ingest each agree with an index built from scratch at their height.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sleuth_analysis::cluster::HeuristicSet;
use sleuth_chain::Chain;
use sleuth_engine::{Engine, EngineSnapshot};
use sleuth_index::ingest::{ingest, ingest_with, IngestOptions, NoProgress, Progress};
use sleuth_index::{AddrId, BlockRef, IndexWriter, SnapshotSource};
use sleuth_testkit::RegtestNode;

/// Everything a snapshot answers, as JSON lines: status, every block with every transaction
/// (spenders included), every address with its balance, cluster and tags, and the cluster of
/// every address when a clustering is there.
fn digest(snap: &EngineSnapshot) -> Vec<String> {
    let st = snap.status();
    let mut out = vec![serde_json::to_string(&st.index).unwrap()];
    for h in 0..st.index.blocks {
        let b = snap.block(BlockRef::Height(h as u32)).unwrap();
        for t in &b.txids {
            out.push(serde_json::to_string(&snap.tx(&t.parse().unwrap()).unwrap()).unwrap());
        }
        out.push(serde_json::to_string(&b).unwrap());
    }
    let view = snap.index().view();
    let addresses: Vec<String> = (0..st.index.addresses).map(|a| view.address_of(AddrId::new(a as u32))).collect();
    drop(view);
    for a in &addresses {
        out.push(serde_json::to_string(&snap.address(a).unwrap()).unwrap());
        if snap.clustering().is_some() {
            out.push(serde_json::to_string(&snap.cluster(a).unwrap().info).unwrap());
        }
    }
    out
}

/// The digest of an index built from scratch from the node's files up to `height`, with a
/// clustering when `cluster`.
fn scratch_digest(blocks: &Path, height: u32, cluster: bool) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let opts = IngestOptions { until_height: Some(height), ..IngestOptions::new(blocks.to_owned()) };
    ingest(dir.path(), &opts, &mut NoProgress, &AtomicBool::new(false)).unwrap();
    let engine = Engine::open(dir.path());
    if cluster {
        engine.build_clustering(HeuristicSet::default_set(), &mut |_, _| {}).unwrap();
    }
    digest(&engine.snapshot().unwrap())
}

/// Payments between two wallets over `blocks` blocks, to fresh addresses of every type and
/// to a reused one, so that the new blocks pay addresses the older snapshots know.
fn economy(node: &RegtestNode, blocks: u32, reused: &str, early: &str, miner: &str) {
    // Amounts as strings of 8 decimals: the node takes them exactly.
    let btc = |sat: u64| json!(format!("{}.{:08}", sat / 100_000_000, sat % 100_000_000));
    let kinds = ["legacy", "p2sh-segwit", "bech32"];
    for i in 0..blocks {
        let to = node.new_address("bob", kinds[i as usize % 3]);
        node.wallet_rpc("alice", "sendtoaddress", json!([to, btc(50_000_000 + i as u64 * 1_000_000)]));
        node.wallet_rpc("alice", "sendtoaddress", json!([reused, btc(1_000_000)]));
        if i == 0 {
            // Paid once per call, in its first block: below every later reorg's fork.
            node.wallet_rpc("alice", "sendtoaddress", json!([early, btc(2_000_000)]));
        }
        if i % 4 == 3 {
            let back = node.new_address("alice", kinds[(i as usize + 1) % 3]);
            node.wallet_rpc("bob", "sendtoaddress", json!([back, btc(30_000_000)]));
        }
        node.mine(1, miner);
    }
}

/// Pauses after every commit, so that the readers (debug builds, on two cores) see most
/// commits rather than a few.
struct Paced;

impl Progress for Paced {
    fn start(&mut self, _: u64) {}
    fn block(&mut self, _: u64) {}
    fn committed(&mut self, _: u64) {
        std::thread::sleep(Duration::from_millis(40));
    }
    fn finish(&mut self) {}
}

/// Fresh snapshots seen by reader threads, by tip hash: (height, digest).
type Seen = Arc<Mutex<BTreeMap<String, (u32, Vec<String>)>>>;

/// Starts `n` reader threads that take a fresh snapshot at every commit they see (and in
/// between), check it is whole (the tip block's transactions are in it, at its height) and
/// record its digest; they stop when `done` is set.
fn readers(
    n: usize,
    engine: &Arc<Engine>,
    source: &SnapshotSource,
    done: &Arc<AtomicBool>,
    seen: &Seen,
) -> Vec<std::thread::JoinHandle<u64>> {
    (0..n)
        .map(|i| {
            let (engine, source, done, seen) = (engine.clone(), source.clone(), done.clone(), seen.clone());
            std::thread::spawn(move || {
                let mut views = 0u64;
                let mut seq = 0;
                while !done.load(Ordering::Relaxed) {
                    let snap = engine.snapshot().unwrap();
                    let st = snap.status().index;
                    if let Some(h) = st.height {
                        let b = snap.block(BlockRef::Height(h)).unwrap();
                        assert_eq!(Some(&b.hash), st.tip_hash.as_ref(), "reader {i}: the tip block is whole");
                        for t in &b.txids {
                            assert_eq!(snap.tx(&t.parse().unwrap()).unwrap().block_height, h, "reader {i}");
                        }
                        let hash = st.tip_hash.clone().unwrap();
                        // The digest is taken without holding the lock: the readers run together.
                        let known = seen.lock().unwrap().contains_key(&hash);
                        if !known {
                            let d = digest(&snap);
                            seen.lock().unwrap().entry(hash).or_insert((h, d));
                        }
                    }
                    views += 1;
                    seq = source.wait_past(seq, Duration::from_millis(if i == 0 { 200 } else { 5 }));
                }
                views
            })
        })
        .collect()
}

/// Ingests the node's files into `writer` committing after every block, on another thread,
/// while `n` readers run and the main thread keeps checking the `held` snapshots; returns the
/// report and what the readers saw.
fn ingest_while_reading(
    writer: &mut IndexWriter,
    node: &RegtestNode,
    engine: &Arc<Engine>,
    held: &[(&EngineSnapshot, &Vec<String>)],
    direct_limit: Option<u64>,
) -> (sleuth_index::ingest::IngestReport, BTreeMap<String, (u32, Vec<String>)>) {
    let source = writer.snapshots();
    let done = Arc::new(AtomicBool::new(false));
    let seen: Seen = Arc::default();
    let threads = readers(3, engine, &source, &done, &seen);
    // The deferred run also freezes table segments of 50 ids, so that held snapshots and the
    // reorgs meet frozen segments (`docs/schema.md`, "Segments").
    let segment_ids = direct_limit.map(|_| 50);
    let opts =
        IngestOptions { commit_blocks: Some(1), direct_limit, segment_ids, ..IngestOptions::new(node.blocks_dir()) };
    let report = std::thread::scope(|s| {
        let ingesting = s.spawn(|| ingest_with(writer, &opts, &mut Paced, &AtomicBool::new(false)).unwrap());
        let mut checks = 0;
        while !ingesting.is_finished() || checks == 0 {
            for (snap, want) in held {
                assert!(digest(snap) == **want, "a held snapshot changed while the index was written");
            }
            checks += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        eprintln!("held snapshots re-checked {checks} times during the ingest");
        ingesting.join().unwrap()
    });
    done.store(true, Ordering::Relaxed);
    let views: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    eprintln!("{views} fresh snapshots taken by the readers");
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (report, seen)
}

/// What the readers saw agrees with indexes built from scratch at the same heights (all of
/// the branch the node has now), sampled to keep the test short.
fn agrees_with_scratch(node: &RegtestNode, seen: &BTreeMap<String, (u32, Vec<String>)>) {
    let mut checked = 0;
    for (hash, (h, d)) in seen {
        if node.rpc("getblockhash", json!([h])).as_str() != Some(hash) || checked >= 12 {
            continue; // on a branch the node has left since, or enough checked
        }
        assert!(
            *d == scratch_digest(&node.blocks_dir(), *h, false),
            "fresh snapshot at height {h} differs from a scratch index"
        );
        checked += 1;
    }
    assert!(checked >= 3, "the readers saw several commits of the current branch ({checked})");
}

#[test]
fn held_snapshots_keep_their_commit_through_ingests_and_reorgs() {
    let node = RegtestNode::start();
    node.create_wallet("alice");
    node.create_wallet("bob");
    let miner = node.new_address("alice", "bech32");
    let reused = node.new_address("bob", "bech32");
    let early = node.new_address("bob", "legacy");
    node.mine(101, &miner);
    economy(&node, 24, &reused, &early, &miner);

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("idx");
    let mut writer = IndexWriter::open(&d, Chain::LitecoinRegtest).unwrap();
    let engine = Arc::new(Engine::beside_writer(&d, writer.snapshots()));

    // Branch A, ingested while readers run; then a clustering and a snapshot held from here on.
    let (r, seen) = ingest_while_reading(&mut writer, &node, &engine, &[], None);
    assert_eq!(r.height, Some(125));
    agrees_with_scratch(&node, &seen);
    engine.build_clustering(HeuristicSet::default_set(), &mut |_, _| {}).unwrap();
    let held_a = engine.snapshot().unwrap();
    assert!(held_a.clustering().is_some());
    let want_a = digest(&held_a);
    let reused_a = held_a.address(&reused).unwrap();

    // Reorg 1: the node drops its last 8 blocks and mines 14 others (the dropped blocks'
    // transactions come back from the mempool, at other heights, with new ones).
    let cut = node.rpc("getblockhash", json!([118]));
    node.rpc("invalidateblock", json!([cut]));
    economy(&node, 14, &reused, &early, &miner);
    // The batches' writes deferred to their commits (the write path of large indexes), where
    // the other two ingests write in place.
    let (r, seen) = ingest_while_reading(&mut writer, &node, &engine, &[(&held_a, &want_a)], Some(0));
    assert_eq!((r.unwound_blocks, r.added_blocks, r.height), (8, 14, Some(131)));
    agrees_with_scratch(&node, &seen);
    assert!(digest(&held_a) == want_a);
    let now = engine.snapshot().unwrap();
    let reused_now = now.address(&reused).unwrap();
    assert!(reused_now.info.tx_count > reused_a.info.tx_count, "the new branch pays the reused address");
    assert_eq!(held_a.address(&reused).unwrap(), reused_a, "the held snapshot does not see it");
    let held_b = now;
    let want_b = digest(&held_b);

    // Reorg 2, deeper than the first: back to height 111, below reorg 1's fork.
    let cut = node.rpc("getblockhash", json!([112]));
    node.rpc("invalidateblock", json!([cut]));
    economy(&node, 25, &reused, &early, &miner);
    let (r, seen) = ingest_while_reading(&mut writer, &node, &engine, &[(&held_a, &want_a), (&held_b, &want_b)], None);
    assert_eq!((r.unwound_blocks, r.height), (20, Some(136)));
    agrees_with_scratch(&node, &seen);

    // After the writer has moved on and the stores were rebuilt, the held snapshots still
    // answer as at their commits, clusters included.
    engine.build_clustering(HeuristicSet::default_set(), &mut |_, _| {}).unwrap();
    assert!(digest(&held_a) == want_a, "snapshot A after two reorgs");
    assert!(digest(&held_b) == want_b, "snapshot B after a reorg below it");
    drop((held_a, held_b));
    assert!(digest(&engine.snapshot().unwrap()) == scratch_digest(&node.blocks_dir(), 136, true));
    assert_eq!(sleuth_index::list_scans(), 0, "every address list was read without the slow fallback");
}
