//! [`SegmentedTable`]: a hash table split by id range into segments, the newest written and
//! the older ones frozen, each frozen one behind a Bloom filter.
//!
//! One table over the whole chain puts young keys at random places of a file that grows with
//! the chain, so the whole file must stay in the page cache for lookups of young keys (most
//! lookups: most coins are spent young) to stay fast, and every commit rewrites pages all over
//! it. Split by id range, the young keys are all in the newest segment, which stays small
//! enough to keep in memory, and a commit writes only it. A frozen segment is never written
//! again; a lookup that misses the newest segment asks the frozen ones newest first, each only
//! where its filter ([`super::bloom`]) says the key may be, so a key that is nowhere (a new
//! address: most outputs) reads nothing but the filters. See `docs/schema.md`, "Segments".
//!
//! Files: `<name>.<seq>.idx` holds segment `seq`'s slots, `<name>.<seq>.bloom` the filter of a
//! frozen one; `meta.json` lists the segments of each table (their `seq` and first id), the
//! last one being the one written. A freeze writes the filter and the next segment's file
//! before the commit's `meta.json` names them, so a crash in between leaves files no commit
//! names, removed at the next open.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{bloom, probe, IdHashTable};
use crate::error::IndexError;
use crate::mapped::MappedFile;

/// Ids a segment takes before it is frozen at the next commit: 15/16 of 2^25, so that with
/// the sixteenth more a batch may overshoot by ([`SegmentedTable::segment_end`]) the segment
/// being written spans 2^26 slots (512 MiB) at most half full. See `docs/schema.md`.
pub const DEFAULT_SEGMENT_IDS: u64 = (1 << 25) / 16 * 15;

/// One segment of a table, as `meta.json` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentMeta {
    /// Its number, in its file names.
    pub seq: u32,
    /// The first id it can hold; the next segment's first id ends it, except after a reorg
    /// unwound ids of an older segment (then the newest segment holds the new ones).
    pub first: u64,
}

impl SegmentMeta {
    /// The segments of a new table.
    pub fn initial() -> Vec<SegmentMeta> {
        vec![SegmentMeta { seq: 0, first: 0 }]
    }
}

fn slots_path(dir: &Path, name: &str, seq: u32) -> PathBuf {
    dir.join(format!("{name}.{seq}.idx"))
}

fn bloom_path(dir: &Path, name: &str, seq: u32) -> PathBuf {
    dir.join(format!("{name}.{seq}.bloom"))
}

/// A frozen segment mapped read-only: its slots and its filter.
pub struct Frozen {
    first: u64,
    slots: MappedFile<u64>,
    bloom: MappedFile<u64>,
}

impl Frozen {
    /// Maps frozen segment `seg` of table `name` in `dir`.
    ///
    /// # Errors
    /// I/O errors, and [`IndexError::Corrupt`] for a table that is no power of two of slots
    /// or a filter that is no whole number of blocks.
    pub fn open(dir: &Path, name: &str, seg: SegmentMeta) -> Result<Frozen, IndexError> {
        let slots = open_slots(&slots_path(dir, name, seg.seq))?;
        let path = bloom_path(dir, name, seg.seq);
        let bloom = MappedFile::<u64>::open(&path, 1)?;
        if !bloom::valid_len(bloom.slots().len()) {
            return Err(IndexError::Corrupt {
                path,
                what: format!("{} words are no whole number of filter blocks", bloom.slots().len()),
            });
        }
        Ok(Frozen { first: seg.first, slots, bloom })
    }
}

/// Maps a segment's slots read-only.
///
/// # Errors
/// I/O errors, and [`IndexError::Corrupt`] if the slots are no power of two.
pub fn open_slots(path: &Path) -> Result<MappedFile<u64>, IndexError> {
    let t = MappedFile::open(path, 0)?;
    let n = t.slots().len();
    if n != 0 && !n.is_power_of_two() {
        return Err(IndexError::Corrupt { path: path.to_owned(), what: format!("{n} slots is not a power of two") });
    }
    Ok(t)
}

/// A table as a reader sees it: the newest segment's slots and the frozen segments.
#[derive(Clone, Copy)]
pub struct TableSlots<'a> {
    /// The slots of the segment written last.
    pub active: &'a [u64],
    /// The frozen segments, oldest first.
    pub frozen: &'a [Frozen],
}

