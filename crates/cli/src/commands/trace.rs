//! `sleuth trace`: follow tainted value forward or backward under one or all policies.

use std::io::Write;

use sleuth_analysis::trace::{Direction, Policy, Reconciliation, TraceOptions, TraceReport};
use sleuth_engine::Subject;

use crate::output::{print, sat, thousands, Human};
use crate::Context;

/// Output formats of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Columns for people (one per policy).
    Table,
    /// The whole report.
    Json,
    /// One row per endpoint and policy.
    Csv,
    /// The flow as a Graphviz graph.
    Dot,
}

/// Follow stolen coins forward to where they can be frozen, or a deposit backward to its
/// sources, under several taint policies side by side.
#[derive(Debug, clap::Args)]
pub struct TraceCmd {
    /// TXID[:VOUT], ADDRESS or cluster:N; repeat (or separate by commas) to trace several
    /// together.
    #[arg(long, required = true, value_delimiter = ',')]
    pub from: Vec<Subject>,
    /// forward (where did it go) or backward (where did it come from).
    #[arg(long, default_value = "forward")]
    pub direction: Direction,
    /// poison, haircut, fifo, lifo, tiho, a comma-separated list, or all.
    #[arg(long, default_value = "all")]
    pub policy: String,
    /// Transfers between clusters followed at most.
    #[arg(long, default_value_t = 50)]
    pub max_hops: u32,
    /// Stop at these categories or classes (service, mixer, risk, exchange, …) instead of at
    /// services and mixers.
    #[arg(long, value_delimiter = ',')]
    pub stop_at: Option<Vec<String>>,
    /// Taint below this under a policy is not followed further (counted as limited).
    #[arg(long, default_value_t = 1_000)]
    pub min_sat: u64,
    /// Forward: do not follow spends above this height.
    #[arg(long)]
    pub until_height: Option<u32>,
    /// Trace coin by coin: every transfer is a hop, even inside a cluster.
    #[arg(long)]
    pub no_clusters: bool,
    /// Output format (`--json` is `--format json`).
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Endpoints listed at most (the largest first).
    #[arg(long, default_value_t = 1_000)]
    pub max_endpoints: usize,
    /// EVM chains: ETH or a token's address (each asset is traced apart).
    #[arg(long)]
    pub asset: Option<String>,
}

/// Parses `--policy`.
pub(crate) fn parse_policies(s: &str) -> anyhow::Result<Vec<Policy>> {
    if s == "all" {
        return Ok(Policy::ALL.to_vec());
    }
    let mut v: Vec<Policy> = s.split(',').map(|p| p.trim().parse()).collect::<Result<_, _>>()?;
    v.sort();
    v.dedup();
    Ok(v)
}

impl TraceCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            return super::evm::trace(ctx, &self);
        }
        let opts = TraceOptions {
            direction: self.direction,
            policies: parse_policies(&self.policy)?,
            max_hops: self.max_hops,
            min_sat: self.min_sat,
            until_height: self.until_height,
            clusters: !self.no_clusters,
            max_endpoints: self.max_endpoints,
            list_only: None,
            max_visits: None,
        };
        let report = super::snapshot(ctx)?.trace(&self.from, &opts, self.stop_at.as_deref())?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        match (ctx.json, self.format) {
            (true, _) | (_, Format::Json) => print(&Context { json: true, ..ctx.clone() }, &report),
            (_, Format::Table) => print(ctx, &report),
            (_, Format::Csv) => write_csv(&mut out, &report)?,
            (_, Format::Dot) => write_dot(&mut out, &report)?,
        }
        out.flush()?;
        Ok(())
    }
}

fn amount(amounts: &sleuth_analysis::trace::PerPolicy<sleuth_chain::Sat>, p: Policy) -> u64 {
    amounts.get(p).map_or(0, |s| s.get())
}

