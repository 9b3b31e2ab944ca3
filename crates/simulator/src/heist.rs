//! Thefts and their laundering, after the public accounts of North Korean (Lazarus /
//! TraderTraitor) exchange hacks.
//!
//! A theft drains most of an exchange's hot wallet in one transaction to a handful of the
//! thief's fresh addresses. The loot is then split into many addresses; each piece takes one
//! route: a peel chain (a small payment out, mostly to the thief's accounts at other
//! exchanges and OTC desks, sometimes to an innocent user, the rest to a fresh address,
//! again and again), a CoinJoin (Wasabi-, Whirlpool- or JoinMarket-like), or a dormant
//! address. Mixed and dormant coins are consolidated, then cashed out as deposits at
//! exchanges and OTC desks, over days of blocks. Each thief's coins carry the theft's number
//! in their tag, so that the ground truth can say which theft every step launders.

use rand::seq::SliceRandom;
use rand::Rng;

use crate::actors::{pockets, Registration, TakerPockets};
use crate::address::AddrKind;
use crate::blockwriter::SUBSIDY;
use crate::config::BLOCKS_PER_DAY;
use crate::economy::World;
use crate::entity::{self, Account, Entity, Handout, Kind, Software};
use crate::txbuild::{Out, Plan, TxKind};
use crate::wallet::{self, Selection, Utxo};
use crate::HeistSummary;

/// A thief's pockets.
mod thief_pockets {
    /// The drain's outputs.
    pub const LOOT: u8 = 0;
    /// Heads of peel chains.
    pub const PEEL: u8 = 1;
    /// Coins to be mixed.
    pub const MIXQ: u8 = 2;
    /// Coins out of CoinJoins.
    pub const MIXED: u8 = 3;
    /// Dormant coins.
    pub const HOLD: u8 = 4;
    /// Consolidated coins being cashed out.
    pub const CASHOUT: u8 = 5;
}
use thief_pockets::*;

/// A thief and its habits.
#[derive(Debug, Clone)]
pub(crate) struct Thief {
    /// Its entity.
    pub entity: u32,
    /// Its accounts at exchanges and OTC desks, opened under false names.
    pub accounts: Vec<Account>,
    /// Share of split coins sent down peel chains, and to CoinJoins (the rest lies dormant).
    pub routes: (f64, f64),
    /// Weights of Wasabi-, Whirlpool- and JoinMarket-like mixing.
    pub mixers: [u32; 3],
    /// Share of cash-outs that go to OTC desks rather than exchanges.
    pub otc: f64,
}

/// Where a theft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not yet: waits for its start height (and a hot wallet worth robbing).
    Planned,
    /// Drained; laundering.
    Laundering,
    /// Never happened (the victim never had coins) or finished.
    Done,
}

/// A theft.
#[derive(Debug, Clone)]
pub(crate) struct Heist {
    /// Tag of its coins (1-based theft number).
    pub tag: u16,
    /// Index of the thief.
    pub thief: usize,
    /// Index of the robbed exchange.
    pub victim: usize,
    /// Height of the drain.
    pub start: u32,
    /// Height by which laundering should be done: after it, everything left is flushed out.
    pub end: u32,
    /// Where it stands.
    pub phase: Phase,
    /// Satoshis stolen.
    pub stolen: u64,
    /// Pieces each loot output is split into.
    pub ways: u32,
    /// A peel chain stops when its coin is worth less than this.
    pub peel_stop: u64,
    /// Laundering steps per block.
    pub steps_per_block: u32,
}

impl World {
    /// Creates the thieves: one patient peel-chain specialist, one who favours mixers and OTC.
    pub(crate) fn create_thieves(&mut self) {
        let habits = [
            ("Thief A", Software::Electrum, AddrKind::P2wpkh, (0.55, 0.25), [6, 2, 2], 0.2),
            ("Thief B", Software::Core, AddrKind::P2pkh, (0.3, 0.5), [3, 4, 3], 0.45),
        ];
        for (name, software, kind, routes, mixers, otc) in habits {
            let e = Entity::new(Kind::Thief, software, kind, 0);
            let id = self.add_entity(e, Some(name.to_owned()));
            self.thieves.push(Thief { entity: id, accounts: Vec::new(), routes, mixers, otc });
        }
    }

