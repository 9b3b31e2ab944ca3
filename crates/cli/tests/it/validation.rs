//! Issue 14, "trust nothing on disk": damaged and forged block files of real mainnet blocks
//! and of hand-built regtest chains are refused with an error naming the file, byte offset,
//! hash and rule, and the index follows a file that was damaged and then restored.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::{Amount, Block, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use sleuth_index::ingest::{ingest as run_ingest, IngestError, IngestOptions, IngestReport, NoProgress};
use sleuth_testkit::shared_data;

/// Heights 0..4521 of mainnet's `blk00000.dat`.
pub fn mainnet() -> Vec<u8> {
    std::fs::read(shared_data("blocks/blk00000_heights0-4521.dat")).unwrap()
}

/// Byte offset of the record of each height, from the data's index CSV.
pub fn offsets() -> Vec<usize> {
    let csv = std::fs::read_to_string(shared_data("blocks/blk00000_heights0-4521.index.csv")).unwrap();
    csv.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect()
}

/// Ingests `blocks` into `data` in this process.
pub fn ingest(data: &Path, blocks: &Path) -> Result<IngestReport, IngestError> {
    run_ingest(data, &IngestOptions::new(blocks.to_owned()), &mut NoProgress, &AtomicBool::new(false))
}

/// A folder `name` below `tmp` holding `files` as `blk00000.dat`, `blk00001.dat`, …
pub fn folder(tmp: &Path, name: &str, files: &[&[u8]]) -> PathBuf {
    let b = tmp.join(name);
    std::fs::create_dir_all(&b).unwrap();
    for (n, f) in files.iter().enumerate() {
        std::fs::write(b.join(format!("blk{n:05}.dat")), f).unwrap();
    }
    b
}

fn err(r: Result<IngestReport, IngestError>) -> String {
    match r {
        Ok(rep) => panic!("ingest succeeded (tip {:?}) where it must fail", rep.height),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_zero_byte_in_the_nonce_of_height_3000_is_refused_by_proof_of_work() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bad = mainnet();
    let off = offsets()[3000];
    assert_eq!(off + 8 + 76, 696_017, "the nonce of height 3000 starts at byte 696,017");
    assert_ne!(bad[696_017], 0);
    bad[696_017] = 0;
    let b = folder(tmp.path(), "b", &[&bad]);
    let e = err(ingest(&tmp.path().join("idx"), &b));
    assert!(
        e.contains("blk00000.dat") && e.contains(&format!("at byte {off} ")) && e.contains("rule proof-of-work"),
        "{e}"
    );
    assert!(
        !tmp.path().join("idx").join("meta.json").exists()
            || sleuth_index::Snapshot::open(&tmp.path().join("idx")).unwrap().view().status().blocks == 0
    );
}

#[test]
fn an_appended_forged_sibling_of_height_101_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let good = mainnet();
    let off = offsets();
    let rec = &good[off[101]..off[102]];
    assert_eq!(rec.len(), 223);
    let d = tmp.path().join("idx");
    ingest(&d, &folder(tmp.path(), "good", &[&good])).unwrap();
    for (bits, rule) in [(0x1c00_ffffu32, "rule proof-of-work"), (0x207f_ffff, "less work than the chain's limit")] {
        let mut forged = rec.to_vec();
        forged[8 + 72..8 + 76].copy_from_slice(&bits.to_le_bytes());
        forged[8 + 76..8 + 80].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        let file = [good.clone(), forged].concat();
        let b = folder(tmp.path(), &format!("forged{bits:x}"), &[&file]);
        let e = err(ingest(&d, &b));
        assert!(e.contains(&format!("at byte {}", good.len())) && e.contains(rule), "{e}");
    }
    // The index was not unwound.
    let snap = sleuth_index::Snapshot::open(&d).unwrap();
    assert_eq!(snap.view().status().blocks, 4522);
}

