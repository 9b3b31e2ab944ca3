//! Custodial exchanges: one deposit address per customer, periodic sweeps of the deposits into
//! the hot wallet, withdrawals (batched into one transaction with many outputs, or one by
//! one), and moves between the hot wallet and a multisig cold wallet.

use rand::seq::SliceRandom;
use rand::Rng;

use super::{log_uniform, pockets, round_amount};
use crate::address::{Addr, AddrKind};
use crate::economy::World;
use crate::entity::{self, Account, Entity, Handout, Kind, ServiceStyle, Software};
use crate::txbuild::{Out, Plan, TxKind};
use crate::wallet::{self, Selection, Utxo};

const NAMES: [&str; 8] =
    ["Coinvault", "Bitharbor", "Satstreet", "Kryptomart", "Hodlhub", "Blockbazaar", "Ledgerline", "Coinquay"];
/// Market shares: who most users sign up with.
const SHARES: [f64; 8] = [0.28, 0.20, 0.15, 0.11, 0.09, 0.07, 0.06, 0.04];

/// Largest number of deposits one sweep spends.
const MAX_SWEEP_INPUTS: usize = 200;

/// An exchange.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    /// Its entity.
    pub entity: u32,
    /// Pays many withdrawals in one transaction.
    pub batching: bool,
    /// Deducts its withdrawal fee from the amount sent.
    pub deducts_fee: bool,
    /// Reused hot-wallet address, if the software reuses one, and whether it was paid yet.
    pub hot: Option<(u32, bool)>,
    /// The cold-wallet address (2-of-3 P2WSH), reused, and whether it was paid yet.
    pub cold: (u32, bool),
    /// Script type of deposit addresses.
    pub deposit_kind: AddrKind,
    /// Blocks between sweeps, on average.
    pub sweep_every: u32,
    /// Waiting deposits that trigger a sweep at once.
    pub sweep_at: usize,
    /// Users with an account here.
    pub customers: Vec<u32>,
    /// Market share.
    pub share: f64,
}

impl World {
    pub(super) fn create_exchanges(&mut self) {
        for (name, share) in NAMES.into_iter().zip(SHARES) {
            let style = ServiceStyle::random(&mut self.rng);
            let deposit_kind = match self.rng.gen_range(0..10) {
                0..=4 => AddrKind::P2wpkh,
                5..=7 => AddrKind::P2shP2wpkh,
                _ => AddrKind::P2pkh,
            };
            let hot_kind = if self.rng.gen_bool(0.7) { AddrKind::P2wpkh } else { deposit_kind };
            let mut e = Entity::new(Kind::Exchange, Software::Service(style), hot_kind, 0);
            let cold = (e.next_key(), false);
            let hot = style.reuse_change.then(|| (e.next_key(), false));
            let id = self.add_entity(e, Some(name.to_owned()));
            let ex = Exchange {
                entity: id,
                batching: self.rng.gen_bool(0.65),
                deducts_fee: self.rng.gen_bool(0.5),
                hot,
                cold,
                deposit_kind,
                sweep_every: self.rng.gen_range(6..30),
                sweep_at: self.rng.gen_range(10..80),
                customers: Vec::new(),
                share,
            };
            self.svc.exchanges.push(ex);
        }
    }

    /// A random exchange, by market share.
    pub(crate) fn pick_exchange(&mut self) -> usize {
        let mut x: f64 = self.rng.gen();
        for (i, s) in SHARES.iter().enumerate() {
            x -= s;
            if x <= 0.0 {
                return i;
            }
        }
        SHARES.len() - 1
    }

    /// Opens an account for `e` at exchange `x`: the exchange assigns a deposit address.
    pub(crate) fn open_account(&mut self, e: u32, x: usize) -> Account {
        let ex = &self.svc.exchanges[x];
        let (service, kind) = (ex.entity, ex.deposit_kind);
        let index = self.entities[service as usize].next_key();
        if self.entities[e as usize].kind == Kind::User {
            self.svc.exchanges[x].customers.push(e);
        }
        Account { service, index, kind, used: false }
    }

    /// Signs users (and other entities) up at one or two exchanges.
    pub(super) fn sign_up(&mut self, e: u32, p_one: f64, p_two: f64) {
        let r: f64 = self.rng.gen();
        let n = if r < p_two {
            2
        } else if r < p_one + p_two {
            1
        } else {
            0
        };
        let mut first = None;
        for slot in 0..n {
            let x = self.pick_exchange();
            if first == Some(x) {
                continue;
            }
            first = Some(x);
            let acc = self.open_account(e, x);
            self.entities[e as usize].accounts[slot] = Some(acc);
        }
    }

    /// The deposit address of `e` at one of its exchanges (chosen at random), if it has one.
    pub(crate) fn deposit_at_any(&mut self, e: u32) -> Option<(Handout, u8)> {
        self.deposit_except(e, u32::MAX)
    }