    /// Schedules the thefts: spread over the first two thirds of the run, each robbing another
    /// exchange, alternating thieves.
    pub(crate) fn plan_heists(&mut self) {
        let n = self.scale.heists;
        let eb = self.scale.economy_blocks();
        let duration = ((eb as f64 * 0.4) as u32).clamp(30, 10 * BLOCKS_PER_DAY);
        let mut victims: Vec<usize> = (0..self.svc.exchanges.len()).collect();
        victims.shuffle(&mut self.rng);
        for i in 0..n {
            let at = 0.12 + 0.4 * i as f64 / n as f64 + self.rng.gen_range(0.0..0.05);
            let start = self.scale.bootstrap_blocks + (eb as f64 * at) as u32;
            let steps = ((self.scale.laundering_txs as f64 * 1.3) / duration as f64).ceil() as u32;
            self.heists.push(Heist {
                tag: i as u16 + 1,
                thief: i as usize % self.thieves.len(),
                victim: victims[i as usize % victims.len()],
                start,
                end: start + duration,
                phase: Phase::Planned,
                stolen: 0,
                ways: 0,
                peel_stop: 0,
                steps_per_block: steps.max(1),
            });
            self.heist_txids.push(None);
        }
    }

    /// Each theft's work for this block: the drain, or laundering steps.
    pub(crate) fn heist_work(&mut self) {
        for h in 0..self.heists.len() {
            if self.budget == 0 {
                return;
            }
            let Heist { phase, start, end, .. } = self.heists[h];
            match phase {
                Phase::Planned if self.height >= end => self.heists[h].phase = Phase::Done,
                Phase::Planned if self.height >= start && self.drain(h) => self.heists[h].phase = Phase::Laundering,
                Phase::Laundering => self.launder(h),
                _ => {}
            }
        }
    }

    /// The drain: most of the victim's hot wallet to a handful of fresh thief addresses.
    fn drain(&mut self, h: usize) -> bool {
        let Heist { tag, thief, victim, start, end, .. } = self.heists[h];
        let x = self.svc.exchanges[victim].entity;
        let t = self.thieves[thief].entity;
        let height = self.height;
        let hot = wallet::spendable(self.entities[x as usize].pocket_ref(pockets::HOT), height);
        // Worth it: at least 0.2 % of all coins, and 2 coins.
        let threshold = (height as u64 * SUBSIDY / 500).max(200_000_000);
        if hot < threshold {
            if height >= start + (end - start) / 4 {
                self.switch_victim(h);
            }
            return false;
        }
        let target = (hot as f64 * self.rng.gen_range(0.6..0.95)) as u64;
        // Attackers pay well to confirm before the exchange notices.
        let feerate = self.feerate * self.rng.gen_range(2.0..4.0);
        let Some(mut plan) =
            self.select_plan(TxKind::HeistDrain, x, pockets::HOT, target, feerate, Selection::Largest, 300)
        else {
            return false;
        };
        plan.heist = tag;
        let k = self.rng.gen_range(3..=8);
        let fee = plan.fee_estimate_plus(k + 1);
        let value = target.saturating_sub(fee);
        let weights: Vec<f64> = (0..k).map(|_| self.rng.gen_range(0.5..1.5)).collect();
        let sum: f64 = weights.iter().sum();
        let kind = self.entities[t as usize].addr_kind;
        for w in &weights {
            let a = entity::fresh(&mut self.entities, t, kind);
            let ready = height + self.rng.gen_range(1..6);
            plan.outputs.push(Out::new(a, (value as f64 * w / sum) as u64, LOOT).tagged(tag).ready_at(ready));
        }
        let change = self.hot_address(victim);
        plan.change = Some(Out::new(change, 0, pockets::HOT));
        let Some(c) = self.commit_or_restore(plan) else { return false };
        self.mark_paid(victim, c.change.as_ref(), None);
        let stolen: u64 = c.outputs.iter().map(|u| u.value).sum();
        let (victim_name, thief_name) = (self.name(x).to_owned(), self.name(t).to_owned());
        self.truth.heist(&c.txid, &victim_name, &thief_name, stolen);
        self.heist_summaries.push(HeistSummary {
            txid: c.txid,
            victim: victim_name,
            thief: thief_name,
            amount: stolen,
        });
        // Size the laundering to the run: pieces per loot output, and peel chains long enough
        // to use about 60 % of the theft's share of transactions.
        let l = self.scale.laundering_txs as f64;
        let ways = ((l / (k as f64 * 40.0)) as u32).clamp(3, 20);
        let chains = (k as f64 * ways as f64 * self.thieves[thief].routes.0).max(1.0);
        let hops = (0.6 * l / chains).clamp(4.0, 400.0);
        let piece = stolen as f64 / (k as f64 * ways as f64);
        let hst = &mut self.heists[h];
        hst.stolen = stolen;
        hst.ways = ways;
        hst.peel_stop = ((piece * (-hops * 0.06).exp()) as u64).max(100_000);
        true
    }

