//! [`validate_headers`]: proof of work and targets of every header in the files, and the
//! most-work chain among those that link up to genesis.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bitcoin::hashes::Hash;
use bitcoin::pow::Work;
use bitcoin::BlockHash;

use super::rules::{PowHash, Rules};
use super::target::U256;
use super::ValidationError;
use crate::blockfile::HeaderRecord;

/// The best chain of validated headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidChain {
    /// Indices into the records, by height.
    pub best: Vec<usize>,
    /// Records left out: stale branches and second copies of a block.
    pub stale: u64,
}

#[derive(Clone, Copy)]
struct Node {
    work: Work,
    height: u32,
    parent: usize,
    /// The bits Core's min-difficulty walk-back finds from this block.
    walk_bits: u32,
}

#[derive(Clone, Copy)]
enum State {
    Unknown,
    Duplicate,
    Orphan,
    Known(Node),
}

/// The scrypt proof-of-work hash of a Litecoin header, as a little-endian number.
pub fn scrypt_hash(header: &bitcoin::block::Header) -> U256 {
    let bytes = bitcoin::consensus::serialize(header);
    let params = scrypt::Params::new(10, 1, 1, 32).expect("N=1024, r=1, p=1 are valid scrypt parameters");
    let mut out = [0u8; 32];
    scrypt::scrypt(&bytes, &bytes, &params, &mut out).expect("a 32-byte output is a valid length");
    U256::from_le_bytes(&out)
}

/// Why `r` fails its proof of work, if it does. `hash_pow` is false for a Litecoin header
/// already checked when it was first read (it came from the checksummed header cache).
pub fn pow_failure(r: &HeaderRecord, rules: &Rules, hash_pow: bool) -> Option<String> {
    header_pow_failure(&r.header, &r.hash, rules, hash_pow)
}

/// Why `header` (whose hash is `hash`) fails its proof of work under `rules`, if it does:
/// [`pow_failure`] for a header that did not come from a block file (a node's RPC).
pub fn header_pow_failure(
    header: &bitcoin::block::Header,
    hash: &BlockHash,
    rules: &Rules,
    hash_pow: bool,
) -> Option<String> {
    let bits = header.bits.to_consensus();
    let (target, negative, overflow) = U256::from_compact(bits);
    if negative || overflow || target.is_zero() {
        return Some(format!("bits {bits:#010x} encode no valid target"));
    }
    if target > rules.pow_limit {
        return Some(format!(
            "bits {bits:#010x} ask for less work than the chain's limit {:#010x}",
            rules.pow_limit_bits()
        ));
    }
    let (hash, what) = match rules.pow_hash {
        PowHash::Sha256d => (U256::from_le_bytes(hash.as_byte_array()), "hash"),
        PowHash::Scrypt if hash_pow => (scrypt_hash(header), "scrypt hash"),
        PowHash::Scrypt => return None,
    };
    (hash > target).then(|| format!("its {what} is above its target (bits {bits:#010x})"))
}

