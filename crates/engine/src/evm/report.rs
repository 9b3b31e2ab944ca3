//! Evidence reports of EVM incidents: for each drain of the incident and each asset it
//! moved, the forward trace under every policy, pinned to the tip it was made at, in JSON
//! that `report verify` recomputes figure by figure. (HTML and CSV are the Bitcoin side's
//! for now.)

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{evm_incidents, open, parse_hash, AccountTraceOptions, EvmIncident, TraceStart};
use crate::report::{compare, Verification};
use crate::EngineError;

/// The report format's name and version, checked by `verify`.
pub const EVM_REPORT_FORMAT: &str = "sleuth-evm-report/1";

/// An evidence report of one EVM incident.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvmReport {
    /// [`EVM_REPORT_FORMAT`].
    pub format: String,
    /// The chain.
    pub chain: String,
    /// Its EIP-155 id.
    pub chain_id: u64,
    /// The tip the report was made at: every trace stops there.
    pub tip_height: u64,
    /// That block's hash: a reorg below it changes what the report stands on.
    pub tip_hash: String,
    /// The trace limit.
    pub max_hops: u32,
    /// The incident, as the ledger has it.
    pub incident: EvmIncident,
    /// Per drain and asset: the forward trace under every policy (the JSON of `trace`).
    pub traces: Vec<serde_json::Value>,
}

/// The report of incident `name` (or number) in the EVM data dir, at its tip.
///
/// # Errors
/// No such incident, a damaged store.
pub fn evm_report(data_dir: &Path, name: &str, max_hops: u32) -> Result<EvmReport, EngineError> {
    let r = open(data_dir)?;
    let status = r.status_view()?;
    let (tip_height, tip_hash) = match (status.height, status.tip_hash) {
        (Some(h), Some(t)) => (h, t),
        _ => return Err(EngineError::Incident("the EVM index is empty: ingest first".into())),
    };
    let incident = evm_incidents(data_dir)?
        .into_iter()
        .find(|i| i.name == name || i.id.to_string() == name)
        .ok_or_else(|| EngineError::Incident(format!("no incident named or numbered {name:?}")))?;
    let traces = traces_of(data_dir, &incident, max_hops, tip_height)?;
    Ok(EvmReport {
        format: EVM_REPORT_FORMAT.into(),
        chain: status.chain.to_string(),
        chain_id: status.chain_id,
        tip_height,
        tip_hash,
        max_hops,
        incident,
        traces,
    })
}

/// The traces of every drain of `incident`, per asset it moved, up to block `until`.
fn traces_of(
    data_dir: &Path,
    incident: &EvmIncident,
    max_hops: u32,
    until: u64,
) -> Result<Vec<serde_json::Value>, EngineError> {
    let r = open(data_dir)?;
    let mut out = Vec::new();
    for h in &incident.txs {
        let hash = parse_hash(h)?;
        let num = r
            .tx_num_of(&hash)?
            .ok_or_else(|| sleuth_evm::EvmError::NotFound(format!("transaction {hash} is not in the index")))?;
        let tx = r.tx(num)?.ok_or_else(|| sleuth_evm::EvmError::NotFound(format!("transaction {hash}")))?;
        let mut assets = Vec::new();
        for t in r.transfers(tx.first_transfer, tx.transfer_count as u64)? {
            let moved = t.effective()
                && !matches!(
                    t.kind,
                    sleuth_evm::model::TransferKind::FeeBurn | sleuth_evm::model::TransferKind::FeeTip
                );
            if moved && !assets.contains(&t.asset) {
                assets.push(t.asset);
            }
        }
        for asset in assets {
            let name = if asset == sleuth_evm::model::AssetId::ETH {
                None
            } else {
                r.token(asset)?.map(|t| t.address.to_string())
            };
            let opts = AccountTraceOptions { max_hops, until_block: Some(until), ..AccountTraceOptions::default() };
            let trace = super::trace(data_dir, &TraceStart::Tx(hash), name.as_deref(), opts)?;
            out.push(serde_json::to_value(trace).expect("traces serialize"));
        }
    }
    Ok(out)
}

/// Recomputes `report` from the data dir at the same tip height, and compares every figure.
///
/// # Errors
/// A report of another format, a damaged store.
pub fn verify_evm_report(data_dir: &Path, report: &EvmReport) -> Result<Verification, EngineError> {
    if report.format != EVM_REPORT_FORMAT {
        return Err(EngineError::Incident(format!("a report of format {:?}, not {EVM_REPORT_FORMAT}", report.format)));
    }
    let r = open(data_dir)?;
    let mut changed_inputs = Vec::new();
    match r.block(report.tip_height)? {
        Some(b) if b.hash.to_string() == report.tip_hash => {}
        Some(b) => changed_inputs
            .push(format!("block {} is now {} (a reorg), not {}", report.tip_height, b.hash, report.tip_hash)),
        None => changed_inputs.push(format!("the index no longer reaches block {}", report.tip_height)),
    }
    if let Some(now) = evm_incidents(data_dir)?.into_iter().find(|i| i.id == report.incident.id) {
        if now != report.incident {
            changed_inputs.push(format!("incident {} changed in the ledger", report.incident.id));
        }
    }
    let now = traces_of(data_dir, &report.incident, report.max_hops, report.tip_height)?;
    let (mut differences, mut figures) = (Vec::new(), 0u64);
    compare(
        "traces",
        &serde_json::Value::Array(report.traces.clone()),
        &serde_json::Value::Array(now),
        &mut differences,
        &mut figures,
    );
    Ok(Verification {
        matches: differences.is_empty() && changed_inputs.is_empty(),
        figures,
        differences,
        changed_inputs,
    })
}
