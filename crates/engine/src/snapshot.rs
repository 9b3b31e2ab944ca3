//! [`EngineSnapshot`]: the index at one commit, with the clustering and the tags that go
//! with it, held together so that every part of an answer agrees with the same tip.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sleuth_analysis::trace::Attribution;

use serde::{Deserialize, Serialize};
use sleuth_analysis::cluster::{ClusterId, Clustering};
use sleuth_index::Snapshot;
use sleuth_tags::TagStore;

/// Whether the snapshot has a clustering, and of what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ClusteringState {
    /// None was built.
    NotBuilt,
    /// Built on this chain, covering the first `upto_tx` transactions.
    Current {
        /// Heuristics it used.
        heuristics: Vec<String>,
        /// Transactions it covers (the index may hold more, newer ones).
        upto_tx: u64,
    },
    /// Built on a branch a reorg removed (or past this snapshot's commit): not used.
    Stale {
        /// Transactions it covers.
        upto_tx: u64,
    },
}

/// A consistent state of the whole data dir: `Send + Sync`, cheap to clone.
#[derive(Clone)]
pub struct EngineSnapshot {
    pub(crate) index: Snapshot,
    pub(crate) clustering: Option<Arc<Clustering>>,
    pub(crate) clustering_state: ClusteringState,
    pub(crate) tags: Arc<TagStore>,
    /// Clusters and labels for traces and screening, built on first use.
    pub(crate) attribution: OnceLock<Arc<Attribution>>,
    /// The incident ledger as it was when the snapshot was taken.
    pub(crate) incidents: Arc<crate::incidents::Ledger>,
    /// Direct exposure of the clusters screened so far.
    pub(crate) direct_cache: Arc<Mutex<HashMap<ClusterId, Arc<crate::screen::Direct>>>>,
    /// Direct exposure of every big cluster, made from the risk side on first use.
    pub(crate) risk_flows: Arc<OnceLock<Arc<crate::exposure::RiskFlows>>>,
}

impl EngineSnapshot {
    pub(crate) fn new(
        index: Snapshot,
        clustering: Option<Clustering>,
        tags: Arc<TagStore>,
        incidents: Arc<crate::incidents::Ledger>,
    ) -> EngineSnapshot {
        let (clustering, clustering_state) = match clustering {
            None => (None, ClusteringState::NotBuilt),
            Some(c) => {
                let m = c.meta();
                if c.matches(&index.view()) {
                    let state = ClusteringState::Current { heuristics: m.heuristics.clone(), upto_tx: m.upto_tx };
                    (Some(Arc::new(c)), state)
                } else {
                    (None, ClusteringState::Stale { upto_tx: m.upto_tx })
                }
            }
        };
        EngineSnapshot {
            index,
            clustering,
            clustering_state,
            tags,
            attribution: OnceLock::new(),
            incidents,
            direct_cache: Arc::default(),
            risk_flows: Arc::default(),
        }
    }

    /// The index snapshot.
    pub fn index(&self) -> &Snapshot {
        &self.index
    }

    /// The clustering, when one matches the index.
    pub fn clustering(&self) -> Option<&Clustering> {
        self.clustering.as_deref()
    }

    /// What clustering the snapshot has.
    pub fn clustering_state(&self) -> &ClusteringState {
        &self.clustering_state
    }

    /// The tag store.
    pub fn tags(&self) -> &TagStore {
        &self.tags
    }

    /// The incident ledger.
    pub fn incidents(&self) -> &crate::incidents::Ledger {
        &self.incidents
    }
}
