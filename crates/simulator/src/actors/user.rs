//! Users: people with HD-like wallets who pay each other, shop, deposit at exchanges, bet
//! and now and then consolidate small coins when fees are low.

use rand::Rng;

use super::{log_uniform, pockets, round_amount};
use crate::economy::World;
use crate::entity::{self, Handout};
use crate::txbuild::{Out, Plan, Spend, TxKind};
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
        let software = self.entities[payer as usize].software;
        let feerate = self.wallet_feerate(software);
        // Fee of everything but the inputs (whose share `select` adds), with room for two
        // outputs of the widest type.
        let base_fee = ((4 * 14 + 2 + 2 * 172) as f64 / 4.0 * feerate).ceil() as u64;
        let height = self.height;
        let pocket = self.entities[payer as usize].pocket(pockets::MAIN);
        let coins = wallet::select(pocket, amount + base_fee, feerate, height, software.selection(), MAX_USER_INPUTS, &mut self.rng)?;
        let spends: Vec<Spend> = coins.into_iter().map(|utxo| Spend { owner: payer, pocket: pockets::MAIN, utxo }).collect();
        let first = spends[0].utxo.addr(payer);
        let mut plan = Plan::new(kind, software.style(), spends, feerate);
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
        let spends = coins.into_iter().map(|utxo| Spend { owner: u, pocket: pockets::MAIN, utxo }).collect();
        let mut plan = Plan::new(TxKind::Consolidation, software.style(), spends, feerate);
        let kind = self.entities[u as usize].addr_kind;
        let h = entity::fresh(&mut self.entities, u, kind);
        plan.change = Some(Out::new(h, 0, pockets::MAIN));
        if plan.input_value() < plan.fee_estimate() + 2 * kind.dust() {
            self.restore(plan);
            return false;
        }
        self.commit_or_restore(plan).is_some()
    }
}
