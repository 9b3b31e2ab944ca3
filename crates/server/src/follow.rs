//! Following a node: every new block the node makes reaches the answers, with the clustering
//! extended and the watches checked, and reorgs the node makes are unwound and redone.
//!
//! Two sources, each a [`FollowSource`]:
//! - a node on this machine through its block files: every [`crate::ServerConfig::refresh`]
//!   an incremental ingest of its `blocks` folder (the header cache makes a look that finds
//!   nothing new a matter of milliseconds);
//! - a node anywhere over its JSON-RPC ([`sleuth_node`]): the server long-polls the node
//!   (`waitforblockheight`, so a block is seen the moment the node accepts it; polling every
//!   refresh on a node without that call) and looks at its tip at least every refresh (a
//!   reorg to a branch no longer than the old one does not raise the height). When the node
//!   goes away or restarts, the server keeps serving its last snapshot and tries again with
//!   a backoff of up to 10 s, reading the node's new cookie.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sleuth_analysis::cluster::HeuristicSet;
use sleuth_engine::EngineError;
use sleuth_index::ingest::{ingest_with, IngestOptions, NoProgress};
use sleuth_index::IndexWriter;
use sleuth_node::{NodeClient, NodeError, SyncOptions};

use crate::AppState;

/// The longest wait between tries while the node cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Where new blocks come from.
#[derive(Clone)]
pub enum FollowSource {
    /// The `blocks` folder of a node on this machine.
    BlocksDir(PathBuf),
    /// A node's JSON-RPC.
    Rpc(Arc<NodeClient>),
}

impl std::fmt::Display for FollowSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FollowSource::BlocksDir(d) => write!(f, "{}", d.display()),
            FollowSource::Rpc(n) => write!(f, "{}", n.url()),
        }
    }
}

/// What to follow, and the index writer the server holds for it. The server's engine must
/// take its snapshots from this writer ([`sleuth_engine::Engine::beside_writer`]): a reorg
/// then keeps what they see in an overlay instead of waiting for them to be dropped, which a
/// server that always holds a snapshot would never do.
#[derive(Clone)]
pub struct Follow {
    /// Where blocks come from.
    pub source: FollowSource,
    /// The index's writer.
    pub writer: Arc<Mutex<IndexWriter>>,
}

impl std::fmt::Debug for Follow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Follow({})", self.source)
    }
}

/// Why a look at the node failed.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Ingest, clustering or snapshot errors.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The node's RPC.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// One look at the node: index what is new, extend the clustering, swap the snapshot.
/// Returns the blocks added and unwound.
///
/// # Errors
/// Ingest, RPC and clustering errors (the snapshot being served stays).
pub fn step(state: &AppState, follow: &Follow, stop: &AtomicBool) -> Result<(u64, u64), FollowError> {
    let (added, unwound) = {
        let mut writer = follow.writer.lock().unwrap_or_else(|e| e.into_inner());
        match &follow.source {
            FollowSource::BlocksDir(dir) => {
                let opts = IngestOptions { commit_secs: 1, ..IngestOptions::new(dir.clone()) };
                let r = ingest_with(&mut writer, &opts, &mut NoProgress, stop).map_err(EngineError::from)?;
                (r.added_blocks, r.unwound_blocks)
            }
            FollowSource::Rpc(node) => {
                let opts = SyncOptions { commit_secs: 1, until_height: None };
                let mut total = (0, 0);
                // A node that switched branches mid-sync is synced again at once.
                loop {
                    let r = sleuth_node::sync(&mut writer, node, &opts, stop)?;
                    total = (total.0 + r.added_blocks, total.1 + r.unwound_blocks);
                    state.metrics.node_height.store(u64::from(r.node_height), Ordering::Relaxed);
                    if !r.moved {
                        break;
                    }
                }
                total
            }
        }
    };
    if added + unwound > 0 {
        // New blocks on the same branch are served at once, with the clustering as it was
        // (it covers the chain below its last transaction: addresses new since have no
        // cluster yet); extending the clustering takes seconds on a large chain, and a second
        // snapshot follows it. After a reorg the old clustering no longer matches the chain,
        // so the new tip waits for it to be rebuilt.
        if unwound == 0 {
            state.refresh()?;
        }
        let current = state.snapshot();
        // The clustering as built before, extended (or rebuilt below a reorg) to the new tip.
        let heuristics = current.as_ref().and_then(|c| c.clustering()).map(|cl| cl.meta().heuristics.join(","));
        drop(current);
        match heuristics.as_deref().map(HeuristicSet::from_str) {
            Some(Ok(set)) => {
                state.engine.build_clustering(set, &mut |_, _| {})?;
            }
            Some(Err(e)) => tracing::warn!("the clustering is not extended: its heuristics: {e}"),
            None => {}
        }
        tracing::info!(added, unwound, source = %follow.source, "followed the node");
    }
    state.refresh()?;
    Ok((added, unwound))
}

/// Runs [`step`] until the process ends: every `every` for block files; for RPC, again as
/// soon as the node has a block above the indexed tip (or after `every` at the latest).
pub fn spawn(state: Arc<AppState>, follow: Follow, every: Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    tokio::spawn(async move {
        let mut backoff = every;
        loop {
            let (s, f, stop) = (state.clone(), follow.clone(), stop.clone());
            let wait = match tokio::task::spawn_blocking(move || step(&s, &f, &stop)).await {
                Ok(Err(e)) => {
                    tracing::warn!("following {}: {e}; trying again in {:.1} s", follow.source, backoff.as_secs_f64());
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!("following panicked: {e}");
                    every
                }
                Ok(Ok(_)) => {
                    backoff = every;
                    every
                }
            };
            match &follow.source {
                FollowSource::BlocksDir(_) => tokio::time::sleep(wait).await,
                FollowSource::Rpc(node) => {
                    let (node, height) = (node.clone(), state.metrics.tip_height.load(Ordering::Relaxed) as u32);
                    let long_poll = tokio::task::spawn_blocking(move || node.wait_for_height(height, wait)).await;
                    match long_poll {
                        Ok(Ok(true)) => {}
                        // No long poll on this node, or it is away: the next step says which.
                        _ => tokio::time::sleep(wait).await,
                    }
                }
            }
        }
    });
}
