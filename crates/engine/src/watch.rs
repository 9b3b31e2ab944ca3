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
//! time per data dir.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sleuth_analysis::cluster::ClusterId;
use sleuth_analysis::trace::{Policy, StopReason, TraceOptions};
use sleuth_chain::Sat;
use sleuth_durable::FileLock;

use crate::{Engine, EngineError, EngineSnapshot, Subject};

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

/// A data dir's watch list, of the Bitcoin side's watches or the EVM side's.
#[derive(Serialize, Deserialize)]
pub(crate) struct WatchesFile<W> {
    pub(crate) version: u32,
    pub(crate) next_id: u32,
    pub(crate) watches: Vec<W>,
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

/// What makes two alerts the same movement: the watch, the kind, the transaction, the
/// address reached.
pub(crate) type MovementKey = (u32, AlertKind, String, Option<String>);

/// What the alert log needs of an alert, the Bitcoin side's and the EVM side's alike.
pub(crate) trait LoggedAlert: Serialize + serde::de::DeserializeOwned + Clone {
    fn seq(&self) -> u64;
    fn watch_id(&self) -> u32;
    fn retracts(&self) -> Option<u64>;
    /// The transaction that moved the taint.
    fn txid(&self) -> &str;
    fn movement(&self) -> MovementKey;
    /// This movement as alert `seq`, raised at tip `tip`.
    fn numbered(self, seq: u64, tip: u64) -> Self;
    /// Alert `seq` at tip `tip`, retracting this one.
    fn retraction(&self, seq: u64, tip: u64) -> Self;
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

/// Where a data dir keeps its watches and alerts.
pub(crate) struct Files {
    pub(crate) watches: PathBuf,
    pub(crate) alerts: PathBuf,
    pub(crate) delivered: PathBuf,
    pub(crate) lock: PathBuf,
}

impl Files {
    /// The files of the data dir `dir`; an EVM data dir's are named `evm…` (its watches and
    /// alerts have their own shape), and both share the checkers' lock.
    pub(crate) fn of(dir: &crate::DataDir, evm: bool) -> Files {
        let (w, a) = (dir.watches(), dir.alerts());
        let (watches, alerts, delivered) = if evm {
            ("evm.json", "evm.jsonl", "evm-delivered.json")
        } else {
            ("watches.json", "alerts.jsonl", "delivered.json")
        };
        Files { watches: w.join(watches), alerts: a.join(alerts), delivered: a.join(delivered), lock: a.join("LOCK") }
    }

    /// Records the movements each watch's `found` gives that the log does not hold as
    /// active, and first the retractions of active ones whose transaction `gone` says a reorg
    /// removed; returns the new alerts, appended and synced. One checker at a time.
    pub(crate) fn record<A: LoggedAlert>(
        &self,
        watch_ids: &[u32],
        tip: u64,
        gone: impl Fn(&str) -> bool,
        mut found: impl FnMut(u32) -> Result<Vec<A>, EngineError>,
    ) -> Result<Vec<A>, EngineError> {
        if watch_ids.is_empty() {
            return Ok(Vec::new());
        }
        let dir = self.lock.parent().expect("in a folder");
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        let _lock = FileLock::try_exclusive(&self.lock)
            .map_err(|e| EngineError::io(&self.lock, e))?
            .ok_or(EngineError::Busy { path: self.lock.clone() })?;
        let (log, valid_len) = read_alerts::<A>(&self.alerts)?;
        let mut active: BTreeMap<MovementKey, u64> = BTreeMap::new();
        for a in &log {
            match a.retracts() {
                Some(seq) => active.retain(|_, s| *s != seq),
                None => {
                    active.insert(a.movement(), a.seq());
                }
            }
        }
        let by_seq: BTreeMap<u64, &A> = log.iter().map(|a| (a.seq(), a)).collect();
        let mut seq = log.last().map_or(0, |a| a.seq());
        let mut new: Vec<A> = Vec::new();
        for &id in watch_ids {
            // Retractions first: a movement whose transaction is gone from the best chain.
            for (key, &s) in &active {
                if key.0 == id && gone(by_seq[&s].txid()) {
                    seq += 1;
                    new.push(by_seq[&s].retraction(seq, tip));
                }
            }
            for m in found(id)? {
                let key = m.movement();
                let retracted = new.iter().any(|a| a.retracts() == active.get(&key).copied());
                if active.contains_key(&key) && !retracted {
                    continue;
                }
                seq += 1;
                new.push(m.numbered(seq, tip));
            }
        }
        append_alerts(&self.alerts, valid_len, &new)?;
        Ok(new)
    }

