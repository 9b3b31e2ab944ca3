//! The rules that need the set of unspent outputs, as the writer holds it (each output's
//! spender, and the batch's spends not yet written back):
//! - coinbase maturity (Core's `Consensus::CheckTxInputs`): a coinbase's outputs may be spent
//!   only from 100 blocks after its own. The writer knows an output only by its number, so
//!   it keeps the output ranges of the young coinbases ([`YoungCoinbases`]);
//! - BIP30 (Core's `ConnectBlock`): a transaction may not repeat the txid of an earlier one
//!   that still has unspent outputs.

use std::collections::VecDeque;

use crate::column::Column;
use crate::deferred::Deferred;
use crate::hashtable::{hash_random_key, SegmentedTable};
use crate::schema::{BlockRec, OutputRec, TxRec, NONE64};

/// An unspent output (its index) of an earlier transaction whose txid is `txid`, if there is
/// one: the transaction about to be appended (number `txs.len()`) would break BIP30.
pub(crate) fn unspent_twin(
    txs: &Column<TxRec>,
    outputs: &Column<OutputRec>,
    spent_by: &Column<u64>,
    inputs: &Column<u64>,
    deferred: &Deferred,
    txid_idx: &SegmentedTable,
    txid: &[u8; 32],
) -> Option<u32> {
    let live = txs.len();
    let twin = txid_idx.get(hash_random_key(txid), live, |id| txs.get(id).txid == *txid)?;
    let start = txs.get(twin).first_output;
    let end = if twin + 1 < live { txs.get(twin + 1).first_output } else { outputs.len() };
    // Spent if its spender is an input already appended that points back (a stale value
    // left by an unwound block does not), or spent in the batch.
    let spent = |o: u64| {
        let s = spent_by.get(o);
        (s != NONE64 && s < inputs.len() && inputs.get(s) == o) || deferred.is_spent(o)
    };
    (start..end).find(|&o| !spent(o)).map(|o| (o - start) as u32)
}

/// Blocks a coinbase output waits before it may be spent (Core's `COINBASE_MATURITY`; the
/// same on Litecoin).
pub(crate) const COINBASE_MATURITY: u64 = 100;

/// The outputs of the coinbases that cannot be spent yet: those of the 99 blocks before the
/// one being appended, and its own once appended. Kept in memory from block to block (a
/// binary search over 100 ranges in cache; searching the coinbases' records in `txs.col`
/// instead cost a cache miss a step, 4 % of a 1M ingest), rebuilt from the columns whenever
/// the block appended is not the one after the last (the first after opening, a reorg's, or
/// a block that failed and is tried again).
#[derive(Default)]
pub(crate) struct YoungCoinbases {
    /// (height, first output, end) of each young coinbase, oldest first.
    ranges: VecDeque<(u64, u64, u64)>,
}

impl YoungCoinbases {
    /// Makes the ranges those of the coinbases of blocks `height - 99..height`, before block
    /// `height` is appended; `outputs` is the count of outputs before it.
    pub(crate) fn start_block(&mut self, blocks: &Column<BlockRec>, txs: &Column<TxRec>, height: u64, outputs: u64) {
        let from = height.saturating_sub(COINBASE_MATURITY - 1);
        if self.ranges.back().is_some_and(|r| r.0 + 1 != height) {
            self.ranges.clear();
        }
        while self.ranges.front().is_some_and(|r| r.0 < from) {
            self.ranges.pop_front();
        }
        if self.ranges.is_empty() {
            for h in from..height {
                let t = u64::from(blocks.get(h).first_tx);
                let end = if t + 1 < txs.len() { txs.get(t + 1).first_output } else { outputs };
                self.ranges.push_back((h, txs.get(t).first_output, end));
            }
        }
    }

    /// Records the coinbase of block `height`, being appended: outputs `start..end`.
    pub(crate) fn push(&mut self, height: u64, start: u64, end: u64) {
        self.ranges.push_back((height, start, end));
    }

    /// The height of the block whose coinbase created output `o`, if that coinbase is young.
    #[inline]
    pub(crate) fn find(&self, o: u64) -> Option<u64> {
        let i = self.ranges.partition_point(|r| r.1 <= o);
        let r = self.ranges.get(i.checked_sub(1)?)?;
        (o < r.2).then_some(r.0)
    }
}
