//! `sleuth block`.

use std::str::FromStr;

use anyhow::Context as _;
use bitcoin::BlockHash;
use sleuth_index::{BlockInfo, BlockRef};

use crate::output::{print, Human};
use crate::Context;

/// Show a block of the indexed best chain.
#[derive(Debug, clap::Args)]
pub struct BlockCmd {
    /// Height or block hash.
    pub block: String,
}

impl BlockCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            return super::evm::block(ctx, &self.block);
        }
        let r = match self.block.parse::<u32>() {
            Ok(h) if self.block.len() < 64 => BlockRef::Height(h),
            _ => BlockRef::Hash(
                BlockHash::from_str(&self.block)
                    .with_context(|| format!("{:?} is neither a height nor a 64-hex-digit block hash", self.block))?,
            ),
        };
        print(ctx, &super::snapshot(ctx)?.block(r)?);
        Ok(())
    }
}

impl Human for BlockInfo {
    fn human(&self) -> String {
        let mut s = format!(
            "block {} {}\nprev    {}\ntime    {}\nsize    {} bytes\ntxs     {}\n",
            self.height,
            self.hash,
            self.prev_hash.as_deref().unwrap_or("-"),
            self.time,
            self.size,
            self.tx_count
        );
        for t in &self.txids {
            s += &format!("  {t}\n");
        }
        s
    }
}
