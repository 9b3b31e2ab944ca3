//! [`Sat`]: an amount in the chain's base unit (satoshis; litoshis on Litecoin).
//!
//! Integers everywhere: no floating point touches a value. Sums that could overflow (the
//! outputs of an address, of a cluster, of a trace) use the checked operations; the supply of
//! every chain Sleuth reads fits in 64 bits many times over, so an overflow means damaged
//! input and is reported, never wrapped. On the wire (JSON) a `Sat` is a plain integer.

use serde::{Deserialize, Serialize};

/// An amount in the chain's base unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sat(u64);

impl Sat {
    /// Nothing.
    pub const ZERO: Sat = Sat(0);

    /// `n` base units.
    pub const fn new(n: u64) -> Sat {
        Sat(n)
    }

    /// The number of base units.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `self + other`, `None` on overflow.
    #[must_use]
    pub const fn checked_add(self, other: Sat) -> Option<Sat> {
        match self.0.checked_add(other.0) {
            Some(n) => Some(Sat(n)),
            None => None,
        }
    }

    /// `self - other`, `None` if `other` is larger.
    #[must_use]
    pub const fn checked_sub(self, other: Sat) -> Option<Sat> {
        match self.0.checked_sub(other.0) {
            Some(n) => Some(Sat(n)),
            None => None,
        }
    }

    /// `self - other`, or zero if `other` is larger (a fee when inputs are unknown).
    #[must_use]
    pub const fn saturating_sub(self, other: Sat) -> Sat {
        Sat(self.0.saturating_sub(other.0))
    }

    /// The sum of `amounts`, `None` on overflow.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Sat>) -> Option<Sat> {
        amounts.into_iter().try_fold(Sat::ZERO, Sat::checked_add)
    }
}

impl std::fmt::Display for Sat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Sat> for u64 {
    fn from(s: Sat) -> u64 {
        s.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_check_for_overflow_and_serialize_as_integers() {
        assert_eq!(Sat::checked_sum([Sat::new(1), Sat::new(2)]), Some(Sat::new(3)));
        assert_eq!(Sat::checked_sum([Sat::new(u64::MAX), Sat::new(1)]), None);
        assert_eq!(Sat::new(5).checked_sub(Sat::new(6)), None);
        assert_eq!(Sat::new(5).saturating_sub(Sat::new(6)), Sat::ZERO);
        assert_eq!(serde_json::to_string(&Sat::new(2_100_000_000_000_000)).unwrap(), "2100000000000000");
    }
}