impl TableSlots<'_> {
    /// The id below `live` whose key has `hash` and satisfies `is_key`: the newest segment
    /// first, then the frozen ones newest first, each where its filter allows.
    #[inline(always)]
    pub fn find(&self, hash: u64, live: u64, mut is_key: impl FnMut(u64) -> bool) -> Option<u64> {
        probe(self.active, hash, live, &mut is_key).or_else(|| find_frozen(self.frozen, hash, live, &mut is_key))
    }
}

/// [`TableSlots::find`] in the frozen segments alone.
#[inline(always)]
fn find_frozen(frozen: &[Frozen], hash: u64, live: u64, is_key: &mut impl FnMut(u64) -> bool) -> Option<u64> {
    frozen
        .iter()
        .rev()
        .filter(|f| f.first < live && bloom::may_contain(f.bloom.slots(), hash))
        .find_map(|f| probe(f.slots.slots(), hash, live, &mut *is_key))
}

/// A table mapped read-only for a snapshot: the segments one commit names.
pub struct MappedTable {
    active: MappedFile<u64>,
    frozen: Vec<Frozen>,
}

impl MappedTable {
    /// Maps the segments `segs` of table `name` (the last one written).
    ///
    /// # Errors
    /// As [`Frozen::open`].
    pub fn open(dir: &Path, name: &str, segs: &[SegmentMeta]) -> Result<MappedTable, IndexError> {
        let (last, older) = segs.split_last().ok_or_else(|| IndexError::Corrupt {
            path: dir.join("meta.json"),
            what: format!("table {name} has no segments"),
        })?;
        let frozen = older.iter().map(|&s| Frozen::open(dir, name, s)).collect::<Result<Vec<_>, _>>()?;
        Ok(MappedTable { active: open_slots(&slots_path(dir, name, last.seq))?, frozen })
    }

    /// The table's slots.
    pub fn view(&self) -> TableSlots<'_> {
        TableSlots { active: self.active.slots(), frozen: &self.frozen }
    }
}

/// A table of the writer: the segment it writes ([`IdHashTable`]) and the frozen ones.
pub struct SegmentedTable {
    dir: PathBuf,
    name: &'static str,
    active: IdHashTable,
    active_seq: u32,
    frozen: Vec<Frozen>,
    frozen_meta: Vec<SegmentMeta>,
    segment_ids: u64,
    /// The id count the ingest expects the table to reach: a new segment is sized for it.
    planned: u64,
}

impl SegmentedTable {
    /// Opens table `name` in `dir` with the segments `segs` (from `meta.json`; the last is
    /// written) and `live` committed ids, and removes a segment a crash left unnamed.
    ///
    /// # Errors
    /// As [`Frozen::open`].
    pub fn open(dir: &Path, name: &'static str, segs: &[SegmentMeta], live: u64) -> Result<SegmentedTable, IndexError> {
        let (last, older) = segs.split_last().ok_or_else(|| IndexError::Corrupt {
            path: dir.join("meta.json"),
            what: format!("table {name} has no segments"),
        })?;
        // A freeze the crash cut short: its filter and the next segment's file, named by no
        // commit (a reader opens only what a commit names).
        for stale in [bloom_path(dir, name, last.seq), slots_path(dir, name, last.seq + 1)] {
            match std::fs::remove_file(&stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(IndexError::io(&stale, e)),
                _ => {}
            }
        }
        Ok(SegmentedTable {
            active: IdHashTable::open(&slots_path(dir, name, last.seq), last.first, live)?,
            active_seq: last.seq,
            frozen: older.iter().map(|&s| Frozen::open(dir, name, s)).collect::<Result<_, _>>()?,
            frozen_meta: older.to_vec(),
            dir: dir.to_owned(),
            name,
            segment_ids: DEFAULT_SEGMENT_IDS,
            planned: 0,
        })
    }

    /// The segments, for `meta.json`.
    pub fn segments(&self) -> Vec<SegmentMeta> {
        let mut v = self.frozen_meta.clone();
        v.push(SegmentMeta { seq: self.active_seq, first: self.active.first() });
        v
    }

    /// Ids a segment takes before it is frozen ([`DEFAULT_SEGMENT_IDS`]; tests freeze small
    /// ones).
    pub fn set_segment_ids(&mut self, n: u64) {
        self.segment_ids = n.max(1);
    }

