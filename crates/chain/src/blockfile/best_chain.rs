//! Ordering scanned headers into the most-work chain, leaving stale blocks out.

use std::collections::HashMap;

use bitcoin::pow::Work;
use bitcoin::BlockHash;

use super::HeaderRecord;

/// Why no chain could be formed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BestChainError {
    /// The genesis block is not among the headers.
    #[error(
        "the genesis block {genesis} is not in the block files; point --blocks-dir at a node's complete blocks folder"
    )]
    NoGenesis {
        /// The chain's genesis hash.
        genesis: BlockHash,
    },
}

/// The most-work chain that starts at `genesis`: indices into `records`, by height.
///
/// Cumulative work is summed from each header's target, as the node does. Among tips of equal
/// work the one found first in the files wins, as the node keeps the first it received.
/// Blocks whose ancestry does not reach genesis (a parent missing from the files) are left out.
///
/// # Errors
/// [`BestChainError::NoGenesis`] when no record is the genesis block.
pub fn best_chain(records: &[HeaderRecord], genesis: BlockHash) -> Result<Vec<usize>, BestChainError> {
    let mut by_hash: HashMap<BlockHash, usize> = HashMap::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        by_hash.entry(r.hash).or_insert(i);
    }
    let genesis_idx = *by_hash.get(&genesis).ok_or(BestChainError::NoGenesis { genesis })?;

    #[derive(Clone, Copy)]
    enum State {
        Unknown,
        Orphan,
        Known { work: Work, height: u32 },
    }
    let mut state = vec![State::Unknown; records.len()];
    state[genesis_idx] = State::Known { work: records[genesis_idx].header.work(), height: 0 };
    let mut stack = Vec::new();
    let mut best = genesis_idx;
    for start in 0..records.len() {
        // Walk back to a block of known state, then fill in the path forwards.
        let mut i = start;
        while let State::Unknown = state[i] {
            stack.push(i);
            match by_hash.get(&records[i].header.prev_blockhash) {
                Some(&p) if p != i && by_hash[&records[i].hash] == i => i = p,
                _ => {
                    state[i] = State::Orphan;
                    stack.pop();
                    break;
                }
            }
        }
        let mut parent = state[i];
        while let Some(j) = stack.pop() {
            state[j] = match parent {
                State::Known { work, height } => {
                    State::Known { work: work + records[j].header.work(), height: height + 1 }
                }
                _ => State::Orphan,
            };
            parent = state[j];
        }
    }
    for (i, s) in state.iter().enumerate() {
        if let (State::Known { work, .. }, State::Known { work: best_work, .. }) = (s, state[best]) {
            if *work > best_work {
                best = i;
            }
        }
    }
    let State::Known { height, .. } = state[best] else { unreachable!("best is a known block") };
    let mut chain = vec![0usize; height as usize + 1];
    let mut i = best;
    for h in (0..=height as usize).rev() {
        chain[h] = i;
        if h > 0 {
            i = by_hash[&records[i].header.prev_blockhash];
        }
    }
    Ok(chain)
}
