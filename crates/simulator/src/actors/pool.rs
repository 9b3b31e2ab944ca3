//! Mining pools: they mine the blocks (coinbase to the pool's address, often the same one
//! block after block), wait out the coinbase maturity, then pay their miners in batches of
//! many outputs, some straight to the miners' exchange deposit addresses.

use rand::seq::SliceRandom;
use rand::Rng;

use super::pockets;
use crate::address::AddrKind;
use crate::economy::World;
use crate::entity::{self, flags, Entity, Handout, Kind, ServiceStyle, Software};
use crate::txbuild::{Out, Plan, TxKind};
use crate::wallet;

const NAMES: [&str; 6] = ["Hashforge", "Blockwell Pool", "Quarry Pool", "Nonce Farm", "Petahash", "Minersgate"];

/// A mining pool.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    /// Its entity.
    pub entity: u32,
    /// Share of the hash rate.
    pub share: f64,
    /// Its miners (users).
    pub miners: Vec<u32>,
    /// Key index of the coinbase address it reuses, if it reuses one.
    pub coinbase_index: Option<u32>,
    /// Reuses its coinbase address.
    pub reuse_coinbase: bool,
    /// Blocks between payouts, on average.
    pub payout_every: u32,
}

impl World {
    pub(super) fn create_pools(&mut self) {
        let shares = [0.30, 0.24, 0.18, 0.13, 0.10, 0.05];
        for (name, share) in NAMES.iter().zip(shares) {
            let style = ServiceStyle::random(&mut self.rng);
            let kind = if self.rng.gen_bool(0.5) { AddrKind::P2wpkh } else { AddrKind::P2pkh };
            let e = Entity::new(Kind::MiningPool, Software::Service(style), kind, 0);
            let id = self.add_entity(e, Some((*name).to_owned()));
            let reuse_coinbase = self.rng.gen_bool(0.6);
            let payout_every = self.rng.gen_range(3..12);
            self.svc.pools.push(Pool {
                entity: id,
                share,
                miners: Vec::new(),
                coinbase_index: None,
                reuse_coinbase,
                payout_every,
            });
        }
    }

    /// Puts about 3 % of users into pools, more into the big ones.
    pub(super) fn assign_miners(&mut self) {
        let n = (self.user_count() / 33).max(self.svc.pools.len() as u32 * 3);
        for _ in 0..n {
            let u = self.random_user();
            let p = self.pick_pool();
            self.entities[u as usize].flags |= flags::MINER;
            self.svc.pools[p].miners.push(u);
        }
        for p in 0..self.svc.pools.len() {
            if self.svc.pools[p].miners.is_empty() {
                let u = self.random_user();
                self.svc.pools[p].miners.push(u);
            }
        }
    }

    /// The pool that finds the next block, by hash rate.
    pub(crate) fn pick_pool(&mut self) -> usize {
        let mut x: f64 = self.rng.gen();
        for (i, p) in self.svc.pools.iter().enumerate() {
            x -= p.share;
            if x <= 0.0 {
                return i;
            }
        }
        self.svc.pools.len() - 1
    }

    /// The address a pool's coinbase pays.
    pub(crate) fn coinbase_address(&mut self, pool: usize) -> Handout {
        let p = &self.svc.pools[pool];
        let id = p.entity;
        let kind = self.entities[id as usize].addr_kind;
        if let (true, Some(index)) = (p.reuse_coinbase, p.coinbase_index) {
            return Handout { addr: crate::address::Addr { entity: id, index, kind }, fresh: false };
        }
        let h = entity::fresh(&mut self.entities, id, kind);
        self.svc.pools[pool].coinbase_index = Some(h.addr.index);
        h
    }

    /// Pools whose payout is due pay their miners.
    pub(super) fn pool_payouts(&mut self) {
        for p in 0..self.svc.pools.len() {
            if self.budget > 0 && self.rng.gen_range(0..self.svc.pools[p].payout_every) == 0 {
                self.pool_payout(p);
            }
        }
    }

    /// Pays a pool's matured coins out to a batch of its miners; `false` if nothing matured.
    pub(super) fn pool_payout(&mut self, p: usize) -> bool {
        let id = self.svc.pools[p].entity;
        let height = self.height;
        let pocket = self.entities[id as usize].pocket(pockets::HOT);
        let inputs = wallet::take_all(pocket, height, 20);
        if inputs.is_empty() {
            return false;
        }
        let software = self.entities[id as usize].software;
        let feerate = self.wallet_feerate(software);
        let mut plan = Plan::spending(TxKind::PoolPayout, software.style(), id, pockets::HOT, inputs, feerate);
        let total = plan.input_value();
        let k = self.rng.gen_range(3..=self.scale.batch.max(3)) as usize;
        let miners: Vec<u32> = self.svc.pools[p].miners.choose_multiple(&mut self.rng, k).copied().collect();
        // Keep a tenth back; pay the rest by each miner's (Pareto-distributed) hash rate.
        let weights: Vec<f64> = miners.iter().map(|_| 1.0 / (1.0 - self.rng.gen::<f64>()).powf(0.8)).collect();
        let sum: f64 = weights.iter().sum();
        let payable = total as f64 * 0.9 - plan.fee_estimate() as f64 - 100.0 * miners.len() as f64 * feerate;
        if payable <= 0.0 {
            self.restore(plan);
            return false;
        }
        for (m, w) in miners.iter().zip(&weights) {
            let value = (payable * w / sum) as u64;
            if value < 1000 {
                continue;
            }
            let to_exchange = self.rng.gen_bool(0.25);
            let out = match self.deposit_handout(*m, to_exchange) {
                Some((h, pocket)) => Out::new(h, value, pocket),
                None => {
                    let h = entity::receive(&mut self.entities, *m, &mut self.rng);
                    Out::new(h, value, pockets::MAIN)
                }
            };
            plan.outputs.push(out);
        }
        if plan.outputs.is_empty() {
            self.restore(plan);
            return false;
        }
        let kind = self.entities[id as usize].addr_kind;
        let change = entity::fresh(&mut self.entities, id, kind);
        plan.change = Some(Out::new(change, 0, pockets::HOT));
        self.commit_or_restore(plan).is_some()
    }

    /// The deposit address of `user` at one of its exchanges, if `want` and it has one.
    pub(crate) fn deposit_handout(&mut self, user: u32, want: bool) -> Option<(Handout, u8)> {
        if !want {
            return None;
        }
        let acc = self.entities[user as usize].accounts.iter_mut().flatten().next()?;
        let fresh = !acc.used;
        acc.used = true;
        Some((Handout { addr: acc.addr(), fresh }, pockets::DEPOSIT))
    }
}
