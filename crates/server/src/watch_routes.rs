//! The routes of watches and alerts. They read and change the data dir's watch list and alert
//! log, not the snapshot: a watch added here is traced when the next snapshot is swapped in
//! (the watch list is part of the data dir's stamp), within a refresh.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sleuth_analysis::trace::Policy;
use sleuth_engine::watch::NewWatch;
use sleuth_engine::Engine;
use utoipa::ToSchema;

use crate::{ApiError, AppState};

type Shared = Arc<AppState>;

/// Runs `f` on the engine on a blocking thread (the watch files are read and written).
async fn on_engine<T: Serialize + Send + 'static>(
    state: &Shared,
    f: impl FnOnce(&Engine) -> Result<T, ApiError> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || f(&s.engine))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("the request failed: {e}")))?
        .map(Json)
}

/// A new watch, as `sleuth watch add`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchRequest {
    /// `TXID[:VOUT]`, an address, `cluster:N`, or `incident:NAME_OR_ID`.
    pub from: String,
    /// A name for people.
    pub label: String,
    /// The taint policy of the alerts' amounts (default haircut).
    pub policy: Option<String>,
    /// Where each alert is POSTed (`http://host:port/path`).
    pub webhook: Option<String>,
}

/// Every watch.
#[utoipa::path(get, path = "/api/v1/watches", responses((status = 200, body = crate::routes::Answer)))]
pub(crate) async fn watches(State(s): State<Shared>) -> Result<Json<impl Serialize>, ApiError> {
    on_engine(&s, |e| Ok(serde_json::json!({ "watches": e.watches()? }))).await
}

/// Adds a watch; what it follows must be indexed.
#[utoipa::path(post, path = "/api/v1/watches", request_body = WatchRequest,
    responses((status = 200, body = crate::routes::Answer), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn add_watch(
    State(s): State<Shared>,
    b: Result<Json<WatchRequest>, JsonRejection>,
) -> Result<Json<impl Serialize>, ApiError> {
    let r = crate::routes::body(b)?;
    let policy = match r.policy.as_deref() {
        None => Policy::Haircut,
        Some(p) => {
            p.parse().map_err(|e: sleuth_analysis::trace::UnknownPolicy| ApiError::bad_request(e.to_string()))?
        }
    };
    let new = NewWatch { from: r.from, label: r.label, policy, webhook: r.webhook };
    on_engine(&s, move |e| {
        e.add_watch(new).map_err(|e| match e {
            sleuth_engine::EngineError::Watch(m) => ApiError::bad_request(m),
            e => e.into(),
        })
    })
    .await
}

/// `?since=HEIGHT`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AlertsQuery {
    /// Only alerts at or above this height.
    pub since: Option<u32>,
}

/// Alerts raised by watches, oldest first.
#[utoipa::path(get, path = "/api/v1/alerts", params(("since" = Option<u32>, Query, description = "only alerts at or above this height")),
    responses((status = 200, body = crate::routes::Answer)))]
pub(crate) async fn alerts(
    State(s): State<Shared>,
    Query(q): Query<AlertsQuery>,
) -> Result<Json<impl Serialize>, ApiError> {
    on_engine(&s, move |e| Ok(serde_json::json!({ "alerts": e.alerts(q.since)? }))).await
}