fn write_csv(out: &mut dyn Write, r: &TraceReport) -> std::io::Result<()> {
    writeln!(
        out,
        "policy,address,cluster_id,entity,category,amount_sat,height,time,hops,stop_reason,coinjoin,path_txids"
    )?;
    for e in &r.endpoints {
        for &p in &r.policies {
            let a = amount(&e.amount_sat, p);
            if a == 0 {
                continue;
            }
            writeln!(
                out,
                "{p},{},{},{},{},{a},{},{},{},{},{},{}",
                e.address.as_deref().unwrap_or(""),
                e.cluster_id.map(|c| c.to_string()).unwrap_or_default(),
                csv_field(e.entity.as_deref().unwrap_or("")),
                csv_field(e.category.as_deref().unwrap_or("")),
                e.height,
                e.time,
                e.hops,
                e.stop_reason,
                e.coinjoin,
                e.path_txids.join(" ")
            )?;
        }
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The flow as a graph: sources, the transactions of every endpoint's path, endpoints.
fn write_dot(out: &mut dyn Write, r: &TraceReport) -> std::io::Result<()> {
    writeln!(out, "digraph trace {{\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];")?;
    let mut edges = std::collections::BTreeSet::new();
    for e in &r.endpoints {
        for w in e.path_txids.windows(2) {
            edges.insert((format!("tx_{}", &w[0][..16]), format!("tx_{}", &w[1][..16]), String::new()));
        }
        let target = format!(
            "\"{}\\n{}\\n{}\"",
            e.entity.as_deref().or(e.address.as_deref()).unwrap_or("(dust)"),
            e.category.as_deref().unwrap_or(""),
            e.stop_reason
        );
        if let Some(last) = e.path_txids.last() {
            let label =
                r.policies.iter().map(|&p| format!("{p} {}", amount(&e.amount_sat, p))).collect::<Vec<_>>().join("\\n");
            edges.insert((format!("tx_{}", &last[..16]), target, label));
        }
    }
    for (a, b, label) in edges {
        if label.is_empty() {
            writeln!(out, "  {a} -> {b};")?;
        } else {
            writeln!(out, "  {a} -> {b} [label=\"{label}\"];")?;
        }
    }
    writeln!(out, "}}")
}

impl Human for TraceReport {
    fn human(&self) -> String {
        let cols: Vec<String> = self.policies.iter().map(|p| format!("{:>16}", p.name())).collect();
        let row = |name: &str, f: &dyn Fn(Policy) -> u64| {
            let cells: Vec<String> = self.policies.iter().map(|&p| format!("{:>16}", thousands(f(p)))).collect();
            format!("{name:<24}{}\n", cells.join(""))
        };
        let rec = |p: Policy| self.reconciliation.get(p).unwrap_or_default();
        let mut s = format!(
            "{} trace of {} coins ({}); {} transactions visited, {} CoinJoins crossed, {:.3}s\n\n{:<24}{}\n",
            self.direction,
            self.sources.len(),
            sat(self.source_sat),
            thousands(self.transactions_visited),
            thousands(self.coinjoins_crossed),
            self.seconds,
            "sat",
            cols.join("")
        );
        type Field = (&'static str, fn(&Reconciliation) -> u64);
        let fields: [Field; 8] = [
            ("traced", |r| r.traced_sat.get()),
            ("  reached services", |r| r.to_services_sat.get()),
            ("  still unspent", |r| r.unspent_sat.get()),
            ("  paid as fees", |r| r.fees_sat.get()),
            ("  entered mixers", |r| r.mixers_sat.get()),
            ("  stopped by limits", |r| r.limited_sat.get()),
            ("  from tagged sources", |r| r.tagged_sources_sat.get()),
            ("  newly mined", |r| r.mined_sat.get()),
        ];
        for (name, f) in fields {
            if self.policies.iter().any(|&p| f(&rec(p)) > 0) || name == "traced" {
                s += &row(name, &|p| f(&rec(p)));
            }
        }
        if !self.by_entity.is_empty() {
            s += "\nby entity\n";
            for e in &self.by_entity {
                s += &row(&format!("  {} ({})", e.entity, e.category), &|p| e.amount_sat.get(p).map_or(0, |x| x.get()));
            }
        }
        s += &format!("\nendpoints ({} of {})\n", self.endpoints.len().min(25), thousands(self.endpoint_count));
        for e in self.endpoints.iter().take(25) {
            let who = match (&e.entity, &e.address) {
                (Some(ent), Some(a)) => format!("{ent} {a}"),
                (None, Some(a)) => a.clone(),
                _ => "(below --min-sat)".into(),
            };
            s += &row(&format!("  {}", e.stop_reason), &|p| e.amount_sat.get(p).map_or(0, |x| x.get()));
            s += &format!(
                "      {who}  height {} hops {}{}\n",
                e.height,
                e.hops,
                if e.coinjoin { "  via CoinJoin" } else { "" }
            );
        }
        s
    }
}
