//! Wasabi-like CoinJoin rounds (WabiSabi): many participants register coins with a
//! coordinator; each gets its amount back split into standard denominations shared with the
//! other participants, plus change; the coordinator takes a fee to a reused address. Outputs
//! (and inputs) appear ordered by value, largest first.

use rand::Rng;

use crate::address::{Addr, AddrKind};
use crate::economy::World;
use crate::entity::{self, Entity, Handout, Kind, Software};
use crate::txbuild::{Lock, Order, Out, Plan, Spend, Style, TxKind};
use crate::wallet::Utxo;

/// A coin waiting for a CoinJoin, and where its owner wants the results.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Registration {
    /// Owner.
    pub owner: u32,
    /// The coin.
    pub utxo: Utxo,
    /// Pocket for the mixed outputs.
    pub out_pocket: u8,
    /// Pocket for change.
    pub change_pocket: u8,
    /// Tag of the new outputs (a thief's theft number).
    pub tag: u16,
    /// Blocks the owner waits before spending the results.
    pub delay: u32,
}

/// The Wasabi-like coordinator.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wasabi {
    /// Its entity.
    pub coordinator: u32,
    /// Its fee address (reused), and whether it was paid yet.
    pub fee_address: (u32, bool),
    /// Coins registered for the next round, in order.
    pub queue: Vec<Registration>,
}

/// The style of round transactions: version 1, no locktime, final sequences, by value.
const STYLE: Style =
    Style { version: 1, lock: Lock::Zero, sequence: 0xffff_ffff, order: Order::ValueDesc, low_r: true };

/// Smallest standard denomination.
const MIN_DENOMINATION: u64 = 10_000;

/// The largest standard denomination (1, 2 or 5 times a power of ten) not above `v`.
pub(crate) fn denomination(v: u64) -> Option<u64> {
    if v < MIN_DENOMINATION {
        return None;
    }
    let p = 10u64.pow(v.ilog10());
    Some(if v >= 5 * p {
        5 * p
    } else if v >= 2 * p {
        2 * p
    } else {
        p
    })
}

impl World {
    pub(super) fn create_wasabi(&mut self) {
        let mut e = Entity::new(Kind::Coinjoin, Software::Core, AddrKind::P2wpkh, 0);
        let fee = e.next_key();
        let id = self.add_entity(e, Some("Wasabi-like coordinator".to_owned()));
        self.svc.wasabi = Wasabi { coordinator: id, fee_address: (fee, false), queue: Vec::new() };
    }

    /// Registers coins for the next Wasabi-like round.
    pub(crate) fn wasabi_register(&mut self, reg: Registration) {
        self.svc.wasabi.queue.push(reg);
    }

    /// Runs a round if enough participants wait (at random times, like the real rounds'
    /// input-registration phases that close on time or on a full round).
    pub(super) fn wasabi_round(&mut self) -> bool {
        let max = self.scale.wasabi_participants as usize;
        let waiting = self.svc.wasabi.queue.len();
        if waiting < 5 || (waiting < max && self.rng.gen_range(0..6) != 0) {
            return false;
        }
        let want = self.rng.gen_range(5..=max);
        let mut owners: Vec<u32> = Vec::new();
        let mut taken = Vec::new();
        let mut rest = Vec::new();
        for reg in std::mem::take(&mut self.svc.wasabi.queue) {
            let known = owners.contains(&reg.owner);
            if known || owners.len() < want {
                if !known {
                    owners.push(reg.owner);
                }
                taken.push(reg);
            } else {
                rest.push(reg);
            }
        }
        self.svc.wasabi.queue = rest;
        if owners.len() < 5 {
            self.svc.wasabi.queue.extend(taken);
            return false;
        }
        let feerate = (self.feerate * self.rng.gen_range(0.8..1.1)).max(1.0);
        let mut plan = Plan::new(TxKind::CoinjoinWasabi, STYLE, Vec::new(), feerate);
        let mut coordinator_fee = 0u64;
        let height = self.height;
        for &owner in &owners {
            let regs: Vec<Registration> = taken.iter().filter(|r| r.owner == owner).copied().collect();
            let value: u64 = regs.iter().map(|r| r.utxo.value).sum();
            let kind = if self.rng.gen_bool(0.75) { AddrKind::P2wpkh } else { AddrKind::P2tr };
            let inputs_weight: u64 = regs.iter().map(|r| r.utxo.kind.input_weight()).sum();
            // Each participant pays for its own inputs, up to five outputs and a share of the
            // rest, and 0.3 % of what it brings to the coordinator (small coins mix for free).
            let mining = ((inputs_weight + 6 * kind.output_weight()) as f64 / 4.0 * feerate).ceil() as u64;
            let coord = if value >= 1_000_000 { value * 3 / 1000 } else { 0 };
            let mut left = value.saturating_sub(mining + coord);
            let first = regs[0];
            for r in &regs {
                plan.inputs.push(Spend { owner, pocket: r.change_pocket, utxo: r.utxo });
            }
            coordinator_fee += coord;
            for _ in 0..4 {
                let Some(d) = denomination(left) else { break };
                let h = entity::fresh(&mut self.entities, owner, kind);
                plan.outputs.push(Out::new(h, d, first.out_pocket).tagged(first.tag).ready_at(height + first.delay));
                left -= d;
            }
            if left >= 5_000 {
                let h = entity::fresh(&mut self.entities, owner, kind);
                plan.outputs
                    .push(Out::new(h, left, first.change_pocket).tagged(first.tag).ready_at(height + first.delay));
            }
        }
        if coordinator_fee >= 1_000 {
            let w = &mut self.svc.wasabi;
            let h = Handout {
                addr: Addr { entity: w.coordinator, index: w.fee_address.0, kind: AddrKind::P2wpkh },
                fresh: !w.fee_address.1,
            };
            w.fee_address.1 = true;
            plan.outputs.push(Out::new(h, coordinator_fee, crate::actors::pockets::HOT));
        }
        let (participants, inputs) = (owners.len(), plan.inputs.len());
        let Some(c) = self.commit_or_restore(plan) else { return false };
        self.note_coinjoin(&c, "wasabi", participants, inputs);
        true
    }

    /// Writes a CoinJoin's line of `coinjoins.csv`.
    pub(crate) fn note_coinjoin(
        &mut self,
        c: &crate::txbuild::Committed,
        style: &'static str,
        participants: usize,
        inputs: usize,
    ) {
        let mut values: Vec<u64> = c.outputs.iter().chain(c.change.iter()).map(|u| u.value).collect();
        values.sort_unstable();
        let (mut best, mut best_n, mut run) = (0u64, 0usize, 0usize);
        for (i, v) in values.iter().enumerate() {
            run = if i > 0 && values[i - 1] == *v { run + 1 } else { 1 };
            if run > best_n || (run == best_n && *v > best) {
                best_n = run;
                best = *v;
            }
        }
        self.truth.coinjoin(&c.txid, style, participants, inputs, values.len(), best_n, best);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denominations_are_one_two_five() {
        assert_eq!(denomination(9_999), None);
        assert_eq!(denomination(10_000), Some(10_000));
        assert_eq!(denomination(19_999), Some(10_000));
        assert_eq!(denomination(25_000), Some(20_000));
        assert_eq!(denomination(73_000_000), Some(50_000_000));
    }
}
