//! [`View`]: one committed state of the index, read through the mapped files and, after a
//! reorg, through the copies the writer kept for it (the [`Overlay`]).
//!
//! Every read is checked against the view's own counts (`top`): records at or past them are
//! not part of the state, whatever the files hold. Positions at or past `split` (the point a
//! reorg unwound to, or `top` when there was none) come from the overlay, because the writer
//! may be overwriting them; everything below `split` is immutable while the view lives, except
//! the words a writer changes in place (address-list heads, spenders, hash-table slots), which
//! are loaded atomically and validated as `docs/schema.md` ("Snapshots") explains.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLockReadGuard};

use sleuth_chain::Chain;

use crate::column::load_u64;
use crate::hashtable::TableSlots;
use crate::mapped::MappedFile;
use crate::overlay::Overlay;
use crate::schema::{AddrKeyRec, BlockRec, Counts, OutputRec, SpentRec, TxMetaRec, TxRec, NONE64};

/// The files of the index as slices: a snapshot's read-only mappings, or the writer's own.
#[derive(Clone, Copy)]
pub(crate) struct Files<'a> {
    pub blocks: &'a [BlockRec],
    pub txs: &'a [TxRec],
    pub tx_meta: &'a [TxMetaRec],
    pub output_tx: &'a [u32],
    pub input_tx: &'a [u32],
    pub inputs: &'a [u64],
    pub input_spent: &'a [SpentRec],
    pub outputs: &'a [OutputRec],
    pub spent_by: &'a [u64],
    pub addr_keys: &'a [AddrKeyRec],
    pub addr_heads: &'a [u64],
    pub txid_idx: TableSlots<'a>,
    pub block_idx: TableSlots<'a>,
    pub addr_idx: TableSlots<'a>,
}

/// Where a view finds output records the writer appended after the view's files were
/// mapped: an address list's head may point there, and the walk back to the view's commit
/// passes through them. Mapped again only when a walk needs a record past the mapping.
pub(crate) struct Tail<'a> {
    pub path: &'a Path,
    pub map: &'a Mutex<Option<Arc<MappedFile<OutputRec>>>>,
}

/// A consistent read of one committed state. Take one with [`crate::Snapshot::view`]; every
/// query answers from it. While a view lives, a reorg in this process waits before it
/// overwrites anything (views are short: one query, or one pass such as a clustering build).
pub struct View<'a> {
    pub(crate) files: Files<'a>,
    pub(crate) ov: Option<Arc<Overlay>>,
    /// Positions at or past these come from the overlay.
    pub(crate) split: Counts,
    /// The committed state answered.
    pub(crate) top: Counts,
    pub(crate) chain: Chain,
    pub(crate) dir: &'a Path,
    pub(crate) tail: Option<Tail<'a>>,
    /// Held for the view's life; dropping it lets a waiting reorg proceed.
    pub(crate) _gate: Option<Gate<'a>>,
}

thread_local! {
    /// The writers' view gates this thread holds, by address: a view taken while the same
    /// thread already holds one on that gate must not wait for it again (a writer waiting
    /// for the outer view would wait forever).
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// A view's hold on its writer's gate: shared, so a reorg waits for it.
pub(crate) struct Gate<'a> {
    key: usize,
    _guard: Option<RwLockReadGuard<'a, ()>>,
}

impl<'a> Gate<'a> {
    /// Holds `lock` shared, unless this thread already does.
    pub(crate) fn enter(lock: &'a std::sync::RwLock<()>) -> Gate<'a> {
        let key = lock as *const _ as usize;
        let nested = HELD.with(|h| h.borrow().contains(&key));
        let guard = (!nested).then(|| lock.read().unwrap_or_else(|e| e.into_inner()));
        HELD.with(|h| h.borrow_mut().push(key));
        Gate { key, _guard: guard }
    }
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            if let Some(p) = h.iter().rposition(|&k| k == self.key) {
                h.remove(p);
            }
        });
    }
}

impl<'a> View<'a> {
    /// The overlay; only called for positions at or past `split`, which exist only with one.
    #[inline]
    fn ov(&self) -> &Overlay {
        self.ov.as_deref().expect("positions past the split exist only with an overlay")
    }

    /// The counts of the committed state this view answers.
    pub fn counts(&self) -> Counts {
        self.top
    }

