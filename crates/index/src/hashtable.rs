//! [`IdHashTable`]: a memory-mapped open-addressing table from a key's hash to a dense id.
//!
//! The keys themselves are not stored: a slot holds 24 bits of the key's hash and the id,
//! and a hit is confirmed by comparing the key kept in the id's column (the txid in the
//! transaction column, say). That keeps the table at 8 bytes a slot.
//!
//! Crash safety needs no undo log: ids are dense and handed out in insertion order, so "a
//! slot whose id is not below the committed count is free" keeps every committed entry's
//! probe sequence intact whether the leftovers of an interrupted batch are there or not, and
//! unwinding a reorg is lowering the count.

use std::path::{Path, PathBuf};

use std::sync::atomic::Ordering;

use crate::column::{load_u64, store_u64, Column};
use crate::error::IndexError;

const ID_BITS: u32 = 40;
const ID_MASK: u64 = (1 << ID_BITS) - 1;
const MIN_SLOTS: u64 = 1 << 12;

/// Hash → id table; see the module documentation.
pub struct IdHashTable {
    path: PathBuf,
    slots: Column<u64>,
    mask: u64,
}

#[inline]
fn tag(hash: u64) -> u64 {
    hash >> ID_BITS
}

impl IdHashTable {
    /// Opens or creates the table file.
    pub fn open(path: &Path) -> Result<IdHashTable, IndexError> {
        let size = std::fs::metadata(path).map(|m| m.len() / 8).unwrap_or(0);
        let slots = Column::open_full(path, size.max(MIN_SLOTS).next_power_of_two())?;
        Ok(IdHashTable { path: path.to_owned(), mask: slots.capacity() - 1, slots })
    }

    /// Number of slots.
    pub fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// The id whose key has `hash` and satisfies `is_key`, among ids below `live`.
    #[inline]
    pub fn get(&self, hash: u64, live: u64, is_key: impl FnMut(u64) -> bool) -> Option<u64> {
        probe(self.slots.all_slots(), hash, live, is_key)
    }

    /// Every slot, for a snapshot's lookups through the writer's own mapping.
    pub fn slots(&self) -> &[u64] {
        self.slots.all_slots()
    }

    /// Hints the CPU to load the slot where `hash` starts probing: the writer prefetches a
    /// whole block's lookups before doing them, so that the cache misses overlap.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        self.slots.prefetch(hash & self.mask);
    }

    /// Records `id` (which must equal `live`, the count before it) under `hash`. Call
    /// [`IdHashTable::reserve`] first so that the table has room.
    #[inline]
    pub fn insert(&mut self, hash: u64, id: u64) {
        debug_assert!(id < ID_MASK);
        let mut i = hash & self.mask;
        loop {
            let s = self.slots.get(i);
            if s == 0 || (s & ID_MASK) > id {
                store_u64(self.slots.get_mut(i), (hash & !ID_MASK) | (id + 1), Ordering::Relaxed);
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Grows the table (rebuilding it from `hash_of` for ids below `live`) if `live_after`
    /// ids would fill more than half of it.
    pub fn reserve(&mut self, live: u64, live_after: u64, hash_of: impl Fn(u64) -> u64) -> Result<(), IndexError> {
        if live_after * 2 <= self.capacity() {
            return Ok(());
        }
        let cap = (live_after * 2).next_power_of_two().max(MIN_SLOTS);
        tracing::debug!(path = %self.path.display(), cap, "growing hash table");
        let tmp = self.path.with_extension("idx.tmp");
        let _ = std::fs::remove_file(&tmp);
        let slots = Column::open_full(&tmp, cap)?;
        let mut table = IdHashTable { path: tmp.clone(), mask: slots.capacity() - 1, slots };
        for id in 0..live {
            table.insert(hash_of(id), id);
        }
        table.slots.flush()?;
        std::fs::rename(&tmp, &self.path).map_err(|e| IndexError::io(&self.path, e))?;
        table.path = self.path.clone();
        *self = table;
        Ok(())
    }

    /// Writes every change to disk.
    pub fn flush(&self) -> Result<(), IndexError> {
        self.slots.flush()
    }
}

/// Looks `hash` up in a table's slots (a power-of-two count): the id below `live` whose key
/// satisfies `is_key`.
///
/// Safe against a writer inserting at the same time, as a snapshot needs: the writer only
/// fills slots that are empty or hold an id at or past its own committed count, and never
/// moves an entry, so every slot on a committed entry's probe sequence keeps an id below it;
/// a slot that changes under the probe changes from one "free for this reader" value (0 or an
/// id ≥ `live`) to another. Slots are read with atomic loads for that reason.
#[inline]
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
        if id >= live {
            return None;
        }
        if tag(s) == tag(hash) && is_key(id) {
            return Some(id);
        }
        i = (i + 1) & mask;
    }
}

/// The hash of a key that is already uniformly random (a txid or block hash).
#[inline]
pub fn hash_random_key(key: &[u8; 32]) -> u64 {
    u64::from_le_bytes(key[..8].try_into().expect("8 bytes"))
}

/// A well-mixed hash of arbitrary bytes (address keys share their leading bytes).
#[inline]
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
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_stored_and_forgets_ids_past_live() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = IdHashTable::open(&dir.path().join("t.idx")).unwrap();
        let keys: Vec<u64> = (0..20_000u64).map(|k| hash_bytes(&k.to_le_bytes())).collect();
        for (id, &h) in keys.iter().enumerate() {
            t.reserve(id as u64, id as u64 + 1, |i| keys[i as usize]).unwrap();
            t.insert(h, id as u64);
        }
        for (id, &h) in keys.iter().enumerate() {
            assert_eq!(t.get(h, keys.len() as u64, |i| keys[i as usize] == h), Some(id as u64));
        }
        // Unwind to 10,000 ids and insert others: the old ones are gone, the rest remain.
        let live = 10_000u64;
        for (id, &h) in keys.iter().enumerate() {
            let found = t.get(h, live, |i| keys[i as usize] == h);
            assert_eq!(found, (id < live as usize).then_some(id as u64));
        }
        let other: Vec<u64> = (0..5_000u64).map(|k| hash_bytes(&(k + 1_000_000).to_le_bytes())).collect();
        for (j, &h) in other.iter().enumerate() {
            t.insert(h, live + j as u64);
        }
        let all = live + other.len() as u64;
        let key_of = |i: u64| if i < live { keys[i as usize] } else { other[(i - live) as usize] };
        for id in 0..all {
            let h = key_of(id);
            assert_eq!(t.get(h, all, |i| key_of(i) == h), Some(id));
        }
    }
}
