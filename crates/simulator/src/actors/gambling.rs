//! Gambling sites. A dice site takes bets on one public, endlessly reused address and pays
//! winners back to the address the bet came from, one transaction per bet; a casino gives
//! each bet a fresh deposit address and pays winnings in batches. Both send their profit to
//! an exchange now and then.

use rand::Rng;

use super::{log_uniform, pockets};
use crate::address::{Addr, AddrKind};
use crate::economy::World;
use crate::entity::{self, Entity, Handout, Kind, ServiceStyle, Software};
use crate::txbuild::{Out, TxKind};
use crate::wallet::{self, Selection};

const NAMES: [(&str, bool); 3] = [("DiceHouse", true), ("LuckyBlock Casino", false), ("SatsBet", true)];

/// A gambling site.
#[derive(Debug, Clone)]
pub(crate) struct Gambling {
    /// Its entity.
    pub entity: u32,
    /// Dice style: one reused betting address, payouts to the bettor's address.
    pub dice: bool,
    /// The reused betting (and change) address, and whether it was paid yet.
    pub bet_address: (u32, bool),
    /// Winnings owed: to whom (user, and the address the bet came from for a dice site) and
    /// how much.
    pub owed: std::collections::VecDeque<(u32, Option<Addr>, u64)>,
}

impl World {
    pub(super) fn create_gambling(&mut self) {
        for (name, dice) in NAMES {
            let style = ServiceStyle::random(&mut self.rng);
            let kind = if dice { AddrKind::P2pkh } else { AddrKind::P2wpkh };
            let mut e = Entity::new(Kind::Gambling, Software::Service(style), kind, 0);
            let bet_address = (e.next_key(), false);
            let id = self.add_entity(e, Some(name.to_owned()));
            self.sign_up(id, 1.0, 0.0);
            self.svc.gambling.push(Gambling { entity: id, dice, bet_address, owed: Default::default() });
        }
    }

    fn bet_address(&self, g: usize) -> Handout {
        let s = &self.svc.gambling[g];
        let kind = self.entities[s.entity as usize].addr_kind;
        Handout { addr: Addr { entity: s.entity, index: s.bet_address.0, kind }, fresh: !s.bet_address.1 }
    }

    /// A user bets; the site decides at once (48 % win, paid 1.98 times the stake).
    pub(super) fn user_bet(&mut self) -> bool {
        let Some(u) = self.random_funded_user() else { return false };
        let g = self.rng.gen_range(0..self.svc.gambling.len());
        let (site, dice) = (self.svc.gambling[g].entity, self.svc.gambling[g].dice);
        let stake = log_uniform(&mut self.rng, 10_000, 5_000_000);
        let bet = self.bet_address(g);
        let Some(c) = self.pay(u, stake, TxKind::Bet, |w| {
            if dice {
                (bet, pockets::HOT)
            } else {
                (entity::fresh(&mut w.entities, site, AddrKind::P2wpkh), pockets::DEPOSIT)
            }
        }) else {
            return false;
        };
        if dice {
            self.svc.gambling[g].bet_address.1 = true;
        }
        if self.rng.gen_bool(0.48) {
            let to = dice.then_some(c.first_input);
            self.svc.gambling[g].owed.push_back((u, to, stake * 198 / 100));
        }
        true
    }

    /// Sites pay their winners and bank their profit.
    pub(super) fn gambling_work(&mut self) {
        for g in 0..self.svc.gambling.len() {
            if self.svc.gambling[g].dice {
                let owed = self.svc.gambling[g].owed.len().min(50);
                for _ in 0..owed {
                    if self.budget == 0 || !self.dice_payout(g) {
                        break;
                    }
                }
            } else if self.rng.gen_range(0..3) == 0 {
                self.casino_payouts(g);
            }
            if self.budget > 0 && self.rng.gen_range(0..72) == 0 {
                self.gambling_profit(g);
            }
            let id = self.svc.gambling[g].entity;
            self.service_consolidate(id, pockets::HOT, 300);
        }
    }

