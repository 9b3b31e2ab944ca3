//! Issue 14's mutation test: real mainnet block files (heights 0..599 of `blk00000.dat`)
//! damaged in every way a disk, a copy or a forger can (bit flips, byte runs, truncations,
//! removed, duplicated and swapped records, size-field and magic damage, forged headers,
//! duplicated transactions), each ingested in this process. Every mutant must either fail
//! with an error or give exactly the clean index; the only other index allowed is that of a
//! mutant which is a byte prefix of the clean file (a node that has written less), and it
//! must equal the clean chain cut at its last whole record. No mutant may panic.
//!
//! `SLEUTH_MUTANTS` (default 1,200) and `SLEUTH_MUTANTS_SEED` set the count and the seed;
//! `scripts/fuzz-blocks.sh` runs many more.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use sleuth_index::ingest::{ingest, IngestOptions, NoProgress};

use sleuth_testkit::Rng;

use crate::common::digest;
use crate::validation::{mainnet, offsets};

const KINDS: [&str; 10] = [
    "bit flip",
    "byte run",
    "truncation",
    "removed record",
    "duplicated record",
    "swapped records",
    "size field",
    "magic",
    "forged header",
    "duplicated transaction",
];

/// Mutant `kind` of `clean`, whose records start at `recs` (and end at `clean.len()`).
fn mutate(rng: &mut Rng, kind: usize, clean: &[u8], recs: &[usize]) -> Vec<u8> {
    let n = recs.len();
    let rec = |k: usize| &clean[recs[k]..recs.get(k + 1).copied().unwrap_or(clean.len())];
    let mut m = clean.to_vec();
    match kind {
        0 => {
            let p = rng.below(m.len());
            m[p] ^= 1 << rng.below(8);
        }
        1 => {
            let p = rng.below(m.len());
            let len = (1 + rng.below(64)).min(m.len() - p);
            let style = rng.below(3);
            for b in &mut m[p..p + len] {
                *b = match style {
                    0 => 0,
                    1 => 0xff,
                    _ => rng.next_u64() as u8,
                };
            }
        }
        2 => m.truncate(rng.below(m.len())),
        3 => {
            let k = 1 + rng.below(n - 1);
            m = [&clean[..recs[k]], &clean[recs[k] + rec(k).len()..]].concat();
        }
        4 => {
            let k = rng.below(n);
            let at = recs.get(rng.below(n + 1)).copied().unwrap_or(clean.len());
            m = [&clean[..at], rec(k), &clean[at..]].concat();
        }
        5 => {
            let (mut a, mut b) = (rng.below(n), rng.below(n));
            if a > b {
                std::mem::swap(&mut a, &mut b);
            }
            if a != b {
                m = [&clean[..recs[a]], rec(b), &clean[recs[a + 1]..recs[b]], rec(a), &clean[recs[b] + rec(b).len()..]]
                    .concat();
            }
        }
        6 => {
            let k = rng.below(n);
            let size = u32::from_le_bytes(m[recs[k] + 4..recs[k] + 8].try_into().unwrap());
            let new = match rng.below(3) {
                0 => size.wrapping_add(1 + rng.below(8) as u32),
                1 => size.wrapping_sub(1 + rng.below(8) as u32),
                _ => rng.next_u64() as u32,
            };
            m[recs[k] + 4..recs[k] + 8].copy_from_slice(&new.to_le_bytes());
        }
        7 => {
            let k = rng.below(n);
            let p = recs[k] + rng.below(4);
            m[p] = rng.next_u64() as u8;
        }
        8 => {
            // A copy of a record with a made-up target and nonce, or another parent.
            let mut f = rec(rng.below(n)).to_vec();
            match rng.below(3) {
                0 => f[8 + 72..8 + 76]
                    .copy_from_slice(&(0x1800_0000u32 | (rng.next_u64() as u32 & 0x00ff_ffff)).to_le_bytes()),
                1 => {
                    let parent = rec(rng.below(n))[8..88].to_vec();
                    let h = bitcoin::hashes::sha256d::Hash::hash(&parent);
                    f[8 + 4..8 + 36].copy_from_slice(h.as_ref());
                }
                _ => f[8 + 72..8 + 76].copy_from_slice(&0x207f_ffffu32.to_le_bytes()),
            }
            f[8 + 76..8 + 80].copy_from_slice(&(rng.next_u64() as u32).to_le_bytes());
            let at = recs.get(rng.below(n + 1)).copied().unwrap_or(clean.len());
            m = [&clean[..at], &f, &clean[at..]].concat();
        }
        _ => {
            // Block 586 has 3 transactions: [a, b, c, c] keeps its merkle root.
            let k = if rng.below(2) == 0 { 586 } else { rng.below(n) };
            let mut block: bitcoin::Block = bitcoin::consensus::deserialize(&rec(k)[8..]).unwrap();
            let t = if k == 586 { block.txdata.len() - 1 } else { rng.below(block.txdata.len()) };
            let copy = block.txdata[t].clone();
            block.txdata.push(copy);
            let raw = bitcoin::consensus::serialize(&block);
            let mut f = rec(k)[..4].to_vec();
            f.extend_from_slice(&(raw.len() as u32).to_le_bytes());
            f.extend_from_slice(&raw);
            m = [&clean[..recs[k]], &f, &clean[recs[k] + rec(k).len()..]].concat();
        }
    }
    m
}

