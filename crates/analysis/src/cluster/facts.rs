//! Facts of a cluster: size, value, activity.

use serde::{Deserialize, Serialize};
use sleuth_index::{AddrId, Index};

use super::{ClusterError, Clustering};

/// A cluster as an investigator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// The cluster's id (the id of its representative address).
    pub cluster_id: u32,
    /// Number of addresses.
    pub size: u64,
    /// Everything paid to its addresses, in satoshis.
    pub received_sat: u64,
    /// What is unspent.
    pub balance_sat: u64,
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
    /// [`ClusterError::NotFound`] if the clustering does not cover `a` (build it again after
    /// ingesting).
    pub fn info(&self, index: &Index, a: AddrId) -> Result<ClusterInfo, ClusterError> {
        let root = self.cluster_of(a).ok_or_else(|| {
            ClusterError::NotFound("the address is newer than the clustering; run `sleuth cluster build`".into())
        })?;
        let members = self.members(root);
        let mut info = ClusterInfo {
            cluster_id: root,
            size: members.len() as u64,
            received_sat: 0,
            balance_sat: 0,
            first_seen_height: u32::MAX,
            last_seen_height: 0,
            addresses: Vec::new(),
        };
        for (i, m) in members.iter().enumerate() {
            let key = index.address_key(*m);
            let a = index.address(&key)?;
            info.received_sat += a.received_sat;
            info.balance_sat += a.balance_sat;
            info.first_seen_height = info.first_seen_height.min(a.first_seen_height);
            info.last_seen_height = info.last_seen_height.max(a.last_seen_height);
            if i < MAX_LISTED {
                info.addresses.push(a.address);
            }
        }
        Ok(info)
    }
}
