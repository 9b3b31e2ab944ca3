//! Watches and their alerts: coins an investigator or an exchange follows as they move.
//!
//! A [`Watch`] names what to follow (a theft output, a transaction, an address, a cluster or an
//! incident of the ledger), under one taint policy. [`Engine::check_watches`] traces every
//! watch forward over a snapshot (the trace of `sleuth trace`, stopping at services and
//! mixers) and turns what it finds into movements: the transaction that brought taint to a
//! tagged service, into a mixer, across a CoinJoin, or to a cluster that is not the sources'
//! own. A movement seen for the first time raises an [`Alert`]; one whose transaction a reorg
//! removed raises a retraction. Alerts are appended to `alerts/alerts.jsonl`, and what is
//! active is worked out from the log itself, so a movement never raises two alerts, across
//! restarts, unless it was retracted in between.
//!
//! Files: `watches/watches.json` (replaced atomically), `alerts/alerts.jsonl` (appended and
//! synced; a line cut by a crash mid-append is dropped), `alerts/delivered.json` (how far each
//! watch's webhook has been sent, replaced atomically). `alerts/LOCK` keeps one checker at a
//! time per data dir. The log and its bookkeeping ([`log`]) serve the EVM side's watches too
//! (`crate::evm::watch`), which have their own files.

use std::collections::HashSet;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sleuth_analysis::cluster::ClusterId;
use sleuth_analysis::trace::{Policy, StopReason, TraceOptions};
use sleuth_chain::Sat;

use crate::{Engine, EngineError, EngineSnapshot, Subject};

mod log;
mod webhook;
pub use log::Outgoing;
pub(crate) use log::{read_watches, remove_watch, write_json, Files, LoggedAlert, MovementKey};
pub use webhook::WebhookUrl;

/// Version of `watches.json`.
const WATCHES_VERSION: u32 = 1;

/// What `watch add` is given.
#[derive(Debug, Clone)]
pub struct NewWatch {
    /// `TXID[:VOUT]`, an address, `cluster:N`, or `incident:NAME_OR_ID`.
    pub from: String,
    /// A name for people ("Exchange A heist").
    pub label: String,
    /// The policy whose amounts alerts carry.
    pub policy: Policy,
    /// Where alerts are POSTed (`http://host:port/path`).
    pub webhook: Option<String>,
}

/// A watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    /// Its number (from 1).
    pub id: u32,
    /// Its name.
    pub label: String,
    /// What it follows, as given.
    pub from: String,
    /// The policy of its amounts.
    pub policy: Policy,
    /// Where its alerts are POSTed.
    pub webhook: Option<String>,
    /// The index's tip height when it was added.
    pub added_at_height: Option<u32>,
}

sleuth_chain::named_enum! {
    serde:
    /// What an alert reports.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub enum AlertKind {
        /// Taint reached a tagged service that can freeze it.
        Service => "service",
        /// Taint entered a mixer.
        Mixer => "mixer",
        /// Taint crossed a CoinJoin.
        Coinjoin => "coinjoin",
        /// Taint moved to a cluster that is not the sources' own.
        NewCluster => "new-cluster",
        /// On an EVM chain: taint came to rest in an account that is not the sources' own.
        NewAccount => "new-account",
        /// A reorg removed the transaction of an earlier alert.
        Retracted => "retracted",
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Its number in the data dir's log (from 1): receivers of webhooks dedupe by it.
    pub seq: u64,
    /// The watch that raised it.
    pub watch_id: u32,
    /// The watch's label.
    pub label: String,
    /// What happened.
    pub kind: AlertKind,
    /// The transaction that moved the taint (for a retraction: the one removed).
    pub txid: String,
    /// The address it reached.
    pub address: Option<String>,
    /// Its cluster.
    pub cluster_id: Option<ClusterId>,
    /// The tag label of its cluster.
    pub entity: Option<String>,
    /// The label's category.
    pub category: Option<String>,
    /// Taint moved, under `policy`.
    pub amount_sat: Sat,
    /// The watch's policy.
    pub policy: Policy,
    /// Height of the block the movement is in (for a retraction: the tip that removed it).
    pub height: u32,
    /// The transactions from the watched coins to here, in order.
    pub path_txids: Vec<String>,
    /// Whether the path crossed a CoinJoin.
    pub coinjoin: bool,
    /// The index's tip height when the alert was raised.
    pub tip_height: u32,
    /// For a retraction: the alert it retracts.
    pub retracts: Option<u64>,
}