#[test]
fn a_duplicated_last_transaction_is_refused_though_the_merkle_root_matches() {
    // Block 586 has 3 transactions: [a, b, c, c] hashes to the same root (CVE-2012-2459).
    let tmp = tempfile::tempdir().unwrap();
    let good = mainnet();
    let off = offsets();
    let mut block: Block = deserialize(&good[off[586] + 8..off[587]]).unwrap();
    assert_eq!(block.txdata.len(), 3);
    let last = block.txdata[2].clone();
    block.txdata.push(last);
    assert_eq!(block.compute_merkle_root(), Some(block.header.merkle_root), "the malleated list keeps the root");
    let raw = serialize(&block);
    let mut rec = good[off[586]..off[586] + 4].to_vec();
    rec.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    rec.extend_from_slice(&raw);
    let file = [&good[..off[586]], &rec[..], &good[off[587]..]].concat();
    let e = err(ingest(&tmp.path().join("idx"), &folder(tmp.path(), "b", &[&file])));
    assert!(e.contains(&format!("at byte {}", off[586])) && e.contains("rule merkle-malleation"), "{e}");
}

#[test]
fn an_orphaned_tail_a_gap_and_a_pruned_folder_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let good = mainnet();
    let off = offsets();
    // The record of height 2000 removed: 2001..4521 do not link up.
    let file = [&good[..off[2000]], &good[off[2001]..]].concat();
    let e = err(ingest(&tmp.path().join("i1"), &folder(tmp.path(), "orphan", &[&file])));
    assert!(
        e.contains(&format!("at byte {}", off[2000]))
            && e.contains("rule linked-chain")
            && e.contains("2521 blocks")
            && e.contains(&format!("height 1999 in {}", tmp.path().join("orphan/blk00000.dat").display())),
        "{e}"
    );
    // A size field enlarged in the middle of the newest file: not "a block still being written".
    let mut file = good.clone();
    file[off[3000] + 4..off[3000] + 8].copy_from_slice(&(2_000_000u32).to_le_bytes());
    let e = err(ingest(&tmp.path().join("i2"), &folder(tmp.path(), "gap", &[&file])));
    assert!(
        e.contains(&format!("record at byte {} declares 2000000 bytes", off[3000]))
            && e.contains("another record starts at byte"),
        "{e}"
    );
    // The last record's size field enlarged: a whole block is there, so it is not one still
    // being written.
    let mut file = good.clone();
    file[off[4521] + 4..off[4521] + 8].copy_from_slice(&(300u32).to_le_bytes());
    let e = err(ingest(&tmp.path().join("i4"), &folder(tmp.path(), "last", &[&file])));
    assert!(e.contains(&format!("record at byte {} declares 300 bytes but holds a whole block", off[4521])), "{e}");
    // Cut inside that record instead, it is one still being written: left for the next run.
    let r = ingest(&tmp.path().join("i5"), &folder(tmp.path(), "cut", &[&good[..good.len() - 10]])).unwrap();
    assert_eq!((r.height, r.partial_tail), (Some(4520), true));
    // A pruned node's folder: blk00000.dat deleted.
    let b = folder(tmp.path(), "pruned", &[&good[..off[2000]], &good[off[2000]..]]);
    std::fs::remove_file(b.join("blk00000.dat")).unwrap();
    let e = err(ingest(&tmp.path().join("i3"), &b));
    assert!(e.contains("blk00001.dat") && e.contains("pruned node") && e.contains("00000000dfd5d65c"), "{e}");
}

