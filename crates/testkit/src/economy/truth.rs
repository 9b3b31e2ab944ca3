//! The truth of an economy, read back from the node: every transaction of the chain, who
//! owns every address, which outputs are change; the oracle ceiling; pairwise scores.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::RegtestNode;

/// One transaction of the chain, with the addresses its inputs spend and its outputs pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    /// Its txid.
    pub txid: String,
    /// The address each input spends from (`None` for a coinbase or a script without one).
    pub inputs: Vec<Option<String>>,
    /// The address each output pays.
    pub outputs: Vec<Option<String>>,
}

/// Who owns what, as the node's wallets say.
#[derive(Debug, Clone)]
pub struct Truth {
    /// Every transaction, in chain order.
    pub txs: Vec<TxRecord>,
    /// Address → the wallet owning it, for every wallet-owned address paid on the chain.
    pub owner: BTreeMap<String, String>,
    /// (txid, vout) of every change output: paid to a wallet that funded the transaction, to
    /// an address it did not give out (Core leaves it out of `gettransaction`'s sends).
    pub change: BTreeSet<(String, u32)>,
    /// Txids of the CoinJoins.
    pub coinjoins: BTreeSet<String>,
}

/// Pairwise precision and recall of a clustering over the truth's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Truth addresses scored.
    pub addresses: u64,
    /// Pairs put together.
    pub predicted_pairs: u64,
    /// Pairs of one owner.
    pub true_pairs: u64,
    /// Pairs both put together.
    pub correct_pairs: u64,
    /// correct / predicted.
    pub precision: f64,
    /// correct / true.
    pub recall: f64,
    /// Clusters holding addresses of more than one wallet.
    pub mixed_clusters: u64,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// The address an output's `scriptPubKey` pays (0.21 lists `addresses`, later `address`).
fn script_address(spk: &Value) -> Option<String> {
    spk["address"].as_str().or_else(|| spk["addresses"][0].as_str()).map(str::to_owned)
}

impl Truth {
    /// Reads the truth back from `node`, whose wallets are `wallets`.
    ///
    /// # Panics
    ///
    /// If an address is claimed by two wallets, or the node refuses a call.
    pub fn read(node: &RegtestNode, wallets: &[&str], coinjoins: &[String]) -> Truth {
        let txs = chain(node);
        let mut owner: BTreeMap<String, String> = BTreeMap::new();
        fn claim(owner: &mut BTreeMap<String, String>, a: &str, w: &str) {
            if let Some(prev) = owner.insert(a.to_owned(), w.to_owned()) {
                assert_eq!(prev, w, "address {a} is claimed by wallets {prev} and {w}");
            }
        }
        for w in wallets {
            let groups = node.wallet_rpc(w, "listaddressgroupings", json!([]));
            for entry in groups.as_array().into_iter().flatten().flat_map(|g| g.as_array().into_iter().flatten()) {
                claim(&mut owner, entry[0].as_str().expect("an address"), w);
            }
            let received = node.wallet_rpc(w, "listreceivedbyaddress", json!([0, true, true]));
            for entry in received.as_array().into_iter().flatten() {
                claim(&mut owner, entry["address"].as_str().expect("an address"), w);
            }
        }
        let paid: BTreeSet<&String> = txs.iter().flat_map(|t| t.outputs.iter().flatten()).collect();
        for a in paid.iter().filter(|a| !owner.contains_key(a.as_str())).copied().collect::<Vec<_>>() {
            for w in wallets {
                if node.wallet_rpc(w, "getaddressinfo", json!([a]))["ismine"] == true {
                    claim(&mut owner, a, w);
                }
            }
        }
        owner.retain(|a, _| paid.contains(a));

        let mut change = BTreeSet::new();
        for t in &txs {
            let funders: BTreeSet<&String> = t.inputs.iter().flatten().filter_map(|a| owner.get(a)).collect();
            for w in funders {
                let wtx = node.wallet_rpc(w, "gettransaction", json!([t.txid]));
                let sent: BTreeSet<u64> = wtx["details"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|d| d["category"] == "send")
                    .filter_map(|d| d["vout"].as_u64())
                    .collect();
                for (vout, a) in t.outputs.iter().enumerate() {
                    let own = a.as_ref().is_some_and(|a| owner.get(a) == Some(w));
                    if own && !sent.contains(&(vout as u64)) {
                        change.insert((t.txid.clone(), vout as u32));
                    }
                }
            }
        }
        Truth { txs, owner, change, coinjoins: coinjoins.iter().cloned().collect() }
    }

    /// The oracle clustering: within each transaction the inputs of each wallet together,
    /// and each change output with its wallet's inputs — multi-input plus perfect change
    /// knowledge, never across wallets. Address → cluster number.
    pub fn ceiling_clusters(&self) -> HashMap<String, u64> {
        let ids: BTreeMap<&str, usize> = self.owner.keys().enumerate().map(|(i, a)| (a.as_str(), i)).collect();
        let mut parent: Vec<usize> = (0..ids.len()).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        let mut union = |a: usize, b: usize| {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            parent[ra] = rb;
        };
        for t in &self.txs {
            // The first input address of each wallet stands for its inputs.
            let mut first: HashMap<&str, usize> = HashMap::new();
            for a in t.inputs.iter().flatten() {
                let (Some(w), Some(&i)) = (self.owner.get(a), ids.get(a.as_str())) else { continue };
                match first.get(w.as_str()) {
                    Some(&f) => union(f, i),
                    None => {
                        first.insert(w, i);
                    }
                }
            }
            for (vout, a) in t.outputs.iter().enumerate() {
                let Some(a) = a else { continue };
                if self.change.contains(&(t.txid.clone(), vout as u32)) {
                    if let Some(&f) = first.get(self.owner[a].as_str()) {
                        union(f, ids[a.as_str()]);
                    }
                }
            }
        }
        ids.iter().map(|(a, &i)| ((*a).to_owned(), find(&mut parent, i) as u64)).collect()
    }

