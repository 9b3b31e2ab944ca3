//! Users: people with HD-like wallets who pay each other, shop, deposit at exchanges, bet
//! and now and then consolidate small coins when fees are low.

use rand::Rng;

use super::{log_uniform, pockets, round_amount, Registration, TakerPockets};
use crate::economy::World;
use crate::entity::{self, Handout};
use crate::txbuild::{Out, Plan, TxKind};
use crate::wallet;

/// Largest number of inputs a user's payment takes.
const MAX_USER_INPUTS: usize = 30;

impl World {
    /// A user pays another user an amount typed in bitcoin (round) or converted from fiat.
    pub(super) fn user_payment(&mut self) -> bool {
        let Some(payer) = self.random_funded_user() else { return false };
        let amount = self.payment_amount(payer);
        let payee = self.random_user();
        if payee == payer {
            return false;
        }
        self.pay(payer, amount, TxKind::Payment, |w| {
            let h = entity::receive(&mut w.entities, payee, &mut w.rng);
            (h, pockets::MAIN)
        })
        .is_some()
    }

    /// An amount a user pays: a share of what the wallet holds, round half the time.
    pub(super) fn payment_amount(&mut self, payer: u32) -> u64 {
        let balance = wallet::spendable(self.entities[payer as usize].pocket_ref(pockets::MAIN), self.height);
        let v = log_uniform(&mut self.rng, (balance / 200).max(5_000), (balance / 2).max(10_000));
        if self.rng.gen_bool(0.5) {
            round_amount(&mut self.rng, v)
        } else {
            v
        }
    }

    /// `payer` pays `amount` to the address `payee` hands out (asked only once the coins are
    /// chosen, so that a failed payment uses up no address), with change as the payer's wallet
    /// makes it. Returns the recipient's output, or `None` if the payer cannot afford it.
    pub(crate) fn pay(
        &mut self,
        payer: u32,
        amount: u64,
        kind: TxKind,
        payee: impl FnOnce(&mut World) -> (Handout, u8),
    ) -> Option<crate::txbuild::Committed> {
        self.pay_from(payer, pockets::MAIN, amount, kind, payee)
    }

    /// [`World::pay`] with coins of pocket `from`; change goes to the main pocket.
    pub(crate) fn pay_from(
        &mut self,
        payer: u32,
        from: u8,
        amount: u64,
        kind: TxKind,
        payee: impl FnOnce(&mut World) -> (Handout, u8),
    ) -> Option<crate::txbuild::Committed> {
        let software = self.entities[payer as usize].software;
        let feerate = self.wallet_feerate(software);
        // Fee of everything but the inputs (whose share `select` adds), with room for two
        // outputs of the widest type.
        let base_fee = ((4 * 14 + 2 + 2 * 172) as f64 / 4.0 * feerate).ceil() as u64;
        let how = software.selection();
        let mut plan = self.select_plan(kind, payer, from, amount + base_fee, feerate, how, MAX_USER_INPUTS)?;
        let first = plan.inputs[0].utxo.addr(payer);
        let (h, pocket) = payee(self);
        plan.outputs.push(Out::new(h, amount, pocket));
        let change = entity::change(&mut self.entities, payer, h.addr.kind, first);
        plan.change = Some(Out::new(change, 0, pockets::MAIN));
        self.commit_or_restore(plan)
    }

    /// A user with many small coins merges them into one, as wallets suggest when fees are low.
    pub(super) fn user_consolidation(&mut self) -> bool {
        let Some(u) = self.random_funded_user() else { return false };
        let height = self.height;
        if self.feerate > 6.0 || self.entities[u as usize].pocket_ref(pockets::MAIN).len() < 5 {
            return false;
        }
        let software = self.entities[u as usize].software;
        let feerate = self.wallet_feerate(software).min(self.feerate * 1.1).max(1.0);
        let coins = wallet::take_smallest(self.entities[u as usize].pocket(pockets::MAIN), height, 40);
        if coins.len() < 2 {
            self.entities[u as usize].pocket(pockets::MAIN).extend(coins);
            return false;
        }
        let mut plan = Plan::spending(TxKind::Consolidation, software.style(), u, pockets::MAIN, coins, feerate);
        let kind = self.entities[u as usize].addr_kind;
        let h = entity::fresh(&mut self.entities, u, kind);
        plan.change = Some(Out::new(h, 0, pockets::MAIN));
        if plan.input_value() < plan.fee_estimate() + 2 * kind.dust() {
            self.restore(plan);
            return false;
        }
        self.commit_or_restore(plan).is_some()
    }

    /// A privacy-minded user mixes: registers coins for a Wasabi-like round, makes a
    /// Whirlpool-like tx0, or takes a JoinMarket-like CoinJoin.
    pub(super) fn user_mix(&mut self) -> bool {
        if self.svc.privacy.is_empty() {
            return false;
        }
        let u = self.svc.privacy[self.rng.gen_range(0..self.svc.privacy.len())];
        let height = self.height;
        let mut coins = wallet::take_all(self.entities[u as usize].pocket(pockets::MAIN), height, usize::MAX);
        coins.sort_by_key(|c| std::cmp::Reverse(c.value));
        let n = self.rng.gen_range(1..=3).min(coins.len());
        let keep = coins.split_off(n);
        self.entities[u as usize].pocket(pockets::MAIN).extend(keep);
        let total: u64 = coins.iter().map(|c| c.value).sum();
        if total < 200_000 {
            self.entities[u as usize].pocket(pockets::MAIN).extend(coins);
            return false;
        }
        let reg = |utxo| Registration {
            owner: u,
            utxo,
            out_pocket: pockets::MIXED,
            change_pocket: pockets::MAIN,
            tag: 0,
            delay: 0,
        };
        match self.rng.gen_range(0..10) {
            0..=4 => {
                for c in coins {
                    self.wasabi_register(reg(c));
                }
                // Registering is not a transaction: let the caller try something else too.
                false
            }
            5..=7 => {
                let template = reg(coins[0]);
                self.whirlpool_tx0(u, pockets::MAIN, coins, template)
            }
            _ => {
                let to = TakerPockets { out: pockets::MIXED, change: pockets::MAIN, tag: 0, delay: 0 };
                self.joinmarket(u, pockets::MAIN, coins, to)
            }
        }
    }

    /// A user spends coins that came out of a CoinJoin, without mixing them with others.
    pub(super) fn spend_mixed(&mut self) -> bool {
        if self.svc.privacy.is_empty() {
            return false;
        }
        let u = self.svc.privacy[self.rng.gen_range(0..self.svc.privacy.len())];
        let height = self.height;
        let mixed = wallet::spendable(self.entities[u as usize].pocket_ref(pockets::MIXED), height);
        if mixed < 50_000 {
            return false;
        }
        let amount = log_uniform(&mut self.rng, mixed / 10, mixed * 9 / 10);
        let to_exchange = self.rng.gen_bool(0.3);
        let payee = self.random_user();
        self.pay_from(u, pockets::MIXED, amount, TxKind::Payment, |w| {
            match if to_exchange { w.deposit_at_any(u) } else { None } {
                Some(d) => d,
                None => (entity::receive(&mut w.entities, payee, &mut w.rng), pockets::MAIN),
            }
        })
        .is_some()
    }
}
