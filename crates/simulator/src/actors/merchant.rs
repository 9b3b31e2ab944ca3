//! Merchants and payment processors. A shop either takes payments itself (a fresh invoice
//! address per order, as self-hosted payment servers do) or through a processor, whose
//! invoice addresses are its own and which settles with its merchants in batches, converting
//! part to fiat through an exchange. Shops cash out at an exchange now and then.

use rand::Rng;

use super::{log_uniform, pockets};
use crate::address::AddrKind;
use crate::economy::World;
use crate::entity::{self, Entity, Kind, ServiceStyle, Software};
use crate::txbuild::{Out, Plan, TxKind};
use crate::wallet;

const PROCESSORS: [&str; 2] = ["PayGate", "CoinCheckout"];

/// Price of a bitcoin in dollars, to turn shop prices into satoshis.
const USD_PER_BTC: f64 = 45_000.0;

/// A shop.
#[derive(Debug, Clone)]
pub(crate) struct Merchant {
    /// Its entity.
    pub entity: u32,
    /// The processor it uses, if any.
    pub processor: Option<usize>,
}

/// A payment processor.
#[derive(Debug, Clone)]
pub(crate) struct Processor {
    /// Its entity.
    pub entity: u32,
    /// What it owes each merchant (index into the merchants), in satoshis.
    pub owed: Vec<(usize, u64)>,
}

impl World {
    pub(super) fn create_merchants(&mut self) {
        for name in PROCESSORS {
            let style = ServiceStyle::random(&mut self.rng);
            let e = Entity::new(Kind::PaymentProcessor, Software::Service(style), AddrKind::P2wpkh, 0);
            let id = self.add_entity(e, Some(name.to_owned()));
            self.sign_up(id, 1.0, 0.0);
            self.svc.processors.push(Processor { entity: id, owed: Vec::new() });
        }
        for i in 0..self.scale.merchants {
            let software = if self.rng.gen_bool(0.5) { Software::Core } else { Software::Electrum };
            let kind = if self.rng.gen_bool(0.8) { AddrKind::P2wpkh } else { AddrKind::P2shP2wpkh };
            let e = Entity::new(Kind::Merchant, software, kind, 0);
            let id = self.add_entity(e, Some(format!("Shop {}", i + 1)));
            self.sign_up(id, 1.0, 0.0);
            let processor = self.rng.gen_bool(0.4).then(|| self.rng.gen_range(0..PROCESSORS.len()));
            self.svc.merchants.push(Merchant { entity: id, processor });
        }
    }

    /// A price in satoshis: dollars converted at the day's rate, so never round in bitcoin.
    pub(crate) fn fiat_price(&mut self, lo_usd: f64, hi_usd: f64) -> u64 {
        let usd = (self.rng.gen_range(lo_usd.ln()..hi_usd.ln())).exp();
        let cents = (usd * 100.0).round() / 100.0;
        let rate = USD_PER_BTC * (1.0 + 0.05 * ((self.height as f64) / 500.0).sin());
        (cents / rate * 1e8) as u64
    }

    /// A user buys from a shop: the exact invoice amount to a fresh invoice address.
    pub(super) fn merchant_purchase(&mut self) -> bool {
        let Some(u) = self.random_funded_user() else { return false };
        let m = self.rng.gen_range(0..self.svc.merchants.len());
        let Merchant { entity: shop, processor } = self.svc.merchants[m];
        let price = self.fiat_price(5.0, 2_000.0);
        let payee = match processor {
            Some(p) => self.svc.processors[p].entity,
            None => shop,
        };
        let paid = self.pay(u, price, TxKind::MerchantPayment, |w| {
            let kind = w.entities[payee as usize].addr_kind;
            (entity::fresh(&mut w.entities, payee, kind), pockets::HOT)
        });
        if paid.is_none() {
            return false;
        }
        if let Some(p) = processor {
            let owed = &mut self.svc.processors[p].owed;
            match owed.iter_mut().find(|(i, _)| *i == m) {
                Some((_, v)) => *v += price,
                None => owed.push((m, price)),
            }
        }
        true
    }