    /// The deposit address of `e` at one of its exchanges other than `except`, if any.
    pub(crate) fn deposit_except(&mut self, e: u32, except: u32) -> Option<(Handout, u8)> {
        let n = self.entities[e as usize].accounts.iter().flatten().filter(|a| a.service != except).count();
        if n == 0 {
            return None;
        }
        let pick = self.rng.gen_range(0..n);
        let acc = self.entities[e as usize].accounts.iter_mut().flatten().filter(|a| a.service != except).nth(pick);
        Some(Self::use_account(acc.expect("counted")))
    }

    /// Hands out an account's deposit address, marking it used.
    pub(crate) fn use_account(acc: &mut Account) -> (Handout, u8) {
        let fresh = !acc.used;
        acc.used = true;
        (Handout { addr: acc.addr(), fresh }, pockets::DEPOSIT)
    }

    /// A user sends coins to their exchange account (to sell, or to trade).
    pub(super) fn user_deposit(&mut self) -> bool {
        let Some(u) = self.random_funded_user() else { return false };
        if self.entities[u as usize].accounts.iter().all(Option::is_none) {
            return false;
        }
        let balance = wallet::spendable(self.entities[u as usize].pocket_ref(pockets::MAIN), self.height);
        let amount = if self.rng.gen_bool(0.3) {
            balance * 9 / 10
        } else {
            let v = log_uniform(&mut self.rng, balance / 20 + 1, balance / 2 + 2);
            round_amount(&mut self.rng, v)
        };
        if amount < 20_000 {
            return false;
        }
        self.pay(u, amount, TxKind::Deposit, |w| w.deposit_at_any(u).expect("has an account")).is_some()
    }

    /// The hot-wallet address an exchange pays change and sweeps to.
    pub(crate) fn hot_address(&mut self, x: usize) -> Handout {
        let id = self.svc.exchanges[x].entity;
        let kind = self.entities[id as usize].addr_kind;
        match self.svc.exchanges[x].hot {
            Some((index, known)) => Handout { addr: Addr { entity: id, index, kind }, fresh: !known },
            None => entity::fresh(&mut self.entities, id, kind),
        }
    }

    /// The cold-wallet address.
    fn cold_address(&mut self, x: usize) -> Handout {
        let ex = &self.svc.exchanges[x];
        Handout { addr: Addr { entity: ex.entity, index: ex.cold.0, kind: AddrKind::P2wsh }, fresh: !ex.cold.1 }
    }

    /// Notes that the reused hot or cold address got an output (and so is in `addresses.csv`).
    pub(crate) fn mark_paid(&mut self, x: usize, hot: Option<&Utxo>, cold: Option<&Utxo>) {
        let ex = &mut self.svc.exchanges[x];
        if let (Some(u), Some((index, known))) = (hot, ex.hot.as_mut()) {
            *known |= u.index == *index;
        }
        if let Some(u) = cold {
            ex.cold.1 |= u.index == ex.cold.0;
        }
    }

    /// Each exchange's periodic work: sweeps, withdrawals, cold-storage moves.
    pub(super) fn exchange_work(&mut self) {
        for x in 0..self.svc.exchanges.len() {
            if self.budget == 0 {
                return;
            }
            let ex = &self.svc.exchanges[x];
            let waiting = self.entities[ex.entity as usize].pocket_ref(pockets::DEPOSIT).len();
            if waiting >= ex.sweep_at || self.rng.gen_range(0..ex.sweep_every) == 0 {
                self.sweep(x);
            }
            // About as many withdrawals as deposits (a tenth of all transactions), shared by
            // market share; a batch pays half the batch size on average.
            let expected = 0.10 * self.scale.tx_per_block * self.svc.exchanges[x].share;
            let per_tx = if self.svc.exchanges[x].batching { (2 + self.scale.batch) as f64 / 2.0 } else { 1.0 };
            let expected = expected / per_tx;
            let n = self.count(expected.max(0.05));
            for _ in 0..n {
                if self.budget == 0 {
                    return;
                }
                self.withdrawals(x);
            }
            if self.rng.gen_range(0..40) == 0 {
                self.rebalance_cold(x);
            }
            let id = self.svc.exchanges[x].entity;
            self.service_consolidate(id, pockets::HOT, 400);
        }
    }

    /// Spends the waiting deposits into the hot wallet, one output.
    pub(crate) fn sweep(&mut self, x: usize) -> bool {
        let id = self.svc.exchanges[x].entity;
        let Some(mut plan) = self.deposit_sweep(id, MAX_SWEEP_INPUTS, true) else { return false };
        let h = self.hot_address(x);
        plan.change = Some(Out::new(h, 0, pockets::HOT));
        let Some(c) = self.commit_or_restore(plan) else { return false };
        self.mark_paid(x, c.change.as_ref(), None);
        true
    }

