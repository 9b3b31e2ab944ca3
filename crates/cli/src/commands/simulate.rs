//! `sleuth simulate`.

use std::path::PathBuf;

use anyhow::Context as _;
use sleuth_chain::Chain;
use sleuth_simulator::{simulate, SimConfig, SimSummary};

use crate::output::{print, sat, thousands, Human};
use crate::Context;

/// Write block files of a simulated economy with heists and laundering, plus the truth
/// (owners, heists, deposits) as CSV.
#[derive(Debug, clap::Args)]
pub struct Simulate {
    /// Output folder: block files in `<out>/blocks`, truth in `<out>/truth`.
    #[arg(long)]
    pub out: PathBuf,
    /// Transactions to write.
    #[arg(long, default_value_t = 100_000)]
    pub transactions: u64,
    /// Seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Chain whose magic, genesis and address prefixes to use.
    #[arg(long, default_value = "regtest")]
    pub chain: Chain,
    /// Write only `truth/entities.csv` and `truth/heists.csv` of the ground truth (at 100M transactions the rest
    /// is 21 GB); the blocks are the same.
    #[arg(long)]
    pub no_truth: bool,
}

impl Simulate {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let summary = run_simulation(
            ctx,
            &SimConfig {
                out: self.out,
                transactions: self.transactions,
                seed: self.seed,
                chain: self.chain,
                truth: !self.no_truth,
            },
        )?;
        print(ctx, &summary);
        Ok(())
    }
}

/// Runs the simulator with a progress bar.
pub(crate) fn run_simulation(ctx: &Context, cfg: &SimConfig) -> anyhow::Result<SimSummary> {
    let bar = crate::progress::count_bar(!ctx.quiet, "tx");
    bar.set_length(cfg.transactions);
    let summary = simulate(cfg, &mut |n| bar.set_position(n))
        .with_context(|| format!("simulating into {}", cfg.out.display()))?;
    bar.finish_and_clear();
    Ok(summary)
}

impl Human for SimSummary {
    fn human(&self) -> String {
        let mut s = format!(
            "{} blocks, {} transactions, {} inputs, {} outputs, {} bytes of block files\n",
            thousands(self.blocks),
            thousands(self.transactions),
            thousands(self.inputs),
            thousands(self.outputs),
            thousands(self.bytes)
        );
        for h in &self.heists {
            s += &format!("heist {}: {} robbed by {} of {}\n", h.txid, h.victim, h.thief, sat(h.amount));
        }
        s
    }
}