    /// A thief tired of waiting turns to the exchange with the fullest hot wallet that no other
    /// theft targets.
    fn switch_victim(&mut self, h: usize) {
        let height = self.height;
        let taken: Vec<usize> =
            self.heists.iter().enumerate().filter(|(i, _)| *i != h).map(|(_, x)| x.victim).collect();
        let best = (0..self.svc.exchanges.len()).filter(|x| !taken.contains(x)).max_by_key(|&x| {
            wallet::spendable(self.entities[self.svc.exchanges[x].entity as usize].pocket_ref(pockets::HOT), height)
        });
        if let Some(x) = best {
            self.heists[h].victim = x;
        }
    }

    /// Ready coins of the theft in one of the thief's pockets, up to `max`, oldest first.
    fn take_tagged(&mut self, t: u32, pocket: u8, tag: u16, max: usize) -> Vec<Utxo> {
        let height = self.height;
        let p = self.entities[t as usize].pocket(pocket);
        let mut picked: Vec<usize> = (0..p.len()).filter(|&i| p[i].tag == tag && p[i].ready <= height).collect();
        picked.truncate(max);
        wallet::take_indices(p, &mut picked)
    }

    /// How many ready coins of the theft a pocket holds.
    fn count_tagged(&self, t: u32, pocket: u8, tag: u16) -> usize {
        self.entities[t as usize].pocket_ref(pocket).iter().filter(|u| u.tag == tag && u.ready <= self.height).count()
    }

    /// This block's laundering steps of theft `h`.
    fn launder(&mut self, h: usize) {
        let Heist { tag, thief, end, steps_per_block, .. } = self.heists[h];
        let t = self.thieves[thief].entity;
        let late = self.height >= end;
        let steps = if late { steps_per_block * 3 } else { steps_per_block };
        for _ in 0..steps {
            if self.budget == 0 {
                return;
            }
            let step = match self.rng.gen_range(0..10) {
                0..=1 => LOOT,
                2..=5 => PEEL,
                6 => MIXQ,
                7..=8 => CASHOUT,
                _ => MIXED,
            };
            // Try the chosen kind of step first, then any other that has coins ready.
            let order = [step, LOOT, PEEL, CASHOUT, MIXQ, MIXED];
            let done = order.iter().any(|&s| match s {
                LOOT => self.take_tagged(t, LOOT, tag, 1).pop().map(|c| self.split(h, c)).is_some(),
                PEEL => self.take_tagged(t, PEEL, tag, 1).pop().map(|c| self.peel(h, c)).is_some(),
                CASHOUT => self.take_tagged(t, CASHOUT, tag, 1).pop().map(|c| self.cash_out(h, c)).is_some(),
                MIXQ => self.take_tagged(t, MIXQ, tag, 1).pop().map(|c| self.mix(h, c)).is_some(),
                _ => self.consolidate(h, late),
            });
            if !done {
                break;
            }
        }
        if late && self.thief_holds(t, tag) == 0 {
            self.heists[h].phase = Phase::Done;
        }
    }

    /// Coins of the theft the thief still holds, in any pocket.
    fn thief_holds(&self, t: u32, tag: u16) -> usize {
        self.entities[t as usize].pockets.iter().flatten().filter(|u| u.tag == tag).count()
    }

