//! [`IdHashTable`]: a memory-mapped open-addressing table from a key's hash to a dense id.
//!
//! The keys themselves are not stored: a slot holds 24 bits of the key's hash and the id,
//! and a hit is confirmed by comparing the key kept in the id's column (the txid in the
//! transaction column, say). That keeps the table at 8 bytes a slot.
//!
//! Crash safety needs no undo log: ids are dense, slots are never emptied and entries never
//! move, and a slot holding an id at or past the committed count is free for the writer and
//! passed over by readers, so every committed entry's probe sequence stays intact whether the
//! leftovers of an interrupted batch are there or not, and unwinding a reorg is lowering the
//! count.
//!
//! The lookups, inserts and prefetches here and in `segments.rs` are `#[inline(always)]`:
//! left to itself, rustc kept `SegmentedTable::get`, `insert` and `prefetch` out of line in
//! the writer's block loop, calling the key check through a closure each probe, and the 10M
//! ingest took 45 s instead of 28 s (`scripts/compare-ingest.sh`, same run).

use std::path::{Path, PathBuf};

use std::sync::atomic::Ordering;

use crate::column::{load_u64, store_u64, Column};
use crate::error::IndexError;

pub mod bloom;
mod pending;
mod segments;
use pending::Pending;
pub use segments::{MappedTable, SegmentMeta, SegmentedTable, TableSlots};

const ID_BITS: u32 = 40;
const ID_MASK: u64 = (1 << ID_BITS) - 1;
const MIN_SLOTS: u64 = 1 << 12;

/// Hash → id table; see the module documentation.
///
/// Inserts of the open batch wait in memory ([`Pending`]) and reach the file only at
/// [`IdHashTable::apply_pending`], in the order of their slots: a batch of random inserts
/// then writes each page of the file once, in file order, instead of dirtying pages at
/// random for the kernel to write back again and again (the cliff of an index whose tables
/// outgrow the page cache's dirty limit; see `docs/schema.md`, "Write path").
pub struct IdHashTable {
    path: PathBuf,
    /// The first id this table can hold: a table is one segment of a [`SegmentedTable`],
    /// holding the ids from the segment's first on.
    first: u64,
    slots: Column<u64>,
    mask: u64,
    pending: Pending,
    /// In-place mode for the open batch (a small table: see `IndexWriter`): inserts go
    /// straight to the file, `direct_len` of them so far, and `written` marks their slots.
    direct: bool,
    direct_len: u64,
    written: Vec<u64>,
    /// Whether the file may hold leftovers: ids at or past the committed count, of an
    /// interrupted, discarded or unwound batch. Without them every occupied slot is the
    /// committed one's or this batch's, so an insert takes the first empty slot and needs no
    /// `written` bitmap: at 10M transactions that bitmap (a bit a slot, 12 MiB over both
    /// tables) cost a cache and TLB miss per insert.
    leftovers: bool,
    /// One past the highest id ever written into the file (or `live` at open).
    high: u64,
}

#[inline(always)]
fn tag(hash: u64) -> u64 {
    hash >> ID_BITS
}

impl IdHashTable {
    /// Opens or creates the table file; the committed ids from `first` to `live` are in it.
    pub fn open(path: &Path, first: u64, live: u64) -> Result<IdHashTable, IndexError> {
        let size = std::fs::metadata(path).map(|m| m.len() / 8).unwrap_or(0);
        let slots = Column::open_full(path, size.max(MIN_SLOTS).next_power_of_two())?;
        // One sequential pass over the segment being written (at most 512 MiB): an id at or
        // past `live` is a leftover (`s & ID_MASK` is the id plus one).
        let leftovers = size > 0 && slots.all_slots().iter().any(|&s| s & ID_MASK > live);
        Ok(IdHashTable {
            path: path.to_owned(),
            first,
            mask: slots.capacity() - 1,
            slots,
            pending: Pending::new(live),
            direct: false,
            direct_len: 0,
            written: Vec::new(),
            leftovers,
            high: live,
        })
    }

    /// Number of slots.
    pub fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// The id whose key has `hash` and satisfies `is_key`, among ids below `live`: those of
    /// the open batch first (most lookups are of young keys), then the file's.
    #[inline(always)]
    pub fn get(&self, hash: u64, live: u64, mut is_key: impl FnMut(u64) -> bool) -> Option<u64> {
        if self.direct {
            return probe(self.slots.all_slots(), hash, live, is_key);
        }
        let base = self.pending.base;
        if live > base {
            if let Some(id) = self.pending.get(hash, live, &mut is_key) {
                return Some(id);
            }
        }
        probe(self.slots.all_slots(), hash, live.min(base), is_key)
    }

