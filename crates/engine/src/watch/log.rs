//! The alert log and the watch list on disk, shared by the Bitcoin side's watches and the EVM
//! side's: which movements are active (worked out from the log itself), the append that a
//! crash cannot leave half-written, how far each webhook got, and one checker at a time.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sleuth_durable::FileLock;

use super::{AlertKind, WATCHES_VERSION};
use crate::EngineError;

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

/// A data dir's watch list, of the Bitcoin side's watches or the EVM side's.
#[derive(Serialize, Deserialize)]
pub(crate) struct WatchesFile<W> {
    pub(crate) version: u32,
    pub(crate) next_id: u32,
    pub(crate) watches: Vec<W>,
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
    use crate::watch::Alert;
    use sleuth_analysis::trace::Policy;
    use sleuth_chain::Sat;

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
