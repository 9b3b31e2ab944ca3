//! [`Deferred`]: the in-place writes of the open batch into committed records, held in
//! memory until the commit writes them in file order.
//!
//! Appends go straight to the mapped columns: they fill pages in order, which the kernel
//! writes back once. The writes into records of earlier commits (the spender of an older
//! output, the head of an older address's list) land at random places of files that grow
//! with the chain; done in place as they come, they dirty pages all over those files, and
//! once the dirty pages outnumber what the kernel lets sit in memory, every page is written
//! back again and again (see `docs/schema.md`, "Write path"). Held here and written at the
//! commit in file order, each page is written at most once per batch.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::column::{load_u64, store_u64, Column};
use crate::overlay::Overlay;
use crate::schema::OutputRec;

/// A hasher for dense integer ids: one multiply (Fibonacci hashing), no per-key seed.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64)
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type IdBuild = BuildHasherDefault<IdHasher>;

/// Bytes one entry of a `HashMap<u64, u64>` takes, with its control byte and spare room.
const ENTRY_BYTES: u64 = 20;

/// The open batch's writes into committed records.
#[derive(Default)]
pub(crate) struct Deferred {
    /// New head of each committed address whose list the batch extended.
    heads: HashMap<u32, u64, IdBuild>,
    /// Spender of each committed output the batch spent.
    spends: HashMap<u64, u64, IdBuild>,
}

impl Deferred {
    /// The head of committed address `a` as the batch left it, if it moved it.
    #[inline]
    pub fn head(&self, a: u32) -> Option<u64> {
        self.heads.get(&a).copied()
    }

    /// Records that the batch moved the head of committed address `a` to output `o`.
    #[inline]
    pub fn set_head(&mut self, a: u32, o: u64) {
        self.heads.insert(a, o);
    }

    /// The input of the batch that spends committed output `o`, if one does.
    #[inline]
    pub fn spender(&self, o: u64) -> Option<u64> {
        self.spends.get(&o).copied()
    }

    /// Records that input `i` spends committed output `o`.
    #[inline]
    pub fn set_spender(&mut self, o: u64, i: u64) {
        self.spends.insert(o, i);
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        (self.heads.capacity() + self.spends.capacity()) as u64 * ENTRY_BYTES
    }

    /// Writes everything into the files, in file order, and empties itself. Every head is
    /// stored with `Release` after the records it points at (appended earlier), as a
    /// snapshot's walk back along the list needs; overlays of live snapshots get the head it
    /// replaces first (their copy-on-write).
    pub fn apply(&mut self, outputs: &mut Column<OutputRec>, heads: &mut Column<u64>, cow: &[Arc<Overlay>]) {
        let mut spends: Vec<(u64, u64)> = self.spends.drain().collect();
        spends.sort_unstable_by_key(|&(o, _)| o);
        let outs = outputs.as_mut_slice();
        for (o, i) in spends {
            store_u64(&mut outs[o as usize].spent_by, i, Ordering::Release);
        }
        let mut moved: Vec<(u32, u64)> = self.heads.drain().collect();
        moved.sort_unstable_by_key(|&(a, _)| a);
        let hs = heads.as_mut_slice();
        for (a, o) in moved {
            let word = &mut hs[a as usize];
            for ov in cow {
                ov.capture_head(a, load_u64(word, Ordering::Relaxed));
            }
            store_u64(word, o, Ordering::Release);
        }
        self.heads.shrink_to(0);
        self.spends.shrink_to(0);
    }
}
