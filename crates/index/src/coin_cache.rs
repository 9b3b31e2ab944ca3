//! [`CoinCache`]: the writer's in-memory copy of the unspent outputs it appended itself, so
//! that an input spending one is resolved without reading the index.
//!
//! Resolving an input through the index reads three records at random (the txid's slot,
//! the spent transaction's record to confirm the txid, the spent output's record for its
//! value and address) and a fourth for the double-spend check (its spender). Once the index
//! outgrows the page cache each of those is a disk read: on the 10M chain with 2.75 GB of
//! RAM left, 57 % of the writer's page faults were in `txs.col`, `outputs.col`,
//! `inputs.col`, `spent_by.col` and the txid table ("Reads once the index outgrows memory"
//! in `docs/schema.md`). Most coins are spent from a set of unspent outputs much smaller than
//! the index (at 10M transactions 4.3M of 23.4M outputs are unspent), so an entry per
//! unspent output, with the full outpoint as its key (never a hash alone: a collision would
//! spend the wrong coin), answers most inputs from memory, as Bitcoin Core's coins cache
//! (`-dbcache`) does.
//!
//! The cache only ever holds outputs that are unspent in the writer's state (committed and
//! open batch): an output is put in when appended and taken out when spent, and everything is
//! dropped when the writer's state goes back (a discarded batch, an unwind). A miss falls back
//! to the index, which stays the truth: the cache changes how fast an input is resolved, never
//! what it resolves to. Coinbases' outputs are not put in (BIP30's historical duplicate txids
//! are coinbases: which copy an input spends is the index's to say), and a txid seen twice is
//! dropped. When the cache reaches its memory budget it keeps the newer half of its coins
//! (young coins are spent soonest). The writer keeps it only once its lookups read the disk
//! ([`CoinCacheUse::WhenCold`]): the figures are in `docs/schema.md`.

use crate::schema::{OutputRec, SpentRec};

/// When the writer keeps its [`CoinCache`] ([`crate::ingest::IngestOptions::coin_cache`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CoinCacheUse {
    /// Once the writer's lookups read the disk (it then reads its files at random): in
    /// memory the index's own pages answer as fast, and the cache's inserts cost 40 % of a
    /// 10M ingest; past memory it saves most of the spends' disk reads.
    #[default]
    WhenCold,
    /// From the first block (tests, and benchmarks of the cache itself).
    Always,
    /// Never.
    Off,
}

/// One slot: a 64-byte line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Slot {
    txid: [u8; 32],
    vout: u32,
    addr: u32,
    value: u64,
    /// Output number + 1 in the low 56 bits (0: the slot is empty), script kind above.
    out_kind: u64,
    /// The key's hash: where the slot's probe starts.
    hash: u64,
    _pad: u64,
}

const EMPTY: Slot = Slot { txid: [0; 32], vout: 0, addr: 0, value: 0, out_kind: 0, hash: 0, _pad: 0 };

const OUT_BITS: u32 = 56;
const OUT_MASK: u64 = (1 << OUT_BITS) - 1;

/// Slots the cache starts with once on.
const FIRST_SLOTS: usize = 1 << 16;

/// The writer's cache of unspent outputs (see the module's documentation).
#[derive(Default)]
pub(crate) struct CoinCache {
    slots: Vec<Slot>,
    len: usize,
    /// Bytes the slots may take; 0: off.
    budget: u64,
    hits: u64,
    misses: u64,
    /// Mixed into every key's hash: txids are chosen by whoever makes the transactions, and
    /// without a secret one could grind many into one probe run and slow the ingest down.
    seed: u64,
}

