//! [`PendingQueue`]: the walks' work list, holding each tainted coin's taint until the walk
//! reaches the transaction that takes it (its spender forward, its creator backward).
//!
//! Keys (input numbers forward, output numbers backward) are taken in order, and every key
//! added is past the one being taken. So later keys wait, with their taint, in buckets of
//! consecutive keys that are only appended to; a bucket is sorted once when the walk reaches
//! it, and read in order; keys added to the bucket being read go to a small heap. Every
//! access is to memory just written or about to be read in order: the walk's frontier (up to
//! millions of coins in a wide trace) costs no random access at all, where a hash map of
//! pending coins cost a cache miss on every insert and every removal (a fifth of a wide
//! forward trace), and a binary heap of millions of keys as much again.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};

/// Keys per bucket (as a power of two).
const BUCKET_BITS: u32 = 14;

/// An entry of the current bucket's heap: smallest ordered key on top, ordered by key only.
struct Early<T>(u64, T);

impl<T> PartialEq for Early<T> {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl<T> Eq for Early<T> {}
impl<T> PartialOrd for Early<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Early<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.cmp(&self.0)
    }
}

/// Smallest-first queue of `u64` keys with a payload each, that only grows past the smallest
/// key taken; or (with `descending`) largest-first, only growing below the largest key taken.
/// Equal keys may be pushed more than once; they come out one after another.
pub(crate) struct PendingQueue<T> {
    descending: bool,
    /// The bucket being read (of ordered keys).
    current: Option<u64>,
    /// Its entries by ordered key, largest first: the next one is the last.
    sorted: Vec<(u64, T)>,
    /// Entries pushed into it after it was sorted.
    early: BinaryHeap<Early<T>>,
    /// Later buckets, unsorted.
    later: BTreeMap<u64, Vec<(u64, T)>>,
    /// Buckets sorted so far: tells a [`Lookahead`](super::prefetch::Lookahead) that the
    /// sorted entries were replaced.
    generation: u64,
}

impl<T> PendingQueue<T> {
    pub fn new(descending: bool) -> PendingQueue<T> {
        PendingQueue {
            descending,
            current: None,
            sorted: Vec::new(),
            early: BinaryHeap::new(),
            later: BTreeMap::new(),
            generation: 0,
        }
    }

    /// The key as the queue orders it (smallest first either way); its own inverse.
    #[inline]
    fn order(&self, k: u64) -> u64 {
        if self.descending {
            u64::MAX - k
        } else {
            k
        }
    }

    pub fn push(&mut self, key: u64, value: T) {
        let k = self.order(key);
        let b = k >> BUCKET_BITS;
        // A peek may have moved on to a later bucket while keys of the one before it are still
        // being added: those go to the heap too, which is read before the sorted ones.
        if self.current.is_some_and(|c| b <= c) {
            self.early.push(Early(k, value));
        } else {
            self.later.entry(b).or_default().push((k, value));
        }
    }

    /// Makes the current bucket hold the next entry, if there is one.
    fn fill(&mut self) -> bool {
        while self.sorted.is_empty() && self.early.is_empty() {
            let Some((b, mut entries)) = self.later.pop_first() else { return false };
            entries.sort_unstable_by_key(|e| Reverse(e.0));
            self.current = Some(b);
            self.sorted = entries;
            self.generation += 1;
        }
        true
    }

    /// The next key (the smallest, or the largest with `descending`).
    pub fn peek(&mut self) -> Option<u64> {
        if !self.fill() {
            return None;
        }
        let s = self.sorted.last().map(|e| e.0);
        let e = self.early.peek().map(|e| e.0);
        let k = match (s, e) {
            (Some(s), Some(e)) => s.min(e),
            (s, e) => s.or(e)?,
        };
        Some(self.order(k))
    }

    /// Takes the next entry.
    pub fn pop(&mut self) -> Option<(u64, T)> {
        if !self.fill() {
            return None;
        }
        let from_sorted = match (self.sorted.last(), self.early.peek()) {
            (Some(s), Some(e)) => s.0 <= e.0,
            (s, _) => s.is_some(),
        };
        let (k, v) = if from_sorted {
            self.sorted.pop().expect("checked")
        } else {
            let Early(k, v) = self.early.pop().expect("checked");
            (k, v)
        };
        Some((self.order(k), v))
    }

    /// The sorted entries still to be read, as (the bucket's generation, how many): entry
    /// `k` of them ([`PendingQueue::sorted_key`]) is read after every entry above `k`. Keys
    /// pushed into the current bucket since it was sorted are not among them.
    #[inline]
    pub fn sorted_len(&self) -> (u64, usize) {
        (self.generation, self.sorted.len())
    }

    /// Key `k` of the sorted entries (`k` below [`PendingQueue::sorted_len`]).
    #[inline]
    pub fn sorted_key(&self, k: usize) -> u64 {
        self.order(self.sorted[k].0)
    }

    /// Every entry still waiting, in no particular order.
    pub fn drain(self) -> impl Iterator<Item = (u64, T)> {
        let PendingQueue { descending, sorted, early, later, .. } = self;
        let order = move |k: u64| if descending { u64::MAX - k } else { k };
        sorted
            .into_iter()
            .chain(early.into_iter().map(|Early(k, v)| (k, v)))
            .chain(later.into_values().flatten())
            .map(move |(k, v)| (order(k), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_keys_in_order_in_both_directions_with_their_values() {
        let mut q = PendingQueue::new(false);
        for k in [50_000u64, 3, 70_000, 3, 20] {
            q.push(k, k * 10);
        }
        assert_eq!(q.peek(), Some(3));
        assert_eq!(q.pop(), Some((3, 30)));
        q.push(25, 250);
        q.push(4, 40);
        q.push(1 << 20, 0);
        let (_, n) = q.sorted_len();
        assert_eq!(q.sorted_key(n - 2), 20, "the sorted entries past the next one (3)");
        let rest: Vec<(u64, u64)> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(rest, [(3, 30), (4, 40), (20, 200), (25, 250), (50_000, 500_000), (70_000, 700_000), (1 << 20, 0)]);
        let mut q = PendingQueue::new(true);
        for k in [5u64, 90_000, 7] {
            q.push(k, ());
        }
        assert_eq!(q.pop().map(|e| e.0), Some(90_000));
        q.push(6, ());
        q.push(89_999, ());
        let rest: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|e| e.0).collect();
        assert_eq!(rest, [89_999, 7, 6, 5]);
    }

    #[test]
    fn a_key_below_the_bucket_a_peek_moved_on_to_still_comes_first() {
        let mut q = PendingQueue::new(false);
        q.push(10, ());
        q.push(3 << BUCKET_BITS, ());
        assert_eq!(q.pop().map(|e| e.0), Some(10));
        // The first bucket is empty: the peek loads the next one.
        assert_eq!(q.peek(), Some(3 << BUCKET_BITS));
        q.push(11, ());
        q.push(2 << BUCKET_BITS, ());
        let rest: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|e| e.0).collect();
        assert_eq!(rest, [11, 2 << BUCKET_BITS, 3 << BUCKET_BITS]);
    }

    #[test]
    fn drain_returns_every_entry_left() {
        let mut q = PendingQueue::new(true);
        for k in [1u64, 2, 100_000, 3] {
            q.push(k, k);
        }
        assert_eq!(q.pop(), Some((100_000, 100_000)));
        q.push(2, 2);
        let mut left: Vec<(u64, u64)> = q.drain().collect();
        left.sort();
        assert_eq!(left, [(1, 1), (2, 2), (2, 2), (3, 3)]);
    }
}
