//! Turning a wallet's decision ([`Plan`]) into a transaction: inputs and outputs ordered as
//! the wallet software orders them, locktime and sequence as it sets them, the fee from the
//! real weight, change dropped when it would be dust; then recording it in the block, the
//! ground truth and the recipients' pockets.

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid};
use rand::seq::SliceRandom;
use rand::Rng;

use crate::address::Addr;
use crate::economy::World;
use crate::entity::{Handout, Kind};
use crate::wallet::Utxo;

pub(crate) use crate::txkind::TxKind;
use sleuth_chain::AddressKey;

/// How a wallet orders outputs (and inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Random order of inputs and outputs (Bitcoin Core).
    Shuffle,
    /// BIP69: inputs by outpoint, outputs by value then script.
    Bip69,
    /// Inputs as selected; payments in order, change last.
    ChangeLast,
    /// Inputs as selected; change first, then payments.
    ChangeFirst,
    /// Inputs and outputs by value, largest first (as Wasabi rounds appear).
    ValueDesc,
}

/// How a wallet sets the locktime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    /// Zero.
    Zero,
    /// The height of the chain tip.
    Tip,
    /// Bitcoin Core's anti-fee-sniping: the tip, and one time in ten up to 99 blocks less.
    AntiSnipe,
}

/// Version, locktime, sequence and ordering habits of a wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Style {
    /// Transaction version.
    pub version: i32,
    /// Locktime rule.
    pub lock: Lock,
    /// Sequence of every input.
    pub sequence: u32,
    /// Ordering.
    pub order: Order,
    /// Signatures ground to a low R (71 bytes).
    pub low_r: bool,
}

/// An input: an output of `owner`'s, taken out of its pocket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spend {
    /// Owner entity.
    pub owner: u32,
    /// Pocket it came from (to put it back if the plan is dropped).
    pub pocket: u8,
    /// The output.
    pub utxo: Utxo,
}

/// Pocket value meaning "do not deliver; the caller routes the new output itself".
pub(crate) const NO_POCKET: u8 = u8::MAX;

/// An output to create.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Out {
    /// Recipient address.
    pub to: Addr,
    /// Value; ignored for change, which gets what is left after the fee.
    pub value: u64,
    /// First use of the address.
    pub fresh: bool,
    /// Recipient's pocket, or [`NO_POCKET`].
    pub pocket: u8,
    /// Tag of the new output.
    pub tag: u16,
    /// First height the recipient spends it.
    pub ready: u32,
}

impl Out {
    /// An output paying `value` to a handed-out address into `pocket`.
    pub fn new(h: Handout, value: u64, pocket: u8) -> Out {
        Out { to: h.addr, value, fresh: h.fresh, pocket, tag: 0, ready: 0 }
    }

    /// The same with a tag.
    pub fn tagged(mut self, tag: u16) -> Out {
        self.tag = tag;
        self
    }

    /// The same, spent no earlier than `height`.
    pub fn ready_at(mut self, height: u32) -> Out {
        self.ready = height;
        self
    }
}

/// A transaction a wallet (or several, for a CoinJoin) decided to make.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Purpose.
    pub kind: TxKind,
    /// Wallet habits.
    pub style: Style,
    /// Inputs.
    pub inputs: Vec<Spend>,
    /// Payments.
    pub outputs: Vec<Out>,
    /// Change, if the wallet wants one: gets inputs − payments − fee, dropped below dust.
    pub change: Option<Out>,
    /// Fee rate in sat/vB.
    pub feerate: f64,
    /// Data of an `OP_RETURN` output.
    pub op_return: Option<Vec<u8>>,
    /// Theft this transaction launders (0: none).
    pub heist: u16,
}

impl Plan {
    /// A plan without outputs yet.
    pub fn new(kind: TxKind, style: Style, inputs: Vec<Spend>, feerate: f64) -> Plan {
        Plan { kind, style, inputs, outputs: Vec::new(), change: None, feerate, op_return: None, heist: 0 }
    }

