//! The incident ledger of an EVM data dir: thefts named by the transactions that drained the
//! victim (`<data dir>/incidents/evm.json`, replaced atomically). Screening counts value
//! that came out of a recorded drain as theft and names the incident and the drain.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{open, parse_hash};
use crate::incidents::Day;
use crate::EngineError;

const LEDGER_VERSION: u32 = 1;

/// A theft on an EVM chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvmIncident {
    /// Its number in the ledger (from 1).
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Who was robbed.
    pub victim: String,
    /// Who is believed to have done it.
    pub actor: Option<String>,
    /// The actor's id in a GraphSense actor pack, when one was given and names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// The day of the theft.
    pub date: Day,
    /// Where the attribution comes from.
    pub source: Option<String>,
    /// The drain transactions (0x hashes), each in the index.
    pub txs: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct LedgerFile {
    version: u32,
    incidents: Vec<EvmIncident>,
}

/// The ledger file of a data dir.
fn ledger_path(data_dir: &Path) -> PathBuf {
    crate::DataDir::new(data_dir).incidents().join("evm.json")
}

/// Every incident of the EVM data dir (none when there is no ledger yet).
///
/// # Errors
/// [`EngineError::Incident`] naming the file when it is damaged.
pub fn evm_incidents(data_dir: &Path) -> Result<Vec<EvmIncident>, EngineError> {
    let path = ledger_path(data_dir);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::io(&path, e)),
    };
    let file: LedgerFile = serde_json::from_slice(&bytes)
        .map_err(|e| EngineError::Incident(format!("{}: {e}; the ledger is damaged", path.display())))?;
    if file.version != LEDGER_VERSION {
        return Err(EngineError::Incident(format!(
            "{}: ledger version {} but this sleuth reads {LEDGER_VERSION}",
            path.display(),
            file.version
        )));
    }
    Ok(file.incidents)
}

/// The incident `name_or_id` (its name, or its number) of the EVM data dir.
///
/// # Errors
/// [`EngineError::Incident`] when the ledger has none such, or is damaged.
pub fn find_evm_incident(data_dir: &Path, name_or_id: &str) -> Result<EvmIncident, EngineError> {
    let n = name_or_id.trim();
    evm_incidents(data_dir)?
        .into_iter()
        .find(|i| i.name == n || i.id.to_string() == n)
        .ok_or_else(|| EngineError::Incident(format!("no incident named or numbered {n:?} in the ledger")))
}

/// A theft to record on an EVM chain, as `incident add` or a row group of `incident import`
/// gives it.
#[derive(Debug, Clone)]
pub struct NewEvmIncident {
    /// Its name (unique).
    pub name: String,
    /// Who was robbed.
    pub victim: String,
    /// Who is believed to have done it.
    pub actor: Option<String>,
    /// The day of the theft.
    pub date: Day,
    /// Where the attribution comes from.
    pub source: Option<String>,
    /// The drain transactions, as typed (0x hashes).
    pub txs: Vec<String>,
}

/// Records the thefts `new`, all or none: each drain transaction must be in the index and
/// must have moved value, and may belong to one incident only. With `actors` (a GraphSense
/// actor pack), each actor is matched against it and its id kept.
///
/// # Errors
/// [`EngineError::Incident`] for a duplicate name or transaction, an index error for a
/// transaction that is not there; the ledger is then unchanged.
pub fn add_evm_incidents(
    data_dir: &Path,
    new: Vec<NewEvmIncident>,
    actors: Option<&Path>,
) -> Result<Vec<EvmIncident>, EngineError> {
    let pack = actors.map(sleuth_tags::ActorPack::load).transpose()?;
    let r = open(data_dir)?;
    let mut incidents = evm_incidents(data_dir)?;
    let mut added = Vec::with_capacity(new.len());
    for n in new {
        let NewEvmIncident { name, victim, actor, date, source, txs } = n;
        if name.trim().is_empty() {
            return Err(EngineError::Incident("an incident needs a name".into()));
        }
        if incidents.iter().any(|i| i.name == name) {
            return Err(EngineError::Incident(format!("an incident named {name:?} is already in the ledger")));
        }
        if txs.is_empty() {
            return Err(EngineError::Incident(format!("incident {name:?} names no drain transaction (--txid)")));
        }
        let mut hashes: Vec<String> = Vec::with_capacity(txs.len());
        for t in &txs {
            let h = parse_hash(t)?;
            let num = r
                .tx_num_of(&h)?
                .ok_or_else(|| sleuth_evm::EvmError::NotFound(format!("transaction {h} is not in the index")))?;
            let tx = r.tx(num)?.ok_or_else(|| sleuth_evm::EvmError::NotFound(format!("transaction {h}")))?;
            // Fees alone move no stolen value.
            let moved = r
                .transfers(tx.first_transfer, tx.transfer_count as u64)?
                .iter()
                .any(|x| x.effective() && x.kind.involves());
            if !moved {
                return Err(EngineError::Incident(format!("transaction {h} moved no value: it cannot be a drain")));
            }
            let hash = h.to_string();
            if let Some(other) = incidents.iter().find(|i| i.txs.contains(&hash)) {
                return Err(EngineError::Incident(format!("transaction {h} is already in incident {:?}", other.name)));
            }
            if !hashes.contains(&hash) {
                hashes.push(hash);
            }
        }
        let actor_id = actor.as_deref().and_then(|a| pack.as_ref()?.find(a)).map(|a| a.id.clone());
        let incident = EvmIncident {
            id: incidents.iter().map(|i| i.id).max().unwrap_or(0) + 1,
            name,
            victim,
            actor,
            actor_id,
            date,
            source,
            txs: hashes,
        };
        incidents.push(incident.clone());
        added.push(incident);
    }
    let path = ledger_path(data_dir);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    let bytes =
        serde_json::to_vec_pretty(&LedgerFile { version: LEDGER_VERSION, incidents }).expect("the ledger serializes");
    sleuth_durable::write_atomic(&path, &bytes).map_err(|e| EngineError::io(&path, e))?;
    Ok(added)
}

/// Reads the thefts of an incident CSV (`name,txid,vout,victim,actor,date,source`, the
/// Bitcoin side's format: one row per drain transaction, `vout` empty) for
/// [`add_evm_incidents`].
///
/// # Errors
/// [`EngineError::Incident`] naming the file and line of a bad row.
pub fn parse_evm_csv(path: &Path) -> Result<Vec<NewEvmIncident>, EngineError> {
    let mut out = Vec::new();
    for i in crate::incidents::read_csv(path)? {
        let mut txs = Vec::with_capacity(i.rows.len());
        for (line, txid, vout) in &i.rows {
            if !vout.is_empty() {
                return Err(crate::incidents::csv_error(
                    path,
                    *line,
                    format!("vout {vout:?}: an EVM drain is a whole transaction; leave vout empty"),
                ));
            }
            parse_hash(txid).map_err(|e| crate::incidents::csv_error(path, *line, e))?;
            txs.push(txid.clone());
        }
        out.push(NewEvmIncident {
            name: i.name,
            victim: i.victim,
            actor: i.actor,
            date: i.date,
            source: i.source,
            txs,
        });
    }
    Ok(out)
}