#[test]
fn a_damaged_then_restored_file_heals() {
    let tmp = tempfile::tempdir().unwrap();
    let good = mainnet();
    let off = offsets();
    let (a, b) = good.split_at(off[2000]);
    let dir = folder(tmp.path(), "b", &[a, b]);
    let d = tmp.path().join("idx");
    let r = ingest(&d, &dir).unwrap();
    assert_eq!(r.height, Some(4521));
    // Damage the nonce of height 3000 (in the second file): refused, index unchanged.
    let mut bad = b.to_vec();
    bad[off[3000] - off[2000] + 8 + 76] = 0;
    std::fs::write(dir.join("blk00001.dat"), &bad).unwrap();
    let e = err(ingest(&d, &dir));
    assert!(e.contains("blk00001.dat") && e.contains("rule proof-of-work"), "{e}");
    // A damaged file that still scans is cached as it is: the same file with the records of
    // heights 3000 and 3001 (216 bytes each) swapped is still a valid file, and its last
    // record is where it was. Restored, it must be read again, not taken from the cache.
    let (r0, r1, r2) = (off[3000] - off[2000], off[3001] - off[2000], off[3002] - off[2000]);
    assert_eq!(r1 - r0, r2 - r1);
    let swapped = [&b[..r0], &b[r1..r2], &b[r0..r1], &b[r2..]].concat();
    std::fs::write(dir.join("blk00001.dat"), &swapped).unwrap();
    assert_eq!(ingest(&d, &dir).unwrap().height, Some(4521));
    std::fs::write(dir.join("blk00001.dat"), b).unwrap();
    let r = ingest(&d, &dir).unwrap();
    assert_eq!((r.height, r.headers_cached), (Some(4521), 2000), "the unchanged first file came from the cache");
    // Every record is where the restored file has it: a fresh scan agrees with the cache.
    let reader = sleuth_chain::blockfile::BlockFileReader::open(&dir).unwrap();
    let fresh = reader.scan_headers(None).unwrap();
    let cache = sleuth_chain::blockfile::HeaderCache::load(&d.join("headers.cache")).unwrap();
    let (cached, _, reused) = reader.scan_headers_cached(None, Some(&cache)).unwrap();
    assert_eq!(reused, 4522);
    assert_eq!(cached.records, fresh.records);
}

/// A regtest chain built here: genesis, then blocks ground to regtest's target.
pub(crate) struct Regtest {
    pub(crate) blocks: Vec<Block>,
}

const COIN: u64 = 100_000_000;

impl Regtest {
    fn new() -> Regtest {
        Regtest { blocks: vec![bitcoin::constants::genesis_block(bitcoin::Network::Regtest)] }
    }

    fn coinbase(height: u32, value: u64) -> Transaction {
        Transaction {
            version: bitcoin::transaction::Version::ONE,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: bitcoin::script::Builder::new().push_int(height as i64).push_int(0).into_script(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut { value: Amount::from_sat(value), script_pubkey: ScriptBuf::from_bytes(vec![0x51]) }],
        }
    }

    /// A transaction spending `outs`, paying `value` to OP_TRUE.
    fn spend(outs: &[OutPoint], value: u64) -> Transaction {
        Transaction {
            version: bitcoin::transaction::Version::ONE,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: outs
                .iter()
                .map(|o| TxIn {
                    previous_output: *o,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::MAX,
                    witness: Witness::new(),
                })
                .collect(),
            output: vec![TxOut { value: Amount::from_sat(value), script_pubkey: ScriptBuf::from_bytes(vec![0x51]) }],
        }
    }

    /// Adds a block of a coinbase paying `cb_value` and `txs`; returns its coinbase's txid.
    fn push(&mut self, cb_value: u64, txs: Vec<Transaction>) -> bitcoin::Txid {
        let height = self.blocks.len() as u32;
        let prev = self.blocks.last().unwrap();
        let mut txdata = vec![Regtest::coinbase(height, cb_value)];
        txdata.extend(txs);
        let mut block = Block {
            header: bitcoin::block::Header {
                version: bitcoin::block::Version::from_consensus(4),
                prev_blockhash: prev.block_hash(),
                merkle_root: bitcoin::TxMerkleNode::all_zeros(),
                time: prev.header.time + 600,
                bits: prev.header.bits,
                nonce: 0,
            },
            txdata,
        };
        block.header.merkle_root = block.compute_merkle_root().unwrap();
        while !block.header.target().is_met_by(block.block_hash()) {
            block.header.nonce += 1;
        }
        let txid = block.txdata[0].compute_txid();
        self.blocks.push(block);
        txid
    }

    /// The blocks as block files frame them (regtest's magic, shared by Bitcoin and Litecoin).
    pub(crate) fn file(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for b in &self.blocks {
            let raw = serialize(b);
            out.extend_from_slice(&[0xfa, 0xbf, 0xb5, 0xda]);
            out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
            out.extend_from_slice(&raw);
        }
        out
    }
}

