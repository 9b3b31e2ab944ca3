//! [`Endpoints`]: the taint a walk stopped, summed per endpoint (an address and why it
//! stopped there) as it stops.
//!
//! A wide forward trace stops at over a million addresses, one random place per stop. A
//! general hash map of the sums spent a tenth of such a trace waiting for its entries; this
//! table finds an address's entry through one 8-byte slot (eight to a cache line) that the walk
//! prefetches when it reads the output a few transactions ahead, and keeps the sums in a
//! vector in the order they were first reached.

use sleuth_index::{prefetch, AddrId, TxNum};

use super::report::StopReason;
use super::taint::N;

/// No address (dust summed under `min-sat`, outputs without one).
const NO_ADDR: u32 = u32::MAX;

/// Taint summed at one endpoint.
pub(crate) struct EndAcc {
    pub amounts: [u64; N],
    /// The transaction of the first arrival (forward) or of the coin (backward).
    pub tx: TxNum,
    pub hops: u32,
    pub coinjoin: bool,
    pub why: StopReason,
    addr: u32,
    /// The address's next endpoint (another reason) + 1, 0 for none: as in the slots.
    next: u32,
}

impl EndAcc {
    /// The address, if any.
    pub fn addr(&self) -> Option<AddrId> {
        (self.addr != NO_ADDR).then(|| AddrId::new(self.addr))
    }
}

/// Endpoints by address and reason.
pub(crate) struct Endpoints {
    /// Open addressing on the address, linear probing: (address, its first entry + 1), 0 for
    /// an empty slot.
    slots: Vec<(u32, u32)>,
    entries: Vec<EndAcc>,
}

impl Default for Endpoints {
    fn default() -> Endpoints {
        Endpoints { slots: vec![(0, 0); 1024], entries: Vec::new() }
    }
}

impl Endpoints {
    #[inline]
    fn home(&self, addr: u32) -> usize {
        // Fibonacci hashing: the top bits of the product spread dense ids over the table.
        let h = (addr as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> (64 - self.slots.len().trailing_zeros())) as usize
    }

    /// Hints the CPU to load the slot where `addr`'s endpoints are found.
    #[inline]
    pub fn prefetch(&self, addr: AddrId) {
        prefetch(&self.slots[self.home(addr.get())]);
    }

    /// The endpoint of `addr` for `why`, made (with nothing summed, first reached by `tx`) if
    /// there is none yet.
    pub fn entry(&mut self, addr: Option<AddrId>, why: StopReason, tx: TxNum, hops: u32, cj: bool) -> &mut EndAcc {
        if self.entries.len() * 2 >= self.slots.len() {
            self.grow();
        }
        let a = addr.map_or(NO_ADDR, AddrId::get);
        let mask = self.slots.len() - 1;
        let mut s = self.home(a);
        while self.slots[s].1 != 0 && self.slots[s].0 != a {
            s = (s + 1) & mask;
        }
        let first = self.slots[s].1;
        let mut e = first;
        while e != 0 {
            let k = e as usize - 1;
            if self.entries[k].why == why {
                return &mut self.entries[k];
            }
            e = self.entries[k].next;
        }
        let k = self.entries.len();
        self.entries.push(EndAcc { amounts: [0; N], tx, hops, coinjoin: cj, why, addr: a, next: first });
        self.slots[s] = (a, k as u32 + 1);
        &mut self.entries[k]
    }

    fn grow(&mut self) {
        let doubled = vec![(0, 0); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        for (a, first) in old.into_iter().filter(|s| s.1 != 0) {
            let mut s = self.home(a);
            while self.slots[s].1 != 0 {
                s = (s + 1) & mask;
            }
            self.slots[s] = (a, first);
        }
    }

    /// Endpoints reached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every endpoint, in the order first reached.
    pub fn iter(&self) -> std::slice::Iter<'_, EndAcc> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_per_address_and_reason_across_growth() {
        let mut e = Endpoints::default();
        let tx = TxNum::new(7);
        for round in 0..3u64 {
            for a in 0..5_000u32 {
                let why = if a % 3 == 0 { StopReason::Service } else { StopReason::Unspent };
                e.entry(Some(AddrId::new(a * 4_099)), why, tx, 1, false).amounts[0] += a as u64 + round;
                if a % 7 == 0 {
                    e.entry(Some(AddrId::new(a * 4_099)), StopReason::MaxHops, tx, 1, false).amounts[1] += 1;
                }
            }
            e.entry(None, StopReason::MinSat, tx, 1, false).amounts[2] += 5;
        }
        assert_eq!(e.len(), 5_000 + 715 + 1);
        for x in e.iter() {
            match (x.addr(), x.why) {
                (None, why) => assert_eq!((why, x.amounts[2]), (StopReason::MinSat, 15)),
                (Some(a), StopReason::MaxHops) => assert_eq!((a.get() / 4_099 % 7, x.amounts[1]), (0, 3)),
                (Some(a), why) => {
                    let k = a.get() / 4_099;
                    assert_eq!(why == StopReason::Service, k % 3 == 0);
                    assert_eq!(x.amounts[0], 3 * k as u64 + 3);
                }
            }
        }
    }
}
