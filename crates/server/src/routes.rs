//! The routes under `/api/v1`, their limits, and the OpenAPI document made from them.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bitcoin::{BlockHash, Txid};
use serde::{Deserialize, Serialize};
use sleuth_analysis::trace::{Direction, Policy, TraceOptions};
use sleuth_engine::report::{ReportParams, Scope};
use sleuth_engine::{EngineSnapshot, Subject};
use sleuth_index::BlockRef;
use utoipa::{OpenApi, ToSchema};

use crate::auth::{self, RateLimits, Tokens};
use crate::error::ErrorBody;
use crate::{ApiError, AppState};

/// Request bodies larger than this are refused (413).
pub const MAX_BODY: usize = 1 << 20;
/// Subjects in one batch screening at most.
pub const MAX_BATCH: usize = 1_000;
/// Hops of a screening's backward trace at most.
pub const MAX_SCREEN_HOPS: u32 = 10;
/// Hops of a trace at most.
pub const MAX_TRACE_HOPS: u32 = 1_000;
/// Endpoints a trace lists at most (its totals cover all).
pub const MAX_ENDPOINTS: usize = 100_000;
/// Transactions a trace visits at most: what is still waiting then counts as limited.
pub const MAX_TRACE_VISITS: u64 = 2_000_000;
/// Time a request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

type Shared = Arc<AppState>;

/// A JSON object with the same fields as the CLI's `--json` answer to the same question.
#[derive(ToSchema)]
#[schema(value_type = Object)]
#[allow(dead_code)] // only its schema is used: the answers are the engine's own types
pub struct Answer(serde_json::Value);

/// Runs `f` on the current snapshot on a blocking thread (every engine call reads mapped files).
async fn answer<T: Serialize + Send + 'static>(
    state: &Shared,
    f: impl FnOnce(&EngineSnapshot) -> Result<T, ApiError> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    let snap = state.snapshot().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "a reorg is being applied to the index; try again in a moment",
        )
    })?;
    // A damaged index unwinds its reader (sleuth_index::Damaged): a 500 that says so.
    tokio::task::spawn_blocking(move || sleuth_index::Damaged::catch(|| f(&snap)))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("the query failed: {e}")))?
        .map_err(|d| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "index_damaged", d.to_string()))?
        .map(Json)
}

/// A JSON body, or the error saying why it is not one.
pub(crate) fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match b {
        Ok(Json(t)) => Ok(t),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request bodies are limited to {MAX_BODY} bytes"),
        )),
        Err(r) => Err(ApiError::bad_request(r.body_text())),
    }
}

fn subject(s: &str) -> Result<Subject, ApiError> {
    Subject::from_str(s).map_err(ApiError::bad_request)
}

fn txid(s: &str) -> Result<Txid, ApiError> {
    Txid::from_str(s)
        .map_err(|e| ApiError::bad_request(format!("{} is not a txid (64 hex digits): {e}", sleuth_chain::shown(s))))
}

/// Index status, clustering and tag sources.
#[utoipa::path(get, path = "/api/v1/status", responses((status = 200, body = Answer), (status = 503, body = ErrorBody)))]
async fn status(State(s): State<Shared>) -> Result<Json<impl Serialize>, ApiError> {
    answer(&s, |snap| Ok(snap.status())).await
}

/// A block by height or hash.
#[utoipa::path(get, path = "/api/v1/blocks/{block}", params(("block" = String, Path, description = "height or block hash")),
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn block(State(s): State<Shared>, Path(b): Path<String>) -> Result<Json<impl Serialize>, ApiError> {
    let r = match b.parse::<u32>() {
        Ok(h) if b.len() < 64 => BlockRef::Height(h),
        _ => BlockRef::Hash(
            BlockHash::from_str(&b)
                .map_err(|_| ApiError::bad_request(format!("{b:?} is neither a height nor a block hash")))?,
        ),
    };
    answer(&s, move |snap| Ok(snap.block(r)?)).await
}

/// A transaction: inputs, outputs, fee, spenders.
#[utoipa::path(get, path = "/api/v1/txs/{txid}", params(("txid" = String, Path)),
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn tx(State(s): State<Shared>, Path(t): Path<String>) -> Result<Json<impl Serialize>, ApiError> {
    let t = txid(&t)?;
    answer(&s, move |snap| Ok(snap.tx(&t)?)).await
}