/// Ingests `blocks` into `data` in this process, with the writer's coin cache on from the
/// first block or off.
fn ingest_with_cache(
    data: &Path,
    blocks: &Path,
    cache: sleuth_index::CoinCacheUse,
) -> Result<IngestReport, IngestError> {
    let opts = IngestOptions { coin_cache: cache, ..IngestOptions::new(blocks.to_owned()) };
    run_ingest(data, &opts, &mut NoProgress, &AtomicBool::new(false))
}

#[test]
fn with_the_coin_cache_on_the_same_spends_resolve_and_the_same_double_spends_are_refused() {
    use sleuth_index::CoinCacheUse::{Always, Off};
    let tmp = tempfile::tempdir().unwrap();
    let mut chain = Regtest::new();
    let cbs: Vec<_> = (0..3).map(|_| chain.push(50 * COIN, vec![])).collect();
    while chain.blocks.len() < 104 {
        chain.push(50 * COIN, vec![]);
    }
    // Coins the cache holds: outputs of ordinary transactions (coinbases' are left to the
    // index). Height 104 makes three; one of them is spent in its own block.
    let made: Vec<Transaction> =
        cbs.iter().map(|&cb| Regtest::spend(&[OutPoint { txid: cb, vout: 0 }], 49 * COIN)).collect();
    let coins: Vec<OutPoint> = made.iter().map(|t| OutPoint { txid: t.compute_txid(), vout: 0 }).collect();
    let mut txs = made;
    let in_block = Regtest::spend(&[coins[2]], 48 * COIN);
    let chained = OutPoint { txid: in_block.compute_txid(), vout: 0 };
    txs.push(in_block);
    chain.push(50 * COIN + 4 * COIN, txs);
    // A later block spends one cached coin and the in-block spend's output.
    chain.push(50 * COIN + COIN, vec![Regtest::spend(&[coins[0], chained], 96 * COIN)]);

    let run = |name: &str, c: &Regtest, cache| {
        ingest_with_cache(&tmp.path().join(name), &folder(tmp.path(), name, &[&c.file()]), cache)
    };
    let on = run("on", &chain, Always).unwrap();
    let off = run("off", &chain, Off).unwrap();
    assert_eq!((on.height, on.added_transactions), (Some(105), off.added_transactions));
    // Three inputs spend coins the cache holds (two in block 105, one inside block 104);
    // with the cache off none is resolved there.
    assert_eq!((on.coin_cache_hits, off.coin_cache_hits, off.coin_cache_misses), (3, 0, 0), "{on:?}");
    assert_eq!(
        crate::common::digest(&tmp.path().join("on")),
        crate::common::digest(&tmp.path().join("off")),
        "every transaction, its inputs' values and addresses and every spender alike"
    );

    let refused = |name: &str, c: &Regtest| {
        for cache in [Always, Off] {
            let e = err(run(&format!("{name}-{cache:?}"), c, cache));
            assert!(e.contains("rule double-spend"), "{name}, cache {cache:?}: {e}");
        }
    };
    // A cached coin spent again by a later block; the in-block spend's coin again.
    let mut again = Regtest { blocks: chain.blocks.clone() };
    again.push(50 * COIN, vec![Regtest::spend(&[coins[0]], 10 * COIN)]);
    refused("again", &again);
    let mut again2 = Regtest { blocks: chain.blocks.clone() };
    again2.push(50 * COIN, vec![Regtest::spend(&[coins[2]], 10 * COIN)]);
    refused("in-block-again", &again2);
    // Twice in one block, by two transactions and by one.
    let mut two = Regtest { blocks: chain.blocks.clone() };
    two.push(50 * COIN, vec![Regtest::spend(&[coins[1]], 10 * COIN), Regtest::spend(&[coins[1]], 20 * COIN)]);
    refused("two", &two);
    let mut one = Regtest { blocks: chain.blocks.clone() };
    one.push(50 * COIN, vec![Regtest::spend(&[coins[1], coins[1]], 10 * COIN)]);
    refused("one", &one);
}

