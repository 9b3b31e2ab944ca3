//! [`Pending`]: the open batch's hash-table inserts, held in memory until the commit writes
//! them into the table's file in slot order (`docs/schema.md`, "Write path").

use super::{prefetch, probe, ID_MASK};

/// The inserts of the open batch: ids `base..base + hashes.len()` in order, with an
/// in-memory open-addressing index over them in the file's slot format (24 bits of the hash,
/// id + 1), so that a lookup costs one cache miss before the key's confirmation.
pub(crate) struct Pending {
    pub(crate) base: u64,
    pub(crate) hashes: Vec<u64>,
    index: ZeroedSlots,
    /// The inserts it was presized for: a batch that grew past them gives the memory back at
    /// the commit, so that the next batch starts within the ingest's budget again.
    pub(crate) planned: usize,
}

/// Zeroed `u64` slots in anonymous memory, in transparent huge pages where the kernel allows
/// (`madvise`): the batch's table is probed at random, and with 4 KiB pages nearly every probe
/// of a table of hundreds of megabytes also misses the TLB.
struct ZeroedSlots(Option<memmap2::MmapMut>);

impl ZeroedSlots {
    fn new(len: usize) -> ZeroedSlots {
        if len == 0 {
            return ZeroedSlots(None);
        }
        let map = memmap2::MmapMut::map_anon(len * 8).expect("anonymous memory for the batch's table");
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        ZeroedSlots(Some(map))
    }
}

impl std::ops::Deref for ZeroedSlots {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        self.0.as_ref().map_or(&[], |m| bytemuck::cast_slice(&m[..]))
    }
}

impl std::ops::DerefMut for ZeroedSlots {
    fn deref_mut(&mut self) -> &mut [u64] {
        self.0.as_mut().map_or(&mut [], |m| bytemuck::cast_slice_mut(&mut m[..]))
    }
}

impl Pending {
    pub(crate) fn new(base: u64) -> Pending {
        Pending { base, hashes: Vec::new(), index: ZeroedSlots::new(0), planned: 0 }
    }

    pub(crate) fn bytes(&self) -> u64 {
        (self.hashes.capacity() + self.index.len()) as u64 * 8
    }

    /// What it will add when it next grows, if that is near (within a sixteenth of its
    /// slots' inserts): the ingest commits before a batch's tables outgrow its budget.
    pub(crate) fn growth_bytes(&self) -> u64 {
        let len = self.index.len();
        if len != 0 && self.hashes.len() * 16 >= len * 7 {
            (len + len / 2) as u64 * 8
        } else {
            0
        }
    }

    #[inline(always)]
    pub(crate) fn place(index: &mut [u64], hash: u64, id: u64) {
        let mask = index.len() as u64 - 1;
        let mut i = hash & mask;
        while index[i as usize] != 0 {
            i = (i + 1) & mask;
        }
        index[i as usize] = (hash & !ID_MASK) | (id + 1);
    }

    /// Empties it for the next batch, which starts at id `base`: with the room it was
    /// presized for, giving back what a batch grew it by.
    pub(crate) fn clear(&mut self, base: u64) {
        self.base = base;
        if self.hashes.is_empty() {
            return;
        }
        self.hashes.clear();
        if self.hashes.capacity() > self.planned {
            self.hashes = Vec::with_capacity(self.planned);
        }
        // Fresh pages: the kernel zeroes them as they are touched again.
        self.index = ZeroedSlots::new(self.index.len().min(Pending::slots_for(self.planned)));
    }

    /// The slots that hold `n` entries at most half full.
    pub(crate) fn slots_for(n: usize) -> usize {
        (n * 2).next_power_of_two().max(1 << 12)
    }

    /// Grows the index (rehashing) to hold `n` entries at most half full.
    pub(crate) fn presize(&mut self, n: usize) {
        let cap = Pending::slots_for(n);
        if cap <= self.index.len() {
            return;
        }
        self.hashes.reserve(n.saturating_sub(self.hashes.len()));
        self.index = ZeroedSlots::new(cap);
        for (e, &h) in self.hashes.iter().enumerate() {
            Pending::place(&mut self.index, h, self.base + e as u64);
        }
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, hash: u64, id: u64) {
        debug_assert_eq!(id, self.base + self.hashes.len() as u64, "ids are inserted in order");
        if (self.hashes.len() + 1) * 2 > self.index.len() {
            self.presize(self.index.len().max(1 << 11));
        }
        self.hashes.push(hash);
        Pending::place(&mut self.index, hash, id);
    }

    #[inline(always)]
    pub(crate) fn prefetch(&self, hash: u64) {
        if !self.index.is_empty() {
            prefetch(&self.index, (hash & (self.index.len() as u64 - 1)) as usize);
        }
    }

    #[inline(always)]
    pub(crate) fn get(&self, hash: u64, live: u64, is_key: &mut impl FnMut(u64) -> bool) -> Option<u64> {
        if self.index.is_empty() {
            return None;
        }
        probe(&self.index, hash, live, is_key)
    }
}