    fn thief_plan(&mut self, h: usize, kind: TxKind, coins: Vec<Utxo>, from: u8) -> Plan {
        let Heist { tag, thief, .. } = self.heists[h];
        let t = self.thieves[thief].entity;
        let software = self.entities[t as usize].software;
        let feerate = self.wallet_feerate(software);
        let mut plan = Plan::spending(kind, software.style(), t, from, coins, feerate);
        plan.heist = tag;
        plan
    }

    /// A fresh thief address receiving into `pocket`, spendable after `delay` blocks.
    fn thief_out(&mut self, h: usize, value: u64, pocket: u8, delay: u32) -> Out {
        let Heist { tag, thief, .. } = self.heists[h];
        let t = self.thieves[thief].entity;
        let kind = self.entities[t as usize].addr_kind;
        Out::new(entity::fresh(&mut self.entities, t, kind), value, pocket).tagged(tag).ready_at(self.height + delay)
    }

    /// Splits a loot output into many pieces, each sent down one route.
    fn split(&mut self, h: usize, coin: Utxo) {
        let ways = self.heists[h].ways;
        let n = self.rng.gen_range((ways / 2).max(2)..=ways + 2) as usize;
        let mut plan = self.thief_plan(h, TxKind::LaunderSplit, vec![coin], LOOT);
        let fee = plan.fee_estimate_plus(n);
        let value = coin.value.saturating_sub(fee);
        let weights: Vec<f64> = (0..n).map(|_| self.rng.gen_range(0.5..1.5)).collect();
        let sum: f64 = weights.iter().sum();
        let (peel, mix) = self.thieves[self.heists[h].thief].routes;
        for w in weights {
            let r: f64 = self.rng.gen();
            let (pocket, delay) = if r < peel {
                (PEEL, self.rng.gen_range(0..4))
            } else if r < peel + mix {
                (MIXQ, self.rng.gen_range(1..24))
            } else {
                (HOLD, self.rng.gen_range(24..(3 * BLOCKS_PER_DAY)))
            };
            let out = self.thief_out(h, (value as f64 * w / sum) as u64, pocket, delay);
            plan.outputs.push(out);
        }
        self.commit_or_restore(plan);
    }

    /// One hop of a peel chain: a small payment out, the rest to a fresh address.
    fn peel(&mut self, h: usize, coin: Utxo) {
        if coin.value <= self.heists[h].peel_stop {
            return self.cash_out(h, coin);
        }
        let mut plan = self.thief_plan(h, TxKind::LaunderPeel, vec![coin], PEEL);
        let share = self.rng.gen_range(0.02..0.10);
        let mut amount = (coin.value as f64 * share) as u64;
        if self.rng.gen_bool(0.4) {
            amount = crate::actors::round_amount(&mut self.rng, amount);
        }
        let r: f64 = self.rng.gen();
        let (h_out, pocket) = if r < 0.15 {
            // An innocent: a user paid for goods or in a peer-to-peer trade.
            let u = self.random_user();
            (entity::receive(&mut self.entities, u, &mut self.rng), pockets::MAIN)
        } else {
            let otc = r < 0.15 + 0.85 * self.thieves[self.heists[h].thief].otc;
            self.thief_deposit(h, otc)
        };
        plan.outputs.push(Out::new(h_out, amount, pocket));
        let delay = if self.rng.gen_bool(0.3) { 0 } else { self.rng.gen_range(1..4) };
        plan.change = Some(self.thief_out(h, 0, PEEL, delay));
        self.commit_or_restore(plan);
    }

    /// Deposits (part of) a coin at exchanges or OTC desks through the thief's accounts.
    fn cash_out(&mut self, h: usize, coin: Utxo) {
        let mut plan = self.thief_plan(h, TxKind::LaunderCashout, vec![coin], CASHOUT);
        let small = coin.value < 4 * self.heists[h].peel_stop.max(1_000_000);
        let parts = if small { 1 } else { self.rng.gen_range(1..=3) };
        let fee = plan.fee_estimate_plus(parts + 1);
        let otc_share = self.thieves[self.heists[h].thief].otc;
        let mut left = coin.value.saturating_sub(fee);
        for _ in 0..parts {
            let amount = if small { left } else { (left as f64 * self.rng.gen_range(0.15..0.4)) as u64 };
            let otc = self.rng.gen_bool(otc_share);
            let (d, pocket) = self.thief_deposit(h, otc);
            plan.outputs.push(Out::new(d, amount, pocket));
            left -= amount;
        }
        if !small {
            let delay = self.rng.gen_range(1..12);
            plan.change = Some(self.thief_out(h, 0, CASHOUT, delay));
        }
        self.commit_or_restore(plan);
    }