    /// A plan spending up to `max_inputs` of `id`'s waiting deposits, without outputs yet;
    /// `None` (deposits put back) when there are none or they would not pay the fee. Exchanges
    /// cap the fee rate near the market's (`capped`), OTC desks pay their wallet's.
    pub(crate) fn deposit_sweep(&mut self, id: u32, max_inputs: usize, capped: bool) -> Option<Plan> {
        let height = self.height;
        let coins = wallet::take_all(self.entities[id as usize].pocket(pockets::DEPOSIT), height, max_inputs);
        if coins.is_empty() {
            return None;
        }
        let software = self.entities[id as usize].software;
        let mut feerate = self.wallet_feerate(software);
        if capped {
            feerate = feerate.min(self.feerate * 1.05).max(1.0);
        }
        let plan = Plan::spending(TxKind::Sweep, software.style(), id, pockets::DEPOSIT, coins, feerate);
        let kind = self.entities[id as usize].addr_kind;
        if plan.input_value() < plan.fee_estimate_plus(1) + 2 * kind.dust() {
            self.restore(plan);
            return None;
        }
        Some(plan)
    }

    /// Pays customers' withdrawal requests from the hot wallet: a batch, or a single one.
    pub(crate) fn withdrawals(&mut self, x: usize) -> bool {
        let ex = &self.svc.exchanges[x];
        let (id, batching, deducts) = (ex.entity, ex.batching, ex.deducts_fee);
        if ex.customers.is_empty() {
            return false;
        }
        let height = self.height;
        let hot = wallet::spendable(self.entities[id as usize].pocket_ref(pockets::HOT), height);
        let k = if batching { self.rng.gen_range(2..=self.scale.batch.max(2)) as usize } else { 1 };
        let cap = hot / (2 * k as u64 + 2);
        if cap < 200_000 {
            return false;
        }
        let mut wanted = Vec::with_capacity(k);
        for _ in 0..k {
            let u = *self.svc.exchanges[x].customers.choose(&mut self.rng).expect("not empty");
            let mut amount = log_uniform(&mut self.rng, 100_000, 100_000_000).min(cap);
            if self.rng.gen_bool(0.6) {
                amount = round_amount(&mut self.rng, amount);
            }
            if deducts {
                amount -= amount.min(self.rng.gen_range(2..=6) * 10_000) / 2;
            }
            wanted.push((u, amount));
        }
        let total: u64 = wanted.iter().map(|w| w.1).sum();
        let software = self.entities[id as usize].software;
        let feerate = self.wallet_feerate(software);
        let base_fee = ((60 + 172 * (k as u64 + 1)) as f64 / 4.0 * feerate) as u64;
        let kind = if batching { TxKind::WithdrawalBatch } else { TxKind::Withdrawal };
        let target = total + base_fee;
        let Some(mut plan) = self.select_plan(kind, id, pockets::HOT, target, feerate, Selection::Largest, 50) else {
            return false;
        };
        for (u, amount) in wanted {
            // Some customers withdraw straight into an account at another exchange.
            let out = match self.rng.gen_bool(0.06).then(|| self.deposit_except(u, id)).flatten() {
                Some((h, p)) => Out::new(h, amount, p),
                None => Out::new(entity::receive(&mut self.entities, u, &mut self.rng), amount, pockets::MAIN),
            };
            plan.outputs.push(out);
        }
        let h = self.hot_address(x);
        plan.change = Some(Out::new(h, 0, pockets::HOT));
        let Some(c) = self.commit_or_restore(plan) else { return false };
        self.mark_paid(x, c.change.as_ref(), None);
        true
    }

    /// Keeps about a third of the exchange's coins hot: moves the excess to the cold wallet, or
    /// refills the hot wallet from it.
    pub(crate) fn rebalance_cold(&mut self, x: usize) -> bool {
        let id = self.svc.exchanges[x].entity;
        let height = self.height;
        let hot = wallet::spendable(self.entities[id as usize].pocket_ref(pockets::HOT), height);
        let cold = wallet::spendable(self.entities[id as usize].pocket_ref(pockets::COLD), height);
        let total = hot + cold;
        let software = self.entities[id as usize].software;
        let feerate = self.wallet_feerate(software);
        if hot > total / 2 && hot > 1_000_000_000 {
            let amount = hot - total / 3;
            let target = amount + 10_000;
            let Some(mut plan) =
                self.select_plan(TxKind::ColdStorage, id, pockets::HOT, target, feerate, Selection::Largest, 100)
            else {
                return false;
            };
            let c = self.cold_address(x);
            plan.outputs.push(Out::new(c, amount, pockets::COLD));
            let h = self.hot_address(x);
            plan.change = Some(Out::new(h, 0, pockets::HOT));
            let Some(c) = self.commit_or_restore(plan) else { return false };
            self.mark_paid(x, c.change.as_ref(), c.outputs.first());
            return true;
        }
        if hot < total / 10 && cold > 0 {
            let amount = (total / 3).min(cold / 2);
            let target = amount + 20_000;
            let Some(mut plan) =
                self.select_plan(TxKind::HotRefill, id, pockets::COLD, target, feerate, Selection::Largest, 20)
            else {
                return false;
            };
            let h = self.hot_address(x);
            plan.outputs.push(Out::new(h, amount, pockets::HOT));
            let c = self.cold_address(x);
            plan.change = Some(Out::new(c, 0, pockets::COLD));
            let Some(c) = self.commit_or_restore(plan) else { return false };
            self.mark_paid(x, c.outputs.first(), c.change.as_ref());
            return true;
        }
        false
    }
}