impl CoinCache {
    /// Where the probe for `txid:vout` starts (before masking).
    #[inline(always)]
    fn hash_of(&self, txid: &[u8; 32], vout: u32) -> u64 {
        let k = u64::from_le_bytes(txid[..8].try_into().expect("8 bytes")) ^ u64::from(vout).rotate_left(32);
        let h = (k ^ self.seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^ (h >> 29)
    }

    /// Sets the memory the cache may take, in bytes (0 turns it off and empties it).
    pub fn set_budget(&mut self, bytes: u64) {
        if self.seed == 0 {
            use std::hash::BuildHasher;
            self.seed = std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1;
        }
        self.budget = bytes;
        if bytes < (FIRST_SLOTS * std::mem::size_of::<Slot>()) as u64 {
            *self = CoinCache { seed: self.seed, ..CoinCache::default() };
        } else if self.bytes() > bytes {
            self.slots = Vec::new();
            self.len = 0;
        }
    }

    /// Whether the cache is on.
    #[inline]
    pub fn is_on(&self) -> bool {
        self.budget > 0
    }

    /// Forgets every coin (the writer's state went back).
    pub fn clear(&mut self) {
        if self.len > 0 {
            self.slots.fill(EMPTY);
            self.len = 0;
        }
    }

    /// Bytes the cache may take (0: off).
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        (self.slots.capacity() * std::mem::size_of::<Slot>()) as u64
    }

    /// Inputs resolved from the cache, and not while it held coins, since the writer opened.
    pub fn hits_misses(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    #[inline(always)]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Asks the CPU for the slot where the outpoint's probe starts.
    #[inline(always)]
    pub fn prefetch(&self, txid: &[u8; 32], vout: u32) {
        if self.len == 0 {
            return;
        }
        let i = self.hash_of(txid, vout) as usize & self.mask();
        #[cfg(target_arch = "x86_64")]
        // SAFETY: prefetching is a hint; the pointer is in bounds.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(self.slots.as_ptr().add(i).cast())
        };
    }