    /// The id count the ingest expects the table to reach, for sizing the next segment.
    pub fn set_planned(&mut self, ids: u64) {
        self.planned = ids;
    }

    /// The segment being written: inserts, the open batch and its commit go to it
    /// ([`IdHashTable::insert`], [`IdHashTable::apply_pending`], ...).
    pub fn active(&mut self) -> &mut IdHashTable {
        &mut self.active
    }

    /// As [`IdHashTable::insert`].
    #[inline(always)]
    pub fn insert(&mut self, hash: u64, id: u64) {
        self.active.insert(hash, id);
    }

    /// As [`IdHashTable::reserve`], for the segment being written.
    ///
    /// # Errors
    /// I/O errors.
    pub fn reserve(&mut self, live_after: u64, hash_of: impl Fn(u64) -> u64) -> Result<(), IndexError> {
        self.active.reserve(live_after, hash_of)
    }

    /// Slots of the segment being written: the one that is written at random.
    pub fn capacity(&self) -> u64 {
        self.active.capacity()
    }

    /// Writes the segment being written to disk (the frozen ones were, when frozen).
    ///
    /// # Errors
    /// I/O errors.
    pub fn flush(&self) -> Result<(), IndexError> {
        self.active.flush()
    }

    /// As [`IdHashTable::pending_bytes`].
    pub fn pending_bytes(&self) -> u64 {
        self.active.pending_bytes()
    }

