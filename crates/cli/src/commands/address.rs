//! `sleuth address`.

use sleuth_engine::views::AddressView;

use super::tags::tag_lines;
use crate::output::{print, sat, thousands, Human};
use crate::Context;

/// Show an address: balance, totals, activity, its cluster and its tags.
#[derive(Debug, clap::Args)]
pub struct AddressCmd {
    /// An address of the indexed chain.
    pub address: String,
}

impl AddressCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            return super::evm::address(ctx, &self.address);
        }
        print(ctx, &super::snapshot(ctx)?.address(&self.address)?);
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
