//! A real-wallet economy: many Litecoin Core wallets of the kinds that fill real chains,
//! driven through a real [`RegtestNode`], with the truth read back from the node.
//!
//! The actors: a miner; users whose wallets receive on legacy, p2sh-segwit, bech32 or mixed
//! addresses, some sending with Core's own `sendtoaddress`/`sendmany` (coin selection, change
//! type, random change position, anti-fee-sniping locktime all Core's), some through
//! `walletcreatefundedpsbt` with a fixed `change_type` and no locktime (other wallet
//! software), some created with `avoid_reuse` (which implies `-avoidpartialspends`), some
//! signalling RBF, some reusing one public address; an exchange with one deposit address
//! per customer, sweeps of the deposits into its hot wallet and batched withdrawals; a
//! merchant with an invoice address per payment; a launderer peeling a heist off in small
//! payments; and PSBT CoinJoins across user wallets.
//!
//! Every choice is made by a seeded RNG, so one seed gives one economy; what the node
//! chooses (keys, change position) is read back: [`Truth`] holds who owns every address
//! (`listaddressgroupings`, `listreceivedbyaddress`, `getaddressinfo`) and which outputs are
//! change (`gettransaction`: the wallet's own outputs its send details leave out).

mod truth;

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::RegtestNode;
pub use truth::{Score, Truth, TxRecord};

/// How large an economy to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EconomyConfig {
    /// Seed of every choice the driver makes.
    pub seed: u64,
    /// User wallets.
    pub users: usize,
    /// Rounds of activity; each ends with a block.
    pub rounds: usize,
    /// A CoinJoin every this many rounds.
    pub coinjoin_every: usize,
}

impl EconomyConfig {
    /// Small enough for the test suite: 12 users, 12 rounds (~250 transactions).
    pub fn small(seed: u64) -> EconomyConfig {
        EconomyConfig { seed, users: 12, rounds: 12, coinjoin_every: 4 }
    }

    /// The benchmark setting: 48 users, 40 rounds (~2,500 transactions).
    pub fn large(seed: u64) -> EconomyConfig {
        EconomyConfig { seed, users: 48, rounds: 40, coinjoin_every: 3 }
    }
}

/// What an actor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Mines every block and funds the others.
    Miner,
    /// A person's wallet.
    User,
    /// Per-customer deposit addresses, sweeps, batched withdrawals.
    Exchange,
    /// An invoice address per payment.
    Merchant,
    /// Peels a heist off in small payments.
    Launderer,
}

impl Role {
    /// Lower-case name, as in `wallets.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Miner => "miner",
            Role::User => "user",
            Role::Exchange => "exchange",
            Role::Merchant => "merchant",
            Role::Launderer => "launderer",
        }
    }
}

/// How a wallet sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Software {
    /// Core's `sendtoaddress`/`sendmany`: Core picks the change type.
    Core,
    /// `walletcreatefundedpsbt` with this change type and locktime 0.
    Funded(&'static str),
}

/// One wallet of the economy.
#[derive(Debug, Clone)]
struct Actor {
    name: String,
    role: Role,
    /// Address types it receives on, one picked per address.
    receive: &'static [&'static str],
    software: Software,
    rbf: bool,
    /// A public address it gives out again and again.
    public: Option<String>,
    /// Its deposit address at the exchange.
    deposit: Option<String>,
}

const LEGACY: &[&str] = &["legacy"];
const P2SH: &[&str] = &["p2sh-segwit"];
const BECH32: &[&str] = &["bech32"];
const MIXED: &[&str] = &["legacy", "p2sh-segwit", "bech32"];

/// A built economy: its actors and the truth read back from the node.
#[derive(Debug)]
pub struct Economy {
    /// Wallet name → its role.
    pub wallets: BTreeMap<String, Role>,
    /// Txids of the CoinJoins made.
    pub coinjoins: Vec<String>,
    /// The truth read back from the node.
    pub truth: Truth,
}

/// Drives the node; one per build.
struct Driver<'a> {
    node: &'a RegtestNode,
    rng: StdRng,
    actors: Vec<Actor>,
    miner_address: String,
    /// Exchange withdrawals waiting for the next batch: (address, sat).
    withdrawals: Vec<(String, u64)>,
    coinjoins: Vec<String>,
}

const MINER: usize = 0;
const EXCHANGE: usize = 1;
const MERCHANT: usize = 2;
const LAUNDERER: usize = 3;
const FIRST_USER: usize = 4;
const COIN: u64 = 100_000_000;

