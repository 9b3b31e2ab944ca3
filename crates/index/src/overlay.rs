//! [`Overlay`]: what a reorg is about to overwrite, copied for the snapshots that still see
//! it (copy-on-write of exactly what an unwind touches).
//!
//! When the writer unwinds to `keep` while snapshots pinned above `keep` are alive, it first
//! freezes the state they read, from `keep` to the newest commit (`top`), into memory:
//! the records of every column in that range, the spender of every older output that an
//! unwound input spent, and the list head of every older address that an unwound output paid.
//! Later, the first time the new branch moves the head of an older address, the writer saves
//! the head it replaces here too ([`Overlay::capture_head`]). Views of those snapshots then read
//! positions at or past `keep` from the overlay and the in-place words through it; the files
//! below `keep` are not touched by the reorg. A reorg is a few blocks deep, so the overlay is
//! small; it is dropped with the last snapshot that holds it.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::schema::{AddrKeyRec, BlockRec, Counts, OutputRec, SpentRec, TxMetaRec, TxRec, NONE32, NONE64};
use crate::view::View;

/// The frozen state between a reorg's `keep` and the commit before it; see the module docs.
pub(crate) struct Overlay {
    /// Where the copies start.
    pub keep: Counts,
    /// Where they end: the commit they freeze.
    pub top: Counts,
    pub blocks: Vec<BlockRec>,
    pub txs: Vec<TxRec>,
    pub tx_meta: Vec<TxMetaRec>,
    pub output_tx: Vec<u32>,
    pub input_tx: Vec<u32>,
    pub inputs: Vec<u64>,
    pub input_spent: Vec<SpentRec>,
    pub outputs: Vec<OutputRec>,
    /// Spender of each of `outputs` as of `top` ([`NONE64`] if unspent there).
    pub spent_by: Vec<u64>,
    pub addr_keys: Vec<AddrKeyRec>,
    /// Heads as of `top` of the addresses from `keep.addrs` on.
    pub addr_heads: Vec<u64>,
    /// Spender (at or past `keep.inputs`) of outputs below `keep.outputs`.
    pub spent_below: HashMap<u64, u64>,
    /// Heads as of `top` of addresses below `keep.addrs` whose head the reorg changes.
    heads_below: Mutex<HashMap<u32, u64>>,
    pub txids: HashMap<[u8; 32], u64>,
    pub block_hashes: HashMap<[u8; 32], u64>,
    pub addr_ids: HashMap<AddrKeyRec, u64>,
}

impl Overlay {
    /// Freezes what `src` (a view of the state to preserve) holds from `keep` to its top.
    pub fn build(src: &View<'_>, keep: Counts) -> Overlay {
        let top = src.top;
        let outputs: Vec<OutputRec> = (keep.outputs..top.outputs).map(|o| src.output_rec(o)).collect();
        let spent_by: Vec<u64> = (keep.outputs..top.outputs).map(|o| src.spender_of(o).unwrap_or(NONE64)).collect();
        let txs: Vec<TxRec> = (keep.txs..top.txs).map(|t| src.tx_rec(t)).collect();
        let blocks: Vec<BlockRec> = (keep.blocks..top.blocks).map(|h| src.block_rec(h)).collect();
        let addr_keys: Vec<AddrKeyRec> = (keep.addrs..top.addrs).map(|a| src.addr_key_rec(a)).collect();
        let inputs: Vec<u64> = (keep.inputs..top.inputs).map(|i| src.input_rec(i)).collect();
        let spent_below = inputs
            .iter()
            .zip(keep.inputs..)
            .filter(|(&o, _)| o != NONE64 && o < keep.outputs)
            .map(|(&o, i)| (o, i))
            .collect();
        let mut heads_below = HashMap::new();
        for (k, r) in outputs.iter().enumerate().rev() {
            let o = keep.outputs + k as u64;
            if r.addr != NONE32 && (r.addr as u64) < keep.addrs {
                heads_below.entry(r.addr).or_insert(o);
            }
        }
        Overlay {
            keep,
            top,
            tx_meta: (keep.txs..top.txs).map(|t| src.tx_meta_rec(t)).collect(),
            output_tx: (keep.outputs..top.outputs).map(|o| src.output_tx_rec(o)).collect(),
            input_tx: (keep.inputs..top.inputs).map(|i| src.input_tx_rec(i)).collect(),
            input_spent: (keep.inputs..top.inputs).map(|i| src.input_spent_rec(i)).collect(),
            addr_heads: (keep.addrs..top.addrs).map(|a| src.head_of(a)).collect(),
            spent_below,
            heads_below: Mutex::new(heads_below),
            txids: txs.iter().zip(keep.txs..).map(|(r, t)| (r.txid, t)).collect(),
            block_hashes: blocks.iter().zip(keep.blocks..).map(|(r, h)| (r.hash, h)).collect(),
            addr_ids: addr_keys.iter().zip(keep.addrs..).map(|(k, a)| (*k, a)).collect(),
            blocks,
            txs,
            inputs,
            outputs,
            spent_by,
            addr_keys,
        }
    }

    /// The head as of `top` of address `a` (below `keep.addrs`), if the reorg changed it.
    pub fn head_below(&self, a: u32) -> Option<u64> {
        self.heads_below.lock().unwrap_or_else(|e| e.into_inner()).get(&a).copied()
    }

    /// Called by the writer before it moves the head of address `a` away from `prev`: the
    /// first such move of an older address after the reorg replaces the head this overlay's
    /// snapshots still see, so it is saved (an entry made at the unwind takes precedence).
    #[inline]
    pub fn capture_head(&self, a: u32, prev: u64) {
        if (a as u64) < self.keep.addrs && (prev == NONE64 || prev < self.keep.outputs) {
            self.heads_below.lock().unwrap_or_else(|e| e.into_inner()).entry(a).or_insert(prev);
        }
    }

    /// Bytes held, for the log.
    pub fn bytes(&self) -> usize {
        use std::mem::size_of;
        self.blocks.len() * size_of::<BlockRec>()
            + self.txs.len() * (size_of::<TxRec>() + size_of::<TxMetaRec>() + 48)
            + self.inputs.len() * (12 + size_of::<SpentRec>())
            + self.outputs.len() * (size_of::<OutputRec>() + 12)
            + self.addr_keys.len() * (size_of::<AddrKeyRec>() * 2 + 16)
            + self.spent_below.len() * 16
    }
}
