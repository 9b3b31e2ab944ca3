//! The actors of the economy: who exists, what they do each block (services' periodic work)
//! and what fills the rest of a block (users' own transactions).

mod pool;
mod user;

use rand::Rng;

use crate::address::AddrKind;
use crate::economy::World;
use crate::entity::{flags, Entity, Kind, Software};

pub(crate) use pool::Pool;

/// Pocket numbers. Their meaning depends on the entity's kind.
pub(crate) mod pockets {
    /// A user's everyday coins.
    pub const MAIN: u8 = 0;
    /// A user's coins out of CoinJoins, kept apart as privacy wallets do.
    pub const MIXED: u8 = 1;
    /// A service's hot wallet (a pool's coinbases and change).
    pub const HOT: u8 = 0;
    /// A service's customer deposits, waiting for a sweep.
    pub const DEPOSIT: u8 = 1;
    /// An exchange's cold storage.
    pub const COLD: u8 = 2;
}

/// The services' state.
#[derive(Debug, Default)]
pub(crate) struct Services {
    /// Mining pools.
    pub pools: Vec<Pool>,
}

/// A value drawn log-uniformly between `lo` and `hi`.
pub(crate) fn log_uniform(rng: &mut impl Rng, lo: u64, hi: u64) -> u64 {
    let (a, b) = ((lo.max(1) as f64).ln(), (hi.max(lo + 1) as f64).ln());
    rng.gen_range(a..b).exp() as u64
}

/// Rounds an amount as people type it: to two or three significant digits.
pub(crate) fn round_amount(rng: &mut impl Rng, v: u64) -> u64 {
    let digits = if rng.gen_bool(0.5) { 2 } else { 3 };
    let n = v.max(1).ilog10() + 1;
    let mag = 10u64.pow(n - digits.min(n));
    (v / mag).max(1) * mag
}

impl World {
    /// Creates every entity.
    pub(crate) fn populate(&mut self) {
        self.create_pools();
        self.first_user = self.entities.len() as u32;
        for _ in 0..self.scale.users {
            let software = Software::pick_user(&mut self.rng);
            let kind = AddrKind::pick(&mut self.rng);
            let reuse = match software {
                Software::Reuser => 100,
                _ if self.rng.gen_bool(0.25) => self.rng.gen_range(5..40),
                _ => 0,
            };
            let mut e = Entity::new(Kind::User, software, kind, reuse);
            if self.rng.gen_bool(0.05) {
                e.flags |= flags::PRIVACY;
            }
            self.add_entity(e, None);
        }
        self.assign_miners();
    }

    /// A random user.
    pub(crate) fn random_user(&mut self) -> u32 {
        self.first_user + self.rng.gen_range(0..self.user_count())
    }

    /// A random user who has coins in the main pocket, dropping users who ran dry.
    pub(crate) fn random_funded_user(&mut self) -> Option<u32> {
        while !self.funded.is_empty() {
            let i = self.rng.gen_range(0..self.funded.len());
            let u = self.funded[i];
            if self.entities[u as usize].pocket_ref(pockets::MAIN).is_empty() {
                self.funded.swap_remove(i);
                self.entities[u as usize].funded = false;
                continue;
            }
            return Some(u);
        }
        None
    }

    /// The fee rate a wallet of `software` pays now.
    pub(crate) fn wallet_feerate(&mut self, software: Software) -> f64 {
        let f = self.feerate;
        let r = match software {
            Software::Core | Software::Electrum => f * self.rng.gen_range(0.9..1.3),
            Software::Mobile | Software::Reuser => f * self.rng.gen_range(1.0..2.0),
            Software::Service(_) => f * self.rng.gen_range(1.0..1.5),
        };
        r.max(1.0)
    }

    /// The services' periodic work for the block being built.
    pub(crate) fn scheduled(&mut self) {
        self.pool_payouts();
    }

    /// One of the users' own transactions (or several tries at one).
    pub(crate) fn organic(&mut self) {
        for _ in 0..8 {
            let done = match self.rng.gen_range(0..100) {
                0..=89 => self.user_payment(),
                _ => self.user_consolidation(),
            };
            if done {
                return;
            }
        }
        // Nothing worked (a very young economy): let a pool pay out instead.
        let p = self.rng.gen_range(0..self.svc.pools.len());
        if !self.pool_payout(p) {
            // Even the pools have nothing mature: give up on this block.
            self.budget_skip();
        }
    }

    /// Marks the block as done when no one can transact.
    fn budget_skip(&mut self) {
        let h = self.height;
        self.close_block();
        debug_assert_eq!(self.height, h + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rounding_keeps_two_or_three_digits() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for v in [1u64, 9, 123_456, 987_654_321] {
            let r = round_amount(&mut rng, v);
            assert!(r <= v.max(1) && r * 2 > v / 5, "{v} -> {r}");
        }
        assert_eq!(round_amount(&mut rng, 123_456) % 1000, 0);
    }
}
