//! [`Attribution`]: what the tracer knows of an address — its cluster, and the label (entity,
//! category) of that cluster when tags name it. Built by the engine from the tag store and
//! the clustering; the tracer itself knows nothing of tags.

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sleuth_index::AddrId;

use super::fasthash::IdMap;
use crate::cluster::{ClusterId, Clustering};

/// What a label means for a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// A service that can freeze deposits (exchange, OTC desk, payment processor, bridge, …):
    /// forward traces stop there.
    Service,
    /// A mixer: forward traces stop there, and the value counts as mixed.
    Mixer,
    /// Abuse (sanctioned, theft, ransomware, darknet, scam, …): a risk source for screening.
    Risk,
    /// Anything else tagged: followed through.
    Other,
}

/// A cluster's label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// The entity (the tag's label).
    pub entity: String,
    /// Its category (the tag's category or abuse concept, e.g. `exchange`, `sanction`).
    pub category: String,
    /// What it means for a trace.
    pub class: Class,
}

/// The owner of an address as the tracer sees it: its cluster, or the address alone when no
/// clustering covers it (or clusters are off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Owner {
    Cluster(ClusterId),
    Address(AddrId),
    None,
}

/// Clusters and their labels.
#[derive(Clone)]
pub struct Attribution {
    clustering: Option<Arc<Clustering>>,
    labels: Vec<Label>,
    by_cluster: IdMap<ClusterId, usize>,
    by_address: IdMap<AddrId, usize>,
    /// One bit per cluster id, set for the labelled ones: most coins a walk reads belong to
    /// unlabelled clusters, and a bit answers them from the cache instead of a map probe.
    labelled_bits: Vec<u64>,
    stop_at: Vec<Class>,
    stop_categories: Option<HashSet<String>>,
}

impl Attribution {
    /// Whether transaction `t` is a CoinJoin, as the clustering's build recognised it;
    /// `None` without a clustering or past what it covers (the walk then recognises it).
    #[inline]
    pub fn coinjoin(&self, t: sleuth_index::TxNum) -> Option<bool> {
        self.clustering.as_ref()?.is_coinjoin(t)
    }

    /// Clusters from `clustering` (if any), no labels yet; forward traces stop at services
    /// and mixers.
    pub fn new(clustering: Option<Arc<Clustering>>) -> Attribution {
        Attribution {
            clustering,
            labels: Vec::new(),
            by_cluster: IdMap::default(),
            by_address: IdMap::default(),
            labelled_bits: Vec::new(),
            stop_at: vec![Class::Service, Class::Mixer],
            stop_categories: None,
        }
    }

    /// Labels the cluster of `a` (or `a` alone when no clustering covers it). The first label
    /// given to a cluster stays unless a later one ranks higher (risk over service over mixer
    /// over other), so that an abuse tag is never hidden by a service tag.
    pub fn label(&mut self, a: AddrId, label: Label) {
        let rank = |c: Class| match c {
            Class::Risk => 3,
            Class::Service => 2,
            Class::Mixer => 1,
            Class::Other => 0,
        };
        let slot = match self.cluster_of(a) {
            Some(c) => self.by_cluster.get(&c).copied(),
            None => self.by_address.get(&a).copied(),
        };
        match slot {
            Some(i) if rank(self.labels[i].class) >= rank(label.class) => {}
            Some(i) => self.labels[i] = label,
            None => {
                let i = self.labels.len();
                self.labels.push(label);
                match self.cluster_of(a) {
                    Some(c) => {
                        let (word, bit) = bit_of(c);
                        if self.labelled_bits.len() <= word {
                            self.labelled_bits.resize(word + 1, 0);
                        }
                        self.labelled_bits[word] |= bit;
                        self.by_cluster.insert(c, i);
                    }
                    None => {
                        self.by_address.insert(a, i);
                    }
                }
            }
        }
    }

    /// Makes forward traces stop at labels whose category (`exchange`, `mixing_service`, …)
    /// or class (`service`, `mixer`, `risk`) is one of `names`, instead of at services and
    /// mixers.
    pub fn set_stop_at(&mut self, names: &[String]) {
        self.stop_at.clear();
        let mut cats = HashSet::new();
        for n in names {
            match n.as_str() {
                "service" | "services" => self.stop_at.push(Class::Service),
                "mixer" | "mixers" => self.stop_at.push(Class::Mixer),
                "risk" => self.stop_at.push(Class::Risk),
                other => {
                    cats.insert(other.to_owned());
                }
            }
        }
        self.stop_categories = Some(cats);
    }

    /// Whether a forward trace stops at `l`.
    pub fn stops_at(&self, l: &Label) -> bool {
        self.stop_at.contains(&l.class) || self.stop_categories.as_ref().is_some_and(|c| c.contains(&l.category))
    }

    /// The cluster of `a`, if the clustering covers it.
    pub fn cluster_of(&self, a: AddrId) -> Option<ClusterId> {
        self.clustering.as_ref().and_then(|c| c.cluster_of(a))
    }

    /// Hints the CPU to load the first thing [`Attribution::label_of`] and
    /// [`Attribution::cluster_of`] read for `a`.
    #[inline]
    pub fn prefetch(&self, a: AddrId) {
        if let Some(c) = &self.clustering {
            c.prefetch(a);
        }
    }

    /// The label of `a`'s cluster (or of `a`).
    pub fn label_of(&self, a: AddrId) -> Option<&Label> {
        let i = match self.cluster_of(a) {
            Some(c) => {
                let (word, bit) = bit_of(c);
                if self.labelled_bits.get(word).is_none_or(|w| w & bit == 0) {
                    return None;
                }
                self.by_cluster.get(&c)
            }
            None => self.by_address.get(&a),
        }?;
        Some(&self.labels[*i])
    }

    pub(crate) fn owner(&self, a: Option<AddrId>, clusters: bool) -> Owner {
        match a {
            None => Owner::None,
            Some(a) if clusters => self.cluster_of(a).map_or(Owner::Address(a), Owner::Cluster),
            Some(a) => Owner::Address(a),
        }
    }

    /// Every labelled cluster with its label.
    pub fn labelled_clusters(&self) -> impl Iterator<Item = (ClusterId, &Label)> + '_ {
        self.by_cluster.iter().map(|(&c, &i)| (c, &self.labels[i]))
    }

    /// Every address labelled alone (no clustering covers it) with its label.
    pub fn labelled_addresses(&self) -> impl Iterator<Item = (AddrId, &Label)> + '_ {
        self.by_address.iter().map(|(&a, &i)| (a, &self.labels[i]))
    }

    /// The clustering the attribution uses.
    pub fn clustering(&self) -> Option<&Clustering> {
        self.clustering.as_deref()
    }

    /// Labels given.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether no label was given.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Cluster `c`'s word and bit in [`Attribution`]'s `labelled_bits`.
#[inline]
fn bit_of(c: ClusterId) -> (usize, u64) {
    (c.get() as usize / 64, 1 << (c.get() % 64))
}
