//! Watches and alerts on an EVM data dir: value an investigator or an exchange follows as it
//! moves through accounts, with the Bitcoin side's log and guarantees (`crate::watch`): an
//! alert per movement, never twice across restarts, a retraction when a reorg removes the
//! transaction, webhooks sent in order at least once.
//!
//! A watch names a drain transaction, an account or `incident:NAME`, one asset (ETH or a
//! token) and one account policy. [`check_evm_watches`] traces each forward over the
//! index's last commit (the trace of `sleuth trace`, stopping at services and mixers) and
//! turns its endpoints into movements: value that reached a service (`service`), entered a
//! mixer (`mixer`), or came to rest in an account that is not one the watched value started
//! in (`new-account`: a thief moving loot to a fresh account).
//!
//! Files: `watches/evm.json`, `alerts/evm.jsonl`, `alerts/evm-delivered.json`.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sleuth_evm::amount::BaseUnits;

use super::{open, parse_hash, start_in, AccountPolicy, AccountTraceOptions, TraceStart};
use crate::watch::{read_watches, write_json, AlertKind, Files, LoggedAlert, MovementKey, Outgoing, WebhookUrl};
use crate::{DataDir, EngineError};

/// What `watch add` is given on an EVM data dir.
#[derive(Debug, Clone)]
pub struct NewEvmWatch {
    /// A drain's 0x hash, an 0x account, or `incident:NAME_OR_ID`.
    pub from: String,
    /// A name for people.
    pub label: String,
    /// `ETH` (or nothing) or a token's address.
    pub asset: Option<String>,
    /// The policy whose amounts alerts carry.
    pub policy: AccountPolicy,
    /// Where alerts are POSTed (`http://host:port/path`).
    pub webhook: Option<String>,
}

/// A watch on an EVM data dir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvmWatch {
    /// Its number (from 1).
    pub id: u32,
    /// Its name.
    pub label: String,
    /// What it follows, as given.
    pub from: String,
    /// `ETH` or the token's address.
    pub asset: String,
    /// The policy of its amounts.
    pub policy: AccountPolicy,
    /// Where its alerts are POSTed.
    pub webhook: Option<String>,
    /// The index's tip when it was added.
    pub added_at_height: Option<u64>,
}

/// One alert on an EVM data dir: the Bitcoin alert's fields, amounts in base units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvmAlert {
    /// Its number in the data dir's log (from 1): receivers of webhooks dedupe by it.
    pub seq: u64,
    /// The watch that raised it.
    pub watch_id: u32,
    /// The watch's label.
    pub label: String,
    /// What happened.
    pub kind: AlertKind,
    /// The transaction that moved the value there (for a retraction: the one removed).
    pub txid: String,
    /// The account it reached.
    pub address: Option<String>,
    /// Its tag label (for a deposit address: the service it sweeps to).
    pub entity: Option<String>,
    /// The label's category.
    pub category: Option<String>,
    /// `ETH` or the token's address.
    pub asset: String,
    /// Value moved, under `policy`, in the asset's base unit.
    pub amount_base: BaseUnits,
    /// The watch's policy.
    pub policy: AccountPolicy,
    /// The block the movement is in (for a retraction: the tip that removed it).
    pub height: u64,
    /// The transactions from the watched value to here, in order.
    pub path_txids: Vec<String>,
    /// The index's tip when the alert was raised.
    pub tip_height: u64,
    /// For a retraction: the alert it retracts.
    pub retracts: Option<u64>,
}

impl LoggedAlert for EvmAlert {
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
        // Hex case differs between what people type and what the index prints.
        (
            self.watch_id,
            self.kind,
            self.txid.to_ascii_lowercase(),
            self.address.as_ref().map(|a| a.to_ascii_lowercase()),
        )
    }
    fn numbered(self, seq: u64, tip: u64) -> EvmAlert {
        EvmAlert { seq, tip_height: tip, ..self }
    }
    fn retraction(&self, seq: u64, tip: u64) -> EvmAlert {
        EvmAlert {
            seq,
            kind: AlertKind::Retracted,
            height: tip,
            tip_height: tip,
            retracts: Some(self.seq),
            ..self.clone()
        }
    }
}

fn files(data_dir: &Path) -> Files {
    Files::of(&DataDir::new(data_dir), true)
}

/// The watches of the EVM data dir, in the order they were added.
///
/// # Errors
/// [`EngineError::Watch`] if the list is damaged.
pub fn evm_watches(data_dir: &Path) -> Result<Vec<EvmWatch>, EngineError> {
    Ok(read_watches::<EvmWatch>(&files(data_dir).watches)?.watches)
}

/// Adds a watch after checking that what it follows is in the index and moved the asset.
///
/// # Errors
/// [`EngineError::Watch`] for an empty label or a webhook that is not `http://…`; the
/// trace's errors for a start that is not indexed, an unknown incident or token.
pub fn add_evm_watch(data_dir: &Path, new: NewEvmWatch) -> Result<EvmWatch, EngineError> {
    if new.label.trim().is_empty() {
        return Err(EngineError::Watch("a watch needs a --label".into()));
    }
    if let Some(url) = &new.webhook {
        WebhookUrl::parse(url).map_err(EngineError::Watch)?;
    }
    let r = open(data_dir)?;
    let (_, asset) = super::resolve_asset(&r, new.asset.as_deref())?;
    // What a trace from it would start from must be there now.
    let start = start_in(data_dir, &new.from)?;
    let opts = AccountTraceOptions { policies: vec![new.policy], max_hops: 0, ..AccountTraceOptions::default() };
    super::trace(data_dir, &start, new.asset.as_deref(), opts)?;
    let files = files(data_dir);
    let mut file = read_watches::<EvmWatch>(&files.watches)?;
    let watch = EvmWatch {
        id: file.next_id,
        label: new.label.trim().to_owned(),
        from: new.from.trim().to_owned(),
        asset,
        policy: new.policy,
        webhook: new.webhook,
        added_at_height: r.status_view()?.height,
    };
    file.next_id += 1;
    file.watches.push(watch.clone());
    write_json(&files.watches, &file)?;
    Ok(watch)
}