    /// A plan without outputs yet, spending `coins` that `owner` took out of its pocket `pocket`.
    pub fn spending(kind: TxKind, style: Style, owner: u32, pocket: u8, coins: Vec<Utxo>, feerate: f64) -> Plan {
        let mut plan = Plan::new(kind, style, Vec::with_capacity(coins.len()), feerate);
        plan.add_inputs(owner, pocket, coins);
        plan
    }

    /// Adds `coins`, taken out of `owner`'s pocket `pocket`, to the inputs.
    pub fn add_inputs(&mut self, owner: u32, pocket: u8, coins: impl IntoIterator<Item = Utxo>) {
        self.inputs.extend(coins.into_iter().map(|utxo| Spend { owner, pocket, utxo }));
    }

    /// Sum of the inputs.
    pub fn input_value(&self) -> u64 {
        self.inputs.iter().map(|s| s.utxo.value).sum()
    }

    /// Upper bound of the weight, change included.
    pub fn weight_estimate(&self) -> u64 {
        let mut w = 4 * (4 + 4 + 3 + 3) + 2;
        w += self.inputs.iter().map(|s| s.utxo.kind.input_weight()).sum::<u64>();
        w += self.outputs.iter().map(|o| o.to.kind.output_weight()).sum::<u64>();
        w += self.change.map(|c| c.to.kind.output_weight()).unwrap_or(0);
        w += self.op_return.as_ref().map(|d| 4 * (8 + 1 + 2 + d.len() as u64)).unwrap_or(0);
        w
    }

    /// Fee at the plan's rate for the estimated weight.
    pub fn fee_estimate(&self) -> u64 {
        self.fee_estimate_plus(0)
    }

    /// Fee at the plan's rate with room for `extra` more outputs of the widest type.
    pub fn fee_estimate_plus(&self, extra: usize) -> u64 {
        ((self.weight_estimate() + 172 * extra as u64) as f64 / 4.0 * self.feerate).ceil() as u64
    }
}

/// A transaction written to the block.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    /// Its id.
    pub txid: Txid,
    /// The new outputs paying the plan's payments, in plan order.
    pub outputs: Vec<Utxo>,
    /// The change output, if one was made.
    pub change: Option<Utxo>,
    /// Address spent by the first input, in transaction order.
    pub first_input: Addr,
}

/// Where each planned output went: payment `i`, change, or the data output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Pay(usize),
    Change,
    Data,
}