#[test]
fn double_spends_inflation_and_wrong_targets_of_a_regtest_chain_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut chain = Regtest::new();
    let cb1 = chain.push(50 * COIN, vec![]);
    let out = OutPoint { txid: cb1, vout: 0 };
    let cb2 = chain.push(50 * COIN, vec![]);
    // A coinbase may be spent 100 blocks after its own (Core's COINBASE_MATURITY).
    let mut young = Vec::new();
    while chain.blocks.len() < 102 {
        young.push(chain.push(50 * COIN, vec![]));
    }
    // Height 102 spends block 1's coinbase, paying a fee of 1 coin the coinbase takes.
    chain.push(51 * COIN, vec![Regtest::spend(&[out], 49 * COIN)]);
    let ok = ingest(&tmp.path().join("ok"), &folder(tmp.path(), "ok", &[&chain.file()])).unwrap();
    assert_eq!((ok.chain, ok.height), (sleuth_chain::Chain::Regtest, Some(102)));

    let case = |name: &str, c: &Regtest| err(ingest(&tmp.path().join(name), &folder(tmp.path(), name, &[&c.file()])));
    // Coinbase maturity at its edge: at height 103, block 3's coinbase (100 blocks old) may be
    // spent, block 4's (99) may not, nor block 103's own.
    let mut mature = Regtest { blocks: chain.blocks.clone() };
    mature.push(50 * COIN, vec![Regtest::spend(&[OutPoint { txid: young[0], vout: 0 }], 50 * COIN)]);
    let r = ingest(&tmp.path().join("mature"), &folder(tmp.path(), "mature", &[&mature.file()])).unwrap();
    assert_eq!(r.height, Some(103));
    let mut immature = Regtest { blocks: chain.blocks.clone() };
    immature.push(50 * COIN, vec![Regtest::spend(&[OutPoint { txid: young[1], vout: 0 }], 50 * COIN)]);
    let e = case("immature", &immature);
    assert!(
        e.contains("block 103 ")
            && e.contains("rule coinbase-maturity")
            && e.contains(&format!("{}:0, the coinbase of block 4, 99 blocks later", young[1])),
        "{e}"
    );
    // The same two appended by a later run to the index of the first 102: the young
    // coinbases then come from the index, not from the run that appended them.
    let later = tmp.path().join("ok");
    let e = err(ingest(&later, &folder(tmp.path(), "immature-later", &[&immature.file()])));
    assert!(e.contains("rule coinbase-maturity") && e.contains("the coinbase of block 4, 99 blocks later"), "{e}");
    let r = ingest(&later, &folder(tmp.path(), "mature-later", &[&mature.file()])).unwrap();
    assert_eq!(r.height, Some(103));
    let own = Regtest::coinbase(103, 50 * COIN).compute_txid();
    let mut own_block = Regtest { blocks: chain.blocks.clone() };
    own_block.push(50 * COIN, vec![Regtest::spend(&[OutPoint { txid: own, vout: 0 }], 50 * COIN)]);
    let e = case("own", &own_block);
    assert!(e.contains("rule coinbase-maturity") && e.contains("the coinbase of block 103, 0 blocks later"), "{e}");
    // The same output spent again in a later block.
    let mut across = Regtest { blocks: chain.blocks.clone() };
    across.push(50 * COIN, vec![Regtest::spend(&[out], 10 * COIN)]);
    let e = case("across", &across);
    assert!(
        e.contains("rule double-spend") && e.contains(&format!("{cb1}:0")) && e.contains("blk00000.dat: block at byte"),
        "{e}"
    );
    // Twice in one block, by two transactions and by one.
    let out2 = OutPoint { txid: cb2, vout: 0 };
    let mut within = Regtest { blocks: chain.blocks.clone() };
    within.push(50 * COIN, vec![Regtest::spend(&[out2], 10 * COIN), Regtest::spend(&[out2], 20 * COIN)]);
    assert!(case("within", &within).contains("rule double-spend"));
    let mut one_tx = Regtest { blocks: chain.blocks.clone() };
    one_tx.push(50 * COIN, vec![Regtest::spend(&[out2, out2], 10 * COIN)]);
    assert!(case("onetx", &one_tx).contains("rule double-spend"));
    // A coinbase taking one satoshi more than subsidy and fees.
    let mut greedy = Regtest { blocks: chain.blocks.clone() };
    greedy.push(50 * COIN, vec![Regtest::spend(&[out2], 49 * COIN)]);
    greedy.push(50 * COIN + 1, vec![]);
    let e = case("greedy", &greedy);
    assert!(
        e.contains("block 104 ") && e.contains("rule coinbase-value") && e.contains(&format!("allow {}", 50 * COIN)),
        "{e}"
    );
    // Paying more than spent.
    let mut inflate = Regtest { blocks: chain.blocks.clone() };
    inflate.push(50 * COIN, vec![Regtest::spend(&[out2], 51 * COIN)]);
    assert!(case("inflate", &inflate).contains("rule value-in"));
    // A spend of an output that does not exist (kept from before).
    let mut missing = Regtest { blocks: chain.blocks.clone() };
    missing.push(50 * COIN, vec![Regtest::spend(&[OutPoint { txid: cb2, vout: 1 }], COIN)]);
    assert!(case("missing", &missing).contains("not in the chain below it"));
    // Regtest halves every 150 blocks: 50 coins at height 150 are too many.
    let mut long = Regtest { blocks: chain.blocks.clone() };
    while long.blocks.len() < 150 {
        long.push(50 * COIN, vec![]);
    }
    assert_eq!(
        ingest(&tmp.path().join("l149"), &folder(tmp.path(), "l149", &[&long.file()])).unwrap().height,
        Some(149)
    );
    long.push(50 * COIN, vec![]);
    let e = case("long", &long);
    assert!(e.contains("block 150 ") && e.contains(&format!("allow {}", 25 * COIN)), "{e}");
    // A coinbase without its height (BIP34 is active from height 1 on regtest).
    let mut nobip34 = Regtest { blocks: chain.blocks.clone() };
    nobip34.push(50 * COIN, vec![]);
    let b = nobip34.blocks.last_mut().unwrap();
    b.txdata[0].input[0].script_sig = bitcoin::script::Builder::new().push_int(7).push_int(0).into_script();
    b.header.merkle_root = b.compute_merkle_root().unwrap();
    while !b.header.target().is_met_by(b.block_hash()) {
        b.header.nonce += 1;
    }
    assert!(case("bip34", &nobip34).contains("rule bip34"));
    // A header whose proof of work meets a target other than regtest's.
    let mut harder = Regtest { blocks: chain.blocks.clone() };
    harder.push(50 * COIN, vec![]);
    let b = harder.blocks.last_mut().unwrap();
    b.header.bits = bitcoin::CompactTarget::from_consensus(0x200f_ffff);
    while !b.header.target().is_met_by(b.block_hash()) {
        b.header.nonce += 1;
    }
    let e = case("harder", &harder);
    assert!(e.contains("rule difficulty") && e.contains("0x200fffff") && e.contains("0x207fffff"), "{e}");
}