    /// The chain indexed.
    pub fn chain(&self) -> Chain {
        self.chain
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        self.dir
    }

    /// Record `pos` of a column that never changes below the split: from the overlay at or
    /// past `split`, from the file below it.
    #[inline]
    fn layered<T: Copy>(&self, what: &str, pos: u64, split: u64, top: u64, ov: fn(&Overlay) -> &[T], file: &[T]) -> T {
        if pos >= top {
            crate::damaged::past_count(self.dir, what, pos, top);
        }
        if pos >= split {
            ov(self.ov())[(pos - split) as usize]
        } else {
            file[pos as usize]
        }
    }

    #[inline]
    pub(crate) fn block_rec(&self, h: u64) -> BlockRec {
        self.layered("block", h, self.split.blocks, self.top.blocks, |o| &o.blocks, self.files.blocks)
    }

    #[inline]
    pub(crate) fn tx_rec(&self, t: u64) -> TxRec {
        self.layered("transaction", t, self.split.txs, self.top.txs, |o| &o.txs, self.files.txs)
    }

    #[inline]
    pub(crate) fn tx_meta_rec(&self, t: u64) -> TxMetaRec {
        self.layered("transaction", t, self.split.txs, self.top.txs, |o| &o.tx_meta, self.files.tx_meta)
    }

    /// The transaction holding output `o`.
    #[inline]
    pub(crate) fn output_tx_rec(&self, o: u64) -> u32 {
        self.layered("output", o, self.split.outputs, self.top.outputs, |ov| &ov.output_tx, self.files.output_tx)
    }

    /// The transaction holding input `i`.
    #[inline]
    pub(crate) fn input_tx_rec(&self, i: u64) -> u32 {
        self.layered("input", i, self.split.inputs, self.top.inputs, |ov| &ov.input_tx, self.files.input_tx)
    }

    /// The output input `i` spends, [`NONE64`] for a coinbase input.
    #[inline]
    pub(crate) fn input_rec(&self, i: u64) -> u64 {
        self.layered("input", i, self.split.inputs, self.top.inputs, |o| &o.inputs, self.files.inputs)
    }

    /// What input `i` spends, as copied at ingest.
    #[inline]
    pub(crate) fn input_spent_rec(&self, i: u64) -> SpentRec {
        self.layered("input", i, self.split.inputs, self.top.inputs, |o| &o.input_spent, self.files.input_spent)
    }

    /// Output `o` without its spender (read that with [`View::spender_of`]).
    #[inline]
    pub(crate) fn output_rec(&self, o: u64) -> OutputRec {
        if o >= self.top.outputs {
            crate::damaged::past_count(self.dir, "output", o, self.top.outputs);
        }
        if o >= self.split.outputs {
            return self.ov().outputs[(o - self.split.outputs) as usize];
        }
        self.files.outputs[o as usize]
    }

    #[inline]
    pub(crate) fn addr_key_rec(&self, a: u64) -> AddrKeyRec {
        self.layered("address", a, self.split.addrs, self.top.addrs, |o| &o.addr_keys, self.files.addr_keys)
    }

    /// The committed input spending output `o`, as of this view's commit.
    #[inline]
    pub(crate) fn spender_of(&self, o: u64) -> Option<u64> {
        if o >= self.top.outputs {
            crate::damaged::past_count(self.dir, "output", o, self.top.outputs);
        }
        if o >= self.split.outputs {
            let s = self.ov().spent_by[(o - self.split.outputs) as usize];
            return (s != NONE64 && s < self.top.inputs).then_some(s);
        }
        if let Some(ov) = &self.ov {
            if let Some(&s) = ov.spent_below.get(&o) {
                return (s < self.top.inputs).then_some(s);
            }
        }
        let s = load_u64(&self.files.spent_by[o as usize], Ordering::Relaxed);
        // Trusted only if that input is below the split and points back: a spender written
        // after this commit, by an interrupted batch or on another branch fails one of them.
        (s != NONE64 && s < self.split.inputs && self.files.inputs[s as usize] == o).then_some(s)
    }

