//! `sleuth report`: evidence reports of incidents, and their re-verification.

use std::path::PathBuf;

use anyhow::Context as _;
use sleuth_engine::report::{verify, Report, ReportParams, Scope, Verification};
use sleuth_engine::Engine;

use crate::output::{print, thousands, Human};
use crate::Context;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One self-contained HTML page.
    Html,
    /// Everything, re-verifiable with `report verify`.
    Json,
    /// One row per policy and destination.
    Csv,
}

/// Write an evidence report of incidents (stolen amounts, where they went under every policy,
/// services reached, USD values), or re-verify one.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReportCmd {
    #[command(subcommand)]
    pub cmd: Option<ReportSub>,
    /// The incident (name or number).
    pub incident: Option<String>,
    /// Every incident of this actor.
    #[arg(long)]
    pub actor: Option<String>,
    /// Every incident.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// A daily price table (`date,close`) for USD values (of ether, on an EVM data dir).
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Trace limit: transfers between clusters.
    #[arg(long, default_value_t = 50)]
    pub max_hops: u32,
    /// Trace limit: taint followed per coin and policy.
    #[arg(long, default_value_t = 1_000)]
    pub min_sat: u64,
    /// Write here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// `report` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ReportSub {
    /// Recompute a JSON report from the data dir and say whether every figure still matches.
    Verify {
        /// The JSON report.
        report: PathBuf,
    },
}

impl ReportCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            return self.run_evm(ctx);
        }
        let engine = Engine::open(&ctx.data_dir);
        if let Some(ReportSub::Verify { report }) = self.cmd {
            let text = std::fs::read_to_string(&report).with_context(|| format!("reading {}", report.display()))?;
            let r: Report = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a JSON report of sleuth report --format json", report.display()))?;
            let v = verify(&engine, &r)?;
            print(ctx, &v);
            if !v.matches {
                anyhow::bail!("{}: {} of {} figures differ", report.display(), v.differences.len(), v.figures);
            }
            return Ok(());
        }
        let params =
            ReportParams { scope: self.scope()?, prices: self.prices, max_hops: self.max_hops, min_sat: self.min_sat };
        let r = engine.snapshot()?.report(&params)?;
        let text = match self.format {
            Format::Json => serde_json::to_string_pretty(&r)? + "\n",
            Format::Html => sleuth_engine::report_render::html(&r),
            Format::Csv => sleuth_engine::report_render::csv(&r),
        };
        write_out(ctx, self.output.as_deref(), &text)
    }

    /// `report` on an EVM data dir: an incident, an actor's or all, as JSON, HTML or CSV; and
    /// `report verify`.
    fn run_evm(self, ctx: &Context) -> anyhow::Result<()> {
        if let Some(ReportSub::Verify { report }) = self.cmd {
            let text = std::fs::read_to_string(&report).with_context(|| format!("reading {}", report.display()))?;
            let r: sleuth_engine::evm::EvmReport = serde_json::from_str(&text).with_context(|| {
                format!("{}: not a JSON report of sleuth report on an EVM data dir", report.display())
            })?;
            let v = sleuth_engine::evm::verify_evm_report(&ctx.data_dir, &r)?;
            print(ctx, &v);
            if !v.matches {
                anyhow::bail!("{}: {} of {} figures differ", report.display(), v.differences.len(), v.figures);
            }
            return Ok(());
        }
        // On an EVM data dir the price table is ether's (date,close in USD).
        let r = sleuth_engine::evm::evm_report(&ctx.data_dir, &self.scope()?, self.max_hops, self.prices.as_deref())?;
        let text = match self.format {
            Format::Json => serde_json::to_string_pretty(&r)? + "\n",
            Format::Html => sleuth_engine::evm::evm_report_html(&r),
            Format::Csv => sleuth_engine::evm::evm_report_csv(&r),
        };
        write_out(ctx, self.output.as_deref(), &text)
    }

    /// The incidents named: one, an actor's, or all.
    fn scope(&self) -> anyhow::Result<Scope> {
        Ok(match (&self.incident, &self.actor, self.all) {
            (Some(i), None, false) => Scope::Incident(i.clone()),
            (None, Some(a), false) => Scope::Actor(a.clone()),
            (None, None, true) => Scope::All,
            _ => anyhow::bail!("name one incident, or --actor NAME, or --all"),
        })
    }
}

/// Writes `text` to `output`, or to stdout.
fn write_out(ctx: &Context, output: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
            if !ctx.quiet {
                eprintln!("wrote {}", p.display());
            }
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

impl Human for Verification {
    fn human(&self) -> String {
        let mut s = if self.matches {
            format!("every figure matches ({} compared)\n", thousands(self.figures))
        } else {
            format!("{} of {} figures differ\n", self.differences.len(), thousands(self.figures))
        };
        for c in &self.changed_inputs {
            s += &format!("  changed input: {c}\n");
        }
        for d in self.differences.iter().take(20) {
            s += &format!("  {}: was {}, now {}\n", d.field, d.was, d.now);
        }
        s
    }
}