    /// Every alert of the log, in order.
    pub(crate) fn alerts<A: LoggedAlert>(&self) -> Result<Vec<A>, EngineError> {
        Ok(read_alerts(&self.alerts)?.0)
    }

    /// For each watch with a webhook (`(id, webhook)`), its alerts beyond what was
    /// delivered, oldest first, as the webhook sender POSTs them.
    pub(crate) fn outgoing<A: LoggedAlert>(&self, hooks: &[(u32, String)]) -> Result<Vec<Outgoing>, EngineError> {
        let delivered = read_delivered(&self.delivered)?;
        let log: Vec<A> = self.alerts()?;
        Ok(hooks
            .iter()
            .filter_map(|(id, url)| {
                let done = delivered.get(id).copied().unwrap_or(0);
                let alerts: Vec<(u64, Vec<u8>)> = log
                    .iter()
                    .filter(|a| a.watch_id() == *id && a.seq() > done)
                    .map(|a| (a.seq(), serde_json::to_vec(a).expect("alerts serialize")))
                    .collect();
                (!alerts.is_empty()).then(|| Outgoing { watch_id: *id, webhook: url.clone(), alerts })
            })
            .collect())
    }

    /// Records that watch `watch_id`'s webhook received every alert up to `seq`.
    pub(crate) fn mark_delivered(&self, watch_id: u32, seq: u64) -> Result<(), EngineError> {
        let mut delivered = read_delivered(&self.delivered)?;
        let entry = delivered.entry(watch_id).or_insert(0);
        *entry = (*entry).max(seq);
        write_json(&self.delivered, &delivered)
    }
}

/// A watch's alerts its webhook has not taken yet: each alert's number and its JSON, the
/// body POSTed.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The watch.
    pub watch_id: u32,
    /// Its webhook.
    pub webhook: String,
    /// `(seq, JSON)`, oldest first.
    pub alerts: Vec<(u64, Vec<u8>)>,
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

/// A webhook's address: `http://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// `host:port`, to connect to.
    pub authority: String,
    /// The host, for the `Host` header.
    pub host: String,
    /// The path and query (`/` at least).
    pub path: String,
}

impl WebhookUrl {
    /// Parses `url`.
    ///
    /// # Errors
    /// A message for anything but `http://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<WebhookUrl, String> {
        let shown = sleuth_chain::shown(url);
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(if url.starts_with("https://") {
                format!(
                    "{shown}: webhooks are sent over plain http; for https, relay through an http endpoint on this machine"
                )
            } else {
                format!("{shown} is not a webhook URL; write http://host:port/path")
            });
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') || authority.chars().any(char::is_whitespace) {
            return Err(format!("{shown}: no host, or a host with credentials or spaces"));
        }
        let host = authority.to_owned();
        let authority = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Ok(WebhookUrl { authority, host, path: path.to_owned() })
    }
}

pub(crate) fn read_watches<W: serde::de::DeserializeOwned>(path: &Path) -> Result<WatchesFile<W>, EngineError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(WatchesFile { version: WATCHES_VERSION, next_id: 1, watches: Vec::new() })
        }
        Err(e) => return Err(EngineError::io(path, e)),
    };
    let file: WatchesFile<W> = serde_json::from_slice(&bytes)
        .map_err(|e| EngineError::Watch(format!("{}: {e}; the watch list is damaged", path.display())))?;
    if file.version != WATCHES_VERSION {
        return Err(EngineError::Watch(format!(
            "{}: watch list version {}, this sleuth reads {WATCHES_VERSION}",
            path.display(),
            file.version
        )));
    }
    Ok(file)
}

fn read_delivered(path: &Path) -> Result<BTreeMap<u32, u64>, EngineError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| EngineError::Watch(format!("{}: {e}; delete it to send every alert again", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(EngineError::io(path, e)),
    }
}

