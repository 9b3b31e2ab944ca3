//! The API over an EVM data dir: the same routes and shapes as the UTXO side where the
//! question is the same (status, blocks, transactions, addresses, trace, screen, incidents,
//! reports; watches and alerts in [`crate::evm_watch`]),
//! answered by `sleuth_engine::evm`, behind the same guard (tokens, rate limits, body limit,
//! timeout). Each request reads one committed state of the account index (a redb read
//! transaction): one tip, never half a block. With a node to follow, a background thread
//! syncs the index with it every refresh, reorgs included.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sleuth_engine::evm::{self, AccountTraceOptions};
use utoipa::{OpenApi, ToSchema};

use crate::error::ErrorBody;
use crate::metrics::Metrics;
use crate::routes::{body, guarded, Answer, MAX_BATCH, MAX_ENDPOINTS, MAX_SCREEN_HOPS, MAX_TRACE_HOPS};
use crate::{ApiError, Tokens};

/// The state of a server over an EVM data dir.
pub struct EvmState {
    /// The data dir.
    pub data_dir: PathBuf,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Woken when watches raise alerts, so that webhooks are sent at once.
    pub alerts_raised: tokio::sync::Notify,
    /// What the watches were last traced at ([`crate::evm_watch::check_if_changed`]).
    pub(crate) checked: std::sync::Mutex<Option<crate::evm_watch::CheckStamp>>,
}

impl EvmState {
    /// The state of a server over the EVM data dir `data_dir`.
    pub fn new(data_dir: PathBuf) -> EvmState {
        EvmState {
            data_dir,
            metrics: Metrics::default(),
            alerts_raised: tokio::sync::Notify::new(),
            checked: std::sync::Mutex::new(None),
        }
    }
}

pub(crate) type Shared = Arc<EvmState>;

/// Runs `f` on a blocking thread (the store's reads are file reads).
pub(crate) async fn answer<T: Serialize + Send + 'static>(
    s: &Shared,
    f: impl FnOnce(&Path) -> Result<T, ApiError> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    let dir = s.data_dir.clone();
    tokio::task::spawn_blocking(move || f(&dir))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("the query failed: {e}")))?
        .map(Json)
}

/// An engine or index error as the API's: malformed input 400, not found 404.
pub(crate) fn engine_err(e: impl Into<sleuth_engine::EngineError>) -> ApiError {
    ApiError::from(e.into())
}

/// Index status: chain, tip, counts.
#[utoipa::path(get, path = "/api/v1/status", responses((status = 200, body = Answer)))]
async fn status(State(s): State<Shared>) -> Result<Json<impl Serialize>, ApiError> {
    answer(&s, |d| evm::open(d).and_then(|r| r.status_view()).map_err(engine_err)).await
}

/// A block by height or hash.
#[utoipa::path(get, path = "/api/v1/blocks/{block}", params(("block" = String, Path, description = "height or 0x block hash")),
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn block(State(s): State<Shared>, UrlPath(b): UrlPath<String>) -> Result<Json<impl Serialize>, ApiError> {
    let by = match b.parse::<u64>() {
        Ok(h) if !b.starts_with("0x") => Ok(h),
        _ => Err(evm::parse_hash(&b).map_err(engine_err)?),
    };
    answer(&s, move |d| {
        let r = evm::open(d).map_err(engine_err)?;
        match by {
            Ok(h) => r.block_view(h),
            Err(hash) => r.block_view_by_hash(&hash),
        }
        .map_err(engine_err)
    })
    .await
}

/// A transaction with its transfers (fees, calls, token events).
#[utoipa::path(get, path = "/api/v1/txs/{hash}", params(("hash" = String, Path)),
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn tx(State(s): State<Shared>, UrlPath(t): UrlPath<String>) -> Result<Json<impl Serialize>, ApiError> {
    let hash = evm::parse_hash(&t).map_err(engine_err)?;
    answer(&s, move |d| evm::open(d).and_then(|r| r.tx_view(&hash)).map_err(engine_err)).await
}

