//! Sleuth's REST API (`sleuth serve`): status, blocks, transactions, addresses, clusters and
//! their evidence, traces, screening (single and batch), incidents and reports, as JSON with
//! the same fields as the CLI's `--json`, and an OpenAPI 3 document generated from the
//! handlers at `/api/v1/openapi.json`.
//!
//! Every answer comes from one [`sleuth_engine::EngineSnapshot`]: one tip, never half a block.
//! The server holds the newest snapshot and swaps in a new one (built and warmed off the
//! request path) when the index, clustering, tags or incidents change ([`state`]).
//!
//! Security: it binds to loopback unless given bearer tokens ([`auth`]); each token has its own
//! rate limit; bodies, batches, hops and results are bounded, and every request has a timeout.

pub mod auth;
mod error;
pub mod evm_routes;
mod evm_watch;
pub mod follow;
pub mod metrics;
mod routes;
pub mod state;
mod watch_routes;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use auth::{Tokens, TokensError};
pub use error::ApiError;
pub use evm_routes::{evm_router, EvmApiDoc, EvmState};
pub use evm_watch::spawn_checker;
pub use routes::{router, ApiDoc};
pub use state::AppState;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// Bearer tokens; required unless `listen` is a loopback address.
    pub tokens: Option<Tokens>,
    /// Requests per second each token may make (bursts of twice that).
    pub rate_per_token: u32,
    /// How often the data dir is checked for a new commit, clustering, tags or incidents.
    pub refresh: Duration,
    /// A node whose blocks the server indexes as they come: its block files or its RPC.
    pub follow: Option<follow::Follow>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A bind address other than loopback without tokens.
    #[error("refusing to listen on {0} without tokens: anything but loopback needs --token-file")]
    NeedsTokens(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The data dir has no index yet, or it cannot be read.
    #[error(transparent)]
    Engine(#[from] sleuth_engine::EngineError),
    /// Serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// The listener of `cfg`, refusing anything but loopback without tokens.
async fn bind(cfg: &ServerConfig) -> Result<(tokio::net::TcpListener, SocketAddr), ServeError> {
    if !cfg.listen.ip().is_loopback() && cfg.tokens.is_none() {
        return Err(ServeError::NeedsTokens(cfg.listen));
    }
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ServeError::Bind { addr: cfg.listen, source })?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Serves an EVM data dir until `shutdown` resolves, following the node at `follow_url`
/// when given; calls `on_listening` with the bound address once it accepts connections.
///
/// # Errors
/// As [`serve`].
pub async fn serve_evm(
    state: Arc<EvmState>,
    cfg: &ServerConfig,
    follow_url: Option<String>,
    on_listening: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (listener, addr) = bind(cfg).await?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(url) = follow_url {
        evm_routes::spawn_evm_follower(state.clone(), url, cfg.refresh, stop.clone());
    }
    evm_watch::spawn_checker(state.clone(), cfg.refresh, stop.clone());
    webhooks::spawn(state.clone(), cfg.refresh.min(Duration::from_secs(1)));
    let app = evm_router(state, cfg.tokens.clone(), cfg.rate_per_token);
    on_listening(addr);
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    served?;
    Ok(())
}

/// Serves `state` until `shutdown` resolves; calls `on_listening` with the bound address once
/// it accepts connections.
///
/// # Errors
/// [`ServeError::NeedsTokens`] for a non-loopback address without tokens, [`ServeError::Bind`]
/// if the address is taken.
pub async fn serve(
    state: Arc<AppState>,
    cfg: &ServerConfig,
    on_listening: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (listener, addr) = bind(cfg).await?;
    // A follower takes a new snapshot after each look at the node's files; otherwise a
    // refresher looks at the data dir.
    match &cfg.follow {
        Some(f) => follow::spawn(state.clone(), f.clone(), cfg.refresh),
        None => state::spawn_refresher(state.clone(), cfg.refresh),
    }
    webhooks::spawn(state.clone(), cfg.refresh.min(Duration::from_secs(1)));
    let app = router(state, cfg.tokens.clone(), cfg.rate_per_token);
    on_listening(addr);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}
