//! The rules that need the set of unspent outputs, as the writer holds it (each output's
//! spender, and the batch's spends not yet written back):
//! - coinbase maturity (Core's `Consensus::CheckTxInputs`): a coinbase's outputs may be spent
//!   only from 100 blocks after its own. The writer knows an output only by its number, so
//!   the block that made it is found by binary search over the few blocks young enough;
//! - BIP30 (Core's `ConnectBlock`): a transaction may not repeat the txid of an earlier one
//!   that still has unspent outputs.

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

/// The height of the block whose coinbase created output `o`, if that block is
/// `immature_from` or later: too young to spend in block `height`, which is being appended
/// and whose first transaction is `first_tx`. Two binary searches over at most 100 blocks.
pub(crate) fn immature_coinbase(
    blocks: &Column<BlockRec>,
    txs: &Column<TxRec>,
    immature_from: u64,
    height: u64,
    first_tx: u64,
    o: u64,
) -> Option<u64> {
    let coinbase_of = |b: u64| if b == height { first_tx } else { u64::from(blocks.get(b).first_tx) };
    // The last block from `immature_from` whose coinbase's first output is at or below `o`.
    let (mut lo, mut hi) = (immature_from, height + 1);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if txs.get(coinbase_of(mid)).first_output <= o {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t = coinbase_of(lo);
    // The transaction after the coinbase exists: a later block's, or the one spending `o`.
    (txs.get(t).first_output <= o && o < txs.get(t + 1).first_output).then_some(lo)
}
