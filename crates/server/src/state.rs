//! [`AppState`]: the engine and the snapshot being served. A request clones the current
//! snapshot (an `Arc`) and answers from it alone. A background task looks at the data dir
//! every [`crate::ServerConfig::refresh`]; when the index has a new commit, or the clustering,
//! tags or incidents changed, it takes a new snapshot, warms it (attribution and big clusters'
//! exposure: seconds with millions of tags) and only then swaps it in, so no request waits for it.
//! While an ingest in another process waits to unwind a reorg (`UNWIND-WAITING`), the server
//! holds no snapshot (requests get 503 `busy`), so that the reorg does not wait for it.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use sleuth_engine::{Engine, EngineError, EngineSnapshot};

use crate::metrics::Metrics;

/// What says the data dir changed: the index's counts and tip, and the size and time of the
/// other stores' files.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    index: (u64, u64, String),
    stores: sleuth_engine::FilesStamp,
}

/// The server's state.
pub struct AppState {
    /// The data dir.
    pub engine: Engine,
    /// `None` while a writer in another process waits for readers to let go (a reorg).
    current: RwLock<Option<Arc<EngineSnapshot>>>,
    stamp: Mutex<Stamp>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Woken when watches raise alerts, so that webhooks are sent at once, not at the next
    /// round of the sender.
    pub alerts_raised: tokio::sync::Notify,
}

fn stamp_of(engine: &Engine, snap: &EngineSnapshot) -> Stamp {
    let st = snap.status();
    let tip = st.index.tip_hash.unwrap_or_default();
    Stamp { index: (st.index.blocks, st.index.transactions, tip), stores: engine.stores_stamp() }
}

impl AppState {
    /// The state for the data dir of `engine`, with a first snapshot (warmed).
    ///
    /// # Errors
    /// [`EngineError`] if the data dir has no index or a store is damaged.
    pub fn new(engine: Engine) -> Result<AppState, EngineError> {
        let snap = engine.snapshot()?;
        snap.warm()?;
        let stamp = stamp_of(&engine, &snap);
        let metrics = Metrics::default();
        metrics.tip_height.store(snap.status().index.height.unwrap_or(0) as u64, Ordering::Relaxed);
        metrics.snapshots.store(1, Ordering::Relaxed);
        let state = AppState {
            engine,
            current: RwLock::new(Some(Arc::new(snap))),
            stamp: Mutex::new(stamp),
            metrics,
            alerts_raised: tokio::sync::Notify::new(),
        };
        if let Some(snap) = state.snapshot() {
            state.check_watches(&snap);
        }
        Ok(state)
    }

    /// Traces the watches over a snapshot just swapped in and records their new alerts (a
    /// failure is logged; the next snapshot tries again, and the log makes that idempotent).
    fn check_watches(&self, snap: &EngineSnapshot) {
        match sleuth_index::Damaged::catch(|| self.engine.check_watches(snap)) {
            Ok(Ok(new)) => {
                for a in &new {
                    tracing::info!(seq = a.seq, watch = a.watch_id, kind = %a.kind, txid = %a.txid, amount_sat = a.amount_sat.get(), "alert");
                }
                self.metrics.alerts.fetch_add(new.len() as u64, Ordering::Relaxed);
                if !new.is_empty() {
                    // A permit is kept if the sender is busy: no wake-up is lost.
                    self.alerts_raised.notify_one();
                }
            }
            Ok(Err(e)) => tracing::warn!("checking the watches: {e}"),
            Err(d) => tracing::warn!("checking the watches: {d}"),
        }
    }

    /// The snapshot to answer from; `None` while a reorg by another process waits for this
    /// server to let go of its snapshot.
    pub fn snapshot(&self) -> Option<Arc<EngineSnapshot>> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Takes a new snapshot if the data dir changed since the current one; returns whether it
    /// swapped one in.
    ///
    /// # Errors
    /// [`EngineError`] if the new snapshot cannot be taken (the current one stays).
    pub fn refresh(&self) -> Result<bool, EngineError> {
        let root = self.engine.dir().root();
        if sleuth_index::unwind_waiting(root) {
            // A writer in another process must unwind a reorg and waits for readers: let go
            // (requests are answered 503 meanwhile) and come back once it is done.
            if self.current.write().unwrap_or_else(|e| e.into_inner()).take().is_some() {
                tracing::info!("a reorg waits for readers: snapshot dropped until it is done");
            }
            return Ok(false);
        }
        let snap = self.engine.snapshot()?;
        let stamp = stamp_of(&self.engine, &snap);
        let serving = self.current.read().unwrap_or_else(|e| e.into_inner()).is_some();
        if serving && *self.stamp.lock().unwrap_or_else(|e| e.into_inner()) == stamp {
            return Ok(false);
        }
        // A new block alone changes neither the attribution nor the risk flows: take them
        // over from the snapshot being served instead of building them again.
        if let Some(prev) = self.snapshot() {
            snap.carry_over(&prev)?;
        }
        snap.warm()?;
        self.metrics.tip_height.store(snap.status().index.height.unwrap_or(0) as u64, Ordering::Relaxed);
        self.metrics.snapshots.fetch_add(1, Ordering::Relaxed);
        let snap = Arc::new(snap);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(snap.clone());
        *self.stamp.lock().unwrap_or_else(|e| e.into_inner()) = stamp;
        self.check_watches(&snap);
        tracing::info!(tip_height = self.metrics.tip_height.load(Ordering::Relaxed), "serving a new snapshot");
        Ok(true)
    }
}

/// Refreshes the snapshot of `state` every `every`, off the request path.
pub fn spawn_refresher(state: Arc<AppState>, every: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let s = state.clone();
            match tokio::task::spawn_blocking(move || s.refresh()).await {
                Ok(Err(e)) => tracing::warn!("keeping the current snapshot: {e}"),
                Err(e) => tracing::warn!("snapshot refresh panicked: {e}"),
                Ok(Ok(_)) => {}
            }
        }
    });
}
