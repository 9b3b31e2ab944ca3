//! `sleuth status`.

use sleuth_engine::views::StatusView;
use sleuth_engine::ClusteringState;

use crate::output::{print, thousands, Human};
use crate::Context;

/// Show the chain, tip and counts of the index.
#[derive(Debug, clap::Args)]
pub struct StatusCmd {}

impl StatusCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            return super::evm::status(ctx);
        }
        print(ctx, &super::snapshot(ctx)?.status());
        Ok(())
    }
}

impl Human for StatusView {
    fn human(&self) -> String {
        let clustering = match &self.clustering {
            ClusteringState::NotBuilt => "not built".to_string(),
            ClusteringState::Current { heuristics, upto_tx } => {
                format!("{} (first {} transactions)", heuristics.join(","), thousands(*upto_tx))
            }
            ClusteringState::OtherFormat { found, expected } => {
                format!("saved in format {found}, this sleuth reads format {expected}: run `sleuth cluster build`")
            }
            ClusteringState::Stale { .. } => "stale: built on another branch; run `sleuth cluster build`".into(),
        };
        let s = &self.index;
        format!(
            "chain         {}\nheight        {}\ntip           {}\nblocks        {}\ntransactions  {}\ninputs        {}\noutputs       {}\naddresses     {}\nclustering    {clustering}\ntag sources   {}\n",
            s.chain,
            s.height.map_or("-".into(), |h| h.to_string()),
            s.tip_hash.as_deref().unwrap_or("-"),
            thousands(s.blocks),
            thousands(s.transactions),
            thousands(s.inputs),
            thousands(s.outputs),
            thousands(s.addresses),
            self.tag_sources,
        )
    }
}