impl World {
    /// Builds the transaction of `plan`, appends it to the block, records the ground truth and
    /// delivers the new outputs. Gives the plan back, untouched, if its inputs do not pay its
    /// outputs and at least 1 sat/vB.
    pub(crate) fn commit(&mut self, mut plan: Plan) -> Result<Committed, Box<Plan>> {
        let in_value = plan.input_value();
        let pay: u64 = plan.outputs.iter().map(|o| o.value).sum();
        let lock_time = match plan.style.lock {
            Lock::Zero => 0,
            Lock::Tip => self.height - 1,
            Lock::AntiSnipe if self.rng.gen_range(0..10) == 0 => {
                (self.height - 1).saturating_sub(self.rng.gen_range(0..100))
            }
            Lock::AntiSnipe => self.height - 1,
        };
        match plan.style.order {
            Order::Shuffle => plan.inputs.shuffle(&mut self.rng),
            Order::Bip69 => plan.inputs.sort_by(|a, b| {
                let key = |s: &Spend| {
                    let mut t = s.utxo.txid.to_byte_array();
                    t.reverse();
                    (t, s.utxo.vout)
                };
                key(a).cmp(&key(b))
            }),
            Order::ValueDesc => plan.inputs.sort_by_key(|s| std::cmp::Reverse(s.utxo.value)),
            Order::ChangeLast | Order::ChangeFirst => {}
        }
        let input: Vec<TxIn> = plan
            .inputs
            .iter()
            .map(|s| {
                let (script_sig, witness) = self.keys.spend(&s.utxo.addr(s.owner), plan.style.low_r, &mut self.rng);
                TxIn {
                    previous_output: OutPoint { txid: s.utxo.txid, vout: s.utxo.vout },
                    script_sig,
                    sequence: Sequence(plan.style.sequence),
                    witness,
                }
            })
            .collect();
        let mut slots: Vec<(Slot, TxOut)> = Vec::with_capacity(plan.outputs.len() + 2);
        // Address keys by plan index, the change's last.
        let mut keys = Vec::with_capacity(plan.outputs.len() + 1);
        for (i, o) in plan.outputs.iter().enumerate() {
            let (script_pubkey, key) = self.keys.output(&o.to);
            keys.push(key);
            slots.push((Slot::Pay(i), TxOut { value: Amount::from_sat(o.value), script_pubkey }));
        }
        if let Some(c) = &plan.change {
            let (script_pubkey, key) = self.keys.output(&c.to);
            keys.push(key);
            slots.push((Slot::Change, TxOut { value: Amount::ZERO, script_pubkey }));
        }
        if let Some(d) = &plan.op_return {
            let push = bitcoin::script::PushBytesBuf::try_from(d.clone()).expect("OP_RETURN data under 520 bytes");
            slots.push((Slot::Data, TxOut { value: Amount::ZERO, script_pubkey: ScriptBuf::new_op_return(push) }));
        }
        let mut tx = Transaction {
            version: Version(plan.style.version),
            lock_time: LockTime::from_consensus(lock_time),
            input,
            output: Vec::new(),
        };
        tx.output = slots.iter().map(|(_, o)| o.clone()).collect();
        let vsize = tx.weight().to_vbytes_ceil();
        let min_fee = vsize;
        let mut fee = ((vsize as f64) * plan.feerate).ceil() as u64;
        let mut change_value = None;
        if let Some(c) = &plan.change {
            let left = in_value.saturating_sub(pay + fee);
            if left >= c.to.kind.dust() {
                change_value = Some(left);
            } else {
                slots.retain(|(s, _)| *s != Slot::Change);
            }
        }
        match change_value {
            Some(v) => {
                slots.iter_mut().find(|(s, _)| *s == Slot::Change).expect("change slot").1.value = Amount::from_sat(v);
            }
            None => {
                if in_value < pay + min_fee || slots.is_empty() {
                    return Err(Box::new(plan));
                }
                fee = in_value - pay;
            }
        }
        match plan.style.order {
            Order::Shuffle => slots.shuffle(&mut self.rng),
            Order::Bip69 => slots.sort_by(|a, b| {
                (a.1.value, a.1.script_pubkey.as_bytes()).cmp(&(b.1.value, b.1.script_pubkey.as_bytes()))
            }),
            Order::ValueDesc => slots.sort_by_key(|(_, o)| std::cmp::Reverse(o.value)),
            Order::ChangeLast => slots.sort_by_key(|(s, _)| *s),
            Order::ChangeFirst => slots.sort_by_key(|(s, _)| match s {
                Slot::Change => 0,
                _ => 1,
            }),
        }
        tx.output = slots.iter().map(|(_, o)| o.clone()).collect();
        let weight = tx.weight().to_wu();
        self.make_room(weight);
        let txid = tx.compute_txid();
        self.block.push(&tx, txid, weight, fee);
        self.budget -= 1;

        let spender = {
            let first = plan.inputs[0].owner;
            plan.inputs.iter().all(|s| s.owner == first).then_some(first)
        };
        let thief_inputs = plan
            .inputs
            .iter()
            .filter(|s| s.utxo.tag != 0 && self.entities[s.owner as usize].kind == Kind::Thief)
            .count();
        let heist_tag = if plan.heist != 0 {
            plan.heist
        } else {
            plan.inputs
                .iter()
                .find(|s| s.utxo.tag != 0 && self.entities[s.owner as usize].kind == Kind::Thief)
                .map(|s| s.utxo.tag)
                .unwrap_or(0)
        };
        if plan.kind == TxKind::HeistDrain {
            self.heist_txids[plan.heist as usize - 1] = Some(txid);
        }
        for s in &plan.inputs {
            self.entities[s.owner as usize].spent += s.utxo.value;
        }

        let mut outputs = vec![None; plan.outputs.len()];
        let mut change = None;
        let mut change_vout = None;
        for (vout, (slot, txout)) in slots.iter().enumerate() {
            let (o, key) = match slot {
                Slot::Pay(i) => (&plan.outputs[*i], &keys[*i]),
                Slot::Change => (plan.change.as_ref().expect("change planned"), &keys[plan.outputs.len()]),
                Slot::Data => continue,
            };
            let value = txout.value.to_sat();
            let utxo =
                Utxo { txid, value, vout: vout as u32, index: o.to.index, ready: o.ready, kind: o.to.kind, tag: o.tag };
            self.record_output(&plan, o, key, txid, vout as u32, value, spender, heist_tag, thief_inputs);
            match slot {
                Slot::Pay(i) => outputs[*i] = Some(utxo),
                _ => {
                    change = Some(utxo);
                    change_vout = Some(vout as u32);
                }
            }
            self.deliver(o, utxo);
        }
        let heist_txid = (heist_tag != 0).then(|| self.heist_txids[heist_tag as usize - 1]).flatten();
        self.truth.transaction(&txid, self.height, plan.kind.name(), spender, fee, change_vout, heist_txid.as_ref());
        if plan.kind.is_coinjoin() {
            self.stats.coinjoins += 1;
        }
        let first_input = plan.inputs[0].utxo.addr(plan.inputs[0].owner);
        Ok(Committed {
            txid,
            outputs: outputs.into_iter().map(|o| o.expect("every payment has a slot")).collect(),
            change,
            first_input,
        })
    }