/// Removes watch `id` from the list in `files`; whether there was one.
pub(crate) fn remove_watch<W: Serialize + serde::de::DeserializeOwned>(
    files: &Files,
    id: u32,
    id_of: impl Fn(&W) -> u32,
) -> Result<bool, EngineError> {
    let mut file = read_watches::<W>(&files.watches)?;
    let before = file.watches.len();
    file.watches.retain(|w| id_of(w) != id);
    if file.watches.len() == before {
        return Ok(false);
    }
    write_json(&files.watches, &file)?;
    Ok(true)
}

pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), EngineError> {
    let dir = path.parent().expect("in a folder");
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let bytes = serde_json::to_vec_pretty(value).expect("serializes");
    sleuth_durable::write_atomic(path, &bytes).map_err(|e| EngineError::io(path, e))
}

/// The log's alerts and the length of its whole lines (a last line without its newline was
/// cut by a crash mid-append and is not an alert).
fn read_alerts<A: LoggedAlert>(path: &Path) -> Result<(Vec<A>, u64), EngineError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(EngineError::io(path, e)),
    };
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut alerts = Vec::new();
    for (n, line) in bytes[..whole].split(|&b| b == b'\n').enumerate().filter(|(_, l)| !l.is_empty()) {
        let a: A = serde_json::from_slice(line)
            .map_err(|e| EngineError::Watch(format!("{}:{}: {e}; the alert log is damaged", path.display(), n + 1)))?;
        alerts.push(a);
    }
    Ok((alerts, whole as u64))
}

/// Appends `new` after the first `valid_len` bytes (dropping a cut line) and syncs.
fn append_alerts<A: LoggedAlert>(path: &Path, valid_len: u64, new: &[A]) -> Result<(), EngineError> {
    if new.is_empty() {
        return Ok(());
    }
    let io = |e| EngineError::io(path, e);
    let mut f = std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(path).map_err(io)?;
    f.set_len(valid_len).map_err(io)?;
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(valid_len)).map_err(io)?;
    let mut text = Vec::new();
    for a in new {
        serde_json::to_writer(&mut text, a).expect("serializes");
        text.push(b'\n');
    }
    f.write_all(&text).map_err(io)?;
    f.sync_all().map_err(io)?;
    if valid_len == 0 {
        sleuth_durable::sync_dir(path.parent().expect("in a folder")).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        let u = WebhookUrl::parse("http://127.0.0.1:9000/hook?x=1").unwrap();
        assert_eq!((u.authority.as_str(), u.path.as_str()), ("127.0.0.1:9000", "/hook?x=1"));
        assert_eq!(WebhookUrl::parse("http://relay").unwrap().authority, "relay:80");
        assert!(WebhookUrl::parse("https://x").unwrap_err().contains("relay through an http endpoint"));
        assert!(WebhookUrl::parse("ftp://x").is_err());
        assert!(WebhookUrl::parse("http://user:pw@x/").is_err());
    }

    #[test]
    fn a_line_cut_mid_append_is_dropped_and_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("alerts.jsonl");
        let alert = |seq| Alert {
            seq,
            watch_id: 1,
            label: "heist".into(),
            kind: AlertKind::Service,
            txid: "00".repeat(32),
            address: None,
            cluster_id: None,
            entity: None,
            category: None,
            amount_sat: Sat::new(5),
            policy: Policy::Haircut,
            height: 7,
            path_txids: vec![],
            coinjoin: false,
            tip_height: 7,
            retracts: None,
        };
        append_alerts(&path, 0, &[alert(1)]).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let one = bytes.len();
        bytes.extend_from_slice(b"{\"seq\":2,\"wat");
        std::fs::write(&path, &bytes).unwrap();
        let (alerts, valid) = read_alerts::<Alert>(&path).unwrap();
        assert_eq!((alerts, valid), (vec![alert(1)], one as u64));
        append_alerts(&path, valid, &[alert(2)]).unwrap();
        assert_eq!(read_alerts::<Alert>(&path).unwrap().0, vec![alert(1), alert(2)]);
    }
}