use bitcoin::hashes::Hash as _;

fn scratch() -> tempfile::TempDir {
    // Thousands of small indexes: in memory where there is a tmpfs.
    match Path::new("/dev/shm").is_dir() {
        true => tempfile::tempdir_in("/dev/shm").unwrap(),
        false => tempfile::tempdir().unwrap(),
    }
}

fn ingest_dir(data: &Path, blocks: &Path, until: Option<u32>) -> Result<sleuth_index::ingest::IngestReport, String> {
    let opts = IngestOptions { until_height: until, ..IngestOptions::new(blocks.to_owned()) };
    ingest(data, &opts, &mut NoProgress, &AtomicBool::new(false)).map_err(|e| e.to_string())
}

#[test]
fn mutated_block_files_never_panic_and_never_give_a_different_index_without_an_error() {
    let count: usize = std::env::var("SLEUTH_MUTANTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1200);
    let seed: u64 = std::env::var("SLEUTH_MUTANTS_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(14);
    let full = mainnet();
    let offs = offsets();
    let clean = &full[..offs[600]];
    let recs = &offs[..600];
    let tmp = scratch();
    let blocks: PathBuf = tmp.path().join("blocks");
    std::fs::create_dir_all(&blocks).unwrap();
    std::fs::write(blocks.join("blk00000.dat"), clean).unwrap();
    ingest_dir(&tmp.path().join("clean"), &blocks, None).unwrap();
    let clean_digest = digest(&tmp.path().join("clean"));
    let mut prefix_digests: HashMap<u32, Vec<String>> = HashMap::new();

    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (mut refused, mut same, mut prefixes, mut panics) = (0usize, 0usize, 0usize, Vec::new());
    let mut wrong = Vec::new();
    let mut per_kind = [0usize; KINDS.len()];
    for i in 0..count {
        let kind = i % KINDS.len();
        per_kind[kind] += 1;
        let m = mutate(&mut rng, kind, clean, recs);
        std::fs::write(blocks.join("blk00000.dat"), &m).unwrap();
        let data = tmp.path().join(format!("m{i}"));
        let res = std::panic::catch_unwind(|| ingest_dir(&data, &blocks, None));
        match res {
            Err(_) => panics.push((i, KINDS[kind])),
            Ok(Err(_)) => refused += 1,
            Ok(Ok(_)) => {
                let got = digest(&data);
                // A byte prefix of the clean file, or one with zeros past a record boundary
                // (preallocated space): a node that has written less, up to byte `cut`.
                let bounds = recs.iter().copied().chain([clean.len()]);
                let cut = if clean.starts_with(&m) {
                    Some(m.len())
                } else {
                    bounds.filter(|&b| b <= m.len() && m[..b] == clean[..b] && m[b..].iter().all(|&x| x == 0)).max()
                };
                if got == clean_digest {
                    same += 1;
                } else if let Some(cut) = cut {
                    // The clean chain up to its last whole record.
                    let whole = recs.iter().skip(1).chain([&clean.len()]).filter(|&&o| o <= cut).count();
                    let h = whole.saturating_sub(1) as u32;
                    let want = prefix_digests.entry(h).or_insert_with(|| {
                        let d = tmp.path().join(format!("prefix{h}"));
                        std::fs::write(blocks.join("blk00000.dat"), clean).unwrap();
                        ingest_dir(&d, &blocks, Some(h)).unwrap();
                        digest(&d)
                    });
                    if got == *want {
                        prefixes += 1;
                    } else {
                        wrong.push((i, KINDS[kind]));
                    }
                } else {
                    wrong.push((i, KINDS[kind]));
                }
            }
        }
        let _ = std::fs::remove_dir_all(&data);
    }
    eprintln!(
        "{count} mutants (seed {seed}): {refused} refused with an error, {same} gave the clean index, \
         {prefixes} were prefixes indexed as such, {} panics, {} different indexes without an error; per kind {:?}",
        panics.len(),
        wrong.len(),
        KINDS.iter().zip(per_kind).collect::<Vec<_>>()
    );
    assert!(panics.is_empty(), "panics: {panics:?}");
    assert!(wrong.is_empty(), "indexes that differ from the clean one without an error: {wrong:?}");
    assert_eq!(refused + same + prefixes, count);
    assert!(refused > count / 2, "most mutants damage a block and must be refused: {refused}");
}
