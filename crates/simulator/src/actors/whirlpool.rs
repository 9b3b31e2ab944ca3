//! Whirlpool-like CoinJoins: a participant first makes a "tx0" that splits a coin into
//! equal premix outputs of a pool's denomination (plus a little for the mix's mining fee),
//! pays the pool fee to the coordinator, carries an `OP_RETURN` and returns the rest as
//! "doxxic" change. Mixes then have exactly five inputs and five outputs of the
//! denomination: new premix coins (which pay the mining fee) with earlier outputs remixing
//! for free.

use rand::Rng;

use super::pockets;
use super::wasabi::Registration;
use crate::address::AddrKind;
use crate::economy::World;
use crate::entity::{self, Entity, Kind, Software};
use crate::txbuild::{Lock, Order, Out, Plan, Spend, Style, TxKind, NO_POCKET};
use crate::wallet::Utxo;

/// Pools: denomination and pool fee, in satoshis.
const POOLS: [(u64, u64); 4] = [(100_000, 5_000), (1_000_000, 50_000), (5_000_000, 250_000), (50_000_000, 2_500_000)];

/// Largest number of premix outputs of one tx0.
const MAX_PREMIX: u64 = 70;

const TX0_STYLE: Style =
    Style { version: 1, lock: Lock::Zero, sequence: 0xffff_ffff, order: Order::Bip69, low_r: true };
const MIX_STYLE: Style =
    Style { version: 1, lock: Lock::Zero, sequence: 0xffff_ffff, order: Order::Shuffle, low_r: true };

/// One pool's waiting coins.
#[derive(Debug, Clone, Default)]
pub(crate) struct WhirlpoolPool {
    /// Premix coins (denomination plus their share of a mix's fee).
    pub premix: Vec<Registration>,
    /// Earlier mix outputs that remix.
    pub remix: Vec<Registration>,
}

/// The Whirlpool-like coordinator.
#[derive(Debug, Clone, Default)]
pub(crate) struct Whirlpool {
    /// Its entity (receives the pool fees).
    pub coordinator: u32,
    /// The pools, as in [`POOLS`].
    pub pools: Vec<WhirlpoolPool>,
}

impl World {
    pub(super) fn create_whirlpool(&mut self) {
        let e = Entity::new(Kind::Coinjoin, Software::Electrum, AddrKind::P2wpkh, 0);
        let id = self.add_entity(e, Some("Whirlpool-like coordinator".to_owned()));
        self.svc.whirlpool = Whirlpool { coordinator: id, pools: vec![WhirlpoolPool::default(); POOLS.len()] };
    }

    /// A tx0: splits `coins` of `owner` into premix outputs of the largest pool they afford,
    /// registered for mixing with `template`'s pockets, tag and delay. Gives the coins back if
    /// they afford no pool.
    pub(crate) fn whirlpool_tx0(&mut self, owner: u32, from: u8, coins: Vec<Utxo>, template: Registration) -> bool {
        let total: u64 = coins.iter().map(|u| u.value).sum();
        let feerate = (self.feerate * self.rng.gen_range(1.0..1.3)).max(1.0);
        // What each premix output carries for the mix's fee: a fifth of a mix (506 vB) at this
        // rate, twice; at least enough for one premix coin to pay a whole mix at 1 sat/vB.
        let surplus = ((feerate * 102.0).ceil() as u64 * 2).max(600);
        let in_weight: u64 = coins.iter().map(|u| u.kind.input_weight()).sum();
        let Some(p) = (0..POOLS.len()).rev().find(|&p| {
            let (d, f) = POOLS[p];
            let fee = ((in_weight + 600 + 2 * 124) as f64 / 4.0 * feerate) as u64;
            total > d + surplus + f + fee + 1_000
        }) else {
            let pocket = self.entities[owner as usize].pocket(from);
            pocket.extend(coins);
            return false;
        };
        let (denom, pool_fee) = POOLS[p];
        let per = denom + surplus;
        // Overhead, the fee output, the OP_RETURN and the change: under 600 weight units.
        let fixed = ((in_weight + 600) as f64 / 4.0 * feerate) as u64 + pool_fee;
        let n = ((total - fixed) / (per + (124.0 / 4.0 * feerate) as u64)).clamp(1, MAX_PREMIX);
        let mut plan = Plan::spending(TxKind::WhirlpoolTx0, TX0_STYLE, owner, from, coins, feerate);
        for _ in 0..n {
            let h = entity::fresh(&mut self.entities, owner, AddrKind::P2wpkh);
            plan.outputs.push(Out::new(h, per, NO_POCKET).tagged(template.tag));
        }
        let coord = self.svc.whirlpool.coordinator;
        plan.outputs.push(Out::new(entity::fresh(&mut self.entities, coord, AddrKind::P2wpkh), pool_fee, pockets::HOT));
        let mut data = vec![0u8; 46];
        self.rng.fill(&mut data[..]);
        plan.op_return = Some(data);
        let kind = self.entities[owner as usize].addr_kind;
        let change = entity::fresh(&mut self.entities, owner, kind);
        plan.change = Some(
            Out::new(change, 0, template.change_pocket).tagged(template.tag).ready_at(self.height + template.delay),
        );
        let Some(c) = self.commit_or_restore(plan) else { return false };
        let premix = c.outputs[..n as usize].iter().map(|&utxo| Registration { owner, utxo, ..template });
        self.svc.whirlpool.pools[p].premix.extend(premix);
        true
    }

