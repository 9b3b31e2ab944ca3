//! `sleuth watch` and `sleuth alerts`: coins followed as they move, and what they raised.

use serde::Serialize;
use sleuth_analysis::trace::Policy;
use sleuth_engine::evm::watch::{self as evm_watch, EvmAlert, EvmWatch, NewEvmWatch};
use sleuth_engine::evm::AccountPolicy;
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
        /// TXID[:VOUT], an address, cluster:N, or incident:NAME_OR_ID; on an EVM chain a
        /// drain's 0x hash, an 0x account or incident:NAME_OR_ID.
        #[arg(long)]
        from: String,
        /// On an EVM chain: ETH (default) or a token's address.
        #[arg(long)]
        asset: Option<String>,
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

/// Watches of an EVM data dir, for printing.
#[derive(Debug, Serialize)]
pub struct EvmWatchList {
    /// The watches.
    pub watches: Vec<EvmWatch>,
}

/// Alerts of an EVM data dir, for printing.
#[derive(Debug, Serialize)]
pub struct EvmAlertList {
    /// The alerts, oldest first.
    pub alerts: Vec<EvmAlert>,
}

impl WatchCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            return self.run_evm(ctx);
        }
        let engine = Engine::open(&ctx.data_dir);
        match self.cmd {
            WatchSub::Add { asset: Some(_), .. } => {
                anyhow::bail!("--asset is for EVM chains; a Bitcoin watch follows the coins it names")
            }
            WatchSub::Add { from, label, policy, webhook, asset: None } => {
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

    /// `watch` on an EVM data dir: the same subcommands, with an asset and an account policy.
    fn run_evm(self, ctx: &Context) -> anyhow::Result<()> {
        let d = &ctx.data_dir;
        match self.cmd {
            WatchSub::Add { from, label, policy, webhook, asset } => {
                let policy = AccountPolicy::parse(&policy.to_string()).map_err(anyhow::Error::msg)?;
                let w = evm_watch::add_evm_watch(d, NewEvmWatch { from, label, asset, policy, webhook })?;
                print(ctx, &EvmWatchList { watches: vec![w] });
            }
            WatchSub::List => print(ctx, &EvmWatchList { watches: evm_watch::evm_watches(d)? }),
            WatchSub::Remove { id } => {
                if !evm_watch::remove_evm_watch(d, id)? {
                    anyhow::bail!("no watch numbered {id}; `sleuth watch list` shows them");
                }
                print(ctx, &EvmWatchList { watches: evm_watch::evm_watches(d)? });
            }
            WatchSub::Check => print(ctx, &EvmAlertList { alerts: evm_watch::check_evm_watches(d)? }),
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
        if sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            let alerts = evm_watch::evm_alerts(&ctx.data_dir, self.since.map(u64::from))?;
            print(ctx, &EvmAlertList { alerts });
            return Ok(());
        }
        print(ctx, &AlertList { alerts: Engine::open(&ctx.data_dir).alerts(self.since)? });
        Ok(())
    }
}

impl Human for EvmWatchList {
    fn human(&self) -> String {
        if self.watches.is_empty() {
            return "no watches\n".into();
        }
        self.watches
            .iter()
            .map(|w| {
                let how = format!("{} under {}", w.asset, w.policy.as_str());
                watch_line(w.id, &w.label, &w.from, &how, w.added_at_height.map(|h| format!("block {h}")), &w.webhook)
            })
            .collect()
    }
}

impl Human for EvmAlertList {
    fn human(&self) -> String {
        if self.alerts.is_empty() {
            return "no alerts\n".into();
        }
        self.alerts
            .iter()
            .map(|a| {
                let amount = format!("{} base units of {} ({})", a.amount_base, a.asset, a.policy.as_str());
                let at = format!("block {}", a.height);
                alert_line(
                    a.seq,
                    &at,
                    &a.label,
                    a.kind,
                    &amount,
                    (&a.entity, &a.address, &a.category),
                    &a.txid,
                    a.retracts,
                )
            })
            .collect()
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
                let at = w.added_at_height.map(|h| format!("height {h}"));
                watch_line(w.id, &w.label, &w.from, &w.policy.to_string(), at, &w.webhook)
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
                let amount = format!("{} ({})", crate::output::sat(a.amount_sat.get()), a.policy);
                let at = format!("height {}", a.height);
                alert_line(
                    a.seq,
                    &at,
                    &a.label,
                    a.kind,
                    &amount,
                    (&a.entity, &a.address, &a.category),
                    &a.txid,
                    a.retracts,
                )
            })
            .collect()
    }
}

/// One line of `watch list`, for either chain: `how` is the policy (and asset), `at` where
/// the index stood when it was added.
fn watch_line(id: u32, label: &str, from: &str, how: &str, at: Option<String>, webhook: &Option<String>) -> String {
    format!(
        "#{id} {label} — from {from}, {how}{}{}\n",
        at.map(|h| format!(", added at {h}")).unwrap_or_default(),
        webhook.as_ref().map(|u| format!(", webhook {u}")).unwrap_or_default()
    )
}

/// One line of `alerts`, for either chain: `amount` as the chain writes it, `to` the entity,
/// address and category reached.
#[allow(clippy::too_many_arguments)]
fn alert_line(
    seq: u64,
    at: &str,
    label: &str,
    kind: sleuth_engine::watch::AlertKind,
    amount: &str,
    (entity, address, category): (&Option<String>, &Option<String>, &Option<String>),
    txid: &str,
    retracts: Option<u64>,
) -> String {
    let to = entity.as_deref().or(address.as_deref()).unwrap_or("?");
    format!(
        "#{seq} {at} [{label}] {kind}: {amount} to {to}{} in {txid}{}\n",
        category.as_ref().map(|c| format!(" ({c})")).unwrap_or_default(),
        retracts.map(|s| format!(" (retracts #{s})")).unwrap_or_default()
    )
}
