//! `sleuth screen`: how exposed an address or an incoming output is to crime.

use sleuth_engine::screen::ScreenReport;
use sleuth_engine::Subject;

use crate::output::{print, sat, Human};
use crate::Context;

/// Score an address or an incoming output (TXID:VOUT) 0–100 for exposure to sanctioned,
/// stolen, ransomware, darknet, scam and mixed funds, with the reasons.
#[derive(Debug, clap::Args)]
pub struct ScreenCmd {
    /// ADDRESS or TXID:VOUT.
    pub subject: Subject,
    /// Hops of the backward trace for indirect exposure.
    #[arg(long, default_value_t = 3)]
    pub hops: u32,
    /// EVM chains: ETH or a token's address.
    #[arg(long)]
    pub asset: Option<String>,
}

impl ScreenCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            let Subject::Address(a) = &self.subject else {
                anyhow::bail!("on EVM chains screen an 0x address");
            };
            let report = sleuth_engine::evm::screen(&ctx.data_dir, a, self.asset.as_deref(), self.hops)?;
            print(ctx, &report);
            return Ok(());
        }
        print(ctx, &super::snapshot(ctx)?.screen(&self.subject, self.hops)?);
        Ok(())
    }
}

impl Human for ScreenReport {
    fn human(&self) -> String {
        let mut s = format!(
            "{}: score {} ({:?}){}\nscreened {} within {} hops ({} µs)\n",
            self.subject,
            self.score,
            self.level,
            self.entity.as_ref().map(|e| format!(", tagged {e}")).unwrap_or_default(),
            sat(self.screened_sat),
            self.hops,
            self.micros
        );
        for (name, list) in
            [("received from", &self.received_from), ("sent to", &self.sent_to), ("indirect", &self.indirect)]
        {
            for e in list {
                s += &format!("  {name} {}: {} ({:.2}%)\n", e.category, sat(e.amount_sat), e.share * 100.0);
            }
        }
        for r in self.reasons.iter().take(10) {
            s += &format!(
                "  reason (+{}): {} {} {} {} — {} ({:.2}%), {} hops\n",
                r.score,
                r.kind,
                r.category,
                r.entity,
                r.address.as_deref().unwrap_or(""),
                sat(r.amount_sat),
                r.share * 100.0,
                r.hops
            );
        }
        s
    }
}
