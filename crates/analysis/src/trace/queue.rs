//! [`MonotoneQueue`]: the walks' work list. Keys (input or output numbers) are taken in
//! order, and every key added is past the one being taken, so one small binary heap holds the
//! current window of keys and later keys wait in unsorted buckets: the heap stays small and
//! in cache however wide the walk's frontier is (a binary heap of millions of entries spent
//! most of a wide walk in cache misses).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// Keys per bucket (as a power of two).
const BUCKET_BITS: u32 = 14;

/// Smallest-first queue of `u64` keys that only grows past the smallest key taken, or (with
/// `descending`) largest-first, only growing below the largest key taken.
pub(crate) struct MonotoneQueue {
    descending: bool,
    current: Option<u64>,
    heap: BinaryHeap<Reverse<u64>>,
    later: BTreeMap<u64, Vec<u64>>,
}

impl MonotoneQueue {
    pub fn new(descending: bool) -> MonotoneQueue {
        MonotoneQueue { descending, current: None, heap: BinaryHeap::new(), later: BTreeMap::new() }
    }

    /// The key as the heap orders it (smallest first either way).
    #[inline]
    fn order(&self, k: u64) -> u64 {
        if self.descending {
            u64::MAX - k
        } else {
            k
        }
    }

    pub fn push(&mut self, key: u64) {
        let k = self.order(key);
        let b = k >> BUCKET_BITS;
        if self.current == Some(b) {
            self.heap.push(Reverse(k));
        } else {
            debug_assert!(self.current.is_none_or(|c| b > c), "keys only grow");
            self.later.entry(b).or_default().push(k);
        }
    }

    pub fn pop(&mut self) -> Option<u64> {
        loop {
            if let Some(Reverse(k)) = self.heap.pop() {
                return Some(self.order(k));
            }
            let (b, keys) = self.later.pop_first()?;
            self.current = Some(b);
            self.heap = keys.into_iter().map(Reverse).collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_keys_in_order_in_both_directions() {
        let mut q = MonotoneQueue::new(false);
        for k in [50_000u64, 3, 70_000, 3, 20] {
            q.push(k);
        }
        assert_eq!(q.pop(), Some(3));
        q.push(25);
        q.push(1 << 20);
        let rest: Vec<u64> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(rest, [3, 20, 25, 50_000, 70_000, 1 << 20]);
        let mut q = MonotoneQueue::new(true);
        for k in [5u64, 90_000, 7] {
            q.push(k);
        }
        assert_eq!(q.pop(), Some(90_000));
        q.push(6);
        let rest: Vec<u64> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(rest, [7, 6, 5]);
    }
}