/// An address: balance, history, cluster, tags.
#[utoipa::path(get, path = "/api/v1/addresses/{address}", params(("address" = String, Path)),
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn address(State(s): State<Shared>, Path(a): Path<String>) -> Result<Json<impl Serialize>, ApiError> {
    answer(&s, move |snap| Ok(snap.address(&a)?)).await
}

/// The cluster of an address: size, value, members, tags, label.
#[utoipa::path(get, path = "/api/v1/addresses/{address}/cluster", params(("address" = String, Path)),
    responses((status = 200, body = Answer), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cluster(State(s): State<Shared>, Path(a): Path<String>) -> Result<Json<impl Serialize>, ApiError> {
    answer(&s, move |snap| Ok(snap.cluster(&a)?)).await
}

/// Why two addresses are in one cluster: the chain of merges.
#[utoipa::path(get, path = "/api/v1/why/{a}/{b}", params(("a" = String, Path), ("b" = String, Path)),
    responses((status = 200, body = Answer), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn why(State(s): State<Shared>, Path((a, b)): Path<(String, String)>) -> Result<Json<impl Serialize>, ApiError> {
    answer(&s, move |snap| Ok(snap.why(&a, &b)?)).await
}

/// A trace, as `sleuth trace` takes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceRequest {
    /// `TXID`, `TXID:VOUT`, an address or `cluster:N`, one or more.
    pub from: Vec<String>,
    /// `forward` (default) or `backward`.
    pub direction: Option<String>,
    /// `all` (default), or policies separated by commas.
    pub policy: Option<String>,
    /// Transfers followed at most (default 50, at most 1,000).
    pub max_hops: Option<u32>,
    /// Taint below this is not followed (default 1,000).
    pub min_sat: Option<u64>,
    /// Spends above this height are not followed.
    pub until_height: Option<u32>,
    /// Cluster-aware (default true).
    pub clusters: Option<bool>,
    /// Categories or classes to stop at instead of services and mixers.
    pub stop_at: Option<Vec<String>>,
    /// Endpoints listed at most (default 1,000, at most 100,000).
    pub max_endpoints: Option<usize>,
    /// Transactions visited at most (default and at most 2,000,000).
    pub max_visits: Option<u64>,
}

/// Follows tainted value forward or backward under the policies side by side.
#[utoipa::path(post, path = "/api/v1/trace", request_body = TraceRequest,
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn trace(State(s): State<Shared>, b: Result<Json<TraceRequest>, JsonRejection>) -> Result<Response, ApiError> {
    let r = body(b)?;
    if r.from.is_empty() || r.from.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!("`from` takes 1 to {MAX_BATCH} subjects")));
    }
    let from: Vec<Subject> = r.from.iter().map(|f| subject(f)).collect::<Result<_, _>>()?;
    let direction = match r.direction.as_deref() {
        None => Direction::Forward,
        Some(d) => Direction::from_str(d).map_err(ApiError::bad_request)?,
    };
    let policies = match r.policy.as_deref() {
        None | Some("all") => Policy::ALL.to_vec(),
        Some(p) => {
            let mut v: Vec<Policy> = p
                .split(',')
                .map(|x| x.trim().parse())
                .collect::<Result<_, _>>()
                .map_err(|e| ApiError::bad_request(format!("{e}")))?;
            v.sort();
            v.dedup();
            v
        }
    };
    let max_hops = trace_hops(r.max_hops)?;
    let opts = TraceOptions {
        direction,
        policies,
        max_hops,
        min_sat: r.min_sat.unwrap_or(1_000),
        until_height: r.until_height,
        clusters: r.clusters.unwrap_or(true),
        max_endpoints: r.max_endpoints.unwrap_or(1_000).min(MAX_ENDPOINTS),
        list_only: None,
        max_visits: Some(r.max_visits.unwrap_or(MAX_TRACE_VISITS).min(MAX_TRACE_VISITS)),
    };
    let stop_at = r.stop_at;
    Ok(answer(&s, move |snap| Ok(snap.trace(&from, &opts, stop_at.as_deref())?)).await?.into_response())
}

/// A screening: one address or incoming output.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenRequest {
    /// An address or `TXID:VOUT`.
    pub subject: String,
    /// Hops of the backward trace (default 3, at most 10).
    pub hops: Option<u32>,
}