/// btcd's test chain (`blockchain/testdata/blk_0_to_4.dat`, made for btcd's own tests, which
/// run with a coinbase maturity of 1) spends block 1's coinbase in block 2: Bitcoin Core would
/// refuse block 2, and so does ingest, committing nothing of the run (as for every rule).
#[test]
fn btcds_test_chain_breaks_coinbase_maturity_at_block_2() {
    let tmp = tempfile::tempdir().unwrap();
    let file = std::fs::read(sleuth_testkit::shared_data("blocks/synthetic/btcd_blk_0_to_4.dat")).unwrap();
    let d = tmp.path().join("idx");
    let e = err(ingest(&d, &folder(tmp.path(), "btcd", &[&file])));
    assert!(
        e.contains("block 2 (00000000952ccb1b")
            && e.contains("rule coinbase-maturity")
            && e.contains("the coinbase of block 1, 1 blocks later where 100 are needed"),
        "{e}"
    );
    assert_eq!(sleuth_index::Snapshot::open(&d).unwrap().view().status().height, None);
}

#[test]
fn a_simulated_chain_is_validated_by_the_simulators_rules_and_only_beside_its_truth() {
    // `sleuth simulate --chain bitcoin` writes mainnet's genesis, then blocks at regtest's
    // target with a constant subsidy: no Bitcoin node would accept them.
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    crate::common::simulate(&sim, &["--transactions", "2000", "--seed", "3", "--chain", "bitcoin"]);
    let r = ingest(&tmp.path().join("idx"), &sim.join("blocks")).unwrap();
    assert_eq!((r.chain, r.rules), (sleuth_chain::Chain::Bitcoin, sleuth_chain::validate::RuleSet::Simulated));
    assert!(r.height.unwrap() > 100);
    // The same files without the simulation's truth beside them are judged as mainnet's.
    let alone = tmp.path().join("alone");
    std::fs::create_dir_all(&alone).unwrap();
    for e in std::fs::read_dir(sim.join("blocks")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), alone.join(e.file_name())).unwrap();
    }
    let e = err(ingest(&tmp.path().join("idx2"), &alone));
    assert!(e.contains("at byte 293") && e.contains("rule proof-of-work") && e.contains("limit 0x1d00ffff"), "{e}");
    // A real node's chain is validated by its own rules.
    let r = ingest(&tmp.path().join("idx3"), &folder(tmp.path(), "main", &[&mainnet()])).unwrap();
    assert_eq!(r.rules, sleuth_chain::validate::RuleSet::Consensus);
}