    /// Pays the oldest winner of a dice site back to the address the bet came from.
    fn dice_payout(&mut self, g: usize) -> bool {
        let site = self.svc.gambling[g].entity;
        let Some(&(_, Some(to), amount)) = self.svc.gambling[g].owed.front() else { return false };
        let software = self.entities[site as usize].software;
        let feerate = self.wallet_feerate(software);
        let target = amount + 300 * feerate as u64;
        let Some(mut plan) =
            self.select_plan(TxKind::GamblingPayout, site, pockets::HOT, target, feerate, Selection::Largest, 20)
        else {
            return false;
        };
        self.svc.gambling[g].owed.pop_front();
        plan.outputs.push(Out::new(Handout { addr: to, fresh: false }, amount, pockets::MAIN));
        let bet = self.bet_address(g);
        plan.change = Some(Out::new(bet, 0, pockets::HOT));
        let Some(c) = self.commit_or_restore(plan) else { return false };
        if c.change.is_some() {
            self.svc.gambling[g].bet_address.1 = true;
        }
        true
    }

    /// Pays a casino's winners in one batch, after sweeping the bets into the hot wallet.
    fn casino_payouts(&mut self, g: usize) -> bool {
        let site = self.svc.gambling[g].entity;
        let height = self.height;
        let deposits = wallet::take_all(self.entities[site as usize].pocket(pockets::DEPOSIT), height, 100);
        self.entities[site as usize].pocket(pockets::HOT).extend(deposits);
        let mut owed: Vec<_> = std::mem::take(&mut self.svc.gambling[g].owed).into();
        if owed.is_empty() {
            return false;
        }
        let rest =
            if owed.len() > self.scale.batch as usize { owed.split_off(self.scale.batch as usize) } else { Vec::new() };
        let total: u64 = owed.iter().map(|o| o.2).sum();
        let software = self.entities[site as usize].software;
        let feerate = self.wallet_feerate(software);
        let base_fee = ((60 + 172 * (owed.len() as u64 + 1)) as f64 / 4.0 * feerate) as u64;
        let target = total + base_fee;
        let Some(mut plan) =
            self.select_plan(TxKind::GamblingPayout, site, pockets::HOT, target, feerate, Selection::Oldest, 150)
        else {
            owed.extend(rest);
            self.svc.gambling[g].owed = owed.into();
            return false;
        };
        self.svc.gambling[g].owed = rest.into();
        for (u, _, amount) in owed {
            let h = entity::receive(&mut self.entities, u, &mut self.rng);
            plan.outputs.push(Out::new(h, amount, pockets::MAIN));
        }
        let kind = self.entities[site as usize].addr_kind;
        plan.change = Some(Out::new(entity::fresh(&mut self.entities, site, kind), 0, pockets::HOT));
        self.commit_or_restore(plan).is_some()
    }

    /// Sends most of a site's coins beyond a bankroll to its exchange account.
    fn gambling_profit(&mut self, g: usize) -> bool {
        let site = self.svc.gambling[g].entity;
        let height = self.height;
        let bankroll = 20 * 100_000_000;
        let hot = wallet::spendable(self.entities[site as usize].pocket_ref(pockets::HOT), height);
        if hot < 2 * bankroll {
            return false;
        }
        let amount = hot - bankroll;
        let software = self.entities[site as usize].software;
        let feerate = self.wallet_feerate(software);
        let Some(mut plan) =
            self.select_plan(TxKind::Deposit, site, pockets::HOT, amount, feerate, Selection::Largest, 100)
        else {
            return false;
        };
        let Some((h, pocket)) = self.deposit_at_any(site) else {
            self.restore(plan);
            return false;
        };
        plan.outputs.push(Out::new(h, amount - plan.fee_estimate_plus(2).min(amount / 2), pocket));
        let bet = self.bet_address(g);
        let change =
            if self.svc.gambling[g].dice { bet } else { entity::fresh(&mut self.entities, site, AddrKind::P2wpkh) };
        plan.change = Some(Out::new(change, 0, pockets::HOT));
        let c = self.commit_or_restore(plan);
        if c.as_ref().is_some_and(|c| c.change.is_some()) && self.svc.gambling[g].dice {
            self.svc.gambling[g].bet_address.1 = true;
        }
        c.is_some()
    }
}
