//! Coinbase maturity (Core's `Consensus::CheckTxInputs`): a coinbase's outputs may be spent
//! only from 100 blocks after its own. The writer knows an output only by its number, so the
//! block that made it is found by binary search over the few blocks young enough to matter.

use crate::column::Column;
use crate::schema::{BlockRec, TxRec};

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
