//! [`Deferred`]: the open batch's writes into records already in the files, held in memory
//! until the commit writes them in file order.
//!
//! Appends go straight to the mapped columns: they fill pages in order, which the kernel
//! writes back once. A spender (`spent_by.col`, of the output an input spends) and the head of an
//! address list paid again land at random places of files that grow with the chain; done in
//! place as they come, they dirty pages all over those files, and once the dirty pages
//! outnumber what the kernel lets sit in memory, pages are written back again and again (see
//! `docs/schema.md`, "Write path"). Held here and written at the commit in file order, each
//! page is written at most once per batch.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::column::{load_u64, store_u64, Column};
use crate::overlay::Overlay;
use crate::schema::NONE64;

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

/// Bytes one entry of a `HashMap<u32, u64>` takes, with its control byte and spare room.
const ENTRY_BYTES: u64 = 24;

/// The open batch's writes into records already in the files: every spender, and every head
/// of an address list the batch extends (a new address's first head is appended with it).
/// A batch of tens of millions of transactions spans gigabytes of outputs itself, so even
/// writes into the batch's own records are random at that scale.
#[derive(Default)]
pub(crate) struct Deferred {
    /// New head of each address the batch paid again.
    heads: HashMap<u32, u64, IdBuild>,
    /// One bit per output: spent by an input of the batch. The spenders themselves are the
    /// batch's inputs column (`inputs[i]` is the output input `i` spends), scattered into
    /// `spent_by` at the commit.
    spent: Vec<u64>,
}

impl Deferred {
    /// The head of address `a` as the batch left it, if it moved it.
    #[inline]
    pub fn head(&self, a: u32) -> Option<u64> {
        self.heads.get(&a).copied()
    }

    /// Records that the batch moved the head of address `a` to output `o`.
    #[inline]
    pub fn set_head(&mut self, a: u32, o: u64) {
        self.heads.insert(a, o);
    }

    /// Whether an input of the batch spends output `o`.
    #[inline]
    pub fn is_spent(&self, o: u64) -> bool {
        self.spent.get((o / 64) as usize).is_some_and(|w| w & (1 << (o % 64)) != 0)
    }

    /// Records that an input of the batch spends output `o`.
    #[inline]
    pub fn set_spent(&mut self, o: u64) {
        let w = (o / 64) as usize;
        if w >= self.spent.len() {
            self.spent.resize((w + 1).next_power_of_two(), 0);
        }
        self.spent[w] |= 1 << (o % 64);
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.heads.capacity() as u64 * ENTRY_BYTES + self.spent.capacity() as u64 * 8
    }

    /// Writes everything into the files, in file order, and empties itself: the spender of
    /// every output the batch's inputs (`inputs[first_input..]`) spend, then the heads. A
    /// spender is stored after its input (appended earlier), a head with `Release` after the
    /// records it points at, as snapshots need; overlays of live snapshots get the head it
    /// replaces first (their copy-on-write).
    pub fn apply(
        &mut self,
        inputs: &Column<u64>,
        first_input: u64,
        spent_by: &mut Column<u64>,
        heads: &mut Column<u64>,
        cow: &[Arc<Overlay>],
    ) {
        let spends = &inputs.as_slice()[first_input as usize..];
        let outs = spent_by.as_mut_slice();
        let order = spend_order(spends, outs.len() as u64);
        for (j, &k) in order.iter().enumerate() {
            // The inputs are read in the order of the outputs they spend: load them ahead.
            if let Some(&ahead) = order.get(j + 16) {
                crate::hashtable::prefetch(spends, ahead as usize);
            }
            let (i, o) = (first_input + k as u64, spends[k as usize]);
            store_u64(&mut outs[o as usize], i, Ordering::Release);
            self.spent[(o / 64) as usize] &= !(1 << (o % 64));
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
    }
}

/// The positions of `spends` (outputs, or `NONE64` for a coinbase) in the order of the
/// outputs' pages, to within 1/65536 of `n_outputs`: a counting sort in two sequential passes.
fn spend_order(spends: &[u64], n_outputs: u64) -> Vec<u32> {
    let shift = (64 - n_outputs.max(1).leading_zeros()).saturating_sub(16);
    let buckets = ((n_outputs >> shift) + 2) as usize;
    let mut starts = vec![0u32; buckets + 1];
    for &o in spends.iter().filter(|&&o| o != NONE64) {
        starts[(o >> shift) as usize + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let mut order = vec![0u32; starts[buckets] as usize];
    for (k, &o) in spends.iter().enumerate().filter(|(_, &o)| o != NONE64) {
        let b = (o >> shift) as usize;
        order[starts[b] as usize] = k as u32;
        starts[b] += 1;
    }
    order
}