    /// Every slot, for a snapshot's lookups through the writer's own mapping.
    pub fn slots(&self) -> &[u64] {
        self.slots.all_slots()
    }

    /// Hints the CPU to load the slot where `hash` starts probing: the writer prefetches a
    /// whole block's lookups before doing them, so that the cache misses overlap.
    #[inline(always)]
    pub fn prefetch(&self, hash: u64) {
        if self.direct {
            // Past leftovers, an insert in place marks its slot in `written`.
            prefetch(&self.written, ((hash & self.mask) / 64) as usize);
        } else {
            self.pending.prefetch(hash);
        }
        self.slots.prefetch(hash & self.mask);
    }

    /// See [`Column::read_at_random`].
    pub fn read_at_random(&mut self) {
        self.slots.read_at_random();
    }

    /// Asks the kernel to read the file's page of the first slot of `hash` (see
    /// [`Column::will_need`]).
    pub fn will_need(&self, hash: u64) {
        self.slots.will_need(hash & self.mask);
    }

    /// Records `id` (which must be the next id: the count before it) under `hash`, in the
    /// open batch.
    #[inline(always)]
    pub fn insert(&mut self, hash: u64, id: u64) {
        debug_assert!(id < ID_MASK);
        if !self.direct {
            self.pending.push(hash, id);
            return;
        }
        debug_assert_eq!(id, self.pending.base + self.direct_len, "ids are inserted in order");
        let (base, leftovers) = (self.pending.base, self.leftovers);
        take_slot(self.slots.as_mut_slice(), leftovers.then_some(&mut self.written[..]), base, hash, id, &self.path);
        self.direct_len += 1;
        self.high = self.high.max(id + 1);
    }

    /// Puts the open batch, which must be empty, in place mode (`true`: inserts go straight
    /// to the file, for a table small enough that its random writes stay in the page cache
    /// until the commit) or in deferred mode. [`IdHashTable::reset_pending`] ends it.
    pub fn set_direct(&mut self, on: bool) {
        debug_assert!(self.pending.hashes.is_empty() && self.direct_len == 0);
        self.direct = on;
        self.written = if on && self.leftovers { slot_bits(self.mask) } else { Vec::new() };
        if on {
            // In place means the index is small next to memory: the segment is read at
            // random and its pages stay cached.
            self.slots.populate();
        }
    }

    /// Makes room in the open batch's in-memory table for `n` inserts.
    pub fn presize_pending(&mut self, n: u64) {
        self.pending.planned = n as usize;
        self.pending.presize(n as usize);
    }

    /// Bytes the open batch's inserts hold in memory, and will when the in-memory table next
    /// grows, if that is near.
    pub fn pending_bytes(&self) -> u64 {
        self.pending.bytes() + self.pending.growth_bytes()
    }

    /// Writes the open batch's inserts into the file, in slot order, and empties the batch.
    /// Each one goes to the first free slot of its probe sequence, where free means empty or
    /// holding an id at or past the committed count (`base`) that this pass did not write
    /// (the leftovers of an interrupted or unwound batch): readers keep every guarantee of
    /// [`probe`], since no entry moves and only free slots change.
    pub fn apply_pending(&mut self) {
        if self.pending.hashes.is_empty() {
            return;
        }
        let (base, hashes) = (self.pending.base, &self.pending.hashes);
        let n = hashes.len() as u64;
        let mask = self.mask;
        let order = slot_order(hashes, mask);
        let mut written = if self.leftovers { slot_bits(mask) } else { Vec::new() };
        let slots = self.slots.as_mut_slice();
        for (k, &e) in order.iter().enumerate() {
            // The hashes are read in slot order, not in their own: load them ahead.
            if let Some(&ahead) = order.get(k + 16) {
                prefetch(hashes, ahead as usize);
            }
            let reclaim = self.leftovers.then_some(&mut written[..]);
            take_slot(slots, reclaim, base, hashes[e as usize], base + e as u64, &self.path);
        }
        self.high = self.high.max(base + n);
        self.pending.clear(base + n);
    }

    /// Forgets the open batch's inserts and sets the committed count to `live` (after a
    /// commit that wrote them, or an unwind that lowered it).
    pub fn reset_pending(&mut self, live: u64) {
        // Ids written past `live` stay in the file as leftovers (a discard or an unwind).
        self.leftovers |= self.high > live;
        self.high = self.high.max(live);
        self.pending.clear(live);
        self.direct = false;
        self.direct_len = 0;
        self.written = Vec::new();
    }

