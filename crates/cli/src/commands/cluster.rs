//! `sleuth cluster`: build the address clustering, show a cluster, explain a link, export.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use sleuth_analysis::cluster::accuracy::Accuracy;
use sleuth_analysis::cluster::{BuildReport, ClusterInfo, HeuristicSet, WhyAnswer};
use sleuth_engine::views::ClusterView;
use sleuth_engine::Engine;

use crate::output::{print, sat, thousands, Human};
use crate::Context;

/// Group addresses into the entities that control them.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ClusterCmd {
    #[command(subcommand)]
    pub cmd: Option<ClusterSub>,
    /// Show the cluster of this address.
    pub address: Option<String>,
}

/// `cluster` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ClusterSub {
    /// Build (or extend after new blocks) the clustering of the index.
    Build {
        /// Comma-separated: multi-input, change (the default change set), change-fresh,
        /// change-type, change-optimal, change-round, change-fingerprint, change-peel,
        /// change-core; collapse-guard=N holds back a change merge joining two clusters of at
        /// least N addresses each (default 2; 0 turns it off); change-outputs=N lets the
        /// change heuristics consider payments of up to N outputs (default 16).
        #[arg(long, default_value = "multi-input,change")]
        heuristics: HeuristicSet,
    },
    /// The chain of merges (txid, heuristic) that joins two addresses, or "not linked".
    Why {
        /// First address.
        a: String,
        /// Second address.
        b: String,
    },
    /// Every address with its cluster id, as CSV (header `address,cluster_id`).
    Export {
        /// CSV output (the only format).
        #[arg(long)]
        csv: bool,
    },
    /// Score the clustering against a simulator's truth folder (pairwise precision, recall).
    Evaluate {
        /// The simulation's `truth/` folder.
        #[arg(long)]
        truth: PathBuf,
    },
}

impl ClusterCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let engine = Engine::open(&ctx.data_dir);
        match (self.cmd, self.address) {
            (Some(ClusterSub::Build { heuristics }), _) => {
                let bar = crate::progress::count_bar(!ctx.quiet, "tx");
                let report = engine.build_clustering(heuristics, &mut |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })?;
                bar.finish_and_clear();
                print(ctx, &report);
            }
            (Some(ClusterSub::Why { a, b }), _) => print(ctx, &engine.snapshot()?.why(&a, &b)?),
            (Some(ClusterSub::Export { .. }), _) => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                engine.snapshot()?.export_clusters(&mut out)?;
                out.flush()?;
            }
            (Some(ClusterSub::Evaluate { truth }), _) => {
                let path = truth.join("addresses.csv");
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                let rows = text.lines().skip(1).filter_map(|l| l.split_once(','));
                print(ctx, &engine.snapshot()?.evaluate(rows)?);
            }
            (None, Some(address)) => print(ctx, &engine.snapshot()?.cluster(&address)?),
            (None, None) => anyhow::bail!("name an address, or one of build, why, export, evaluate"),
        }
        Ok(())
    }
}

impl Human for BuildReport {
    fn human(&self) -> String {
        let mut s = format!(
            "{} clustering ({}): {} transactions in {:.2}s\n{} addresses in {} clusters; {} with more than one address; largest {}\n",
            if self.incremental { "extended" } else { "built" },
            self.heuristics.join(","),
            thousands(self.transactions),
            self.seconds,
            thousands(self.addresses),
            thousands(self.clusters),
            thousands(self.multi_address_clusters),
            thousands(self.largest_cluster)
        );
        for (h, n) in &self.merges {
            s += &format!("  merges by {h}: {}\n", thousands(*n));
        }
        for (k, n) in &self.coinjoins {
            s += &format!("  coinjoins ({k}) left unmerged: {}\n", thousands(*n));
        }
        if self.held_back > 0 {
            s += &format!(
                "  change merges held back by the collapse guard: {} (`cluster why` shows them)\n",
                thousands(self.held_back)
            );
        }
        s
    }
}

impl Human for WhyAnswer {
    fn human(&self) -> String {
        let mut held = String::new();
        for h in &self.held_back {
            held += &format!(
                "  held back: {} -> {}  by {} in tx {} (clusters of {} and {} addresses then)\n",
                h.from,
                h.to,
                h.heuristics.join("+"),
                h.txid,
                h.from_cluster_size,
                h.to_cluster_size
            );
        }
        if !self.linked {
            return format!("{} and {} are not linked\n{held}", self.address_a, self.address_b);
        }
        let mut s = format!(
            "{} and {} are one cluster ({}):\n",
            self.address_a,
            self.address_b,
            self.cluster_id.map_or("-".into(), |c| c.to_string())
        );
        for st in &self.steps {
            s += &format!("  {} -> {}  by {} in tx {}\n", st.from, st.to, st.heuristics.join("+"), st.txid);
        }
        s + &held
    }
}

impl Human for ClusterView {
    fn human(&self) -> String {
        let mut s = self.info.human();
        match (&self.label, self.labels.len()) {
            (Some(l), _) => {
                s += &format!(
                    "entity   {l}
"
                )
            }
            (None, 0) => {}
            (None, _) => {
                s += &format!(
                    "conflicting labels: {}
",
                    self.labels.join(" | ")
                )
            }
        }
        if !self.tags.is_empty() {
            s += &format!("tags:\n{}", super::tags::tag_lines(&self.tags));
        }
        s
    }
}

impl Human for ClusterInfo {
    fn human(&self) -> String {
        let mut s = format!(
            "cluster {}: {} addresses\nreceived {}\nbalance  {}\nseen     heights {}..{}\n",
            self.cluster_id,
            thousands(self.size),
            sat(self.received_sat),
            sat(self.balance_sat),
            self.first_seen_height,
            self.last_seen_height
        );
        for a in self.addresses.iter().take(20) {
            s += &format!("  {a}\n");
        }
        if self.size > 20 {
            s += &format!("  … and {} more (--json lists up to 1,000)\n", self.size - 20);
        }
        s
    }
}

impl Human for Accuracy {
    fn human(&self) -> String {
        format!(
            "heuristics {}: precision {:.4}, recall {:.4} over {} truth addresses ({} predicted pairs, {} true pairs, {} correct); {} clusters mix entities\n",
            self.heuristics.join(","),
            self.precision,
            self.recall,
            thousands(self.addresses),
            thousands(self.predicted_pairs),
            thousands(self.true_pairs),
            thousands(self.correct_pairs),
            self.mixed_clusters
        )
    }
}