    /// Scores `clusters` (address → cluster id, e.g. from `sleuth cluster export --csv`)
    /// over the truth's addresses; an address the clustering lacks counts as a singleton.
    pub fn score(&self, clusters: &HashMap<String, u64>) -> Score {
        let mut by_cluster: HashMap<u64, u64> = HashMap::new();
        let mut by_owner: HashMap<&str, u64> = HashMap::new();
        let mut by_both: HashMap<(u64, &str), u64> = HashMap::new();
        for (a, w) in &self.owner {
            *by_owner.entry(w).or_default() += 1;
            if let Some(&c) = clusters.get(a) {
                *by_cluster.entry(c).or_default() += 1;
                *by_both.entry((c, w)).or_default() += 1;
            }
        }
        let predicted_pairs: u64 = by_cluster.values().map(|&n| pairs(n)).sum();
        let true_pairs: u64 = by_owner.values().map(|&n| pairs(n)).sum();
        let correct_pairs: u64 = by_both.values().map(|&n| pairs(n)).sum();
        let mut owners_per_cluster: HashMap<u64, u64> = HashMap::new();
        for (c, _) in by_both.keys() {
            *owners_per_cluster.entry(*c).or_default() += 1;
        }
        Score {
            addresses: self.owner.len() as u64,
            predicted_pairs,
            true_pairs,
            correct_pairs,
            precision: if predicted_pairs == 0 { 1.0 } else { correct_pairs as f64 / predicted_pairs as f64 },
            recall: if true_pairs == 0 { 1.0 } else { correct_pairs as f64 / true_pairs as f64 },
            mixed_clusters: owners_per_cluster.values().filter(|&&n| n > 1).count() as u64,
        }
    }

    /// Writes `addresses.csv` (address,entity_id: the form `sleuth cluster evaluate --truth`
    /// reads), `change.csv` (txid,vout,address,wallet), `coinjoins.csv` (txid) and
    /// `ceiling.json` (the oracle's [`Score`]) into `dir`.
    ///
    /// # Errors
    ///
    /// I/O errors writing the files.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        let mut s = String::from("address,entity_id\n");
        for (a, w) in &self.owner {
            let _ = writeln!(s, "{a},{w}");
        }
        fs::write(dir.join("addresses.csv"), s)?;
        let outputs: HashMap<&str, &TxRecord> = self.txs.iter().map(|t| (t.txid.as_str(), t)).collect();
        let mut s = String::from("txid,vout,address,wallet\n");
        for (txid, vout) in &self.change {
            let a = outputs[txid.as_str()].outputs[*vout as usize].as_deref().expect("change pays an address");
            let _ = writeln!(s, "{txid},{vout},{a},{}", self.owner[a]);
        }
        fs::write(dir.join("change.csv"), s)?;
        let s: String =
            std::iter::once("txid\n".to_owned()).chain(self.coinjoins.iter().map(|t| format!("{t}\n"))).collect();
        fs::write(dir.join("coinjoins.csv"), s)?;
        let ceiling = serde_json::to_string_pretty(&self.score(&self.ceiling_clusters())).expect("a score serializes");
        fs::write(dir.join("ceiling.json"), ceiling + "\n")
    }

    /// Reads what [`Truth::write`] wrote (without the transactions, which scoring does not
    /// need).
    ///
    /// # Errors
    ///
    /// I/O errors, or a line without the expected columns.
    pub fn read_dir(dir: &Path) -> io::Result<Truth> {
        let bad = |f: &str, l: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{f}: bad line {l:?}"));
        let text = fs::read_to_string(dir.join("addresses.csv"))?;
        let mut owner = BTreeMap::new();
        for l in text.lines().skip(1) {
            let (a, w) = l.split_once(',').ok_or_else(|| bad("addresses.csv", l))?;
            owner.insert(a.to_owned(), w.to_owned());
        }
        let text = fs::read_to_string(dir.join("coinjoins.csv"))?;
        let coinjoins = text.lines().skip(1).map(str::to_owned).collect();
        Ok(Truth { txs: Vec::new(), owner, change: BTreeSet::new(), coinjoins })
    }
}

/// Every transaction of the node's best chain, with the addresses its inputs spend.
fn chain(node: &RegtestNode) -> Vec<TxRecord> {
    let tip = node.rpc("getblockcount", json!([])).as_u64().expect("a height");
    let mut paid: HashMap<(String, u64), Option<String>> = HashMap::new();
    let mut txs = Vec::new();
    for h in 0..=tip {
        let hash = node.rpc("getblockhash", json!([h]));
        let block = node.rpc("getblock", json!([hash, 2]));
        for tx in block["tx"].as_array().expect("a block's transactions") {
            let txid = tx["txid"].as_str().expect("a txid").to_owned();
            let inputs = tx["vin"]
                .as_array()
                .expect("inputs")
                .iter()
                .map(|i| match (i["txid"].as_str(), i["vout"].as_u64()) {
                    (Some(prev), Some(vout)) => paid.get(&(prev.to_owned(), vout)).cloned().flatten(),
                    _ => None,
                })
                .collect();
            let outputs: Vec<Option<String>> =
                tx["vout"].as_array().expect("outputs").iter().map(|o| script_address(&o["scriptPubKey"])).collect();
            for (vout, a) in outputs.iter().enumerate() {
                paid.insert((txid.clone(), vout as u64), a.clone());
            }
            txs.push(TxRecord { txid, inputs, outputs });
        }
    }
    txs
}