/// Checks every header (proof of work against its own target, the target the chain's rules
/// give after its parent) and returns the most-work chain from genesis. Work is the sum of
/// the proven work of each header; among tips of equal work the first in the files wins, as
/// a node keeps the first it received. A second copy of a block is left out.
///
/// `cached[i]` tells a record that came from the header cache, whose (expensive) scrypt hash
/// was checked when it was read. `path_of` gives a block file's path, `dir` is the folder.
///
/// # Errors
/// [`ValidationError::ProofOfWork`], [`ValidationError::Difficulty`] for any record in the
/// files, stale or not (a node writes neither); [`ValidationError::Orphan`] for a record whose
/// parent is not in the files; [`ValidationError::NoGenesis`].
pub fn validate_headers(
    records: &[HeaderRecord],
    cached: &[bool],
    rules: &Rules,
    genesis: BlockHash,
    dir: &Path,
    path_of: &dyn Fn(u32) -> PathBuf,
) -> Result<ValidChain, ValidationError> {
    let mut by_hash: HashMap<BlockHash, usize> = HashMap::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        by_hash.entry(r.hash).or_insert(i);
    }
    let genesis_idx = *by_hash
        .get(&genesis)
        .ok_or_else(|| ValidationError::NoGenesis { path: dir.to_owned(), genesis: genesis.to_string() })?;
    for (i, r) in records.iter().enumerate() {
        if i == genesis_idx || by_hash[&r.hash] != i {
            continue;
        }
        if let Some(detail) = pow_failure(r, rules, !cached.get(i).copied().unwrap_or(false)) {
            return Err(ValidationError::ProofOfWork {
                path: path_of(r.loc.file),
                offset: r.loc.offset,
                hash: r.hash.to_string(),
                detail,
            });
        }
    }

    let mut state = vec![State::Unknown; records.len()];
    let g = &records[genesis_idx];
    state[genesis_idx] = State::Known(Node {
        work: g.header.work(),
        height: 0,
        parent: usize::MAX,
        walk_bits: g.header.bits.to_consensus(),
    });
    let mut first_orphan = None;
    let mut stack = Vec::new();
    for start in 0..records.len() {
        if by_hash[&records[start].hash] != start {
            state[start] = State::Duplicate;
            continue;
        }
        // Walk back to a block of known state, then fill in the path forwards.
        let mut i = start;
        while let State::Unknown = state[i] {
            stack.push(i);
            match by_hash.get(&records[i].header.prev_blockhash) {
                Some(&p) if p != i => i = p,
                _ => {
                    first_orphan.get_or_insert(i);
                    state[i] = State::Orphan;
                    stack.pop();
                    break;
                }
            }
        }
        let mut parent = i;
        while let Some(j) = stack.pop() {
            state[j] = match state[parent] {
                State::Known(p) => State::Known(child(records, &state, rules, parent, p, j, path_of)?),
                _ => State::Orphan,
            };
            parent = j;
        }
    }
    let mut best = genesis_idx;
    let mut best_work = g.header.work();
    let mut orphans = 0u64;
    for (i, s) in state.iter().enumerate() {
        match s {
            State::Known(n) if n.work > best_work => {
                best = i;
                best_work = n.work;
            }
            State::Orphan => orphans += 1,
            _ => {}
        }
    }
    let State::Known(tip) = state[best] else { unreachable!("best is a known block") };
    if let Some(o) = first_orphan {
        let r = &records[o];
        let t = &records[best];
        return Err(ValidationError::Orphan {
            path: path_of(r.loc.file),
            offset: r.loc.offset,
            hash: r.hash.to_string(),
            parent: r.header.prev_blockhash.to_string(),
            orphans,
            tip_height: tip.height,
            tip_path: path_of(t.loc.file),
            tip_offset: t.loc.offset,
        });
    }
    let mut chain = vec![0usize; tip.height as usize + 1];
    let mut i = best;
    for h in (0..=tip.height as usize).rev() {
        chain[h] = i;
        if let State::Known(n) = state[i] {
            i = n.parent;
        }
    }
    let stale = records.len() as u64 - chain.len() as u64;
    Ok(ValidChain { best: chain, stale })
}