impl LoggedAlert for Alert {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn watch_id(&self) -> u32 {
        self.watch_id
    }
    fn retracts(&self) -> Option<u64> {
        self.retracts
    }
    fn txid(&self) -> &str {
        &self.txid
    }
    fn movement(&self) -> MovementKey {
        (self.watch_id, self.kind, self.txid.clone(), self.address.clone())
    }
    fn numbered(self, seq: u64, tip: u64) -> Alert {
        Alert { seq, tip_height: tip as u32, ..self }
    }
    fn retraction(&self, seq: u64, tip: u64) -> Alert {
        let tip = tip as u32;
        Alert {
            seq,
            kind: AlertKind::Retracted,
            height: tip,
            tip_height: tip,
            retracts: Some(self.seq),
            ..self.clone()
        }
    }
}

impl Engine {
    fn watch_files(&self) -> Files {
        Files::of(self.dir(), false)
    }

    /// The watches, in the order they were added.
    ///
    /// # Errors
    /// [`EngineError::Watch`] if `watches.json` is damaged.
    pub fn watches(&self) -> Result<Vec<Watch>, EngineError> {
        Ok(read_watches::<Watch>(&self.watch_files().watches)?.watches)
    }

    /// Adds a watch after checking that what it follows is in the newest commit.
    ///
    /// # Errors
    /// [`EngineError::Watch`] for an empty label, a webhook that is not `http://…` or an
    /// incident not in the ledger; index errors for coins not indexed.
    pub fn add_watch(&self, new: NewWatch) -> Result<Watch, EngineError> {
        if new.label.trim().is_empty() {
            return Err(EngineError::Watch("a watch needs a --label".into()));
        }
        if let Some(url) = &new.webhook {
            WebhookUrl::parse(url).map_err(EngineError::Watch)?;
        }
        let snap = self.snapshot()?;
        let coins = snap.watch_coins(&new.from)?;
        if coins.is_empty() {
            return Err(EngineError::Watch(format!("{} names no coins", sleuth_chain::shown(&new.from))));
        }
        let files = self.watch_files();
        let mut file = read_watches::<Watch>(&files.watches)?;
        let watch = Watch {
            id: file.next_id,
            label: new.label.trim().to_owned(),
            from: new.from.trim().to_owned(),
            policy: new.policy,
            webhook: new.webhook,
            added_at_height: snap.status().index.height,
        };
        file.next_id += 1;
        file.watches.push(watch.clone());
        write_json(&files.watches, &file)?;
        Ok(watch)
    }

    /// Removes watch `id`; its alerts stay in the log. Returns whether there was one.
    ///
    /// # Errors
    /// As [`Engine::watches`], and I/O errors.
    pub fn remove_watch(&self, id: u32) -> Result<bool, EngineError> {
        remove_watch::<Watch>(&self.watch_files(), id, |w| w.id)
    }

    /// Every alert raised, in order; with `since`, those at or above that height.
    ///
    /// # Errors
    /// [`EngineError::Watch`] if the log is damaged.
    pub fn alerts(&self, since: Option<u32>) -> Result<Vec<Alert>, EngineError> {
        let alerts: Vec<Alert> = self.watch_files().alerts()?;
        Ok(alerts.into_iter().filter(|a| since.is_none_or(|h| a.height >= h)).collect())
    }

