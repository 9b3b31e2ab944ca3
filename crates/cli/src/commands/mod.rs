//! One file per subcommand; each parses its flags, calls a library and returns a printable
//! result.

mod address;
mod block;
mod cluster;
mod demo;
mod demo_report;
mod evm;
mod incident;
mod ingest;
mod report;
mod rpc_args;
mod screen;
mod serve;
mod simulate;
mod status;
mod tags;
mod trace;
mod tx;
mod watch;

use crate::Context;

/// The subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Index a node's block files, or its RPC (incrementally; reorgs are undone and redone).
    Ingest(ingest::Ingest),
    /// What the index holds: chain, tip and counts.
    Status(status::StatusCmd),
    /// A block by height or hash.
    Block(block::BlockCmd),
    /// A transaction: inputs, outputs, fee, spenders.
    Tx(tx::TxCmd),
    /// An address: balance, received, sent, activity, cluster and tags.
    Address(address::AddressCmd),
    /// Cluster addresses into entities; show, explain and export clusters.
    Cluster(cluster::ClusterCmd),
    /// Import tags (GraphSense TagPacks, OFAC lists, CSV) and look them up.
    Tags(tags::TagsCmd),
    /// Follow tainted value forward (where did it go) or backward (where did it come from).
    Trace(trace::TraceCmd),
    /// Score an address or incoming output for exposure to crime, with the reasons.
    Screen(screen::ScreenCmd),
    /// Record thefts: stolen outputs, victim, actor, date, source.
    Incident(incident::IncidentCmd),
    /// Evidence reports of incidents (HTML, JSON, CSV), and their re-verification.
    Report(report::ReportCmd),
    /// Follow coins as they move (theft outputs, addresses, incidents) and alert on each movement.
    Watch(watch::WatchCmd),
    /// Alerts raised by watches: movements into services, mixers, CoinJoins, new clusters.
    Alerts(watch::AlertsCmd),
    /// Serve the REST API over the data dir (loopback, or bearer tokens).
    Serve(serve::ServeCmd),
    /// Write a simulated chain with a known truth (owners, heists, laundering).
    Simulate(simulate::Simulate),
    /// Simulate heists, ingest, cluster, trace them to the exchanges and write the evidence report.
    Demo(demo::Demo),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Command::Ingest(c) => c.run(ctx),
            Command::Status(c) => c.run(ctx),
            Command::Block(c) => c.run(ctx),
            Command::Tx(c) => c.run(ctx),
            Command::Address(c) => c.run(ctx),
            Command::Cluster(c) => c.run(ctx),
            Command::Tags(c) => c.run(ctx),
            Command::Trace(c) => c.run(ctx),
            Command::Screen(c) => c.run(ctx),
            Command::Incident(c) => c.run(ctx),
            Command::Report(c) => c.run(ctx),
            Command::Watch(c) => c.run(ctx),
            Command::Alerts(c) => c.run(ctx),
            Command::Serve(c) => c.run(ctx),
            Command::Simulate(c) => c.run(ctx),
            Command::Demo(c) => c.run(ctx),
        }
    }
}

/// A snapshot of the data dir of `ctx`: the index's newest commit with its clustering and tags.
pub(crate) fn snapshot(ctx: &Context) -> anyhow::Result<sleuth_engine::EngineSnapshot> {
    Ok(sleuth_engine::Engine::open(&ctx.data_dir).snapshot()?)
}