    /// The newest output paying address `a` as of this view's commit (or [`NONE64`]).
    pub(crate) fn head_of(&self, a: u64) -> u64 {
        if a >= self.top.addrs {
            crate::damaged::past_count(self.dir, "address", a, self.top.addrs);
        }
        let mut h = if a >= self.split.addrs {
            self.ov().addr_heads[(a - self.split.addrs) as usize]
        } else {
            // Acquire: the output record a head points at was stored before the head.
            let file_head = load_u64(&self.files.addr_heads[a as usize], Ordering::Acquire);
            match &self.ov {
                Some(ov) => ov.head_below(a as u32).unwrap_or(file_head),
                None => file_head,
            }
        };
        // A head past the commit was written after it: walk back along the list.
        while h != NONE64 && h >= self.top.outputs {
            let Some((addr, prev)) = self.list_link(h) else { return self.scan_head(a) };
            if addr as u64 != a || prev != NONE64 && prev >= h {
                return self.scan_head(a);
            }
            h = prev;
        }
        h
    }

    /// The address and previous-output link of output `h`, which may lie past the commit.
    fn list_link(&self, h: u64) -> Option<(u32, u64)> {
        if h >= self.split.outputs && self.ov.is_some() {
            let r = self.ov().outputs.get((h - self.split.outputs) as usize)?;
            return Some((r.addr, r.prev_same_addr));
        }
        if let Some(r) = self.files.outputs.get(h as usize) {
            return Some((r.addr, load_u64(&r.prev_same_addr, Ordering::Relaxed)));
        }
        // Appended after this view's files were mapped: map the file again, as it is now.
        let tail = self.tail.as_ref()?;
        let mut m = tail.map.lock().unwrap_or_else(|e| e.into_inner());
        if m.as_ref().is_none_or(|m| m.slots().len() as u64 <= h) {
            *m = Some(Arc::new(MappedFile::open(tail.path, 0).ok()?));
        }
        let r = m.as_ref()?.slots().get(h as usize)?;
        Some((r.addr, load_u64(&r.prev_same_addr, Ordering::Relaxed)))
    }

    /// The newest committed output paying `a`, by scanning: the fallback when the list past
    /// the commit is not intact (what a power cut during a batch can leave).
    fn scan_head(&self, a: u64) -> u64 {
        tracing::warn!(addr = a, "address list past the commit is damaged; scanning for its newest output");
        LIST_SCANS.fetch_add(1, Ordering::Relaxed);
        (0..self.top.outputs).rev().find(|&o| self.output_rec(o).addr as u64 == a).unwrap_or(NONE64)
    }

    /// The transaction with txid `k`.
    pub(crate) fn find_tx(&self, k: &[u8; 32], hash: u64) -> Option<u64> {
        let files = self.files;
        files
            .txid_idx
            .find(hash, self.split.txs, |id| files.txs[id as usize].txid == *k)
            .or_else(|| self.ov.as_ref()?.txids.get(k).copied().filter(|&t| t < self.top.txs))
    }

    /// The block with hash `k`.
    pub(crate) fn find_block(&self, k: &[u8; 32], hash: u64) -> Option<u64> {
        let files = self.files;
        files
            .block_idx
            .find(hash, self.split.blocks, |id| files.blocks[id as usize].hash == *k)
            .or_else(|| self.ov.as_ref()?.block_hashes.get(k).copied().filter(|&h| h < self.top.blocks))
    }

    /// The address with key bytes `k`.
    pub(crate) fn find_addr(&self, k: &AddrKeyRec, hash: u64) -> Option<u64> {
        let files = self.files;
        files
            .addr_idx
            .find(hash, self.split.addrs, |id| files.addr_keys[id as usize] == *k)
            .or_else(|| self.ov.as_ref()?.addr_ids.get(k).copied().filter(|&a| a < self.top.addrs))
    }
}

static LIST_SCANS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many times, in this process, a view found an address list past its commit damaged and
/// fell back to scanning the outputs (correct, but slow). Only a power cut during a batch can
/// cause it; tests assert it stays 0.
pub fn list_scans() -> u64 {
    LIST_SCANS.load(Ordering::Relaxed)
}

/// The first `i` in `0..n` for which `pred` is false (`pred` true on a prefix).
pub(crate) fn partition_point(n: u64, pred: impl Fn(u64) -> bool) -> u64 {
    let (mut lo, mut hi) = (0u64, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}