    /// Runs the mixes of every pool that has coins for them: a few per pool and block, more on
    /// busier chains.
    pub(super) fn whirlpool_mixes(&mut self) {
        let most = 2 + (self.scale.tx_per_block / 100.0) as usize;
        for p in 0..POOLS.len() {
            for _ in 0..most {
                if self.budget == 0 || !self.whirlpool_mix(p) {
                    break;
                }
            }
        }
    }

    /// One mix: two new premix coins and three remixing ones (more premix when remixers are
    /// few), five distinct owners, five equal outputs.
    fn whirlpool_mix(&mut self, p: usize) -> bool {
        let pool = &mut self.svc.whirlpool.pools[p];
        if pool.premix.is_empty() || pool.premix.len() + pool.remix.len() < 5 {
            return false;
        }
        let mut chosen: Vec<Registration> = Vec::with_capacity(5);
        let mut owners = Vec::with_capacity(5);
        // Random coins of distinct owners, a bounded number of draws.
        let rng = &mut self.rng;
        let mut pick = |queue: &mut Vec<Registration>, limit: usize| {
            for _ in 0..12 {
                if chosen.len() >= limit || queue.is_empty() {
                    break;
                }
                let i = rng.gen_range(0..queue.len());
                if !owners.contains(&queue[i].owner) {
                    owners.push(queue[i].owner);
                    chosen.push(queue.swap_remove(i));
                }
            }
        };
        pick(&mut pool.premix, 2);
        pick(&mut pool.remix, 5);
        pick(&mut pool.premix, 5);
        if chosen.len() < 5 {
            for r in chosen {
                let fresh_premix = r.utxo.value > POOLS[p].0;
                if fresh_premix {
                    pool.premix.push(r)
                } else {
                    pool.remix.push(r)
                }
            }
            return false;
        }
        let denom = POOLS[p].0;
        let height = self.height;
        let spends = chosen.iter().map(|r| Spend { owner: r.owner, pocket: r.change_pocket, utxo: r.utxo }).collect();
        let mut plan = Plan::new(TxKind::CoinjoinWhirlpool, MIX_STYLE, spends, 1.0);
        for r in &chosen {
            let h = entity::fresh(&mut self.entities, r.owner, AddrKind::P2wpkh);
            plan.outputs.push(Out::new(h, denom, NO_POCKET).tagged(r.tag).ready_at(height + r.delay));
        }
        let Some(c) = self.commit_or_restore(plan) else { return false };
        self.note_coinjoin(&c, "whirlpool", 5, 5);
        for (r, utxo) in chosen.into_iter().zip(c.outputs) {
            let user = self.entities[r.owner as usize].kind == Kind::User;
            if user && self.rng.gen_bool(0.5) {
                self.svc.whirlpool.pools[p].remix.push(Registration { utxo, ..r });
            } else {
                self.entities[r.owner as usize].pocket(r.out_pocket).push(utxo);
            }
        }
        true
    }
}