/// A trace's `max_hops`: 50 unless given, at most [`MAX_TRACE_HOPS`].
fn trace_hops(h: Option<u32>) -> Result<u32, ApiError> {
    let h = h.unwrap_or(50);
    if h > MAX_TRACE_HOPS {
        return Err(ApiError::bad_request(format!("max_hops is at most {MAX_TRACE_HOPS}")));
    }
    Ok(h)
}

fn hops(h: Option<u32>) -> Result<u32, ApiError> {
    let h = h.unwrap_or(3);
    if h > MAX_SCREEN_HOPS {
        return Err(ApiError::bad_request(format!("hops is at most {MAX_SCREEN_HOPS}")));
    }
    Ok(h)
}

/// Scores an address or incoming output 0–100 for exposure to crime, with the reasons.
#[utoipa::path(post, path = "/api/v1/screen", request_body = ScreenRequest,
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn screen(State(s): State<Shared>, b: Result<Json<ScreenRequest>, JsonRejection>) -> Result<Response, ApiError> {
    let r = body(b)?;
    let (subj, hops) = (subject(&r.subject)?, hops(r.hops)?);
    Ok(answer(&s, move |snap| Ok(snap.screen(&subj, hops)?)).await?.into_response())
}

/// Screenings of many subjects from one snapshot.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchScreenRequest {
    /// Addresses or `TXID:VOUT`s, at most 1,000.
    pub subjects: Vec<String>,
    /// Hops of each backward trace (default 3, at most 10).
    pub hops: Option<u32>,
}

/// One answer of a batch: the report, or the error for that subject.
#[derive(Debug, Serialize)]
struct BatchItem {
    subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<sleuth_engine::screen::ScreenReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<crate::error::ErrorDetail>,
}

/// Screens up to 1,000 subjects; each answer is a report or that subject's error.
#[utoipa::path(post, path = "/api/v1/screen/batch", request_body = BatchScreenRequest,
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody)))]
async fn screen_batch(
    State(s): State<Shared>,
    b: Result<Json<BatchScreenRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let r = body(b)?;
    if r.subjects.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "a batch holds at most {MAX_BATCH} subjects, not {}",
            r.subjects.len()
        )));
    }
    let hops = hops(r.hops)?;
    let subjects = r.subjects;
    let results = answer(&s, move |snap| {
        Ok(subjects
            .into_iter()
            .map(|t| {
                let got = subject(&t).and_then(|subj| snap.screen(&subj, hops).map_err(ApiError::from));
                let (report, error) = match got {
                    Ok(rep) => (Some(rep), None),
                    Err(e) => (None, Some(crate::error::ErrorDetail { code: e.code.into(), message: e.message })),
                };
                BatchItem { subject: t, report, error }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(serde_json::json!({ "results": results.0 })).into_response())
}

/// The incident ledger (`{"incidents": [...]}`, as `sleuth incident list --json`).
#[utoipa::path(get, path = "/api/v1/incidents", responses((status = 200, body = Answer)))]
async fn incidents(State(s): State<Shared>) -> Result<Json<impl Serialize>, ApiError> {
    answer(&s, |snap| Ok(serde_json::json!({ "incidents": snap.incidents().incidents() }))).await
}

/// One incident, by name or number.
#[utoipa::path(get, path = "/api/v1/incidents/{incident}", params(("incident" = String, Path, description = "name or number")),
    responses((status = 200, body = Answer), (status = 404, body = ErrorBody)))]
async fn incident(State(s): State<Shared>, Path(n): Path<String>) -> Result<Json<impl Serialize>, ApiError> {
    answer(&s, move |snap| {
        snap.incidents().find(&n).cloned().ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no incident named or numbered {n:?}"))
        })
    })
    .await
}

/// An evidence report, as `sleuth report --format json` (without a price table: the server
/// reads no file a client names).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// One incident, by name or number.
    pub incident: Option<String>,
    /// Every incident of an actor.
    pub actor: Option<String>,
    /// Every incident.
    pub all: Option<bool>,
    /// Trace limit (default 50, at most 1,000).
    pub max_hops: Option<u32>,
    /// Trace limit (default 1,000).
    pub min_sat: Option<u64>,
}