    /// Records one new output in the ground truth and the entity's totals.
    #[allow(clippy::too_many_arguments)]
    fn record_output(
        &mut self,
        plan: &Plan,
        o: &Out,
        key: &AddressKey,
        txid: Txid,
        vout: u32,
        value: u64,
        spender: Option<u32>,
        heist_tag: u16,
        thief_inputs: usize,
    ) {
        let to = o.to.entity;
        let kind = self.entities[to as usize].kind;
        self.entities[to as usize].received += value;
        if o.fresh {
            self.truth.address(key, to);
            self.stats.addresses += 1;
        }
        if matches!(kind, Kind::Exchange | Kind::Otc) && o.pocket == crate::actors::pockets::DEPOSIT {
            let from = spender.unwrap_or(plan.inputs[0].owner);
            self.truth.deposit(&txid, vout, key, to, value, from);
            self.stats.deposits += 1;
        }
        if heist_tag != 0 && thief_inputs > 0 && kind != Kind::Thief {
            let heist = self.heist_txids[heist_tag as usize - 1].expect("the drain comes first");
            let direct = thief_inputs == plan.inputs.len();
            self.truth.taint(&txid, vout, key, &heist, to, value, direct);
        }
    }

    /// Puts a new output into its recipient's pocket.
    fn deliver(&mut self, o: &Out, utxo: Utxo) {
        if o.pocket == NO_POCKET {
            return;
        }
        let e = o.to.entity;
        let ent = &mut self.entities[e as usize];
        ent.pocket(o.pocket).push(utxo);
        if ent.kind == Kind::User && o.pocket == crate::actors::pockets::MAIN && !ent.funded {
            ent.funded = true;
            self.funded.push(e);
        }
    }

    /// Puts the inputs of a dropped plan back where they came from.
    pub(crate) fn restore(&mut self, plan: Plan) {
        for s in plan.inputs {
            self.entities[s.owner as usize].pocket(s.pocket).push(s.utxo);
        }
    }

    /// Commits `plan`, or puts its inputs back if it cannot pay for itself.
    pub(crate) fn commit_or_restore(&mut self, plan: Plan) -> Option<Committed> {
        if self.budget == 0 {
            self.restore(plan);
            return None;
        }
        match self.commit(plan) {
            Ok(c) => Some(c),
            Err(plan) => {
                debug_assert!(false, "a plan that cannot pay its fee: {plan:?}");
                self.restore(*plan);
                None
            }
        }
    }
}