    /// Grows the table (rebuilding it from `hash_of` for the committed ids) if `live_after`
    /// ids would fill more than half of it. The new table is written under a temporary name
    /// in slot order (the ids sorted by their first slot: 12 bytes an id in memory, each page
    /// written once) and renamed over the old one, whose inode snapshots keep.
    pub fn reserve(&mut self, live_after: u64, hash_of: impl Fn(u64) -> u64) -> Result<(), IndexError> {
        let first = self.first.min(live_after);
        if (live_after - first) * 2 <= self.capacity() {
            return Ok(());
        }
        let cap = ((live_after - first) * 2).next_power_of_two().max(MIN_SLOTS);
        // In place mode the batch's inserts are in the file too.
        let base = self.pending.base + self.direct_len;
        tracing::debug!(path = %self.path.display(), cap, base, "growing hash table");
        let mask = cap - 1;
        let tmp = self.path.with_extension("idx.tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut table = Column::<u64>::open_full(&tmp, cap)?;
        let hashes: Vec<u64> = (first..base.max(first)).map(&hash_of).collect();
        let order = slot_order(&hashes, mask);
        let slots = table.as_mut_slice();
        for e in order {
            take_empty_slot(slots, hashes[e as usize], first + e as u64, &tmp);
        }
        drop(hashes);
        table.flush()?;
        std::fs::rename(&tmp, &self.path).map_err(|e| IndexError::io(&self.path, e))?;
        crate::column::rename_path(&mut table, &self.path);
        self.mask = table.capacity() - 1;
        if self.slots.is_read_at_random() {
            table.read_at_random();
        }
        self.slots = table;
        // The rebuilt table holds no leftovers: every slot past the committed count is the
        // batch's own (in place mode).
        self.leftovers = false;
        self.high = base;
        self.written = Vec::new();
        Ok(())
    }

    /// Writes every change to disk.
    pub fn flush(&self) -> Result<(), IndexError> {
        self.slots.flush()
    }

    /// The committed count the open batch starts at.
    pub fn pending_base(&self) -> u64 {
        self.pending.base
    }

    /// Whether [`IdHashTable::read_at_random`] was called.
    pub fn is_read_at_random(&self) -> bool {
        self.slots.is_read_at_random()
    }

    /// Goes on in a new file at `path`, as a new segment holding the ids from `first` (the
    /// committed count) on, sized for `ids` of them; the old file is left as it is, frozen.
    /// The open batch must be empty.
    ///
    /// # Errors
    /// I/O errors.
    pub fn start_segment(&mut self, path: &Path, first: u64, ids: u64) -> Result<(), IndexError> {
        debug_assert!(self.pending.hashes.is_empty() && self.direct_len == 0 && self.pending.base == first);
        let _ = std::fs::remove_file(path);
        let mut slots = Column::<u64>::open_full(path, (ids * 2).next_power_of_two().max(MIN_SLOTS))?;
        slots.flush()?;
        if self.slots.is_read_at_random() {
            slots.read_at_random();
        }
        self.mask = slots.capacity() - 1;
        self.slots = slots;
        self.path = path.to_owned();
        self.first = first;
        self.leftovers = false;
        self.high = first;
        self.written = Vec::new();
        Ok(())
    }

    /// The first id this table can hold.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// Lowers the first id this table can hold to `keep` (a reorg unwound ids of older
    /// segments: the new branch's ids go into this one).
    pub fn lower_first(&mut self, keep: u64) {
        self.first = self.first.min(keep);
    }
}

/// A cleared bit per slot of a table of `mask + 1` slots.
fn slot_bits(mask: u64) -> Vec<u64> {
    vec![0; ((mask + 1) / 64).max(1) as usize]
}

/// Stores `id` under `hash` in the first free slot of its probe sequence and marks it in
/// `written` (a bit per slot): free means empty, or holding an id at or past the committed
/// count `base` that this batch did not write (a leftover of an interrupted or unwound batch,
/// whose id may equal one of this batch's after a reorg re-adds the same transactions).
/// No entry moves and only free slots change, so readers keep every guarantee of [`probe`].
#[inline(always)]
fn take_free_slot(slots: &mut [u64], written: &mut [u64], base: u64, hash: u64, id: u64, path: &Path) {
    let mask = slots.len() as u64 - 1;
    let mut i = hash & mask;
    for _ in 0..=mask {
        let s = slots[i as usize];
        let (w, bit) = ((i / 64) as usize, 1u64 << (i % 64));
        if s == 0 || ((s & ID_MASK) > base && written[w] & bit == 0) {
            store_u64(&mut slots[i as usize], (hash & !ID_MASK) | (id + 1), Ordering::Relaxed);
            written[w] |= bit;
            return;
        }
        i = (i + 1) & mask;
    }
    panic!("{}: no free slot for id {id} among {} (committed {base})", path.display(), mask + 1);
}

/// Stores `id` under `hash`: past the leftovers of the table if it may hold some (`written`,
/// a bit per slot: [`take_free_slot`]), else in the first empty slot ([`take_empty_slot`]).
#[inline(always)]
fn take_slot(slots: &mut [u64], written: Option<&mut [u64]>, base: u64, hash: u64, id: u64, path: &Path) {
    match written {
        Some(written) => take_free_slot(slots, written, base, hash, id, path),
        None => take_empty_slot(slots, hash, id, path),
    }
}

/// Stores `id` under `hash` in the first empty slot of its probe sequence: the insert of a
/// table without leftovers, where every occupied slot is taken for good.
#[inline(always)]
fn take_empty_slot(slots: &mut [u64], hash: u64, id: u64, path: &Path) {
    let mask = slots.len() as u64 - 1;
    let mut i = hash & mask;
    for _ in 0..=mask {
        if slots[i as usize] == 0 {
            store_u64(&mut slots[i as usize], (hash & !ID_MASK) | (id + 1), Ordering::Relaxed);
            return;
        }
        i = (i + 1) & mask;
    }
    panic!("{}: no free slot for id {id} among {}", path.display(), mask + 1);
}

/// Hints the CPU to load `v[i]` (a no-op off x86-64).
#[inline(always)]
pub(crate) fn prefetch(v: &[u64], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if i < v.len() {
        // SAFETY: prefetching is a hint; the pointer is in bounds.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(v.as_ptr().add(i).cast()) };
    }
}

/// The positions of `hashes` in the order of their first slots in a table of `mask + 1`
/// slots, to a few pages: a counting sort on the slot's top 16 bits (two sequential passes),
/// so that the writes that follow sweep the file once from start to end.
fn slot_order(hashes: &[u64], mask: u64) -> Vec<u32> {
    let bits = 64 - mask.leading_zeros();
    let shift = bits.saturating_sub(16);
    let bucket = |h: u64| ((h & mask) >> shift) as usize;
    let mut starts = vec![0u32; (1usize << bits.min(16)) + 1];
    for &h in hashes {
        starts[bucket(h) + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let mut order = vec![0u32; hashes.len()];
    for (e, &h) in hashes.iter().enumerate() {
        let b = bucket(h);
        order[starts[b] as usize] = e as u32;
        starts[b] += 1;
    }
    order
}

/// Looks `hash` up in a table's slots (a power-of-two count): the id below `live` whose key
/// satisfies `is_key`.
///
/// Only an empty slot ends a probe; one holding an id at or past `live` (later than the
/// reader's commit, or the leftover of an interrupted or unwound batch) is passed over. Slots
/// are never emptied and entries never move, so every slot between a key's first slot and its
/// own is occupied for good: the probe reaches it whatever the order ids were inserted in (a
/// batch is written in slot order, and a reorg may unwind to an id inside it). That also makes
/// it safe against a writer inserting at the same time, as a snapshot needs: the writer only
/// fills empty slots or overwrites ids at or past its committed count, so a slot that changes
/// under the probe changes from one value the reader passes over to another. Slots are read
/// with atomic loads for that reason.
#[inline(always)]
pub fn probe(slots: &[u64], hash: u64, live: u64, mut is_key: impl FnMut(u64) -> bool) -> Option<u64> {
    if slots.is_empty() {
        return None;
    }
    let mask = slots.len() as u64 - 1;
    let mut i = hash & mask;
    loop {
        let s = load_u64(&slots[i as usize], Ordering::Relaxed);
        if s == 0 {
            return None;
        }
        let id = (s & ID_MASK) - 1;
        if id < live && tag(s) == tag(hash) && is_key(id) {
            return Some(id);
        }
        i = (i + 1) & mask;
    }
}

/// The hash of a key that is already uniformly random (a txid or block hash).
#[inline(always)]
pub fn hash_random_key(key: &[u8; 32]) -> u64 {
    u64::from_le_bytes(key[..8].try_into().expect("8 bytes"))
}

/// A well-mixed hash of arbitrary bytes (address keys share their leading bytes).
#[inline(always)]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = (h ^ u64::from_le_bytes(c.try_into().expect("8 bytes"))).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 29;
    }
    for &b in chunks.remainder() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    // fmix64 from MurmurHash3.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests;