/// The evidence report of one incident, an actor's or all.
#[utoipa::path(post, path = "/api/v1/reports", request_body = ReportRequest,
    responses((status = 200, body = Answer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn report(State(s): State<Shared>, b: Result<Json<ReportRequest>, JsonRejection>) -> Result<Response, ApiError> {
    let r = body(b)?;
    let scope = match (r.incident, r.actor, r.all.unwrap_or(false)) {
        (Some(i), None, false) => Scope::Incident(i),
        (None, Some(a), false) => Scope::Actor(a),
        (None, None, true) => Scope::All,
        _ => return Err(ApiError::bad_request("name one of `incident`, `actor` or `all: true`")),
    };
    let max_hops = trace_hops(r.max_hops)?;
    let params = ReportParams { scope, prices: None, max_hops, min_sat: r.min_sat.unwrap_or(1_000) };
    Ok(answer(&s, move |snap| Ok(snap.report(&params)?)).await?.into_response())
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, body = Answer)))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")))]
async fn metrics(State(s): State<Shared>) -> Response {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render()).into_response()
}

/// The OpenAPI 3 document of the API, made from the handlers above.
#[derive(OpenApi)]
#[openapi(
    info(title = "Sleuth", description = "Follow stolen money on public blockchains: the engine's views over HTTP."),
    paths(
        status,
        block,
        tx,
        address,
        cluster,
        why,
        trace,
        screen,
        screen_batch,
        incidents,
        incident,
        report,
        crate::watch_routes::watches,
        crate::watch_routes::add_watch,
        crate::watch_routes::alerts,
        openapi,
        metrics
    ),
    components(schemas(
        Answer,
        ErrorBody,
        TraceRequest,
        ScreenRequest,
        BatchScreenRequest,
        ReportRequest,
        crate::watch_routes::WatchRequest
    ))
)]
pub struct ApiDoc;

/// Counts a request for `/metrics`: its route, status and time.
pub(crate) type Recorder = Box<dyn Fn(&str, u16, Duration) + Send + Sync>;

/// What the guard layer needs.
struct Guard {
    record: Recorder,
    tokens: Option<Tokens>,
    limits: RateLimits,
}

/// Checks the token (when the server has tokens) and its rate, and counts the request.
async fn guard(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched".to_owned(), |p| p.as_str().to_owned());
    let refused = g.tokens.as_ref().and_then(|t| {
        let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        auth::check(t, header).and_then(|i| g.limits.take(i)).err()
    });
    let resp = match refused {
        Some(e) => e.into_response(),
        None => match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
            Ok(r) => r,
            Err(_) => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                format!("the request took longer than {} s", REQUEST_TIMEOUT.as_secs()),
            )
            .into_response(),
        },
    };
    (g.record)(&route, resp.status().as_u16(), started.elapsed());
    resp
}

/// `app`'s routes behind the token check (when `tokens` is given), the per-token rate limit,
/// the body limit and the timeout, with a JSON 404 for anything else: what every Sleuth
/// API (UTXO or EVM data dir) puts in front of its routes.
pub(crate) fn guarded(app: Router, record: Recorder, tokens: Option<Tokens>, rate_per_token: u32) -> Router {
    let guard_state = Arc::new(Guard { record, tokens, limits: RateLimits::new(rate_per_token) });
    app.route_layer(middleware::from_fn_with_state(guard_state, guard)).layer(DefaultBodyLimit::max(MAX_BODY)).fallback(
        || async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route; see /api/v1/openapi.json") },
    )
}

/// Every route, behind the token check (when `tokens` is given), the per-token rate limit,
/// the body limit and the timeout.
pub fn router(state: Shared, tokens: Option<Tokens>, rate_per_token: u32) -> Router {
    let metered = state.clone();
    let app = Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/blocks/{block}", get(block))
        .route("/api/v1/txs/{txid}", get(tx))
        .route("/api/v1/addresses/{address}", get(address))
        .route("/api/v1/addresses/{address}/cluster", get(cluster))
        .route("/api/v1/why/{a}/{b}", get(why))
        .route("/api/v1/trace", post(trace))
        .route("/api/v1/screen", post(screen))
        .route("/api/v1/screen/batch", post(screen_batch))
        .route("/api/v1/incidents", get(incidents))
        .route("/api/v1/incidents/{incident}", get(incident))
        .route("/api/v1/reports", post(report))
        .route("/api/v1/watches", get(crate::watch_routes::watches).post(crate::watch_routes::add_watch))
        .route("/api/v1/alerts", get(crate::watch_routes::alerts))
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