    /// The table as a reader of the writer's own files sees it.
    pub fn view(&self) -> TableSlots<'_> {
        TableSlots { active: self.active.slots(), frozen: &self.frozen }
    }

    /// As [`IdHashTable::get`], then in the frozen segments.
    #[inline(always)]
    pub fn get(&self, hash: u64, live: u64, mut is_key: impl FnMut(u64) -> bool) -> Option<u64> {
        let base = live.min(self.active.pending_base());
        self.active.get(hash, live, &mut is_key).or_else(|| find_frozen(&self.frozen, hash, base, &mut is_key))
    }

    /// As [`IdHashTable::prefetch`], and the frozen segments' filter blocks.
    #[inline(always)]
    pub fn prefetch(&self, hash: u64) {
        self.active.prefetch(hash);
        for f in &self.frozen {
            bloom::prefetch(f.bloom.slots(), hash);
        }
    }

    /// As [`IdHashTable::will_need`], and the page of each frozen segment whose filter may
    /// hold the key.
    pub fn will_need(&self, hash: u64) {
        self.active.will_need(hash);
        for f in &self.frozen {
            if bloom::may_contain(f.bloom.slots(), hash) {
                let slots = f.slots.slots();
                if !slots.is_empty() {
                    f.slots.will_need(hash & (slots.len() as u64 - 1));
                }
            }
        }
    }

    /// See [`crate::column::Column::read_at_random`].
    pub fn read_at_random(&mut self) {
        self.active.read_at_random();
        for f in &self.frozen {
            f.slots.read_at_random();
        }
    }

    /// Whether the segment being written holds at least its share of ids (`len` being the
    /// id count, open batch included): the batch is then committed, and the commit freezes it.
    pub fn is_full(&self, len: u64) -> bool {
        len.saturating_sub(self.active.first()) >= self.segment_ids
    }

    /// The id count at which the segment being written is sized to stop: its share of ids and
    /// a sixteenth more (the batch that fills it ends with the block that does).
    pub fn segment_end(&self) -> u64 {
        self.active.first() + self.segment_ids + self.segment_ids / 16
    }

    /// Lowers the written segment's first id to `keep` after a reorg unwound to it.
    pub fn unwound_to(&mut self, keep: u64) {
        self.active.lower_first(keep);
    }

    /// At a commit, after the batch's inserts are written: freezes the written segment if it
    /// holds its share of the `live` committed ids — writes its filter (of `hash_of` of each
    /// of its ids) and starts the next segment's file, both durable before the commit's
    /// `meta.json` names them ([`SegmentedTable::segments`]). Returns whether it froze.
    ///
    /// # Errors
    /// I/O errors.
    pub fn freeze_if_full(&mut self, live: u64, hash_of: impl Fn(u64) -> u64) -> Result<bool, IndexError> {
        let first = self.active.first();
        if !self.is_full(live) {
            return Ok(false);
        }
        let started = std::time::Instant::now();
        let mut words = vec![0u64; bloom::words_for(live - first)];
        for id in first..live {
            bloom::insert(&mut words, hash_of(id));
        }
        let path = bloom_path(&self.dir, self.name, self.active_seq);
        sleuth_durable::write_atomic(&path, bytemuck::cast_slice(&words)).map_err(|e| IndexError::io(&path, e))?;
        self.active.flush()?;
        let seg = SegmentMeta { seq: self.active_seq, first };
        let frozen = Frozen::open(&self.dir, self.name, seg)?;
        let next = slots_path(&self.dir, self.name, self.active_seq + 1);
        let ids = self.planned.saturating_sub(live).clamp(1, self.segment_ids + self.segment_ids / 16);
        self.active.start_segment(&next, live, ids)?;
        if self.active.is_read_at_random() {
            frozen.slots.read_at_random();
        }
        self.frozen.push(frozen);
        self.frozen_meta.push(seg);
        self.active_seq += 1;
        tracing::debug!(table = self.name, seq = seg.seq, first, live, took = ?started.elapsed(), "froze a table segment");
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(id: u64) -> u64 {
        id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5555
    }

    #[test]
    fn lookups_find_every_id_across_frozen_segments_and_readers_see_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let mut segs = SegmentMeta::initial();
        let mut live = 0u64;
        let mut t = SegmentedTable::open(dir.path(), "t", &segs, 0).unwrap();
        t.set_segment_ids(1000);
        let mut froze = 0;
        // Commits of 300 ids: the segment is frozen at the commit that reaches 1000.
        for _ in 0..12 {
            for id in live..live + 300 {
                t.active().insert(hash(id), id);
            }
            live += 300;
            t.active().apply_pending();
            t.active().reset_pending(live);
            froze += u32::from(t.freeze_if_full(live, hash).unwrap());
            segs = t.segments();
        }
        assert_eq!(froze, 3, "1200, 2400 and 3600 ids: a freeze each");
        assert_eq!(segs.iter().map(|s| s.first).collect::<Vec<_>>(), vec![0, 1200, 2400, 3600]);
        for id in 0..live {
            assert_eq!(t.get(hash(id), live, |i| i == id), Some(id));
        }
        assert_eq!(t.get(hash(live + 5), live, |_| true), None, "an id never inserted");
        // Pinned below a freeze, an id past the pin is not found.
        assert_eq!(t.get(hash(2000), 1500, |i| i == 2000), None);
        drop(t);
        let mapped = MappedTable::open(dir.path(), "t", &segs).unwrap();
        let view = mapped.view();
        assert!((0..live).all(|id| view.find(hash(id), live, |i| i == id) == Some(id)));
        // Reopened, the writer keeps its segments.
        let t = SegmentedTable::open(dir.path(), "t", &segs, live).unwrap();
        assert!((0..live).all(|id| t.get(hash(id), live, |i| i == id) == Some(id)));
        assert_eq!(t.segments(), segs);
    }

    #[test]
    fn a_reorg_into_a_frozen_segment_puts_the_new_ids_in_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = SegmentedTable::open(dir.path(), "t", &SegmentMeta::initial(), 0).unwrap();
        t.set_segment_ids(100);
        for id in 0..150 {
            t.active().insert(hash(id), id);
        }
        t.active().apply_pending();
        t.active().reset_pending(150);
        assert!(t.freeze_if_full(150, hash).unwrap());
        // Unwind to 120 (inside the frozen segment) and add other keys at 120..160.
        t.unwound_to(120);
        t.active().reset_pending(120);
        let other = |id: u64| hash(id + 1_000_000);
        for id in 120..160 {
            t.active().insert(other(id), id);
        }
        t.active().apply_pending();
        t.active().reset_pending(160);
        assert_eq!(t.segments()[1].first, 120);
        // The new keys are found; the unwound ones only where the key still confirms.
        assert!((120..160).all(|id| t.get(other(id), 160, |i| i == id) == Some(id)));
        assert!((0..120).all(|id| t.get(hash(id), 160, |i| i == id) == Some(id)));
        assert_eq!(t.get(hash(130), 160, |_| false), None);
        assert!(!t.freeze_if_full(160, other).unwrap(), "40 ids since the unwind: not full");
    }
}