/// An account: ETH and token balances, counts, first transfers, tags.
#[utoipa::path(get, path = "/api/v1/addresses/{address}", params(("address" = String, Path)),
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn address(State(s): State<Shared>, UrlPath(a): UrlPath<String>) -> Result<Json<impl Serialize>, ApiError> {
    evm::parse_address(&a).map_err(engine_err)?;
    answer(&s, move |d| evm::address(d, &a).map_err(ApiError::from)).await
}

/// A forward trace from a transaction or an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvmTraceRequest {
    /// A transaction hash or an 0x account.
    pub from: String,
    /// `ETH` (default) or a token's address.
    pub asset: Option<String>,
    /// poison, haircut, fifo, lifo, a comma-separated list, or all (default).
    pub policy: Option<String>,
    /// Payments followed at most (default 20).
    pub max_hops: Option<u32>,
    /// Do not follow transfers above this block.
    pub until_height: Option<u64>,
    /// Endpoints listed at most (default 1,000).
    pub max_endpoints: Option<usize>,
}

/// Where value went, under several policies side by side.
#[utoipa::path(post, path = "/api/v1/trace", request_body = EvmTraceRequest,
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn trace(
    State(s): State<Shared>,
    b: Result<Json<EvmTraceRequest>, JsonRejection>,
) -> Result<Json<impl Serialize>, ApiError> {
    let q = body(b)?;
    let start = evm::parse_start(&q.from).map_err(engine_err)?;
    let policies = evm::parse_policies(q.policy.as_deref().unwrap_or("all")).map_err(ApiError::bad_request)?;
    let max_hops = q.max_hops.unwrap_or(20);
    if max_hops > MAX_TRACE_HOPS {
        return Err(ApiError::bad_request(format!("max_hops is at most {MAX_TRACE_HOPS}")));
    }
    let opts = AccountTraceOptions {
        policies,
        max_hops,
        until_block: q.until_height,
        max_endpoints: q.max_endpoints.unwrap_or(1_000).min(MAX_ENDPOINTS),
        ..AccountTraceOptions::default()
    };
    answer(&s, move |d| evm::trace(d, &start, q.asset.as_deref(), opts).map_err(ApiError::from)).await
}

/// One account to screen.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvmScreenRequest {
    /// The 0x account (`subject`, as the Bitcoin API names it, is accepted too).
    #[serde(alias = "subject")]
    pub address: String,
    /// Hops of the backward trace (default 3).
    pub hops: Option<u32>,
    /// `ETH` (default) or a token's address.
    pub asset: Option<String>,
}

/// Several accounts to screen.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvmBatchScreenRequest {
    /// The accounts.
    pub addresses: Vec<String>,
    /// Hops of each backward trace (default 3).
    pub hops: Option<u32>,
}

fn screen_hops(h: Option<u32>) -> Result<u32, ApiError> {
    let h = h.unwrap_or(3);
    if h > MAX_SCREEN_HOPS {
        return Err(ApiError::bad_request(format!("hops is at most {MAX_SCREEN_HOPS}")));
    }
    Ok(h)
}

/// A 0–100 score with its reasons for an account.
#[utoipa::path(post, path = "/api/v1/screen", request_body = EvmScreenRequest,
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn screen(
    State(s): State<Shared>,
    b: Result<Json<EvmScreenRequest>, JsonRejection>,
) -> Result<Json<impl Serialize>, ApiError> {
    let q = body(b)?;
    let hops = screen_hops(q.hops)?;
    evm::parse_address(&q.address).map_err(engine_err)?;
    answer(&s, move |d| evm::screen(d, &q.address, q.asset.as_deref(), hops).map_err(ApiError::from)).await
}

