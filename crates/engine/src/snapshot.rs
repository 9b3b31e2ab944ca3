//! [`EngineSnapshot`]: the index at one commit, with the clustering and the tags that go
//! with it, held together so that every part of an answer agrees with the same tip.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sleuth_analysis::trace::Attribution;

use serde::{Deserialize, Serialize};
use sleuth_analysis::cluster::{ClusterId, Clustering, CLUSTER_FORMAT};
use sleuth_index::Snapshot;
use sleuth_tags::TagStore;

use crate::EngineError;

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
    /// Saved by a Sleuth of another clustering format (before an upgrade): not read until
    /// it is built again. The index is used as usual.
    OtherFormat {
        /// The format it was saved in.
        found: u32,
        /// The format this Sleuth reads.
        expected: u32,
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
    /// `clustering` is what loading the saved clustering gave: `Err(format)` for one saved in
    /// another format.
    pub(crate) fn new(
        index: Snapshot,
        clustering: Result<Option<Clustering>, u32>,
        tags: Arc<TagStore>,
        incidents: Arc<crate::incidents::Ledger>,
    ) -> EngineSnapshot {
        let (clustering, clustering_state) = match clustering {
            Err(found) => (None, ClusteringState::OtherFormat { found, expected: CLUSTER_FORMAT }),
            Ok(None) => (None, ClusteringState::NotBuilt),
            Ok(Some(c)) => {
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

impl EngineSnapshot {
    /// Takes over what `prev` (an earlier snapshot of the same data dir) has built and what
    /// still holds here: its attribution and the big clusters' risk flows, when both have the
    /// same clustering, tags and incidents and this one only adds blocks to `prev`'s chain. A
    /// follower takes a snapshot per block; without this each would build the attribution
    /// again (every tag looked up: 0.6 s with 322,777 tags) and the risk flows (seconds on a
    /// 10M-transaction chain), though a block changes neither, since the flows count only the
    /// transactions the clustering covers. Tags of addresses the new blocks paid for the first
    /// time are looked up and added. Returns whether it took anything.
    ///
    /// # Errors
    /// [`EngineError::Tags`] if a tag source cannot be read.
    pub fn carry_over(&self, prev: &EngineSnapshot) -> Result<bool, EngineError> {
        let Some(attribution) = prev.attribution.get() else { return Ok(false) };
        let same_clustering = match (&self.clustering, &prev.clustering) {
            (Some(a), Some(b)) => a.meta() == b.meta(),
            (None, None) => true,
            _ => false,
        };
        if !same_clustering
            || !Arc::ptr_eq(&self.tags, &prev.tags)
            || self.incidents.incidents() != prev.incidents.incidents()
            || self.attribution.get().is_some()
        {
            return Ok(false);
        }
        let (view, before) = (self.index.view(), prev.index.view());
        let (old, new) = (before.counts(), view.counts());
        let extends = new.blocks >= old.blocks
            && new.addrs >= old.addrs
            && old.blocks.checked_sub(1).is_none_or(|h| {
                let h = sleuth_index::Height::new(h as u32);
                view.block_hash(h) == before.block_hash(h)
            });
        // An incident whose outputs were not indexed yet may name coins of the new blocks.
        let incidents_resolved = prev.incidents.incidents().iter().all(|i| {
            i.outputs.iter().all(|s| prev.coins_of(&before, &crate::trace::Subject::Tx(s.txid, s.vout)).is_ok())
        });
        if !extends || !incidents_resolved {
            return Ok(false);
        }
        let mut labels = Vec::new();
        for a in old.addrs..new.addrs {
            let a = sleuth_index::AddrId::new(a as u32);
            for tag in self.tags.tags_for(&view.address_of(a))? {
                labels.push((a, crate::trace::label_of_tag(&tag)));
            }
        }
        let attribution = if labels.is_empty() {
            attribution.clone()
        } else {
            let mut a = (**attribution).clone();
            for (addr, l) in labels {
                a.label(addr, l);
            }
            Arc::new(a)
        };
        let _ = self.attribution.set(attribution);
        if let Some(flows) = prev.risk_flows.get() {
            let _ = self.risk_flows.set(flows.clone());
        }
        Ok(true)
    }
}
