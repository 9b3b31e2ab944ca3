//! Watches and alerts over an EVM data dir: the routes (the Bitcoin API's, with an asset and
//! an account policy), the checker that traces the watches whenever the index's tip or the
//! watch list changes, and the webhook outbox.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use sleuth_engine::evm::watch::{self as w, NewEvmWatch};
use sleuth_engine::evm::AccountPolicy;
use sleuth_engine::watch::Outgoing;
use sleuth_engine::EngineError;
use utoipa::ToSchema;

use crate::evm_routes::{answer, Shared};
use crate::metrics::Metrics;
use crate::webhooks::Outbox;
use crate::{ApiError, EvmState};

impl Outbox for EvmState {
    fn outgoing(&self) -> Result<Vec<Outgoing>, EngineError> {
        w::evm_outgoing(&self.data_dir)
    }
    fn mark_delivered(&self, watch_id: u32, seq: u64) -> Result<(), EngineError> {
        w::mark_evm_delivered(&self.data_dir, watch_id, seq)
    }
    fn raised(&self) -> &tokio::sync::Notify {
        &self.alerts_raised
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// A new watch, as `sleuth watch add` on an EVM data dir.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvmWatchRequest {
    /// A drain's 0x hash, an 0x account, or `incident:NAME_OR_ID`.
    pub from: String,
    /// A name for people.
    pub label: String,
    /// `ETH` (default) or a token's address.
    pub asset: Option<String>,
    /// poison, haircut (default), fifo or lifo.
    pub policy: Option<String>,
    /// Where each alert is POSTed (`http://host:port/path`).
    pub webhook: Option<String>,
}

/// Every watch.
#[utoipa::path(get, path = "/api/v1/watches", responses((status = 200, body = crate::routes::Answer)))]
pub(crate) async fn watches(State(s): State<Shared>) -> Result<Json<impl Serialize>, ApiError> {
    answer(&s, |d| Ok(serde_json::json!({ "watches": w::evm_watches(d)? }))).await
}

/// Adds a watch; what it follows must be indexed and have moved the asset.
#[utoipa::path(post, path = "/api/v1/watches", request_body = EvmWatchRequest,
    responses((status = 200, body = crate::routes::Answer), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn add_watch(
    State(s): State<Shared>,
    b: Result<Json<EvmWatchRequest>, JsonRejection>,
) -> Result<Json<impl Serialize>, ApiError> {
    let r = crate::routes::body(b)?;
    let policy = AccountPolicy::parse(r.policy.as_deref().unwrap_or("haircut")).map_err(ApiError::bad_request)?;
    let new = NewEvmWatch { from: r.from, label: r.label, asset: r.asset, policy, webhook: r.webhook };
    answer(&s, move |d| {
        w::add_evm_watch(d, new).map_err(|e| match e {
            EngineError::Watch(m) => ApiError::bad_request(m),
            e => e.into(),
        })
    })
    .await
}

/// `?since=HEIGHT`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EvmAlertsQuery {
    /// Only alerts at or above this block.
    pub since: Option<u64>,
}

/// Alerts raised by watches, oldest first.
#[utoipa::path(get, path = "/api/v1/alerts", params(("since" = Option<u64>, Query, description = "only alerts at or above this block")),
    responses((status = 200, body = crate::routes::Answer)))]
pub(crate) async fn alerts(
    State(s): State<Shared>,
    Query(q): Query<EvmAlertsQuery>,
) -> Result<Json<impl Serialize>, ApiError> {
    answer(&s, move |d| Ok(serde_json::json!({ "alerts": w::evm_alerts(d, q.since)? }))).await
}

/// What says the watches must be traced again: the index's tip, and the watch list's size
/// and time.
pub(crate) type CheckStamp = (Option<String>, u64, Option<SystemTime>);

fn stamp(state: &EvmState) -> Option<CheckStamp> {
    let tip = sleuth_engine::evm::open(&state.data_dir).and_then(|r| r.status_view()).ok()?.tip_hash;
    let list = sleuth_engine::DataDir::new(&state.data_dir).watches().join("evm.json");
    let meta = std::fs::metadata(list).ok();
    Some((tip, meta.as_ref().map_or(0, |m| m.len()), meta.and_then(|m| m.modified().ok())))
}

/// Traces the watches if the index's tip or the watch list changed since they were last
/// traced, records the new alerts and wakes the webhook sender. The follower calls it after
/// each sync that moved the tip (so an alert does not wait for the checker's next round), the
/// checker every refresh; one at a time.
pub(crate) fn check_if_changed(state: &EvmState) {
    let mut last = state.checked.lock().unwrap_or_else(|e| e.into_inner());
    let now = stamp(state);
    if now.is_none() || now == *last {
        return;
    }
    match w::check_evm_watches(&state.data_dir) {
        Ok(new) => {
            for a in &new {
                tracing::info!(seq = a.seq, watch = a.watch_id, kind = %a.kind, txid = %a.txid, amount_base = %a.amount_base, "alert");
            }
            state.metrics.alerts.fetch_add(new.len() as u64, Ordering::Relaxed);
            if !new.is_empty() {
                state.alerts_raised.notify_one();
            }
            *last = now;
        }
        // Another process checks, or a read failed: the next round tries again.
        Err(e) => tracing::warn!("checking the watches: {e}"),
    }
}

/// Runs [`check_if_changed`] every `every` on a thread of its own, until `stop`: it sees a
/// tip an ingest in another process committed, and a watch added.
pub fn spawn_checker(state: Arc<EvmState>, every: Duration, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            check_if_changed(&state);
            std::thread::sleep(every);
        }
    });
}
