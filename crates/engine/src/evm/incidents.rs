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

/// Records a theft whose drain transactions are `txs`; each must be in the index and must
/// have moved value, and none may belong to another incident.
///
/// # Errors
/// [`EngineError::Incident`] for a duplicate name or transaction, an index error for a
/// transaction that is not there; the ledger is then unchanged.
pub fn add_evm_incident(
    data_dir: &Path,
    name: &str,
    victim: &str,
    actor: Option<String>,
    date: Day,
    source: Option<String>,
    txs: &[String],
) -> Result<EvmIncident, EngineError> {
    let r = open(data_dir)?;
    let mut incidents = evm_incidents(data_dir)?;
    if name.trim().is_empty() {
        return Err(EngineError::Incident("an incident needs a name".into()));
    }
    if incidents.iter().any(|i| i.name == name) {
        return Err(EngineError::Incident(format!("an incident named {name:?} is already in the ledger")));
    }
    if txs.is_empty() {
        return Err(EngineError::Incident(format!("incident {name:?} names no drain transaction (--txid)")));
    }
    let mut hashes = Vec::with_capacity(txs.len());
    for t in txs {
        let h = parse_hash(t)?;
        let num = r
            .tx_num_of(&h)?
            .ok_or_else(|| sleuth_evm::EvmError::NotFound(format!("transaction {h} is not in the index")))?;
        let tx = r.tx(num)?.ok_or_else(|| sleuth_evm::EvmError::NotFound(format!("transaction {h}")))?;
        let moved = r.transfers(tx.first_transfer, tx.transfer_count as u64)?.iter().any(|x| {
            x.effective()
                && !matches!(x.kind, sleuth_evm::model::TransferKind::FeeBurn | sleuth_evm::model::TransferKind::FeeTip)
        });
        if !moved {
            return Err(EngineError::Incident(format!("transaction {h} moved no value: it cannot be a drain")));
        }
        let hash = h.to_string();
        if let Some(other) = incidents.iter().find(|i| i.txs.contains(&hash)) {
            return Err(EngineError::Incident(format!("transaction {h} is already in incident {:?}", other.name)));
        }
        hashes.push(hash);
    }
    let incident = EvmIncident {
        id: incidents.iter().map(|i| i.id).max().unwrap_or(0) + 1,
        name: name.to_string(),
        victim: victim.to_string(),
        actor,
        date,
        source,
        txs: hashes,
    };
    incidents.push(incident.clone());
    let path = ledger_path(data_dir);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    let bytes =
        serde_json::to_vec_pretty(&LedgerFile { version: LEDGER_VERSION, incidents }).expect("the ledger serializes");
    sleuth_durable::write_atomic(&path, &bytes).map_err(|e| EngineError::io(&path, e))?;
    Ok(incident)
}
