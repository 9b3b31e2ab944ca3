//! `sleuth incident`: the ledger of thefts.

use std::path::PathBuf;

use serde::Serialize;
use sleuth_engine::incidents::{parse_csv, Day, Incident, NewIncident, Stolen};
use sleuth_engine::Engine;

use crate::output::{print, Human};
use crate::Context;

/// Record thefts: their stolen outputs, victim, actor, date and source.
#[derive(Debug, clap::Args)]
pub struct IncidentCmd {
    #[command(subcommand)]
    pub cmd: IncidentSub,
}

/// `incident` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum IncidentSub {
    /// Add a theft (its outputs must be in the index).
    Add {
        /// A name for it (unique).
        #[arg(long)]
        name: String,
        /// A stolen output TXID:VOUT, or TXID for every output; on an EVM chain, a drain
        /// transaction's 0x hash. Repeat for several.
        #[arg(long = "txid", required = true)]
        txids: Vec<String>,
        /// Who was robbed.
        #[arg(long)]
        victim: String,
        /// Who is believed to have done it.
        #[arg(long)]
        actor: Option<String>,
        /// The day of the theft (YYYY-MM-DD).
        #[arg(long)]
        date: Day,
        /// Where the attribution comes from.
        #[arg(long)]
        source: Option<String>,
        /// A GraphSense actor pack to match the actor against.
        #[arg(long, env = "SLEUTH_ACTOR_PACK")]
        actors: Option<PathBuf>,
    },
    /// Add the thefts of a CSV (header name,txid,vout,victim,actor,date,source): all or none.
    /// On an EVM chain each row names a drain transaction's 0x hash, with vout empty.
    Import {
        /// The file.
        file: PathBuf,
        /// A GraphSense actor pack to match the actors against.
        #[arg(long, env = "SLEUTH_ACTOR_PACK")]
        actors: Option<PathBuf>,
    },
    /// Every incident.
    List,
    /// One incident, by name or number.
    Show {
        /// Name or number.
        incident: String,
    },
}

/// Incidents, for printing.
#[derive(Debug, Serialize)]
pub struct IncidentList {
    /// The incidents.
    pub incidents: Vec<Incident>,
}

/// Incidents of an EVM data dir, for printing.
#[derive(Debug, Serialize)]
pub struct EvmIncidentList {
    /// The incidents.
    pub incidents: Vec<sleuth_engine::evm::EvmIncident>,
}

impl Human for EvmIncidentList {
    fn human(&self) -> String {
        if self.incidents.is_empty() {
            return "no incidents\n".into();
        }
        let mut s = String::new();
        for i in &self.incidents {
            s += &format!(
                "#{} {} — victim {}, actor {}{}, {}\n",
                i.id,
                i.name,
                i.victim,
                i.actor.as_deref().unwrap_or("unknown"),
                i.actor_id.as_ref().map(|a| format!(" [{a}]")).unwrap_or_default(),
                i.date
            );
            for t in &i.txs {
                s += &format!("    {t}\n");
            }
        }
        s
    }
}

impl IncidentCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            return self.run_evm(ctx);
        }
        let engine = Engine::open(&ctx.data_dir);
        let incidents = match self.cmd {
            IncidentSub::Add { name, txids, victim, actor, date, source, actors } => {
                let outputs =
                    txids.iter().map(|t| t.parse::<Stolen>().map_err(anyhow::Error::msg)).collect::<Result<_, _>>()?;
                let new = NewIncident { name, victim, actor, date, source, outputs };
                engine.add_incidents(vec![new], actors.as_deref())?
            }
            IncidentSub::Import { file, actors } => engine.add_incidents(parse_csv(&file)?, actors.as_deref())?,
            IncidentSub::List => engine.incidents()?.incidents().to_vec(),
            IncidentSub::Show { incident } => {
                let ledger = engine.incidents()?;
                let i = ledger
                    .find(&incident)
                    .ok_or_else(|| anyhow::anyhow!("no incident named or numbered {incident:?}"))?;
                vec![i.clone()]
            }
        };
        print(ctx, &IncidentList { incidents });
        Ok(())
    }

    /// The ledger of an EVM data dir: drain transactions instead of stolen outputs.
    fn run_evm(self, ctx: &Context) -> anyhow::Result<()> {
        use sleuth_engine::evm::{add_evm_incidents, evm_incidents, find_evm_incident, parse_evm_csv, NewEvmIncident};
        let d = &ctx.data_dir;
        let incidents = match self.cmd {
            IncidentSub::Add { name, txids, victim, actor, date, source, actors } => {
                let new = NewEvmIncident { name, victim, actor, date, source, txs: txids };
                add_evm_incidents(d, vec![new], actors.as_deref())?
            }
            IncidentSub::Import { file, actors } => add_evm_incidents(d, parse_evm_csv(&file)?, actors.as_deref())?,
            IncidentSub::List => evm_incidents(d)?,
            IncidentSub::Show { incident } => vec![find_evm_incident(d, &incident)?],
        };
        print(ctx, &EvmIncidentList { incidents });
        Ok(())
    }
}

impl Human for IncidentList {
    fn human(&self) -> String {
        if self.incidents.is_empty() {
            return "no incidents\n".into();
        }
        let mut s = String::new();
        for i in &self.incidents {
            s += &format!(
                "#{} {} — victim {}, actor {}{}, {}{}\n",
                i.id,
                i.name,
                i.victim,
                i.actor.as_deref().unwrap_or("unknown"),
                i.actor_id.as_ref().map(|a| format!(" [{a}]")).unwrap_or_default(),
                i.date,
                i.source.as_ref().map(|u| format!(", source {u}")).unwrap_or_default()
            );
            for o in &i.outputs {
                s += &format!("    {}{}\n", o.txid, o.vout.map(|v| format!(":{v}")).unwrap_or_default());
            }
        }
        s
    }
}
