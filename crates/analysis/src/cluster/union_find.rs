//! Union-find over address ids: path halving and union by size, in one flat array.

/// What [`UnionFind::set_counts`] counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetCounts {
    /// Sets.
    pub sets: u64,
    /// Sets of two or more elements.
    pub multi: u64,
    /// Elements in the largest set.
    pub largest: u64,
}

/// Disjoint sets of `0..n`. Each element's parent link and (meaningful at roots) its set's
/// size sit side by side, so that the union by size reads the sizes from the cache lines the
/// finds just loaded: separate arrays cost two more cache misses per union.
#[derive(Debug, Clone, Default)]
pub struct UnionFind {
    /// `[parent, size]` per element.
    nodes: Vec<[u32; 2]>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> UnionFind {
        UnionFind { nodes: (0..n as u32).map(|i| [i, 1]).collect() }
    }

    /// Sets from a fully compressed parent array (every element's entry is its root, as
    /// saved by [`UnionFind::into_roots`]).
    pub fn from_parents(parent: Vec<u32>) -> UnionFind {
        let mut nodes: Vec<[u32; 2]> = parent.iter().map(|&p| [p, 0]).collect();
        for &root in &parent {
            nodes[root as usize][1] += 1;
        }
        let mut uf = UnionFind { nodes };
        // Any other parent array: a root's count above was split over its path; recount.
        if parent.iter().any(|&p| parent[p as usize] != p) {
            let mut size = vec![0u32; parent.len()];
            for i in 0..parent.len() as u32 {
                size[uf.find(i) as usize] += 1;
            }
            for (node, s) in uf.nodes.iter_mut().zip(size) {
                node[1] = s;
            }
        }
        uf
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Adds singletons up to `n` elements.
    pub fn grow(&mut self, n: usize) {
        let old = self.nodes.len();
        if n > old {
            self.nodes.extend((old as u32..n as u32).map(|i| [i, 1]));
        }
    }

    /// Hints the CPU to load `x`'s parent link.
    #[inline]
    pub fn prefetch(&self, x: u32) {
        if let Some(p) = self.nodes.get(x as usize) {
            sleuth_index::prefetch(p);
        }
    }

    /// The representative of `x`'s set.
    #[inline]
    pub fn find(&mut self, mut x: u32) -> u32 {
        loop {
            let p = self.nodes[x as usize][0];
            if p == x {
                return x;
            }
            let grandparent = self.nodes[p as usize][0];
            self.nodes[x as usize][0] = grandparent;
            x = grandparent;
        }
    }

    /// Joins the sets of `a` and `b`; `false` if they were one already.
    #[inline]
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        self.union_roots(ra, rb);
        true
    }

    /// Joins the sets of roots `ra != rb` (as [`UnionFind::find`] returns them).
    #[inline]
    pub fn union_roots(&mut self, ra: u32, rb: u32) {
        let (size_a, size_b) = (self.nodes[ra as usize][1], self.nodes[rb as usize][1]);
        let (big, small) = if size_a >= size_b { (ra, rb) } else { (rb, ra) };
        self.nodes[small as usize][0] = big;
        self.nodes[big as usize][1] = size_a + size_b;
    }

    /// Size of `x`'s set.
    pub fn set_size(&mut self, x: u32) -> u32 {
        let r = self.find(x);
        self.nodes[r as usize][1]
    }

    /// How many sets there are, how many of them have two or more elements, and the size of
    /// the largest: one sequential pass (a set's size is kept at its root).
    pub fn set_counts(&self) -> SetCounts {
        let mut counts = SetCounts::default();
        for (i, &[p, size]) in self.nodes.iter().enumerate() {
            if p == i as u32 {
                counts.sets += 1;
                counts.multi += u64::from(size > 1);
                counts.largest = counts.largest.max(u64::from(size));
            }
        }
        counts
    }

    /// Every element's representative, flattened.
    pub fn into_roots(self) -> Vec<u32> {
        self.roots_and_counts(1).0
    }

    /// Every element's representative, and [`UnionFind::set_counts`], found by `threads`
    /// threads over consecutive ranges of elements (the walks up only read the links, so
    /// they share them; each thread writes its own range of the answer).
    pub fn roots_and_counts(&self, threads: usize) -> (Vec<u32>, SetCounts) {
        let n = self.nodes.len();
        let mut roots = vec![0u32; n];
        let per = n.div_ceil(threads.max(1)).max(1);
        let nodes = &self.nodes;
        let counts = std::thread::scope(|s| {
            let parts: Vec<_> = roots
                .chunks_mut(per)
                .enumerate()
                .map(|(k, out)| {
                    s.spawn(move || {
                        let mut counts = SetCounts::default();
                        for (j, root) in out.iter_mut().enumerate() {
                            let i = (k * per + j) as u32;
                            let mut x = i;
                            while nodes[x as usize][0] != x {
                                x = nodes[x as usize][0];
                            }
                            *root = x;
                            if x == i {
                                let size = nodes[x as usize][1];
                                counts.sets += 1;
                                counts.multi += u64::from(size > 1);
                                counts.largest = counts.largest.max(u64::from(size));
                            }
                        }
                        counts
                    })
                })
                .collect();
            parts.into_iter().fold(SetCounts::default(), |a, p| {
                let b = p.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                SetCounts { sets: a.sets + b.sets, multi: a.multi + b.multi, largest: a.largest.max(b.largest) }
            })
        });
        (roots, counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_and_roots() {
        let mut uf = UnionFind::new(6);
        assert!(uf.union(0, 1));
        assert!(uf.union(2, 3));
        assert!(!uf.union(1, 0));
        assert!(uf.union(1, 3));
        assert_eq!(uf.set_size(2), 4);
        assert_eq!(uf.set_counts(), SetCounts { sets: 3, multi: 1, largest: 4 });
        let roots = uf.clone().into_roots();
        for threads in [1, 2, 5, 9] {
            assert_eq!(uf.roots_and_counts(threads), (roots.clone(), uf.set_counts()), "{threads} threads");
        }
        assert!(roots[..4].iter().all(|&r| r == roots[0]));
        assert_ne!(roots[4], roots[0]);
        let mut again = UnionFind::from_parents(roots);
        assert_eq!(again.set_size(0), 4);
        assert_eq!(again.set_counts(), SetCounts { sets: 3, multi: 1, largest: 4 });
        // A parent array that is not fully compressed: 0 <- 1 <- 2, and 3 alone.
        let mut chained = UnionFind::from_parents(vec![0, 0, 1, 3]);
        assert_eq!((chained.set_size(2), chained.set_size(3)), (3, 1));
        again.grow(8);
        assert_eq!(again.set_size(7), 1);
    }
}