impl Economy {
    /// Creates the wallets on `node` (which must be fresh), runs `config.rounds` rounds of
    /// activity, mines the last block and reads the truth back.
    ///
    /// # Panics
    ///
    /// If the node refuses a call the driver relies on (naming it), or the truth read back
    /// is inconsistent (an address owned by two wallets).
    pub fn build(node: &RegtestNode, config: EconomyConfig) -> Economy {
        let mut d = Driver::new(node, config);
        d.fund(config);
        for round in 0..config.rounds {
            d.round(round, config);
        }
        d.mine(1);
        let wallets: BTreeMap<String, Role> = d.actors.iter().map(|a| (a.name.clone(), a.role)).collect();
        let names: Vec<&str> = wallets.keys().map(String::as_str).collect();
        let truth = Truth::read(node, &names, &d.coinjoins);
        Economy { wallets, coinjoins: d.coinjoins, truth }
    }

    /// Writes the truth ([`Truth::write`]) and `wallets.csv` (wallet,role) into `dir`.
    ///
    /// # Errors
    ///
    /// I/O errors writing the files.
    pub fn write(&self, dir: &std::path::Path) -> std::io::Result<()> {
        self.truth.write(dir)?;
        let mut s = String::from("wallet,role\n");
        for (w, r) in &self.wallets {
            s += &format!("{w},{}\n", r.name());
        }
        std::fs::write(dir.join("wallets.csv"), s)
    }
}

/// Amount `sat` as the string RPC takes, exact to the satoshi.
fn btc(sat: u64) -> Value {
    Value::String(format!("{}.{:08}", sat / COIN, sat % COIN))
}

/// Satoshis of an RPC amount.
fn sat(v: &Value) -> u64 {
    (v.as_f64().unwrap_or_else(|| panic!("{v} is not an amount")) * COIN as f64).round() as u64
}