/// The screenings of a batch, in order; an account not in the index gets its error in place.
#[utoipa::path(post, path = "/api/v1/screen/batch", request_body = EvmBatchScreenRequest,
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody)))]
async fn screen_batch(
    State(s): State<Shared>,
    b: Result<Json<EvmBatchScreenRequest>, JsonRejection>,
) -> Result<Json<impl Serialize>, ApiError> {
    let q = body(b)?;
    let hops = screen_hops(q.hops)?;
    if q.addresses.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!("a batch holds at most {MAX_BATCH} addresses")));
    }
    for a in &q.addresses {
        evm::parse_address(a).map_err(engine_err)?;
    }
    answer(&s, move |d| {
        let results: Vec<serde_json::Value> = q
            .addresses
            .iter()
            .map(|a| match evm::screen(d, a, None, hops) {
                Ok(r) => serde_json::to_value(r).expect("reports serialize"),
                Err(e) => {
                    let e = ApiError::from(e);
                    serde_json::json!({ "address": a, "error": { "code": e.code, "message": e.message } })
                }
            })
            .collect();
        Ok(serde_json::json!({ "results": results }))
    })
    .await
}

/// The incident ledger.
#[utoipa::path(get, path = "/api/v1/incidents", responses((status = 200, body = Answer)))]
async fn incidents(State(s): State<Shared>) -> Result<Json<impl Serialize>, ApiError> {
    answer(&s, |d| Ok(serde_json::json!({ "incidents": evm::evm_incidents(d)? }))).await
}

/// One incident, by name or number.
#[utoipa::path(get, path = "/api/v1/incidents/{incident}", params(("incident" = String, Path, description = "name or number")),
    responses((status = 200, body = Answer), (status = 404, body = ErrorBody)))]
async fn incident(State(s): State<Shared>, UrlPath(n): UrlPath<String>) -> Result<Json<impl Serialize>, ApiError> {
    answer(&s, move |d| evm::find_evm_incident(d, &n).map_err(ApiError::from)).await
}

/// The evidence report of one incident, an actor's or all: per asset, the trace from every
/// drain under every policy, as `sleuth report` writes it.
#[utoipa::path(post, path = "/api/v1/reports", request_body = crate::routes::ReportRequest,
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn report(
    State(s): State<Shared>,
    b: Result<Json<crate::routes::ReportRequest>, JsonRejection>,
) -> Result<Json<impl Serialize>, ApiError> {
    use sleuth_engine::report::Scope;
    let r = body(b)?;
    let scope = match (r.incident, r.actor, r.all.unwrap_or(false)) {
        (Some(i), None, false) => Scope::Incident(i),
        (None, Some(a), false) => Scope::Actor(a),
        (None, None, true) => Scope::All,
        _ => return Err(ApiError::bad_request("name one of `incident`, `actor` or `all: true`")),
    };
    if r.min_sat.is_some() {
        return Err(ApiError::bad_request("min_sat is a Bitcoin trace limit; an EVM report has max_hops only"));
    }
    let max_hops = r.max_hops.unwrap_or(50);
    if max_hops > MAX_TRACE_HOPS {
        return Err(ApiError::bad_request(format!("max_hops is at most {MAX_TRACE_HOPS}")));
    }
    answer(&s, move |d| evm::evm_report(d, &scope, max_hops, None).map_err(ApiError::from)).await
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, body = Answer)))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(EvmApiDoc::openapi())
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")))]
async fn metrics(State(s): State<Shared>) -> Response {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render()).into_response()
}

