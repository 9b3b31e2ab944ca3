//! [`Taint`]: how much of one coin is tainted under each policy, carried together so that one
//! walk serves every policy.

use super::policy::Policy;
use super::ranges::Ranges;

/// Number of policies.
pub(crate) const N: usize = Policy::ALL.len();

/// Index of a policy in per-policy arrays.
#[inline]
pub(crate) fn ix(p: Policy) -> usize {
    p as usize
}

/// A coin's taint under every policy, and how it got there.
#[derive(Debug, Clone, Default)]
pub(crate) struct Taint {
    /// Poisoned: the whole coin.
    pub poison: bool,
    pub haircut: u64,
    pub fifo: Ranges,
    pub lifo: Ranges,
    pub tiho: u64,
    /// Transfers between owners since the source.
    pub hops: u32,
    /// Crossed a CoinJoin on the way.
    pub coinjoin: bool,
    /// The transaction that created the coin (forward) or spent it (backward): the step
    /// before on the path.
    pub from: u32,
}

impl Taint {
    /// A source coin worth `value`, tainted in full under every enabled policy.
    pub fn whole(value: u64, on: &[bool; N]) -> Taint {
        Taint {
            poison: on[ix(Policy::Poison)],
            haircut: if on[ix(Policy::Haircut)] { value } else { 0 },
            fifo: if on[ix(Policy::Fifo)] { Ranges::whole(value) } else { Ranges::default() },
            lifo: if on[ix(Policy::Lifo)] { Ranges::whole(value) } else { Ranges::default() },
            tiho: if on[ix(Policy::Tiho)] { value } else { 0 },
            hops: 0,
            coinjoin: false,
            from: u32::MAX,
        }
    }

    /// Tainted satoshis of a coin worth `value`, per policy.
    pub fn amounts(&self, value: u64) -> [u64; N] {
        let mut a = [0; N];
        a[ix(Policy::Poison)] = if self.poison { value } else { 0 };
        a[ix(Policy::Haircut)] = self.haircut;
        a[ix(Policy::Fifo)] = self.fifo.total();
        a[ix(Policy::Lifo)] = self.lifo.total();
        a[ix(Policy::Tiho)] = self.tiho;
        a
    }

    /// Whether no policy taints the coin.
    pub fn is_clean(&self) -> bool {
        !self.poison && self.haircut == 0 && self.fifo.is_empty() && self.lifo.is_empty() && self.tiho == 0
    }

    /// Drops the taint of every policy under which the coin carries less than `min` (but
    /// some), adding what was dropped to `limited`.
    pub fn drop_below(&mut self, value: u64, min: u64, limited: &mut [u64; N]) {
        let a = self.amounts(value);
        let small = |x: u64| x > 0 && x < min;
        if small(a[ix(Policy::Poison)]) {
            self.poison = false;
            limited[ix(Policy::Poison)] += a[ix(Policy::Poison)];
        }
        if small(a[ix(Policy::Haircut)]) {
            self.haircut = 0;
            limited[ix(Policy::Haircut)] += a[ix(Policy::Haircut)];
        }
        if small(a[ix(Policy::Fifo)]) {
            self.fifo.clear();
            limited[ix(Policy::Fifo)] += a[ix(Policy::Fifo)];
        }
        if small(a[ix(Policy::Lifo)]) {
            self.lifo.clear();
            limited[ix(Policy::Lifo)] += a[ix(Policy::Lifo)];
        }
        if small(a[ix(Policy::Tiho)]) {
            self.tiho = 0;
            limited[ix(Policy::Tiho)] += a[ix(Policy::Tiho)];
        }
    }

    /// Adds another share of taint on the same coin (reached by another path).
    pub fn merge(&mut self, o: &Taint) {
        self.poison |= o.poison;
        self.haircut += o.haircut;
        self.fifo = self.fifo.union(&o.fifo);
        self.lifo = self.lifo.union(&o.lifo);
        self.tiho += o.tiho;
        self.hops = self.hops.min(o.hops);
        self.coinjoin |= o.coinjoin;
    }
}
