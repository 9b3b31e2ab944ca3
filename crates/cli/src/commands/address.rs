//! `sleuth address`.

use sleuth_index::AddressInfo;

use crate::output::{print, sat, thousands, Human};
use crate::Context;

/// Show an address: balance, totals and activity.
#[derive(Debug, clap::Args)]
pub struct AddressCmd {
    /// An address of the indexed chain.
    pub address: String,
}

impl AddressCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let index = super::open_index(ctx)?;
        let key = sleuth_chain::address::decode(self.address.trim(), index.chain())?;
        print(ctx, &index.address(&key)?);
        Ok(())
    }
}

impl Human for AddressInfo {
    fn human(&self) -> String {
        format!(
            "address   {}\nbalance   {}\nreceived  {}\nsent      {}\ntxs       {}\noutputs   {} ({} unspent)\nseen      heights {}..{}\n",
            self.address,
            sat(self.balance_sat),
            sat(self.received_sat),
            sat(self.sent_sat),
            thousands(self.tx_count),
            thousands(self.output_count),
            thousands(self.unspent_count),
            self.first_seen_height,
            self.last_seen_height
        )
    }
}