/// The OpenAPI 3 document of the API over an EVM data dir, made from the handlers above.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sleuth (EVM)",
        description = "Follow stolen money on EVM chains: the engine's account views over HTTP."
    ),
    paths(
        status,
        block,
        tx,
        address,
        trace,
        screen,
        screen_batch,
        incidents,
        incident,
        report,
        crate::evm_watch::watches,
        crate::evm_watch::add_watch,
        crate::evm_watch::alerts,
        openapi,
        metrics
    ),
    components(schemas(
        Answer,
        ErrorBody,
        EvmTraceRequest,
        EvmScreenRequest,
        EvmBatchScreenRequest,
        crate::routes::ReportRequest,
        crate::evm_watch::EvmWatchRequest,
        crate::evm_watch::EvmAlertsQuery
    ))
)]
pub struct EvmApiDoc;

/// Every route over an EVM data dir, behind the guard.
pub fn evm_router(state: Shared, tokens: Option<Tokens>, rate_per_token: u32) -> Router {
    let metered = state.clone();
    let app = Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/blocks/{block}", get(block))
        .route("/api/v1/txs/{hash}", get(tx))
        .route("/api/v1/addresses/{address}", get(address))
        .route("/api/v1/trace", post(trace))
        .route("/api/v1/screen", post(screen))
        .route("/api/v1/screen/batch", post(screen_batch))
        .route("/api/v1/incidents", get(incidents))
        .route("/api/v1/incidents/{incident}", get(incident))
        .route("/api/v1/reports", post(report))
        .route("/api/v1/watches", get(crate::evm_watch::watches).post(crate::evm_watch::add_watch))
        .route("/api/v1/alerts", get(crate::evm_watch::alerts))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .with_state(state);
    guarded(
        app,
        Box::new(move |route, status, took| metered.metrics.record(route, status, took)),
        tokens,
        rate_per_token,
    )
}

/// Syncs the EVM index with the node at `url` every `every`, on a thread of its own, until
/// `stop`: new blocks at the node's pace, reorgs unwound; a node that is away is retried.
pub fn spawn_evm_follower(state: Shared, url: String, every: Duration, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let opts = evm::SyncOptions::default();
        // One client (and its runtime) for every round.
        let node = match evm::EvmNode::connect(&url) {
            Ok(n) => n,
            Err(e) => return tracing::error!("cannot follow {url}: {e}"),
        };
        while !stop.load(Ordering::Relaxed) {
            match evm::ingest_from(&state.data_dir, &node, &opts, &stop, &mut |_, _| {}) {
                Ok(r) => {
                    state.metrics.node_height.store(r.node_height, Ordering::Relaxed);
                    if let Some(h) = r.height {
                        state.metrics.tip_height.store(h, Ordering::Relaxed);
                    }
                    if r.added_blocks > 0 || r.unwound_blocks > 0 {
                        state.metrics.snapshots.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(height = ?r.height, added = r.added_blocks, unwound = r.unwound_blocks, "followed the node");
                        // The new tip's alerts at once, not at the checker's next round.
                        crate::evm_watch::check_if_changed(&state);
                    }
                }
                Err(e) => tracing::warn!("following {url}: {e}; trying again"),
            }
            wait_for_block(&node, &state, every, &stop);
        }
    });
}

/// How often the follower asks the node for its height between rounds.
const HEIGHT_POLL: Duration = Duration::from_millis(50);

/// Waits up to `every` for the node to have a block above the indexed tip, asking its height
/// every [`HEIGHT_POLL`] (`eth_blockNumber`, a few hundred bytes): an execution client has no
/// long poll, and a block is then synced within that time instead of a whole round later. A
/// reorg to a branch no longer than the old one is seen at the next round.
fn wait_for_block(node: &evm::EvmNode, state: &EvmState, every: Duration, stop: &AtomicBool) {
    let until = std::time::Instant::now() + every;
    let indexed = state.metrics.tip_height.load(Ordering::Relaxed);
    while std::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(HEIGHT_POLL.min(every));
        match node.block_number() {
            Ok(h) if h > indexed => return,
            Ok(_) => {}
            // Away: the next round says so, with a warning.
            Err(_) => return std::thread::sleep(until.saturating_duration_since(std::time::Instant::now())),
        }
    }
}
