//! The investigator's views: each a serializable struct answered from one
//! [`EngineSnapshot`] (one index commit, its clustering, its tags).

use std::collections::BTreeSet;
use std::io::Write;

use bitcoin::Txid;
use serde::{Deserialize, Serialize};
use sleuth_analysis::cluster::accuracy::{evaluate, Accuracy};
use sleuth_analysis::cluster::{ClusterError, ClusterId, ClusterInfo, Clustering, WhyAnswer};
use sleuth_index::{AddrId, AddressInfo, BlockInfo, BlockRef, IndexError, Status, TxInfo, View};
use sleuth_tags::{Tag, TagStore};

use crate::{ClusteringState, EngineError, EngineSnapshot};

/// What the data dir holds: the index's tip and counts, and the clustering's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    /// The index.
    #[serde(flatten)]
    pub index: Status,
    /// The clustering.
    pub clustering: ClusteringState,
    /// Tag sources imported.
    pub tag_sources: u64,
}

/// An address with what the analyses add to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressView {
    /// Balance and history.
    #[serde(flatten)]
    pub info: AddressInfo,
    /// Height of the tip the answer is taken at: every figure holds as of this block.
    pub tip_height: Option<u32>,
    /// Its cluster, once a clustering covers it.
    pub cluster_id: Option<ClusterId>,
    /// Tags on the address itself.
    pub tags: Vec<Tag>,
    /// Tags on other addresses of its cluster: a tag on one address lights up its cluster.
    pub cluster_tags: Vec<Tag>,
}

/// A cluster with the tags of its members and the entity they name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    /// Size, value, activity, members.
    #[serde(flatten)]
    pub info: ClusterInfo,
    /// Tags on its members.
    pub tags: Vec<Tag>,
    /// The entity's label, when all tags agree on one.
    pub label: Option<String>,
    /// Every distinct label among the tags: more than one is a conflict, shown, not hidden.
    pub labels: Vec<String>,
}

/// The tags of one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagList {
    /// The address.
    pub address: String,
    /// Its tags.
    pub tags: Vec<Tag>,
}

impl TagList {
    /// The tags `store` holds for `address` (of any chain).
    ///
    /// # Errors
    /// [`EngineError::Tags`] if a tag store file is damaged.
    pub fn of(store: &TagStore, address: &str) -> Result<TagList, EngineError> {
        Ok(TagList { address: address.trim().to_owned(), tags: store.tags_for(address.trim())? })
    }
}

/// Tags on the members of cluster `c`, except on `skip`.
fn cluster_tags(
    view: &View<'_>,
    c: &Clustering,
    store: &TagStore,
    id: ClusterId,
    skip: Option<&str>,
) -> Result<Vec<Tag>, EngineError> {
    let mut tags = Vec::new();
    if store.is_empty() {
        return Ok(tags);
    }
    for m in c.members(id) {
        let a = view.address_of(m);
        if Some(a.as_str()) != skip {
            tags.extend(store.tags_for(&a)?);
        }
    }
    Ok(tags)
}

impl EngineSnapshot {
    fn addr_id(&self, view: &View<'_>, address: &str) -> Result<AddrId, EngineError> {
        let key = sleuth_chain::address::decode(address.trim(), view.chain())?;
        Ok(view.addr_id(&key).ok_or_else(|| IndexError::not_found_address(address.trim()))?)
    }

    pub(crate) fn require_clustering(&self) -> Result<&Clustering, EngineError> {
        let path = sleuth_analysis::cluster::cluster_dir(self.index.dir());
        match (&self.clustering, &self.clustering_state) {
            (Some(c), _) => Ok(c),
            (None, ClusteringState::Stale { upto_tx }) => Err(EngineError::ClusteringStale {
                path,
                upto_tx: *upto_tx,
                height: self.index.counts().blocks as i64 - 1,
            }),
            (None, ClusteringState::OtherFormat { found, .. }) => {
                Err(ClusterError::OtherFormat { path: path.join("meta.json"), found: *found }.into())
            }
            (None, _) => Err(ClusterError::NotBuilt { path }.into()),
        }
    }

    /// Tip, counts, clustering state.
    pub fn status(&self) -> StatusView {
        StatusView {
            index: self.index.view().status(),
            clustering: self.clustering_state.clone(),
            tag_sources: self.tags.sources().count() as u64,
        }
    }