    /// The slot holding the outpoint, if any.
    #[inline(always)]
    fn find(&self, txid: &[u8; 32], vout: u32, h: u64) -> Option<usize> {
        let mask = self.mask();
        let mut i = h as usize & mask;
        loop {
            let s = &self.slots[i];
            if s.out_kind == 0 {
                return None;
            }
            if s.hash == h && s.vout == vout && s.txid == *txid {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Takes the unspent output `txid:vout` out of the cache: its number and what its
    /// spender copies, or `None` if the cache does not hold it (ask the index).
    #[inline]
    pub fn take(&mut self, txid: &[u8; 32], vout: u32) -> Option<(u64, SpentRec)> {
        // Empty (off, or not yet filled): not a miss of the cache, which holds nothing yet.
        if self.len == 0 {
            return None;
        }
        let h = self.hash_of(txid, vout);
        let Some(i) = self.find(txid, vout, h) else {
            self.misses += 1;
            return None;
        };
        self.hits += 1;
        let s = self.slots[i];
        self.remove_at(i);
        let rec = SpentRec { value: s.value, addr: s.addr, kind: (s.out_kind >> OUT_BITS) as u8, _pad: [0; 3] };
        Some(((s.out_kind & OUT_MASK) - 1, rec))
    }

    /// Puts output `o` (`txid:vout`, record `rec`), just appended and unspent, in the cache.
    #[inline]
    pub fn insert(&mut self, txid: &[u8; 32], vout: u32, o: u64, rec: &OutputRec) {
        if !self.is_on() {
            return;
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.make_room();
        }
        let h = self.hash_of(txid, vout);
        let mask = self.mask();
        let mut i = h as usize & mask;
        loop {
            let s = &self.slots[i];
            if s.out_kind == 0 {
                break;
            }
            if s.hash == h && s.vout == vout && s.txid == *txid {
                // A txid seen again: which of the two an input means is the index's to say.
                self.remove_at(i);
                return;
            }
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot {
            txid: *txid,
            vout,
            addr: rec.addr,
            value: rec.value,
            out_kind: ((o + 1) & OUT_MASK) | (u64::from(rec.kind) << OUT_BITS),
            hash: h,
            _pad: 0,
        };
        self.len += 1;
    }

    /// Empties slot `i`, moving later slots of the same run back (no tombstones).
    fn remove_at(&mut self, mut i: usize) {
        let mask = self.mask();
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s.out_kind == 0 {
                break;
            }
            let home = s.hash as usize & mask;
            // Slot j may move to i unless its home lies cyclically in (i, j].
            let stays = if i <= j { i < home && home <= j } else { i < home || home <= j };
            if !stays {
                self.slots[i] = s;
                i = j;
            }
        }
        self.slots[i] = EMPTY;
        self.len -= 1;
    }

    /// Doubles the slots if the budget allows, or else keeps the newer half of the coins.
    #[cold]
    fn make_room(&mut self) {
        let size = std::mem::size_of::<Slot>() as u64;
        let next = (self.slots.len() * 2).max(FIRST_SLOTS);
        let keep: Vec<Slot> = if next as u64 * size <= self.budget {
            let old = std::mem::take(&mut self.slots);
            self.slots = vec![EMPTY; next];
            old.into_iter().filter(|s| s.out_kind != 0).collect()
        } else {
            let mut outs: Vec<u64> =
                self.slots.iter().filter(|s| s.out_kind != 0).map(|s| s.out_kind & OUT_MASK).collect();
            let mid = outs.len() / 2;
            let cutoff = *outs.select_nth_unstable(mid).1;
            drop(outs);
            let keep = self.slots.iter().filter(|s| s.out_kind & OUT_MASK >= cutoff).copied().collect();
            self.slots.fill(EMPTY);
            tracing::debug!(coins = self.len, "coin cache full: the older half of its coins dropped");
            keep
        };
        self.len = 0;
        let mask = self.mask();
        for s in keep {
            let mut i = s.hash as usize & mask;
            while self.slots[i].out_kind != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
            self.len += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn rec(value: u64, addr: u32, kind: u8) -> OutputRec {
        OutputRec { value, prev_same_addr: 0, addr, kind, _pad: [0; 3] }
    }

    fn txid(n: u64) -> [u8; 32] {
        let mut t = [0u8; 32];
        // Pairs of txids sharing their first 8 bytes (and so their hash), so that only the
        // rest tells them apart.
        t[..8].copy_from_slice(&(n / 2).to_le_bytes());
        t[8..16].copy_from_slice(&n.to_le_bytes());
        t
    }

    /// Inserts and takes in a pseudo-random order against a map, through growth, eviction
    /// and removals that shift runs back: every answer is the map's or a miss after eviction,
    /// never another coin.
    #[test]
    fn answers_like_a_map_or_not_at_all() {
        let mut c = CoinCache::default();
        c.set_budget((FIRST_SLOTS * 64 * 2) as u64);
        let mut truth: HashMap<([u8; 32], u32), (u64, u64)> = HashMap::new();
        let mut x = 0x1234_5678_u64;
        let mut o = 0u64;
        let (mut hits, mut evicted) = (0, 0);
        for round in 0..400_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 5 < 3 || truth.is_empty() {
                let key = (txid(round), (x % 4) as u32);
                c.insert(&key.0, key.1, o, &rec(o * 7, (o % 1000) as u32, (o % 9) as u8));
                truth.insert(key, (o, o * 7));
                o += 1;
            } else {
                let r = x % round.max(1);
                for vout in 0..4 {
                    let key = (txid(r), vout);
                    let got = c.take(&key.0, key.1);
                    match (got, truth.remove(&key)) {
                        (Some((go, gr)), Some((to, tv))) => {
                            assert_eq!((go, gr.value, gr.addr, gr.kind), (to, tv, (to % 1000) as u32, (to % 9) as u8));
                            hits += 1;
                        }
                        (None, Some(_)) => evicted += 1,
                        (Some(g), None) => panic!("a coin never put in or already taken: {:?}", g.0),
                        (None, None) => {}
                    }
                }
            }
        }
        assert!(hits > 10_000, "{hits}");
        assert!(evicted > 0, "the budget was never reached");
        assert!(c.bytes() <= (FIRST_SLOTS * 64 * 2) as u64);
    }

    #[test]
    fn a_txid_seen_twice_is_left_to_the_index() {
        let mut c = CoinCache::default();
        c.set_budget(1 << 30);
        let t = txid(9);
        c.insert(&t, 0, 5, &rec(1, 2, 3));
        c.insert(&t, 0, 8, &rec(1, 2, 3));
        assert_eq!(c.take(&t, 0), None);
        c.insert(&t, 1, 6, &rec(4, 5, 6));
        assert_eq!(c.take(&t, 1).map(|(o, r)| (o, r.value)), Some((6, 4)));
        assert_eq!(c.take(&t, 1), None, "taken once");
    }

    #[test]
    fn off_holds_nothing() {
        let mut c = CoinCache::default();
        c.insert(&txid(1), 0, 1, &rec(1, 1, 1));
        assert_eq!(c.take(&txid(1), 0), None);
        assert_eq!(c.bytes(), 0);
    }
}
