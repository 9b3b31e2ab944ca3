//! `sleuth status`.

use sleuth_index::Status;

use crate::output::{print, thousands, Human};
use crate::Context;

/// Show the chain, tip and counts of the index.
#[derive(Debug, clap::Args)]
pub struct StatusCmd {}

impl StatusCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        print(ctx, &super::open_index(ctx)?.status());
        Ok(())
    }
}

impl Human for Status {
    fn human(&self) -> String {
        format!(
            "chain         {}\nheight        {}\ntip           {}\nblocks        {}\ntransactions  {}\ninputs        {}\noutputs       {}\naddresses     {}\n",
            self.chain,
            self.height.map_or("-".into(), |h| h.to_string()),
            self.tip_hash.as_deref().unwrap_or("-"),
            thousands(self.blocks),
            thousands(self.transactions),
            thousands(self.inputs),
            thousands(self.outputs),
            thousands(self.addresses),
        )
    }
}