impl<'a> Driver<'a> {
    fn new(node: &'a RegtestNode, config: EconomyConfig) -> Driver<'a> {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut actors = vec![
            actor("miner", Role::Miner, BECH32, Software::Core),
            actor("exchange", Role::Exchange, BECH32, Software::Core),
            actor("merchant", Role::Merchant, &["bech32", "p2sh-segwit"], Software::Core),
            actor("launderer", Role::Launderer, LEGACY, Software::Core),
        ];
        for u in 0..config.users {
            // Styles in turn, so every economy has each; the details are the RNG's.
            let (receive, style, software) = match u % 6 {
                0 => (LEGACY, "legacy", Software::Funded("legacy")),
                1 => (P2SH, "p2sh", Software::Funded("p2sh-segwit")),
                2 => (P2SH, "p2sh-core", Software::Core),
                3 => (BECH32, "bech32", Software::Core),
                4 => (MIXED, "mixed", Software::Core),
                _ => (BECH32, "bech32-psbt", Software::Funded("bech32")),
            };
            let mut a = actor(&format!("user{u:02}-{style}"), Role::User, receive, software);
            a.rbf = rng.gen_bool(0.3);
            actors.push(a);
        }
        for (i, a) in actors.iter().enumerate() {
            // avoid_reuse (which implies avoidpartialspends) on every third user.
            let avoid_reuse = i >= FIRST_USER && (i - FIRST_USER) % 3 == 2;
            node.rpc(
                "createwallet",
                json!({"wallet_name": a.name, "avoid_reuse": avoid_reuse, "load_on_startup": false}),
            );
        }
        let miner_address = node.new_address("miner", "bech32");
        let mut d = Driver { node, rng, actors, miner_address, withdrawals: Vec::new(), coinjoins: Vec::new() };
        for i in FIRST_USER..d.actors.len() {
            if d.rng.gen_bool(0.25) {
                d.actors[i].public = Some(d.fresh(i));
            }
            if d.rng.gen_bool(0.6) {
                let deposit = d.node.new_address("exchange", "bech32");
                d.actors[i].deposit = Some(deposit);
            }
        }
        let deposit = d.node.new_address("exchange", "bech32");
        d.actors[LAUNDERER].deposit = Some(deposit);
        d
    }

    fn mine(&self, n: u32) {
        self.node.mine(n, &self.miner_address);
    }

    /// A fresh receiving address of actor `i`, of one of its types.
    fn fresh(&mut self, i: usize) -> String {
        let kind = *self.actors[i].receive.choose(&mut self.rng).expect("every actor has a type");
        self.node.new_address(&self.actors[i].name, kind)
    }

    /// Where actor `i` is paid: its public address if it has one (mostly), else fresh.
    fn receiving(&mut self, i: usize) -> String {
        match self.actors[i].public.clone() {
            Some(a) if self.rng.gen_bool(0.7) => a,
            _ => self.fresh(i),
        }
    }

    /// Mines the coins, then the miner pays everyone their first coins in batches.
    fn fund(&mut self, config: EconomyConfig) {
        let per_user = 3 * 12 * COIN;
        let need = 400 * COIN + config.users as u64 * per_user;
        // Coinbases pay 50 (halving every 150 blocks): enough mature ones, plus maturity.
        self.mine(101 + (need / (40 * COIN)) as u32);
        let mut batch = vec![(self.node.new_address("exchange", "bech32"), 150 * COIN)];
        batch.push((self.node.new_address("exchange", "bech32"), 120 * COIN));
        batch.push((self.fresh(LAUNDERER), 60 * COIN));
        batch.push((self.fresh(MERCHANT), 5 * COIN));
        for i in FIRST_USER..self.actors.len() {
            for _ in 0..self.rng.gen_range(2..=3) {
                let amount = self.rng.gen_range(3 * COIN..12 * COIN) / 1000 * 1000;
                let a = self.receiving(i);
                batch.push((a, amount));
            }
        }
        for chunk in batch.chunks(12).map(<[_]>::to_vec).collect::<Vec<_>>() {
            self.pay(MINER, chunk);
        }
        self.mine(1);
    }

    /// A payment amount: round a third of the time, otherwise to the satoshi.
    fn amount(&mut self, max: u64) -> u64 {
        let v = self.rng.gen_range(max / 50..max);
        match self.rng.gen_range(0..3) {
            0 => v / 10_000_000 * 10_000_000 + 10_000_000,
            1 => v / 10_000 * 10_000 + 10_000,
            _ => v,
        }
    }

    fn balance(&self, i: usize) -> u64 {
        sat(&self.node.wallet_rpc(&self.actors[i].name, "getbalance", json!([])))
    }

    /// Actor `i` pays `outputs` with its own software, if it can afford them; the txid.
    fn pay(&mut self, i: usize, outputs: Vec<(String, u64)>) -> Option<String> {
        let mut merged: BTreeMap<String, u64> = BTreeMap::new();
        for (a, v) in outputs {
            *merged.entry(a).or_default() += v;
        }
        let total: u64 = merged.values().sum();
        if total + COIN / 100 > self.balance(i) {
            return None;
        }
        let a = &self.actors[i];
        let txid = match (a.software, merged.len()) {
            (Software::Core, 1) => {
                let (to, v) = merged.into_iter().next().expect("one output");
                self.node.wallet_rpc(&a.name, "sendtoaddress", json!([to, btc(v), "", "", false, a.rbf]))
            }
            (Software::Core, _) => {
                let amounts: serde_json::Map<String, Value> = merged.into_iter().map(|(k, v)| (k, btc(v))).collect();
                self.node.wallet_rpc(&a.name, "sendmany", json!(["", amounts, 1, "", [], a.rbf]))
            }
            (Software::Funded(change_type), _) => {
                let outs: Vec<Value> = merged.into_iter().map(|(k, v)| json!({ k: btc(v) })).collect();
                let options = json!({"change_type": change_type, "replaceable": a.rbf});
                let funded = self.node.wallet_rpc(&a.name, "walletcreatefundedpsbt", json!([[], outs, 0, options]));
                return Some(self.sign_and_send(&[&a.name.clone()], funded["psbt"].clone()));
            }
        };
        Some(txid.as_str().expect("a txid").to_owned())
    }

    /// Signs `psbt` with each of `wallets` in turn, finalizes and broadcasts it.
    fn sign_and_send(&self, wallets: &[&str], mut psbt: Value) -> String {
        for w in wallets {
            psbt = self.node.wallet_rpc(w, "walletprocesspsbt", json!([psbt]))["psbt"].clone();
        }
        let done = self.node.rpc("finalizepsbt", json!([psbt]));
        assert_eq!(done["complete"], true, "psbt signed by {wallets:?} is incomplete: {done}");
        let txid = self.node.rpc("sendrawtransaction", json!([done["hex"]]));
        txid.as_str().expect("a txid").to_owned()
    }

    fn round(&mut self, round: usize, config: EconomyConfig) {
        let users: Vec<usize> = (FIRST_USER..self.actors.len()).collect();
        for &u in &users {
            if !self.rng.gen_bool(0.8) {
                continue;
            }
            let others: Vec<usize> = users.iter().copied().filter(|&x| x != u).collect();
            let other = *others.choose(&mut self.rng).expect("at least two users");
            let max = self.balance(u) / 3;
            if max < COIN / 10 {
                continue;
            }
            match self.rng.gen_range(0..10) {
                0..=2 => {
                    let (to, v) = (self.receiving(other), self.amount(max));
                    self.pay(u, vec![(to, v)]);
                }
                3 => {
                    let mut outs = Vec::new();
                    for _ in 0..self.rng.gen_range(2..=3) {
                        let r = *users.choose(&mut self.rng).expect("users");
                        if r != u {
                            let (to, v) = (self.receiving(r), self.amount(max / 3));
                            outs.push((to, v));
                        }
                    }
                    if !outs.is_empty() {
                        self.pay(u, outs);
                    }
                }
                4..=5 => {
                    let (to, v) = (self.fresh(MERCHANT), self.amount(max / 2));
                    self.pay(u, vec![(to, v)]);
                }
                6..=7 => {
                    if let Some(deposit) = self.actors[u].deposit.clone() {
                        let v = self.amount(max);
                        self.pay(u, vec![(deposit, v)]);
                    }
                }
                _ => {
                    let (to, v) = (self.receiving(u), self.amount(4 * COIN));
                    self.withdrawals.push((to, v));
                }
            }
        }
        self.exchange();
        if round % 3 == 2 {
            self.merchant(&users);
        }
        self.launder(&users);
        if round % config.coinjoin_every == config.coinjoin_every - 1 {
            self.coinjoin(&users);
        }
        self.mine(1);
    }

    /// Sweeps every confirmed deposit into a hot address, then pays the withdrawals queued.
    fn exchange(&mut self) {
        let deposits: Vec<Value> = self.actors.iter().filter_map(|a| a.deposit.clone()).map(Value::String).collect();
        let utxos = self.node.wallet_rpc("exchange", "listunspent", json!([1, 9_999_999, deposits]));
        let utxos = utxos.as_array().expect("listunspent answers an array");
        if utxos.len() >= 2 {
            let inputs: Vec<Value> = utxos.iter().map(|u| json!({"txid": u["txid"], "vout": u["vout"]})).collect();
            let total: u64 = utxos.iter().map(|u| sat(&u["amount"])).sum();
            let hot = self.node.new_address("exchange", "bech32");
            let options = json!({"subtractFeeFromOutputs": [0]});
            let funded = self.node.wallet_rpc(
                "exchange",
                "walletcreatefundedpsbt",
                json!([inputs, [{ hot: btc(total) }], 0, options]),
            );
            self.sign_and_send(&["exchange"], funded["psbt"].clone());
        }
        if !self.withdrawals.is_empty() {
            let batch = std::mem::take(&mut self.withdrawals);
            self.pay(EXCHANGE, batch);
        }
    }

    /// Pays a supplier (or two) or banks the takings at the exchange.
    fn merchant(&mut self, users: &[usize]) {
        let max = self.balance(MERCHANT) / 2;
        if max < COIN / 10 {
            return;
        }
        let mut outs = Vec::new();
        for _ in 0..self.rng.gen_range(1..=2) {
            let s = *users.choose(&mut self.rng).expect("users");
            let (to, v) = (self.receiving(s), self.amount(max / 2));
            outs.push((to, v));
        }
        self.pay(MERCHANT, outs);
    }

    /// One peel: a small payment to a user or to the launderer's exchange deposit.
    fn launder(&mut self, users: &[usize]) {
        let to = if self.rng.gen_bool(0.4) {
            self.actors[LAUNDERER].deposit.clone().expect("the launderer has a deposit address")
        } else {
            let u = *users.choose(&mut self.rng).expect("users");
            self.fresh(u)
        };
        let v = self.rng.gen_range(COIN / 2..3 * COIN);
        self.pay(LAUNDERER, vec![(to, v)]);
    }

    /// A CoinJoin of 3–5 users: one coin in each, an equal output and change out each.
    fn coinjoin(&mut self, users: &[usize]) {
        let amount = [COIN / 10, COIN / 2, COIN][self.rng.gen_range(0..3)];
        let n = self.rng.gen_range(3..=5);
        let mut picked: Vec<usize> = users.to_vec();
        picked.shuffle(&mut self.rng);
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let mut wallets = Vec::new();
        for u in picked {
            let name = self.actors[u].name.clone();
            let utxos = self.node.wallet_rpc(&name, "listunspent", json!([1]));
            let Some(coin) =
                utxos.as_array().expect("an array").iter().find(|c| sat(&c["amount"]) > amount + COIN / 100)
            else {
                continue;
            };
            inputs.push(json!({"txid": coin["txid"], "vout": coin["vout"]}));
            outputs.push(json!({ self.node.new_address(&name, "bech32"): btc(amount) }));
            let change = self.node.wallet_rpc(&name, "getrawchangeaddress", json!(["bech32"]));
            outputs.push(json!({ change.as_str().expect("an address"): btc(sat(&coin["amount"]) - amount - 20_000) }));
            wallets.push(name);
            if wallets.len() == n {
                break;
            }
        }
        if wallets.len() < 3 {
            return;
        }
        outputs.shuffle(&mut self.rng);
        let psbt = self.node.rpc("createpsbt", json!([inputs, outputs]));
        let names: Vec<&str> = wallets.iter().map(String::as_str).collect();
        let txid = self.sign_and_send(&names, psbt);
        self.coinjoins.push(txid);
    }
}

fn actor(name: &str, role: Role, receive: &'static [&'static str], software: Software) -> Actor {
    Actor { name: name.to_owned(), role, receive, software, rbf: false, public: None, deposit: None }
}
