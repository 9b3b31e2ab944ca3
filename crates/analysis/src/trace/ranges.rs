//! [`Ranges`]: which satoshis of a coin are tainted, as sorted, disjoint, half-open runs of
//! positions. FIFO and LIFO follow taint at satoshi precision with them. Most tainted coins
//! are tainted whole or in one run, so those hold no heap allocation.

/// Sorted, disjoint, non-adjacent runs `[start, end)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ranges(Inner);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Inner {
    #[default]
    Empty,
    One(u64, u64),
    Many(Vec<(u64, u64)>),
}

impl Ranges {
    /// The whole of a coin worth `v`.
    pub fn whole(v: u64) -> Ranges {
        if v == 0 {
            Ranges(Inner::Empty)
        } else {
            Ranges(Inner::One(0, v))
        }
    }

    /// Whether nothing is tainted.
    pub fn is_empty(&self) -> bool {
        matches!(self.0, Inner::Empty)
    }

    /// The runs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        type Run = (u64, u64);
        let (one, many): (Option<Run>, &[Run]) = match &self.0 {
            Inner::Empty => (None, &[]),
            Inner::One(s, e) => (Some((*s, *e)), &[]),
            Inner::Many(v) => (None, v),
        };
        one.into_iter().chain(many.iter().copied())
    }

    /// Satoshis tainted.
    pub fn total(&self) -> u64 {
        self.iter().map(|(s, e)| e - s).sum()
    }

    /// Appends a run that starts at or after the end of the last one (merging if adjacent).
    pub fn push(&mut self, s: u64, e: u64) {
        if s >= e {
            return;
        }
        match &mut self.0 {
            Inner::Empty => self.0 = Inner::One(s, e),
            Inner::One(a, b) => {
                debug_assert!(s >= *b, "runs are pushed in order");
                if s == *b {
                    *b = e;
                } else {
                    self.0 = Inner::Many(vec![(*a, *b), (s, e)]);
                }
            }
            Inner::Many(v) => {
                let last = v.last_mut().expect("Many holds two runs or more");
                debug_assert!(s >= last.1, "runs are pushed in order");
                if s == last.1 {
                    last.1 = e;
                } else {
                    v.push((s, e));
                }
            }
        }
    }

    /// The part within `[lo, hi)`, shifted to start at 0.
    pub fn window(&self, lo: u64, hi: u64) -> Ranges {
        let mut out = Ranges::default();
        for (s, e) in self.iter() {
            if e <= lo {
                continue;
            }
            if s >= hi {
                break;
            }
            out.push(s.max(lo) - lo, e.min(hi) - lo);
        }
        out
    }

    /// The union with `other` (both of the same coin).
    pub fn union(&self, other: &Ranges) -> Ranges {
        let mut all: Vec<(u64, u64)> = self.iter().chain(other.iter()).collect();
        all.sort_unstable();
        let mut out = Ranges::default();
        let mut cur: Option<(u64, u64)> = None;
        for (s, e) in all {
            cur = match cur {
                Some((a, b)) if s <= b => Some((a, b.max(e))),
                Some((a, b)) => {
                    out.push(a, b);
                    Some((s, e))
                }
                None => Some((s, e)),
            };
        }
        if let Some((a, b)) = cur {
            out.push(a, b);
        }
        out
    }

    /// Forgets every tainted satoshi.
    pub fn clear(&mut self) {
        self.0 = Inner::Empty;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_unions_keep_runs_sorted_and_merged() {
        let mut r = Ranges::default();
        r.push(0, 3);
        r.push(3, 5);
        r.push(8, 10);
        assert_eq!(r.iter().collect::<Vec<_>>(), [(0, 5), (8, 10)]);
        assert_eq!(r.total(), 7);
        assert_eq!(r.window(4, 9).iter().collect::<Vec<_>>(), [(0, 1), (4, 5)]);
        let u = r.union(&Ranges::whole(6));
        assert_eq!(u.iter().collect::<Vec<_>>(), [(0, 6), (8, 10)]);
    }
}
