//! The actors of the economy: who exists, what they do each block (services' periodic work)
//! and what fills the rest of a block (users' own transactions).

mod exchange;
mod gambling;
mod joinmarket;
mod merchant;
mod otc;
mod pool;
mod user;
mod wasabi;
mod whirlpool;

use rand::Rng;

use crate::address::AddrKind;
use crate::economy::World;
use crate::entity::{self, flags, Entity, Kind, Software};
use crate::txbuild::{Out, Plan, TxKind};
use crate::wallet::{self, Selection};

pub(crate) use exchange::Exchange;
pub(crate) use gambling::Gambling;
pub(crate) use joinmarket::TakerPockets;
pub(crate) use merchant::{Merchant, Processor};
pub(crate) use otc::Otc;
pub(crate) use pool::Pool;
pub(crate) use wasabi::{Registration, Wasabi};
pub(crate) use whirlpool::Whirlpool;

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
    /// Exchanges.
    pub exchanges: Vec<Exchange>,
    /// Shops.
    pub merchants: Vec<Merchant>,
    /// Payment processors.
    pub processors: Vec<Processor>,
    /// Gambling sites.
    pub gambling: Vec<Gambling>,
    /// OTC desks.
    pub otc: Vec<Otc>,
    /// The Wasabi-like coordinator.
    pub wasabi: Wasabi,
    /// The Whirlpool-like coordinator.
    pub whirlpool: Whirlpool,
    /// JoinMarket makers (users).
    pub makers: Vec<u32>,
    /// Users who mix.
    pub privacy: Vec<u32>,
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
        self.create_exchanges();
        self.create_pools();
        self.create_merchants();
        self.create_gambling();
        self.create_otc();
        self.create_wasabi();
        self.create_whirlpool();
        self.create_thieves();
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
            let privacy = self.rng.gen_bool(0.05);
            if privacy {
                e.flags |= flags::PRIVACY;
            }
            let id = self.add_entity(e, None);
            if privacy {
                self.svc.privacy.push(id);
            }
            self.sign_up(id, 0.55, 0.2);
        }
        self.assign_miners();
        self.pick_makers();
        self.plan_heists();
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

    /// A count whose mean is `expected`: the whole part, plus one with the probability of
    /// the fractional part.
    pub(crate) fn count(&mut self, expected: f64) -> u32 {
        let whole = expected.floor();
        whole as u32 + self.rng.gen_bool((expected - whole).clamp(0.0, 1.0)) as u32
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

    /// Chooses coins of `owner`'s pocket `pocket` worth at least `target` plus their own input
    /// fees at `feerate` (as [`wallet::select`] does, `how`, at most `max_inputs`) and plans
    /// spending them, without outputs yet, in the style of the owner's wallet software. `None`,
    /// the pocket untouched, when its spendable coins do not cover the target.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn select_plan(
        &mut self,
        kind: TxKind,
        owner: u32,
        pocket: u8,
        target: u64,
        feerate: f64,
        how: Selection,
        max_inputs: usize,
    ) -> Option<Plan> {
        let height = self.height;
        let e = &mut self.entities[owner as usize];
        let coins = wallet::select(e.pocket(pocket), target, feerate, height, how, max_inputs, &mut self.rng)?;
        Some(Plan::spending(kind, e.software.style(), owner, pocket, coins, feerate))
    }

    /// A service whose pocket holds more than `over` coins merges its 150 smallest into one,
    /// as services do to keep their wallets fast and future fees low.
    pub(crate) fn service_consolidate(&mut self, e: u32, pocket: u8, over: usize) -> bool {
        let height = self.height;
        if self.budget == 0 || self.entities[e as usize].pocket_ref(pocket).len() <= over {
            return false;
        }
        let coins = wallet::take_smallest(self.entities[e as usize].pocket(pocket), height, 150);
        if coins.len() < 2 {
            self.entities[e as usize].pocket(pocket).extend(coins);
            return false;
        }
        let software = self.entities[e as usize].software;
        let feerate = self.wallet_feerate(software).min(self.feerate).max(1.0);
        let mut plan = Plan::spending(TxKind::Consolidation, software.style(), e, pocket, coins, feerate);
        let kind = self.entities[e as usize].addr_kind;
        if plan.input_value() < plan.fee_estimate_plus(1) + 2 * kind.dust() {
            self.restore(plan);
            return false;
        }
        plan.change = Some(Out::new(entity::fresh(&mut self.entities, e, kind), 0, pocket));
        self.commit_or_restore(plan).is_some()
    }

    /// The services' periodic work for the block being built.
    pub(crate) fn scheduled(&mut self) {
        self.pool_payouts();
        self.exchange_work();
        self.merchant_work();
        self.gambling_work();
        self.otc_work();
        if self.budget > 0 {
            self.wasabi_round();
        }
        self.whirlpool_mixes();
        self.heist_work();
    }

    /// One of the users' own transactions (or several tries at one).
    pub(crate) fn organic(&mut self) {
        for _ in 0..8 {
            let done = match self.rng.gen_range(0..100) {
                0..=39 => self.user_payment(),
                40..=59 => self.merchant_purchase(),
                60..=71 => self.user_deposit(),
                72..=77 => self.user_bet(),
                78..=81 => self.user_consolidation(),
                82..=84 => self.user_mix(),
                _ => self.spend_mixed(),
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