/// A node writing its newest block: the record is cut off mid-block, the run indexes the
/// blocks before it and leaves the record; once the node has written the rest, the next run
/// (through the header cache, which remembered the shorter file) indexes it, and the index is
/// the one a single run over the whole file gives.
#[test]
fn a_block_cut_off_mid_write_is_picked_up_once_completed() {
    let tmp = tempfile::tempdir().unwrap();
    let good = mainnet();
    let off = offsets();
    for (name, cut) in [("mid", off[4521] + 100), ("header", off[4521] + 6)] {
        let dir = folder(tmp.path(), name, &[&good[..cut]]);
        let d = tmp.path().join(format!("idx-{name}"));
        let r = ingest(&d, &dir).unwrap();
        assert_eq!((r.height, r.partial_tail), (Some(4520), true), "{name}");
        // The node finishes the record in place (same file, appended).
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(dir.join("blk00000.dat")).unwrap();
        f.write_all(&good[cut..]).unwrap();
        drop(f);
        let r = ingest(&d, &dir).unwrap();
        assert_eq!((r.height, r.partial_tail), (Some(4521), false), "{name}");
        let whole = folder(tmp.path(), &format!("{name}-whole"), &[&good]);
        let clean = tmp.path().join(format!("clean-{name}"));
        ingest(&clean, &whole).unwrap();
        assert_eq!(crate::common::digest(&d), crate::common::digest(&clean), "{name}");
    }
}

/// Core's timestamp rules: a header's time must be after the median of the 11 blocks before
/// it (`time-too-old`) and at most two hours ahead of the clock (`time-too-new`).
#[test]
fn timestamps_at_the_median_time_past_or_two_hours_ahead_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut chain = Regtest::new();
    for _ in 0..12 {
        chain.push(50 * COIN, vec![]);
    }
    // The next block with time `t`, mined again.
    let with_time = |t: u32| {
        let mut c = Regtest { blocks: chain.blocks.clone() };
        c.push(50 * COIN, vec![]);
        let b = c.blocks.last_mut().unwrap();
        b.header.time = t;
        while !b.header.target().is_met_by(b.block_hash()) {
            b.header.nonce += 1;
        }
        c
    };
    let mut last11: Vec<u32> = chain.blocks.iter().rev().take(11).map(|b| b.header.time).collect();
    last11.sort_unstable();
    let mtp = last11[5];
    let run = |name: &str, c: &Regtest| ingest(&tmp.path().join(name), &folder(tmp.path(), name, &[&c.file()]));
    let e = err(run("at-mtp", &with_time(mtp)));
    assert!(e.contains("block 13 ") && e.contains("rule timestamp") && e.contains(&format!("not after {mtp}")), "{e}");
    assert_eq!(run("after-mtp", &with_time(mtp + 1)).unwrap().height, Some(13));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u32;
    let e = err(run("future", &with_time(now + 3 * 3600)));
    assert!(e.contains("rule timestamp") && e.contains("two hours ahead"), "{e}");
    assert_eq!(run("soon", &with_time(now + 3600)).unwrap().height, Some(13));
}
