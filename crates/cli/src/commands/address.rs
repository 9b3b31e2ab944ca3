//! `sleuth address`.

use serde::{Deserialize, Serialize};
use sleuth_analysis::cluster::Clustering;
use sleuth_index::AddressInfo;
use sleuth_tags::Tag;

use super::tags::{cluster_tags, tag_lines, tag_store};
use crate::output::{print, sat, thousands, Human};
use crate::Context;

/// Show an address: balance, totals, activity, its cluster and its tags.
#[derive(Debug, clap::Args)]
pub struct AddressCmd {
    /// An address of the indexed chain.
    pub address: String,
}

/// An address with what the analyses add to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddressView {
    /// Balance and history.
    #[serde(flatten)]
    pub info: AddressInfo,
    /// Its cluster, once `cluster build` has run.
    pub cluster_id: Option<u32>,
    /// Tags on the address itself.
    pub tags: Vec<Tag>,
    /// Tags on other addresses of its cluster: a tag on one address lights up its cluster.
    pub cluster_tags: Vec<Tag>,
}

impl AddressCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let index = super::open_index(ctx)?;
        let key = sleuth_chain::address::decode(self.address.trim(), index.chain())?;
        let info = index.address(&key)?;
        let store = tag_store(&ctx.data_dir)?;
        let tags = store.tags_for(&info.address).to_vec();
        let mut view = AddressView { info, cluster_id: None, tags, cluster_tags: Vec::new() };
        if let Ok(c) = Clustering::load(&ctx.data_dir) {
            let id = index.addr_id(&key).and_then(|a| c.cluster_of(a));
            view.cluster_id = id;
            if let Some(root) = id {
                view.cluster_tags = cluster_tags(&index, &c, &store, root, Some(&view.info.address));
            }
        }
        print(ctx, &view);
        Ok(())
    }
}

impl Human for AddressView {
    fn human(&self) -> String {
        let i = &self.info;
        let mut s = format!(
            "address   {}\nbalance   {}\nreceived  {}\nsent      {}\ntxs       {}\noutputs   {} ({} unspent)\nseen      heights {}..{}\n",
            i.address,
            sat(i.balance_sat),
            sat(i.received_sat),
            sat(i.sent_sat),
            thousands(i.tx_count),
            thousands(i.output_count),
            thousands(i.unspent_count),
            i.first_seen_height,
            i.last_seen_height
        );
        s += &format!(
            "cluster   {}\n",
            self.cluster_id.map_or("- (run `sleuth cluster build`)".into(), |c| c.to_string())
        );
        if !self.tags.is_empty() {
            s += &format!("tags:\n{}", tag_lines(&self.tags));
        }
        if !self.cluster_tags.is_empty() {
            s += &format!("tags elsewhere in its cluster:\n{}", tag_lines(&self.cluster_tags));
        }
        s
    }
}