    /// Traces every watch over `snap` and records the alerts of movements not seen before and
    /// the retractions of those a reorg removed; returns the new alerts.
    ///
    /// # Errors
    /// [`EngineError::Busy`] while another process checks; trace, index and I/O errors.
    pub fn check_watches(&self, snap: &EngineSnapshot) -> Result<Vec<Alert>, EngineError> {
        let files = self.watch_files();
        let watches = read_watches::<Watch>(&files.watches)?.watches;
        let ids: Vec<u32> = watches.iter().map(|w| w.id).collect();
        let view = snap.index().view();
        let tip = snap.status().index.height.unwrap_or(0);
        let gone = |txid: &str| bitcoin::Txid::from_str(txid).map_or(true, |t| view.tx_num(&t).is_none());
        files.record(&ids, u64::from(tip), gone, |id| {
            let watch = watches.iter().find(|w| w.id == id).expect("a watch of the list");
            snap.movements(watch)
        })
    }

    /// For each watch with a webhook, the alerts it has not yet sent, oldest first.
    ///
    /// # Errors
    /// As [`Engine::alerts`].
    pub fn outgoing(&self) -> Result<Vec<Outgoing>, EngineError> {
        let files = self.watch_files();
        let hooks: Vec<(u32, String)> = read_watches::<Watch>(&files.watches)?
            .watches
            .into_iter()
            .filter_map(|w| Some((w.id, w.webhook?)))
            .collect();
        files.outgoing::<Alert>(&hooks)
    }

    /// Records that watch `watch_id`'s webhook received every alert up to `seq`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn mark_delivered(&self, watch_id: u32, seq: u64) -> Result<(), EngineError> {
        self.watch_files().mark_delivered(watch_id, seq)
    }
}

impl EngineSnapshot {
    /// The coins a watch's `from` names: a subject, or `incident:NAME_OR_ID`'s stolen outputs.
    fn watch_coins(&self, from: &str) -> Result<Vec<sleuth_index::OutputNum>, EngineError> {
        let view = self.index().view();
        let from = from.trim();
        let subjects = match from.strip_prefix("incident:") {
            Some(name) => {
                let i = self.incidents().find(name).ok_or_else(|| {
                    EngineError::Watch(format!("no incident {} in the ledger", sleuth_chain::shown(name)))
                })?;
                i.outputs.iter().map(|s| Subject::Tx(s.txid, s.vout)).collect()
            }
            None => vec![Subject::from_str(from).map_err(EngineError::Watch)?],
        };
        let mut coins = Vec::new();
        for s in &subjects {
            coins.extend(self.coins_of(&view, s)?);
        }
        coins.sort_unstable();
        coins.dedup();
        Ok(coins)
    }

    /// The movements of a watch's taint over this snapshot (alerts without their numbers).
    fn movements(&self, watch: &Watch) -> Result<Vec<Alert>, EngineError> {
        let view = self.index().view();
        let coins = match self.watch_coins(&watch.from) {
            Ok(c) => c,
            // A reorg removed the watched coins: nothing moves until they are back.
            Err(EngineError::Index(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let attribution = self.attribution()?;
        let own: HashSet<ClusterId> =
            coins.iter().filter_map(|&o| view.output(o).addr).filter_map(|a| attribution.cluster_of(a)).collect();
        let opts = TraceOptions { policies: vec![watch.policy], ..TraceOptions::default() };
        let report = sleuth_analysis::trace::trace(&view, &coins, &attribution, &opts);
        let mut out = Vec::new();
        for e in report.endpoints {
            let Some(txid) = e.path_txids.last().cloned() else { continue };
            let kind = match e.stop_reason {
                StopReason::Service => AlertKind::Service,
                StopReason::Mixer => AlertKind::Mixer,
                _ if e.coinjoin => AlertKind::Coinjoin,
                _ if e.cluster_id.is_some_and(|c| !own.contains(&c)) => AlertKind::NewCluster,
                _ => continue,
            };
            let amount = e.amount_sat.get(watch.policy).unwrap_or(Sat::ZERO);
            if amount == Sat::ZERO {
                continue;
            }
            out.push(Alert {
                seq: 0,
                watch_id: watch.id,
                label: watch.label.clone(),
                kind,
                txid,
                address: e.address,
                cluster_id: e.cluster_id,
                entity: e.entity,
                category: e.category,
                amount_sat: amount,
                policy: watch.policy,
                height: e.height,
                path_txids: e.path_txids,
                coinjoin: e.coinjoin,
                tip_height: 0,
                retracts: None,
            });
        }
        Ok(out)
    }
}