    /// Sends a coin into a CoinJoin of the thief's favourite kinds.
    fn mix(&mut self, h: usize, coin: Utxo) {
        let Heist { tag, thief, .. } = self.heists[h];
        let t = self.thieves[thief].entity;
        let [w, p, _] = self.thieves[thief].mixers;
        let total: u32 = self.thieves[thief].mixers.iter().sum();
        let delay = self.rng.gen_range(6..(2 * BLOCKS_PER_DAY));
        let r = self.rng.gen_range(0..total);
        if r < w {
            let reg = Registration { owner: t, utxo: coin, out_pocket: MIXED, change_pocket: HOLD, tag, delay };
            self.wasabi_register(reg);
        } else if r < w + p {
            let template = Registration { owner: t, utxo: coin, out_pocket: MIXED, change_pocket: HOLD, tag, delay };
            self.whirlpool_tx0(t, HOLD, vec![coin], template);
        } else {
            let to = TakerPockets { out: MIXED, change: HOLD, tag, delay };
            self.joinmarket(t, HOLD, vec![coin], to);
        }
    }

    /// Merges mixed and dormant coins into one, to be cashed out: when enough are ready, or
    /// once the theft is late.
    fn consolidate(&mut self, h: usize, late: bool) -> bool {
        let Heist { tag, thief, .. } = self.heists[h];
        let t = self.thieves[thief].entity;
        let ready = self.count_tagged(t, MIXED, tag) + self.count_tagged(t, HOLD, tag);
        let want = self.rng.gen_range(5..15);
        if ready == 0 || (ready < want && !late) {
            return false;
        }
        let mut coins = self.take_tagged(t, MIXED, tag, 60);
        let room = 60 - coins.len();
        let from = if coins.is_empty() { HOLD } else { MIXED };
        coins.extend(self.take_tagged(t, HOLD, tag, room));
        if coins.len() == 1 {
            self.cash_out(h, coins[0]);
            return true;
        }
        let mut plan = self.thief_plan(h, TxKind::LaunderConsolidate, coins, from);
        let delay = self.rng.gen_range(1..24);
        plan.change = Some(self.thief_out(h, 0, CASHOUT, delay));
        self.commit_or_restore(plan).is_some()
    }

    /// A deposit address of one of the thief's accounts: at an OTC desk, or at an exchange
    /// other than the victim. Thieves reuse an account a while, then open another.
    fn thief_deposit(&mut self, h: usize, otc: bool) -> (Handout, u8) {
        let Heist { thief, victim, .. } = self.heists[h];
        let service = if otc {
            self.svc.otc[self.rng.gen_range(0..self.svc.otc.len())].entity
        } else {
            let mut x = self.pick_exchange();
            if x == victim {
                x = (x + 1) % self.svc.exchanges.len();
            }
            self.svc.exchanges[x].entity
        };
        let existing: Vec<usize> = (0..self.thieves[thief].accounts.len())
            .filter(|&i| self.thieves[thief].accounts[i].service == service)
            .collect();
        let i = match existing.choose(&mut self.rng) {
            Some(&i) if self.rng.gen_bool(0.7) => i,
            _ => {
                let acc = if otc {
                    let d = self.svc.otc.iter().position(|o| o.entity == service).expect("an OTC desk");
                    self.open_otc_account(d)
                } else {
                    let x = self.svc.exchanges.iter().position(|e| e.entity == service).expect("an exchange");
                    self.open_account(self.thieves[thief].entity, x)
                };
                self.thieves[thief].accounts.push(acc);
                self.thieves[thief].accounts.len() - 1
            }
        };
        World::use_account(&mut self.thieves[thief].accounts[i])
    }
}
