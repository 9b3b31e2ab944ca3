//! JoinMarket-like CoinJoins: a taker picks an amount and a few makers who offer coins for a
//! small fee; everyone gets one output of exactly that amount, each maker gets change that
//! includes its fee, and the taker pays all of the mining fee out of its own change.

use rand::Rng;

use super::{pockets, round_amount};
use crate::address::AddrKind;
use crate::economy::World;
use crate::entity::{self, flags};
use crate::txbuild::{Lock, Order, Out, Plan, Style, TxKind};
use crate::wallet::{self, Selection, Utxo};

const STYLE: Style = Style { version: 2, lock: Lock::Tip, sequence: 0xffff_fffe, order: Order::Shuffle, low_r: true };

/// Where a taker's results go.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TakerPockets {
    /// Pocket for the CoinJoin output.
    pub out: u8,
    /// Pocket for change.
    pub change: u8,
    /// Tag of the new outputs.
    pub tag: u16,
    /// Blocks before the taker spends them.
    pub delay: u32,
}

impl World {
    /// The users who offer coins as makers: a fifth of the privacy-minded.
    pub(super) fn pick_makers(&mut self) {
        for u in self.first_user..self.entities.len() as u32 {
            let e = &mut self.entities[u as usize];
            if e.flags & flags::PRIVACY != 0 && self.rng.gen_bool(0.2) {
                e.flags |= flags::MAKER;
                self.svc.makers.push(u);
            }
        }
    }

    /// `taker` mixes `coins` (taken from its pocket `from`) with makers. Gives the coins back
    /// when too few makers can match the amount.
    pub(crate) fn joinmarket(&mut self, taker: u32, from: u8, coins: Vec<Utxo>, to: TakerPockets) -> bool {
        let total: u64 = coins.iter().map(|u| u.value).sum();
        let feerate = (self.feerate * self.rng.gen_range(1.0..1.4)).max(1.0);
        let share = self.rng.gen_range(50..90);
        let amount = round_amount(&mut self.rng, total * share / 100);
        let height = self.height;
        let n = self.rng.gen_range(3..=8usize);
        let mut makers: Vec<(u32, Vec<Utxo>)> = Vec::new();
        for _ in 0..(4 * n) {
            if makers.len() == n || self.svc.makers.is_empty() {
                break;
            }
            let m = self.svc.makers[self.rng.gen_range(0..self.svc.makers.len())];
            if m == taker || makers.iter().any(|(x, _)| *x == m) {
                continue;
            }
            let pocket = self.entities[m as usize].pocket(pockets::MAIN);
            if let Some(c) = wallet::select(pocket, amount + 10_000, 0.0, height, Selection::Largest, 4, &mut self.rng)
            {
                makers.push((m, c));
            }
        }
        if makers.len() < 2 {
            for (m, c) in makers {
                self.entities[m as usize].pocket(pockets::MAIN).extend(c);
            }
            self.entities[taker as usize].pocket(from).extend(coins);
            return false;
        }
        let mut plan = Plan::spending(TxKind::CoinjoinJoinmarket, STYLE, taker, from, coins, feerate);
        let mut fees = 0u64;
        for (m, c) in makers.iter() {
            let value: u64 = c.iter().map(|u| u.value).sum();
            plan.add_inputs(*m, pockets::MAIN, c.iter().copied());
            let cjfee = ((amount as f64 * self.rng.gen_range(0.000_02..0.000_3)) as u64).max(500);
            fees += cjfee;
            let h = entity::fresh(&mut self.entities, *m, AddrKind::P2wpkh);
            plan.outputs.push(Out::new(h, amount, pockets::MAIN));
            let h = entity::fresh(&mut self.entities, *m, AddrKind::P2wpkh);
            plan.outputs.push(Out::new(h, value - amount + cjfee, pockets::MAIN));
        }
        let h = entity::fresh(&mut self.entities, taker, AddrKind::P2wpkh);
        plan.outputs.push(Out::new(h, amount, to.out).tagged(to.tag).ready_at(height + to.delay));
        let h = entity::fresh(&mut self.entities, taker, AddrKind::P2wpkh);
        plan.change = Some(Out::new(h, 0, to.change).tagged(to.tag).ready_at(height + to.delay));
        let taker_in: u64 = plan.inputs.iter().filter(|s| s.owner == taker).map(|s| s.utxo.value).sum();
        if taker_in < amount + fees + plan.fee_estimate() {
            self.restore(plan);
            return false;
        }
        let participants = makers.len() + 1;
        let inputs = plan.inputs.len();
        let Some(c) = self.commit_or_restore(plan) else { return false };
        self.note_coinjoin(&c, "joinmarket", participants, inputs);
        true
    }
}
