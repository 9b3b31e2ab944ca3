//! Following a node on this machine through its block files: every
//! [`crate::ServerConfig::refresh`] the server runs an incremental ingest of the node's
//! `blocks` folder (the header cache makes a look that finds nothing new a matter of
//! milliseconds; a reorg the node made is unwound and redone by the ingest), extends the
//! clustering when one was built, and then swaps in a new snapshot.
//!
//! This is the first step of issue 11's follow mode: the node must be on this machine. Over
//! RPC (a node elsewhere) and ZMQ notifications are still to come.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sleuth_analysis::cluster::HeuristicSet;
use sleuth_engine::EngineError;
use sleuth_index::ingest::{ingest_with, IngestOptions, NoProgress};
use sleuth_index::IndexWriter;

use crate::AppState;

/// What to follow, and the index writer the server holds for it. The server's engine must
/// take its snapshots from this writer ([`sleuth_engine::Engine::beside_writer`]): a reorg
/// then keeps what they see in an overlay instead of waiting for them to be dropped, which a
/// server that always holds a snapshot would never do.
#[derive(Clone)]
pub struct Follow {
    /// The node's `blocks` folder.
    pub blocks_dir: PathBuf,
    /// The index's writer.
    pub writer: Arc<Mutex<IndexWriter>>,
}

impl std::fmt::Debug for Follow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Follow({})", self.blocks_dir.display())
    }
}

/// One look at the node's files: ingest what is new, extend the clustering, swap the
/// snapshot. Returns the blocks added and unwound.
///
/// # Errors
/// Ingest and clustering errors (the snapshot being served stays).
pub fn step(state: &AppState, follow: &Follow, stop: &AtomicBool) -> Result<(u64, u64), EngineError> {
    let opts = IngestOptions { commit_secs: 1, ..IngestOptions::new(follow.blocks_dir.clone()) };
    let report = {
        let mut writer = follow.writer.lock().unwrap_or_else(|e| e.into_inner());
        ingest_with(&mut writer, &opts, &mut NoProgress, stop)?
    };
    if report.added_blocks + report.unwound_blocks > 0 {
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
        tracing::info!(added = report.added_blocks, unwound = report.unwound_blocks, "followed the node's files");
    }
    state.refresh()?;
    Ok((report.added_blocks, report.unwound_blocks))
}

/// Runs [`step`] every `every` until the process ends.
pub fn spawn(state: Arc<AppState>, follow: Follow, every: Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    tokio::spawn(async move {
        loop {
            let (s, f, stop) = (state.clone(), follow.clone(), stop.clone());
            match tokio::task::spawn_blocking(move || step(&s, &f, &stop)).await {
                Ok(Err(e)) => tracing::warn!("following {}: {e}; trying again", follow.blocks_dir.display()),
                Err(e) => tracing::warn!("following panicked: {e}"),
                Ok(Ok(_)) => {}
            }
            tokio::time::sleep(every).await;
        }
    });
}
