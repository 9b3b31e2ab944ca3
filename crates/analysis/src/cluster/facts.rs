//! Facts of a cluster: size, value, activity.

use serde::{Deserialize, Serialize};
use sleuth_chain::Sat;
use sleuth_index::{AddrId, View};

use super::{ClusterError, ClusterId, Clustering};

/// A cluster as an investigator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// The cluster's id (the id of its representative address).
    pub cluster_id: ClusterId,
    /// Number of addresses.
    pub size: u64,
    /// Everything paid to its addresses, in satoshis.
    pub received_sat: Sat,
    /// What is unspent.
    pub balance_sat: Sat,
    /// Height of its first activity.
    pub first_seen_height: u32,
    /// Height of its last activity.
    pub last_seen_height: u32,
    /// Its addresses (the first 1,000 by id when larger).
    pub addresses: Vec<String>,
}

/// Addresses listed in a [`ClusterInfo`] at most.
pub const MAX_LISTED: usize = 1_000;

impl Clustering {
    /// Facts of the cluster of `a`.
    ///
    /// # Errors
    /// [`ClusterError::NotCovered`] if the clustering does not cover `a` (build it again
    /// after ingesting).
    pub fn info(&self, index: &View<'_>, a: AddrId) -> Result<ClusterInfo, ClusterError> {
        let root = self
            .cluster_of(a)
            .ok_or_else(|| ClusterError::NotCovered { address: index.address_of(a), upto_tx: self.meta().upto_tx })?;
        let members = self.members(root);
        let mut info = ClusterInfo {
            cluster_id: root,
            size: members.len() as u64,
            received_sat: Sat::ZERO,
            balance_sat: Sat::ZERO,
            first_seen_height: u32::MAX,
            last_seen_height: 0,
            addresses: Vec::new(),
        };
        for (i, m) in members.iter().enumerate() {
            let key = index.address_key(*m);
            let a = index.address(&key)?;
            let overflow = ClusterError::Overflow { cluster: root.get() };
            info.received_sat = info.received_sat.checked_add(a.received_sat).ok_or(overflow)?;
            let overflow = ClusterError::Overflow { cluster: root.get() };
            info.balance_sat = info.balance_sat.checked_add(a.balance_sat).ok_or(overflow)?;
            info.first_seen_height = info.first_seen_height.min(a.first_seen_height);
            info.last_seen_height = info.last_seen_height.max(a.last_seen_height);
            if i < MAX_LISTED {
                info.addresses.push(a.address);
            }
        }
        Ok(info)
    }
}
