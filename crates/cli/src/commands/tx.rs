//! `sleuth tx`.

use std::str::FromStr;

use anyhow::Context as _;
use bitcoin::Txid;
use sleuth_index::TxInfo;

use crate::output::{print, sat, Human};
use crate::Context;

/// Show a transaction: inputs with the outputs they spend, outputs with their spenders.
#[derive(Debug, clap::Args)]
pub struct TxCmd {
    /// Transaction id (64 hex digits).
    pub txid: String,
}

impl TxCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            return super::evm::tx(ctx, &self.txid);
        }
        let txid = Txid::from_str(&self.txid)
            .with_context(|| format!("{} is not a txid: expected 64 hex digits", sleuth_chain::shown(&self.txid)))?;
        print(ctx, &super::snapshot(ctx)?.tx(&txid)?);
        Ok(())
    }
}

impl Human for TxInfo {
    fn human(&self) -> String {
        let mut s = format!(
            "tx {}\nblock {} {} (time {})\nfee {}{}\ninputs ({}):\n",
            self.txid,
            self.block_height,
            self.block_hash,
            self.block_time,
            sat(self.fee_sat),
            if self.coinbase { " (coinbase)" } else { "" },
            self.inputs.len()
        );
        for i in &self.inputs {
            match (&i.prev_txid, i.prev_vout) {
                (Some(t), Some(v)) => {
                    s += &format!(
                        "  {t}:{v}  {}  {}\n",
                        i.address.as_deref().unwrap_or("(no address)"),
                        sat(i.value_sat)
                    )
                }
                _ => s += "  coinbase\n",
            }
        }
        s += &format!("outputs ({}):\n", self.outputs.len());
        for o in &self.outputs {
            let spent = o.spent_by.as_ref().map_or("unspent".to_string(), |b| format!("spent by {}:{}", b.txid, b.vin));
            s += &format!(
                "  {}  {}  {}  {:?}  {}\n",
                o.n,
                o.address.as_deref().unwrap_or("(no address)"),
                sat(o.value_sat),
                o.script_type,
                spent
            );
        }
        s
    }
}
