//! Over-the-counter brokers: they give each customer a deposit address, buy coins from
//! whoever deposits (thieves among them), sell to buyers who are paid on chain, and move
//! their surplus to exchanges.

use rand::Rng;

use super::{log_uniform, pockets};
use crate::address::AddrKind;
use crate::economy::World;
use crate::entity::{self, Account, Entity, Kind, ServiceStyle, Software};
use crate::txbuild::{Out, TxKind};
use crate::wallet::{self, Selection};

const NAMES: [&str; 3] = ["Jade OTC", "Meridian Brokers", "Cashpoint OTC"];

/// An OTC desk.
#[derive(Debug, Clone)]
pub(crate) struct Otc {
    /// Its entity.
    pub entity: u32,
    /// Script type of its customer deposit addresses.
    pub deposit_kind: AddrKind,
}

impl World {
    pub(super) fn create_otc(&mut self) {
        for name in NAMES {
            let style = ServiceStyle::random(&mut self.rng);
            let kind = if self.rng.gen_bool(0.5) { AddrKind::P2pkh } else { AddrKind::P2wpkh };
            let e = Entity::new(Kind::Otc, Software::Service(style), kind, 0);
            let id = self.add_entity(e, Some(name.to_owned()));
            self.sign_up(id, 0.0, 1.0);
            self.svc.otc.push(Otc { entity: id, deposit_kind: kind });
        }
    }

    /// Opens a customer account at OTC desk `d`.
    pub(crate) fn open_otc_account(&mut self, d: usize) -> Account {
        let Otc { entity, deposit_kind } = self.svc.otc[d];
        let index = self.entities[entity as usize].next_key();
        Account { service: entity, index, kind: deposit_kind, used: false }
    }

    /// Each desk's work: collect deposits, sell to buyers, bank the surplus at an exchange.
    pub(super) fn otc_work(&mut self) {
        for d in 0..self.svc.otc.len() {
            if self.budget > 0 && self.rng.gen_range(0..6) == 0 {
                self.otc_collect(d);
            }
            let sells = self.count((0.004 * self.scale.tx_per_block).max(0.03));
            for _ in 0..sells {
                if self.budget > 0 {
                    self.otc_sell(d);
                }
            }
            if self.budget > 0 && self.rng.gen_range(0..30) == 0 {
                self.otc_bank(d);
            }
            let id = self.svc.otc[d].entity;
            self.service_consolidate(id, pockets::HOT, 300);
        }
    }

    /// Sweeps customer deposits into the desk's wallet.
    fn otc_collect(&mut self, d: usize) -> bool {
        let id = self.svc.otc[d].entity;
        let Some(mut plan) = self.deposit_sweep(id, 100, false) else { return false };
        let kind = self.entities[id as usize].addr_kind;
        plan.change = Some(Out::new(entity::fresh(&mut self.entities, id, kind), 0, pockets::HOT));
        self.commit_or_restore(plan).is_some()
    }

    /// Sells coins to one to four buyers (users), paid on chain.
    fn otc_sell(&mut self, d: usize) -> bool {
        let id = self.svc.otc[d].entity;
        let height = self.height;
        let hot = wallet::spendable(self.entities[id as usize].pocket_ref(pockets::HOT), height);
        if hot < 2_000_000 {
            return false;
        }
        let n = self.rng.gen_range(1..=4);
        let amounts: Vec<u64> = (0..n).map(|_| log_uniform(&mut self.rng, 500_000, (hot / 8).max(600_000))).collect();
        let total: u64 = amounts.iter().sum();
        let software = self.entities[id as usize].software;
        let feerate = self.wallet_feerate(software);
        let target = total + 400 * feerate as u64;
        let Some(mut plan) =
            self.select_plan(TxKind::OtcTrade, id, pockets::HOT, target, feerate, Selection::Oldest, 50)
        else {
            return false;
        };
        for a in amounts {
            let buyer = self.random_user();
            plan.outputs.push(Out::new(entity::receive(&mut self.entities, buyer, &mut self.rng), a, pockets::MAIN));
        }
        let kind = self.entities[id as usize].addr_kind;
        plan.change = Some(Out::new(entity::fresh(&mut self.entities, id, kind), 0, pockets::HOT));
        self.commit_or_restore(plan).is_some()
    }

    /// Moves the desk's surplus to its exchange account.
    fn otc_bank(&mut self, d: usize) -> bool {
        let id = self.svc.otc[d].entity;
        let height = self.height;
        let hot = wallet::spendable(self.entities[id as usize].pocket_ref(pockets::HOT), height);
        if hot < 50_000_000 {
            return false;
        }
        let amount = hot / 2;
        let software = self.entities[id as usize].software;
        let feerate = self.wallet_feerate(software);
        let target = amount + 400 * feerate as u64;
        let Some(mut plan) =
            self.select_plan(TxKind::Deposit, id, pockets::HOT, target, feerate, Selection::Largest, 100)
        else {
            return false;
        };
        let Some((h, pocket)) = self.deposit_at_any(id) else {
            self.restore(plan);
            return false;
        };
        plan.outputs.push(Out::new(h, amount, pocket));
        let kind = self.entities[id as usize].addr_kind;
        plan.change = Some(Out::new(entity::fresh(&mut self.entities, id, kind), 0, pockets::HOT));
        self.commit_or_restore(plan).is_some()
    }
}