    /// Processors settle; shops with enough takings cash out at their exchange.
    pub(super) fn merchant_work(&mut self) {
        for p in 0..self.svc.processors.len() {
            let invoices = self.entities[self.svc.processors[p].entity as usize].pocket_ref(pockets::HOT).len();
            if self.budget > 0 && (invoices >= 250 || self.rng.gen_range(0..18) == 0) {
                self.settle(p);
            }
        }
        let tries = (self.svc.merchants.len() / 40).clamp(1, 20);
        for _ in 0..tries {
            let m = self.rng.gen_range(0..self.svc.merchants.len());
            if self.budget > 0 {
                self.merchant_cashout(m);
            }
        }
    }

    /// A processor pays what it owes its merchants, minus a 1 % fee, in one transaction that
    /// also sweeps its invoice payments; merchants who take fiat are paid through its
    /// exchange account. What the swept coins do not cover stays owed.
    fn settle(&mut self, p: usize) -> bool {
        let id = self.svc.processors[p].entity;
        if self.svc.processors[p].owed.is_empty() {
            return false;
        }
        let height = self.height;
        let coins = wallet::take_all(self.entities[id as usize].pocket(pockets::HOT), height, 300);
        if coins.is_empty() {
            return false;
        }
        let software = self.entities[id as usize].software;
        let feerate = self.wallet_feerate(software);
        let mut plan = Plan::spending(TxKind::Settlement, software.style(), id, pockets::HOT, coins, feerate);
        let batch = self.scale.batch as usize;
        let mut budget = plan.input_value().saturating_sub(plan.fee_estimate_plus(batch + 2));
        let mut owed = std::mem::take(&mut self.svc.processors[p].owed);
        let mut fiat = 0u64;
        let mut paid = 0;
        for (m, v) in owed.iter_mut() {
            let value = *v - *v / 100;
            if paid == batch || value > budget {
                continue;
            }
            budget -= value;
            *v = 0;
            if value < 10_000 {
                continue; // too small to pay out: the processor keeps it
            }
            if self.rng.gen_bool(0.5) {
                fiat += value;
                continue;
            }
            let shop = self.svc.merchants[*m].entity;
            let kind = self.entities[shop as usize].addr_kind;
            plan.outputs.push(Out::new(entity::fresh(&mut self.entities, shop, kind), value, pockets::HOT));
            paid += 1;
        }
        owed.retain(|(_, v)| *v > 0);
        self.svc.processors[p].owed = owed;
        if fiat > 0 {
            if let Some((h, pocket)) = self.deposit_at_any(id) {
                plan.outputs.push(Out::new(h, fiat, pocket));
            }
        }
        let h = entity::fresh(&mut self.entities, id, AddrKind::P2wpkh);
        plan.change = Some(Out::new(h, 0, pockets::HOT));
        if plan.outputs.is_empty() && plan.input_value() < plan.fee_estimate() + 1_000 {
            self.restore(plan);
            return false;
        }
        self.commit_or_restore(plan).is_some()
    }

    /// A shop with a few payments sends most of them to its exchange account.
    fn merchant_cashout(&mut self, m: usize) -> bool {
        let shop = self.svc.merchants[m].entity;
        let height = self.height;
        if self.entities[shop as usize].pocket_ref(pockets::HOT).len() < 4 {
            return false;
        }
        let coins = wallet::take_all(self.entities[shop as usize].pocket(pockets::HOT), height, 60);
        let software = self.entities[shop as usize].software;
        let feerate = self.wallet_feerate(software);
        let mut plan = Plan::spending(TxKind::Deposit, software.style(), shop, pockets::HOT, coins, feerate);
        let value = plan.input_value();
        let keep = if self.rng.gen_bool(0.4) { log_uniform(&mut self.rng, value / 20 + 1, value / 4 + 2) } else { 0 };
        let send = value.saturating_sub(keep + plan.fee_estimate_plus(2) + 2_000);
        if send < 50_000 {
            self.restore(plan);
            return false;
        }
        let Some((h, pocket)) = self.deposit_at_any(shop) else {
            self.restore(plan);
            return false;
        };
        plan.outputs.push(Out::new(h, send, pocket));
        let kind = self.entities[shop as usize].addr_kind;
        plan.change = Some(Out::new(entity::fresh(&mut self.entities, shop, kind), 0, pockets::HOT));
        self.commit_or_restore(plan).is_some()
    }
}