/// Removes watch `id`; its alerts stay in the log. Returns whether there was one.
///
/// # Errors
/// A damaged list, I/O errors.
pub fn remove_evm_watch(data_dir: &Path, id: u32) -> Result<bool, EngineError> {
    crate::watch::remove_watch::<EvmWatch>(&files(data_dir), id, |w| w.id)
}

/// Every alert raised, in order; with `since`, those at or above that block.
///
/// # Errors
/// [`EngineError::Watch`] if the log is damaged.
pub fn evm_alerts(data_dir: &Path, since: Option<u64>) -> Result<Vec<EvmAlert>, EngineError> {
    let all: Vec<EvmAlert> = files(data_dir).alerts()?;
    Ok(all.into_iter().filter(|a| since.is_none_or(|h| a.height >= h)).collect())
}

/// Traces every watch over the index's last commit and records the alerts of movements not
/// seen before and the retractions of those a reorg removed; returns the new alerts.
///
/// # Errors
/// [`EngineError::Busy`] while another process checks; trace, index and I/O errors.
pub fn check_evm_watches(data_dir: &Path) -> Result<Vec<EvmAlert>, EngineError> {
    let files = files(data_dir);
    let watches = read_watches::<EvmWatch>(&files.watches)?.watches;
    if watches.is_empty() {
        return Ok(Vec::new());
    }
    let r = open(data_dir)?;
    let tip = r.status_view()?.height.unwrap_or(0);
    let gone = |txid: &str| parse_hash(txid).map_or(true, |h| r.tx_num_of(&h).ok().flatten().is_none());
    files.record(&watches.iter().map(|w| w.id).collect::<Vec<_>>(), tip, gone, |id| {
        movements(data_dir, watches.iter().find(|w| w.id == id).expect("a watch of the list"))
    })
}

/// The movements of a watch's value over the last commit (alerts without their numbers).
fn movements(data_dir: &Path, watch: &EvmWatch) -> Result<Vec<EvmAlert>, EngineError> {
    let start = match start_in(data_dir, &watch.from) {
        Ok(s) => s,
        // A reorg removed the watched drain: nothing moves until it is back.
        Err(EngineError::Evm(sleuth_evm::EvmError::NotFound(_))) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let asset = (watch.asset != "ETH").then_some(watch.asset.as_str());
    let opts = AccountTraceOptions { policies: vec![watch.policy], ..AccountTraceOptions::default() };
    let trace = match super::trace(data_dir, &start, asset, opts) {
        Ok(t) => t,
        Err(EngineError::Evm(sleuth_evm::EvmError::NotFound(_))) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    // Where the watched value already was: the drains' payees, or the watched account.
    let own: HashSet<String> = match &start {
        TraceStart::Account(a) => [a.to_string().to_ascii_lowercase()].into(),
        TraceStart::Txs(_) => trace.sources.iter().map(|s| s.to.to_ascii_lowercase()).collect(),
    };
    let mut out = Vec::new();
    for e in trace.endpoints {
        let Some(txid) = e.path_txids.last().cloned() else { continue };
        let kind = match e.stop_reason {
            "service" => AlertKind::Service,
            "mixer" => AlertKind::Mixer,
            _ if !own.contains(&e.address.to_ascii_lowercase()) => AlertKind::NewAccount,
            _ => continue,
        };
        let amount = e.amounts_base.first().copied().unwrap_or_default();
        if amount.is_zero() {
            continue;
        }
        out.push(EvmAlert {
            seq: 0,
            watch_id: watch.id,
            label: watch.label.clone(),
            kind,
            txid,
            address: Some(e.address),
            entity: e.entity,
            category: e.category,
            asset: trace.asset.clone(),
            amount_base: amount,
            policy: watch.policy,
            height: e.height,
            path_txids: e.path_txids,
            tip_height: 0,
            retracts: None,
        });
    }
    Ok(out)
}

/// For each watch with a webhook, the alerts it has not yet sent, oldest first.
///
/// # Errors
/// A damaged list or log.
pub fn evm_outgoing(data_dir: &Path) -> Result<Vec<Outgoing>, EngineError> {
    let hooks: Vec<(u32, String)> =
        evm_watches(data_dir)?.into_iter().filter_map(|w| Some((w.id, w.webhook?))).collect();
    files(data_dir).outgoing::<EvmAlert>(&hooks)
}

/// Records that watch `watch_id`'s webhook received every alert up to `seq`.
///
/// # Errors
/// I/O errors.
pub fn mark_evm_delivered(data_dir: &Path, watch_id: u32, seq: u64) -> Result<(), EngineError> {
    files(data_dir).mark_delivered(watch_id, seq)
}
