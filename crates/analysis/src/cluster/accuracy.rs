//! Scoring a clustering against a known truth (the simulator's `truth/addresses.csv`):
//! precision and recall over pairs of addresses.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sleuth_index::View;

use super::Clustering;

/// Pairwise precision and recall of a clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Heuristics of the clustering.
    pub heuristics: Vec<String>,
    /// Truth addresses found in the index and scored.
    pub addresses: u64,
    /// Pairs of addresses the clustering puts together.
    pub predicted_pairs: u64,
    /// Pairs the truth puts together.
    pub true_pairs: u64,
    /// Pairs both put together.
    pub correct_pairs: u64,
    /// correct / predicted: how often "same cluster" means "same owner".
    pub precision: f64,
    /// correct / true: how much of each owner's set is found.
    pub recall: f64,
    /// Clusters that hold addresses of more than one truth entity.
    pub mixed_clusters: u64,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores `clustering` against `truth` (address string → entity id). Addresses the index
/// does not hold are skipped.
pub fn evaluate<'a>(
    index: &View<'_>,
    clustering: &Clustering,
    truth: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Accuracy {
    let chain = index.chain();
    let mut by_cluster: HashMap<super::ClusterId, u64> = HashMap::new();
    let mut by_entity: HashMap<&str, u64> = HashMap::new();
    let mut by_both: HashMap<(super::ClusterId, &str), u64> = HashMap::new();
    let mut addresses = 0;
    for (addr, entity) in truth {
        let Ok(key) = sleuth_chain::address::decode(addr, chain) else { continue };
        let Some(root) = index.addr_id(&key).and_then(|a| clustering.cluster_of(a)) else { continue };
        addresses += 1;
        *by_cluster.entry(root).or_default() += 1;
        *by_entity.entry(entity).or_default() += 1;
        *by_both.entry((root, entity)).or_default() += 1;
    }
    let predicted_pairs: u64 = by_cluster.values().map(|&n| pairs(n)).sum();
    let true_pairs: u64 = by_entity.values().map(|&n| pairs(n)).sum();
    let correct_pairs: u64 = by_both.values().map(|&n| pairs(n)).sum();
    let mut entities_per_cluster: HashMap<super::ClusterId, u64> = HashMap::new();
    for (root, _) in by_both.keys() {
        *entities_per_cluster.entry(*root).or_default() += 1;
    }
    Accuracy {
        heuristics: clustering.meta().heuristics.clone(),
        addresses,
        predicted_pairs,
        true_pairs,
        correct_pairs,
        precision: if predicted_pairs == 0 { 1.0 } else { correct_pairs as f64 / predicted_pairs as f64 },
        recall: if true_pairs == 0 { 1.0 } else { correct_pairs as f64 / true_pairs as f64 },
        mixed_clusters: entities_per_cluster.values().filter(|&&n| n > 1).count() as u64,
    }
}