    /// A block of the indexed best chain.
    ///
    /// # Errors
    /// [`EngineError::Index`] with [`IndexError::NotFound`] if there is none.
    pub fn block(&self, r: BlockRef) -> Result<BlockInfo, EngineError> {
        Ok(self.index.view().block(r)?)
    }

    /// A transaction with its inputs, outputs, fee and spenders.
    ///
    /// # Errors
    /// [`EngineError::Index`] with [`IndexError::NotFound`] if there is none.
    pub fn tx(&self, txid: &Txid) -> Result<TxInfo, EngineError> {
        Ok(self.index.view().tx(txid)?)
    }

    /// An address: balance and history, its cluster and the tags on it and its cluster.
    ///
    /// # Errors
    /// [`EngineError::Address`] for a string that is not one of this chain's addresses,
    /// [`EngineError::Index`] if no indexed transaction pays it.
    pub fn address(&self, address: &str) -> Result<AddressView, EngineError> {
        let view = self.index.view();
        let key = sleuth_chain::address::decode(address.trim(), view.chain())?;
        let info = view.address(&key)?;
        let tags = self.tags.tags_for(&info.address)?;
        let tip_height = view.counts().blocks.checked_sub(1).map(|h| h as u32);
        let mut out = AddressView { info, tip_height, cluster_id: None, tags, cluster_tags: Vec::new() };
        if let (Some(c), Some(a)) = (&self.clustering, view.addr_id(&key)) {
            out.cluster_id = c.cluster_of(a);
            if let Some(id) = out.cluster_id {
                out.cluster_tags = cluster_tags(&view, c, &self.tags, id, Some(&out.info.address))?;
            }
        }
        Ok(out)
    }

    /// The cluster of an address: facts, members, tags and the label they agree on.
    ///
    /// # Errors
    /// As [`EngineSnapshot::address`], and [`EngineError::Cluster`] if no clustering covers it.
    pub fn cluster(&self, address: &str) -> Result<ClusterView, EngineError> {
        let c = self.require_clustering()?;
        let view = self.index.view();
        let info = c.info(&view, self.addr_id(&view, address)?)?;
        let tags = cluster_tags(&view, c, &self.tags, info.cluster_id, None)?;
        let labels: Vec<String> = tags.iter().map(|t| t.label.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let label = (labels.len() == 1).then(|| labels[0].clone());
        Ok(ClusterView { info, tags, label, labels })
    }

    /// The chain of merges that joins two addresses, or "not linked".
    ///
    /// # Errors
    /// As [`EngineSnapshot::cluster`].
    pub fn why(&self, a: &str, b: &str) -> Result<WhyAnswer, EngineError> {
        let c = self.require_clustering()?;
        let view = self.index.view();
        Ok(c.why(&view, self.addr_id(&view, a)?, self.addr_id(&view, b)?))
    }

    /// Writes every address with its cluster id as CSV (`address,cluster_id`).
    ///
    /// # Errors
    /// As [`EngineSnapshot::cluster`]; I/O errors of `out`.
    pub fn export_clusters(&self, out: &mut dyn Write) -> Result<u64, EngineError> {
        let c = self.require_clustering()?;
        let view = self.index.view();
        let stdout = |e| EngineError::io(std::path::Path::new("<output>"), e);
        writeln!(out, "address,cluster_id").map_err(stdout)?;
        let n = c.address_count();
        for a in (0..n).map(|a| AddrId::new(a as u32)) {
            let root = c.cluster_of(a).expect("the clustering covers its addresses").get();
            writeln!(out, "{},{root}", view.address_of(a)).map_err(stdout)?;
        }
        Ok(n)
    }

    /// Pairwise precision and recall of the clustering against `(address, entity)` rows.
    ///
    /// # Errors
    /// As [`EngineSnapshot::cluster`].
    pub fn evaluate<'r>(&self, rows: impl Iterator<Item = (&'r str, &'r str)>) -> Result<Accuracy, EngineError> {
        let c = self.require_clustering()?;
        Ok(evaluate(&self.index.view(), c, rows))
    }

    /// The tags of an address of any chain.
    ///
    /// # Errors
    /// [`EngineError::Tags`] if a tag store file is damaged.
    pub fn tags_of(&self, address: &str) -> Result<TagList, EngineError> {
        TagList::of(&self.tags, address)
    }
}
