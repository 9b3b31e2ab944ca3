//! `sleuth watch` and `sleuth alerts`: coins followed as they move, and what they raised.

use serde::Serialize;
use sleuth_analysis::trace::Policy;
use sleuth_engine::watch::{Alert, NewWatch, Watch};
use sleuth_engine::Engine;

use crate::output::{print, Human};
use crate::Context;

/// Follow coins as they move: a served data dir alerts within a block of each movement.
#[derive(Debug, clap::Args)]
pub struct WatchCmd {
    #[command(subcommand)]
    pub cmd: WatchSub,
}

/// `watch` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum WatchSub {
    /// Watch a theft output, a transaction, an address, a cluster or an incident.
    Add {
        /// TXID[:VOUT], an address, cluster:N, or incident:NAME_OR_ID.
        #[arg(long)]
        from: String,
        /// A name for people ("Exchange A heist").
        #[arg(long)]
        label: String,
        /// The taint policy of the alerts' amounts.
        #[arg(long, default_value = "haircut")]
        policy: Policy,
        /// POST each alert here as JSON (http://host:port/path), with retries.
        #[arg(long)]
        webhook: Option<String>,
    },
    /// Every watch.
    List,
    /// Stop a watch (its alerts stay).
    Remove {
        /// Its number.
        id: u32,
    },
    /// Trace every watch over the newest commit now and record new alerts (`sleuth serve`
    /// does this at every new block).
    Check,
}

/// Watches, for printing.
#[derive(Debug, Serialize)]
pub struct WatchList {
    /// The watches.
    pub watches: Vec<Watch>,
}

/// Alerts, for printing.
#[derive(Debug, Serialize)]
pub struct AlertList {
    /// The alerts, oldest first.
    pub alerts: Vec<Alert>,
}

impl WatchCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let engine = Engine::open(&ctx.data_dir);
        match self.cmd {
            WatchSub::Add { from, label, policy, webhook } => {
                let w = engine.add_watch(NewWatch { from, label, policy, webhook })?;
                print(ctx, &WatchList { watches: vec![w] });
            }
            WatchSub::List => print(ctx, &WatchList { watches: engine.watches()? }),
            WatchSub::Remove { id } => {
                if !engine.remove_watch(id)? {
                    anyhow::bail!("no watch numbered {id}; `sleuth watch list` shows them");
                }
                print(ctx, &WatchList { watches: engine.watches()? });
            }
            WatchSub::Check => {
                let snap = engine.snapshot()?;
                print(ctx, &AlertList { alerts: engine.check_watches(&snap)? });
            }
        }
        Ok(())
    }
}

/// Alerts raised by watches.
#[derive(Debug, clap::Args)]
pub struct AlertsCmd {
    /// Only alerts at or above this height.
    #[arg(long)]
    since: Option<u32>,
}

impl AlertsCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        print(ctx, &AlertList { alerts: Engine::open(&ctx.data_dir).alerts(self.since)? });
        Ok(())
    }
}

impl Human for WatchList {
    fn human(&self) -> String {
        if self.watches.is_empty() {
            return "no watches\n".into();
        }
        self.watches
            .iter()
            .map(|w| {
                format!(
                    "#{} {} — from {}, {}{}{}\n",
                    w.id,
                    w.label,
                    w.from,
                    w.policy,
                    w.added_at_height.map(|h| format!(", added at height {h}")).unwrap_or_default(),
                    w.webhook.as_ref().map(|u| format!(", webhook {u}")).unwrap_or_default()
                )
            })
            .collect()
    }
}

impl Human for AlertList {
    fn human(&self) -> String {
        if self.alerts.is_empty() {
            return "no alerts\n".into();
        }
        self.alerts
            .iter()
            .map(|a| {
                let to = a.entity.clone().or(a.address.clone()).unwrap_or_else(|| "?".into());
                let retracts = a.retracts.map(|s| format!(" (retracts #{s})")).unwrap_or_default();
                format!(
                    "#{} height {} [{}] {}: {} ({}) to {}{} in {}{}\n",
                    a.seq,
                    a.height,
                    a.label,
                    a.kind,
                    crate::output::sat(a.amount_sat.get()),
                    a.policy,
                    to,
                    a.category.as_ref().map(|c| format!(" ({c})")).unwrap_or_default(),
                    a.txid,
                    retracts
                )
            })
            .collect()
    }
}