/// The node of record `j` whose parent `p` (record `pi`) is known, after checking its target.
fn child(
    records: &[HeaderRecord],
    state: &[State],
    rules: &Rules,
    pi: usize,
    p: Node,
    j: usize,
    path_of: &dyn Fn(u32) -> PathBuf,
) -> Result<Node, ValidationError> {
    let r = &records[j];
    let height = p.height + 1;
    let time_error = |detail: String| ValidationError::Block {
        path: path_of(r.loc.file),
        offset: r.loc.offset,
        hash: r.hash.to_string(),
        height,
        rule: super::Rule::Timestamp,
        detail,
    };
    let mtp = median_time_past(records, state, pi);
    if r.header.time <= mtp {
        return Err(time_error(format!(
            "its time {} is not after {mtp}, the median time of the 11 blocks before it",
            r.header.time
        )));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if u64::from(r.header.time) > now + MAX_FUTURE_BLOCK_TIME {
        return Err(time_error(format!(
            "its time {} is more than two hours ahead of this machine's clock ({now})",
            r.header.time
        )));
    }
    let bits = r.header.bits.to_consensus();
    let expected = next_bits(records, state, rules, pi, p, r.header.time);
    if bits != expected {
        return Err(ValidationError::Difficulty {
            path: path_of(r.loc.file),
            offset: r.loc.offset,
            hash: r.hash.to_string(),
            height,
            found: bits,
            expected,
        });
    }
    let walk_bits =
        if height.is_multiple_of(rules.interval()) || bits != rules.pow_limit_bits() { bits } else { p.walk_bits };
    Ok(Node { work: p.work + r.header.work(), height, parent: pi, walk_bits })
}

/// How far ahead of the clock a block's time may be: Core's `MAX_FUTURE_BLOCK_TIME`, 2 hours.
const MAX_FUTURE_BLOCK_TIME: u64 = 2 * 60 * 60;

/// Core's `GetMedianTimePast` of known record `i`: the median time of `i` and the 10 blocks
/// before it (fewer near genesis).
fn median_time_past(records: &[HeaderRecord], state: &[State], mut i: usize) -> u32 {
    let mut times = [0u32; 11];
    let mut n = 0;
    while n < 11 {
        times[n] = records[i].header.time;
        n += 1;
        match state[i] {
            State::Known(node) if node.parent != usize::MAX => i = node.parent,
            _ => break,
        }
    }
    let times = &mut times[..n];
    times.sort_unstable();
    times[n / 2]
}

/// The record `steps` blocks below known record `i`.
fn ancestor(state: &[State], mut i: usize, steps: u32) -> usize {
    for _ in 0..steps {
        let State::Known(n) = state[i] else { unreachable!("ancestors of a known block are known") };
        i = n.parent;
    }
    i
}

/// Core's `GetNextWorkRequired` for the block after record `pi` (node `p`), made at `time`.
fn next_bits(records: &[HeaderRecord], state: &[State], rules: &Rules, pi: usize, p: Node, time: u32) -> u32 {
    if let Some(bits) = rules.fixed_bits {
        return bits;
    }
    let interval = rules.interval();
    let height = p.height + 1;
    let last = &records[pi].header;
    if !height.is_multiple_of(interval) {
        if rules.allow_min_difficulty {
            if time as i64 > last.time as i64 + 2 * rules.spacing {
                return rules.pow_limit_bits();
            }
            return p.walk_bits;
        }
        return last.bits.to_consensus();
    }
    if rules.no_retargeting {
        return last.bits.to_consensus();
    }
    // Litecoin looks back a whole interval, except at the first retarget (its time-warp fix).
    let back = if rules.litecoin_retarget && height != interval { interval } else { interval - 1 };
    let first = &records[ancestor(state, pi, back)].header;
    let base = if rules.bip94 { records[ancestor(state, pi, interval - 1)].header.bits } else { last.bits };
    retarget(rules, base.to_consensus(), first.time, last.time)
}

/// Core's `CalculateNextWorkRequired` (Litecoin's with its overflow shift): the target
/// `base_bits` scaled by how long the period from `first_time` to `last_time` took, clamped
/// to a factor of 4 either way and to the chain's limit.
pub fn retarget(rules: &Rules, base_bits: u32, first_time: u32, last_time: u32) -> u32 {
    let actual = (last_time as i64 - first_time as i64).clamp(rules.timespan / 4, rules.timespan * 4);
    let (mut t, _, _) = U256::from_compact(base_bits);
    let shift = rules.litecoin_retarget && t.bits() > rules.pow_limit.bits() - 1;
    if shift {
        t = t.shr_bits(1);
    }
    t = t.mul_u64(actual as u64).div_u64(rules.timespan as u64);
    if shift {
        t = t.shl_bits(1);
    }
    if t > rules.pow_limit {
        t = rules.pow_limit;
    }
    t.to_compact()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Chain;

    #[test]
    fn retargets_match_cores_pow_tests() {
        // Bitcoin Core's src/test/pow_tests.cpp: (first block's time, last block's time,
        // last bits) -> next bits, at mainnet heights 32256, 2016, 68544 and 48384.
        let btc = Rules::consensus(Chain::Bitcoin);
        assert_eq!(retarget(&btc, 0x1d00ffff, 1_261_130_161, 1_262_152_739), 0x1d00d86a);
        assert_eq!(retarget(&btc, 0x1d00ffff, 1_231_006_505, 1_233_061_996), 0x1d00ffff);
        assert_eq!(retarget(&btc, 0x1c05a3f4, 1_279_008_237, 1_279_297_671), 0x1c0168fd);
        assert_eq!(retarget(&btc, 0x1c387f6f, 1_263_163_443, 1_269_211_443), 0x1d00e1fd);
    }

    #[test]
    fn litecoin_retargets_keep_the_limit_when_blocks_are_slow() {
        // At the limit, a slow period cannot ease the target further (the shift keeps the
        // arithmetic in 256 bits, as Litecoin Core's does).
        let ltc = Rules::consensus(Chain::Litecoin);
        assert_eq!(retarget(&ltc, 0x1e0fffff, 0, 10 * 302_400), 0x1e0fffff);
        // Four times faster than planned: a quarter of the target.
        assert_eq!(retarget(&ltc, 0x1e0fffff, 0, 1), 0x1e03ffff);
    }
}
