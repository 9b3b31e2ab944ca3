//! [`Lookahead`]: runs prefetch steps over the keys a walk will take next, each step a fixed
//! number of keys ahead of the walk, the first step farthest. A step reads what the step
//! before it prefetched and prefetches the next links (`sleuth_index`'s `prefetch_*` steps),
//! so by the time the walk reaches a key, the records it reads are in cache, and the waits
//! for them overlapped with the walk's own work instead of following one another.

use super::queue::PendingQueue;

/// How many keys ahead of the walk each step runs, the first step first. Far enough for a
/// step's loads to arrive before the next step (a few hundred nanoseconds of the walk's work
/// per key), near enough that what they load is still in cache when read.
pub(crate) const DISTANCES: [usize; STEPS] = [32, 24, 16, 8];
/// Steps per key.
pub(crate) const STEPS: usize = 4;

/// Where each step is in the queue's sorted keys.
#[derive(Default)]
pub(crate) struct Lookahead {
    /// Per step: the bucket's generation and the lowest sorted position done (positions are
    /// read from the top down).
    done: [(u64, usize); STEPS],
}

impl Lookahead {
    /// Runs `step(s, key)` for every step `s` on every key that came within its distance
    /// since the last call (each key once per step), farthest step first.
    #[inline]
    pub fn run<T>(&mut self, queue: &PendingQueue<T>, mut step: impl FnMut(usize, u64)) {
        let (generation, len) = queue.sorted_len();
        for (s, (done_gen, done)) in self.done.iter_mut().enumerate() {
            if *done_gen != generation {
                *done_gen = generation;
                *done = len;
            }
            let from = len.saturating_sub(DISTANCES[s] + 1);
            for k in (from..(*done).min(len)).rev() {
                step(s, queue.sorted_key(k));
            }
            *done = (*done).min(from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reaches_every_step_once_in_order() {
        let mut q = PendingQueue::new(false);
        for k in 0..100u64 {
            q.push(k * 3, ());
        }
        let mut look = Lookahead::default();
        let mut seen: Vec<Vec<u64>> = vec![Vec::new(); STEPS];
        let mut popped = Vec::new();
        while q.peek().is_some() {
            look.run(&q, |s, k| seen[s].push(k));
            // The walk takes one or two keys per visit.
            for _ in 0..1 + popped.len() % 2 {
                if let Some((k, ())) = q.pop() {
                    popped.push(k);
                }
            }
        }
        for (s, keys) in seen.iter().enumerate() {
            assert_eq!(keys, &popped, "step {s} saw each key once, in the order taken");
        }
    }
}
