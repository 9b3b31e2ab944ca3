//! Union-find over address ids: path halving and union by size, in flat `u32` arrays.

/// Disjoint sets of `0..n`.
#[derive(Debug, Clone, Default)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> UnionFind {
        UnionFind { parent: (0..n as u32).collect(), size: vec![1; n] }
    }

    /// Sets from a parent array (as saved by [`UnionFind::into_roots`]).
    pub fn from_parents(parent: Vec<u32>) -> UnionFind {
        let mut size = vec![0u32; parent.len()];
        let mut uf = UnionFind { parent, size: Vec::new() };
        for i in 0..uf.parent.len() as u32 {
            size[uf.find(i) as usize] += 1;
        }
        uf.size = size;
        uf
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Adds singletons up to `n` elements.
    pub fn grow(&mut self, n: usize) {
        let old = self.parent.len();
        if n > old {
            self.parent.extend(old as u32..n as u32);
            self.size.resize(n, 1);
        }
    }

    /// Hints the CPU to load `x`'s parent link.
    #[inline]
    pub fn prefetch(&self, x: u32) {
        if let Some(p) = self.parent.get(x as usize) {
            sleuth_index::prefetch(p);
        }
    }

    /// The representative of `x`'s set.
    #[inline]
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = self.parent[x as usize];
        }
        x
    }

    /// Joins the sets of `a` and `b`; `false` if they were one already.
    #[inline]
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] { (ra, rb) } else { (rb, ra) };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        true
    }

    /// Size of `x`'s set.
    pub fn set_size(&mut self, x: u32) -> u32 {
        let r = self.find(x);
        self.size[r as usize]
    }

    /// Every element's representative, flattened.
    pub fn into_roots(mut self) -> Vec<u32> {
        for i in 0..self.parent.len() as u32 {
            let r = self.find(i);
            self.parent[i as usize] = r;
        }
        self.parent
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
        let roots = uf.clone().into_roots();
        assert!(roots[..4].iter().all(|&r| r == roots[0]));
        assert_ne!(roots[4], roots[0]);
        let mut again = UnionFind::from_parents(roots);
        assert_eq!(again.set_size(0), 4);
        again.grow(8);
        assert_eq!(again.set_size(7), 1);
    }
}
