//! `sleuth demo`: the README's main command. Simulates a small economy with heists, ingests
//! it like a node's files, shows what the index knows of the first heist, clusters, tags the
//! simulated exchanges, records every heist as an incident, traces them and writes the
//! evidence report, with the simulation's truth beside its figures.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use sleuth_analysis::cluster::HeuristicSet;
use sleuth_chain::Chain;
use sleuth_engine::Engine;
use sleuth_index::ingest::IngestOptions;
use sleuth_simulator::SimConfig;

use crate::output::{put, say, Human};

use crate::progress::Bar;
use crate::Context;

/// Simulate heists, ingest, cluster, trace the stolen coins to the exchanges and write the
/// evidence report; needs no download.
#[derive(Debug, clap::Args)]
pub struct Demo {
    /// Transactions to simulate.
    #[arg(long, default_value_t = 50_000)]
    pub transactions: u64,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Keep the simulated chain and index here instead of a temporary folder.
    #[arg(long)]
    pub keep: Option<PathBuf>,
}

impl Demo {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let tmp = tempfile::tempdir().context("creating a temporary folder")?;
        let root = self.keep.clone().unwrap_or_else(|| tmp.path().to_owned());
        let cfg = SimConfig {
            out: root.join("sim"),
            transactions: self.transactions,
            seed: self.seed,
            chain: Chain::Regtest,
            truth: true,
        };
        say!("1. simulating {} transactions of an economy with heists (seed {}) ...", self.transactions, self.seed);
        let sim = super::simulate::run_simulation(ctx, &cfg)?;
        put!("{}", sim.human());

        let data_dir = root.join("index");
        say!("\n2. ingesting {} as a node's block files ...", cfg.out.join("blocks").display());
        let opts = IngestOptions::new(cfg.out.join("blocks"));
        let report = sleuth_engine::ingest(&data_dir, &opts, &mut Bar::new(!ctx.quiet), &AtomicBool::new(false))?;
        put!("{}", report.human());

        let engine = Engine::open(&data_dir);
        let snap = engine.snapshot()?;
        let Some(heist) = sim.heists.first() else {
            say!("\nthe simulation has no heist at this size; try more --transactions");
            return Ok(());
        };
        say!("\n3. the heist: {} robbed by {} — what the index knows", heist.victim, heist.thief);
        let drain = snap.tx(&heist.txid)?;
        put!("{}", drain.human());
        say!("\n4. where the stolen outputs went next:");
        for o in &drain.outputs {
            match &o.spent_by {
                Some(s) => {
                    let next = snap.tx(&s.txid.parse()?)?;
                    say!(
                        "  output {} ({}) -> tx {} at height {}: {} inputs, {} outputs",
                        o.n,
                        o.address.as_deref().unwrap_or("?"),
                        s.txid,
                        s.height,
                        next.inputs.len(),
                        next.outputs.len()
                    );
                }
                None => say!("  output {} ({}) is still unspent", o.n, o.address.as_deref().unwrap_or("?")),
            }
        }
        say!("\n5. clustering the addresses into entities ...");
        let report = engine.build_clustering(HeuristicSet::default_set(), &mut |_, _| {})?;
        put!("{}", report.human());
        let snap = engine.snapshot()?;
        // The simulator's truth says which outputs are the thief's.
        let read = |f: &str| std::fs::read_to_string(cfg.out.join("truth").join(f));
        let (addresses, entities) = (read("addresses.csv")?, read("entities.csv")?);
        let thief_id = entities
            .lines()
            .filter_map(|l| l.split(',').collect::<Vec<_>>().get(..2).map(|f| (f[0].to_owned(), f[1].to_owned())))
            .find(|(_, name)| *name == heist.thief)
            .map(|(id, _)| id);
        let thief_addrs: std::collections::HashSet<&str> = addresses
            .lines()
            .filter_map(|l| l.split_once(','))
            .filter(|(_, e)| Some(*e) == thief_id.as_deref())
            .map(|(a, _)| a)
            .collect();
        if let Some(a) =
            drain.outputs.iter().filter_map(|o| o.address.clone()).find(|a| thief_addrs.contains(a.as_str()))
        {
            say!("\n6. an address the truth says is {}'s, and its cluster:", heist.thief);
            put!("{}", snap.address(&a)?.human());
            let cluster = snap.cluster(&a)?.info;
            say!(
                "cluster size {}, received {} sat, balance {} sat",
                cluster.size,
                cluster.received_sat,
                cluster.balance_sat
            );
        }
        let acc = snap.evaluate(addresses.lines().skip(1).filter_map(|l| l.split_once(',')))?;
        say!("\n7. clustering against the simulation's truth:");
        put!("{}", acc.human());
        super::demo_report::run(&engine, &cfg, &sim.heists, &root)?;
        say!("\nground truth of the simulation: {}", cfg.out.join("truth").display());
        if self.keep.is_none() {
            say!("(temporary; pass --keep DIR to keep the chain and index)");
        }
        Ok(())
    }
}
