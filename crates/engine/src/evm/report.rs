//! Evidence reports of EVM incidents: one incident, every incident of an actor, or every
//! incident; for each asset their drains moved, the forward trace from all of those drains
//! together under every policy, pinned to the tip it was made at, in JSON that
//! `report verify` recomputes figure by figure, and as HTML or CSV ([`super::report_render`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{evm_incidents, open, parse_hash, AccountTraceOptions, EvmIncident, TraceStart, B256};
use crate::incidents::Day;
use crate::prices::{dollars, PriceTable};
use crate::report::{compare, Scope, Verification};
use crate::EngineError;

/// The report format's name and version, checked by `verify`. Version 2 covers a scope
/// (an incident, an actor, all) and traces each asset from every drain at once; version 1
/// traced one incident per drain.
pub const EVM_REPORT_FORMAT: &str = "sleuth-evm-report/2";

/// An asset a report traces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvmAsset {
    /// `ETH` or the token's address.
    pub asset: String,
    /// Its symbol, where the token answers one.
    pub symbol: Option<String>,
    /// The digits of its base unit (18 for ETH).
    pub decimals: Option<u8>,
}

/// An evidence report of EVM incidents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvmReport {
    /// [`EVM_REPORT_FORMAT`].
    pub format: String,
    /// The Sleuth that made it.
    pub sleuth_version: String,
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
    /// Which incidents it covers.
    pub scope: Scope,
    /// The incidents, as the ledger has them.
    pub incidents: Vec<EvmIncident>,
    /// The assets the drains moved, in the order of `traces`.
    pub assets: Vec<EvmAsset>,
    /// Per asset: the forward trace from every drain under every policy (the JSON of `trace`).
    pub traces: Vec<serde_json::Value>,
    /// The daily ETH price table the USD values come from (`date,close`), as given.
    #[serde(default)]
    pub prices: Option<PathBuf>,
    /// USD values of the ether stolen and of what reached services, with a price table.
    #[serde(default)]
    pub usd: Option<EvmUsd>,
}

/// USD values of a report's ether (tokens need a price per token and are not valued).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvmUsd {
    /// SHA-256 of the price table.
    pub prices_sha256: String,
    /// The ether the drains moved, each incident's at the close of its day.
    pub stolen_usd: f64,
    /// Per policy: the ether that reached services, each arrival at the close of its block's
    /// day (UTC).
    pub to_services_usd: BTreeMap<String, f64>,
}

/// The incidents `scope` names in the EVM data dir's ledger.
///
/// # Errors
/// [`EngineError::Incident`] when it names none.
pub fn evm_incidents_of(data_dir: &Path, scope: &Scope) -> Result<Vec<EvmIncident>, EngineError> {
    let all = evm_incidents(data_dir)?;
    let found: Vec<EvmIncident> = match scope {
        Scope::All => all,
        Scope::Incident(n) => vec![super::find_evm_incident(data_dir, n)?],
        Scope::Actor(a) => all
            .into_iter()
            .filter(|i| {
                i.actor.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(a)) || i.actor_id.as_deref() == Some(a)
            })
            .collect(),
    };
    if found.is_empty() {
        return Err(EngineError::Incident(match scope {
            Scope::Actor(a) => format!("no incident of actor {a:?} in the ledger"),
            _ => "the incident ledger is empty; add incidents first (incident add or incident import)".into(),
        }));
    }
    Ok(found)
}

/// The report of the incidents `scope` names in the EVM data dir, at its tip.
///
/// # Errors
/// No such incident, a damaged store.
pub fn evm_report(
    data_dir: &Path,
    scope: &Scope,
    max_hops: u32,
    prices: Option<&Path>,
) -> Result<EvmReport, EngineError> {
    let r = open(data_dir)?;
    let status = r.status_view()?;
    let (tip_height, tip_hash) = match (status.height, status.tip_hash) {
        (Some(h), Some(t)) => (h, t),
        _ => return Err(EngineError::Incident("the EVM index is empty: ingest first".into())),
    };
    let incidents = evm_incidents_of(data_dir, scope)?;
    let table = prices.map(PriceTable::load).transpose()?;
    let (assets, traces, usd) = traces_of(data_dir, &incidents, max_hops, tip_height, table.as_ref())?;
    Ok(EvmReport {
        format: EVM_REPORT_FORMAT.into(),
        sleuth_version: env!("CARGO_PKG_VERSION").into(),
        chain: status.chain.to_string(),
        chain_id: status.chain_id,
        tip_height,
        tip_hash,
        max_hops,
        scope: scope.clone(),
        incidents,
        assets,
        traces,
        prices: prices.map(Path::to_path_buf),
        usd,
    })
}

/// What a report's figures are made of: the assets, their traces' JSON, the ether's USD.
type Figures = (Vec<EvmAsset>, Vec<serde_json::Value>, Option<EvmUsd>);

/// The assets the drains of `incidents` moved, for each the trace from all of those drains
/// together, up to block `until`, and with `prices` the ether's USD values.
fn traces_of(
    data_dir: &Path,
    incidents: &[EvmIncident],
    max_hops: u32,
    until: u64,
    prices: Option<&PriceTable>,
) -> Result<Figures, EngineError> {
    use sleuth_evm::model::AssetId;
    let r = open(data_dir)?;
    let mut drains: Vec<B256> = Vec::new();
    let mut ids: Vec<AssetId> = Vec::new();
    for h in incidents.iter().flat_map(|i| &i.txs) {
        let hash = parse_hash(h)?;
        let num = r
            .tx_num_of(&hash)?
            .ok_or_else(|| sleuth_evm::EvmError::NotFound(format!("drain {hash} is not in the index")))?;
        let tx = r.tx(num)?.ok_or_else(|| sleuth_evm::EvmError::NotFound(format!("transaction {hash}")))?;
        if tx.block > until {
            continue;
        }
        for t in r.transfers(tx.first_transfer, tx.transfer_count as u64)? {
            if t.effective() && t.kind.involves() && !ids.contains(&t.asset) {
                ids.push(t.asset);
            }
        }
        drains.push(hash);
    }
    // ETH first, then tokens in the order the index numbered them.
    ids.sort();
    let (mut assets, mut traces, mut usd) = (Vec::new(), Vec::new(), None);
    for id in ids {
        let asset = if id == AssetId::ETH {
            EvmAsset { asset: "ETH".into(), symbol: Some("ETH".into()), decimals: Some(18) }
        } else {
            let t = r.token(id)?.ok_or_else(|| sleuth_evm::EvmError::NotFound(format!("token #{}", id.0)))?;
            EvmAsset { asset: t.address.to_string(), symbol: t.symbol, decimals: t.decimals }
        };
        let opts = AccountTraceOptions { max_hops, until_block: Some(until), ..AccountTraceOptions::default() };
        let name = (id != AssetId::ETH).then_some(asset.asset.as_str());
        let trace = super::trace(data_dir, &TraceStart::Txs(drains.clone()), name, opts)?;
        if let (Some(table), true) = (prices, id == AssetId::ETH) {
            usd = Some(usd_of(&trace, incidents, table)?);
        }
        traces.push(serde_json::to_value(trace).expect("traces serialize"));
        assets.push(asset);
    }
    Ok((assets, traces, usd))
}

/// The USD values of an ETH trace: each source transfer at the close of its incident's day,
/// each arrival at a service at the close of its block's day, in cents rounded half up.
fn usd_of(trace: &super::AccountTrace, incidents: &[EvmIncident], table: &PriceTable) -> Result<EvmUsd, EngineError> {
    let wei = |b: &sleuth_evm::amount::BaseUnits| {
        u128::try_from(b.0).map_err(|_| EngineError::Prices(format!("{b} wei: too large to price")))
    };
    let mut stolen = 0u64;
    for s in &trace.sources {
        let day = incidents
            .iter()
            .find(|i| i.txs.iter().any(|t| t.eq_ignore_ascii_case(&s.tx)))
            .map(|i| &i.date)
            .expect("every source is a drain of the incidents");
        stolen += table.usd_cents_of(wei(&s.amount_base)?, 18, day)?;
    }
    let mut to_services = BTreeMap::new();
    for (i, p) in trace.policies.iter().enumerate() {
        let mut cents = 0u64;
        for e in trace.endpoints.iter().filter(|e| e.stop_reason == "service") {
            cents += table.usd_cents_of(wei(&e.amounts_base[i])?, 18, &Day::of_unix(e.time))?;
        }
        to_services.insert(p.as_str().to_string(), dollars(cents));
    }
    Ok(EvmUsd { prices_sha256: table.sha256().to_owned(), stolen_usd: dollars(stolen), to_services_usd: to_services })
}

/// Recomputes `report` from the data dir at the same tip height, and compares every figure.
///
/// # Errors
/// A report of another format, a damaged store.
pub fn verify_evm_report(data_dir: &Path, report: &EvmReport) -> Result<Verification, EngineError> {
    if report.format != EVM_REPORT_FORMAT {
        return Err(EngineError::Incident(format!(
            "a report of format {:?}, not {EVM_REPORT_FORMAT}: make it again with this sleuth",
            report.format
        )));
    }
    let r = open(data_dir)?;
    let mut changed_inputs = Vec::new();
    match r.block(report.tip_height)? {
        Some(b) if b.hash.to_string() == report.tip_hash => {}
        Some(b) => changed_inputs
            .push(format!("block {} is now {} (a reorg), not {}", report.tip_height, b.hash, report.tip_hash)),
        None => changed_inputs.push(format!("the index no longer reaches block {}", report.tip_height)),
    }
    let ledger = evm_incidents(data_dir)?;
    for was in &report.incidents {
        match ledger.iter().find(|i| i.id == was.id) {
            Some(now) if now == was => {}
            Some(_) => changed_inputs.push(format!("incident {} changed in the ledger", was.id)),
            None => changed_inputs.push(format!("incident {} is no longer in the ledger", was.id)),
        }
    }
    let table = report.prices.as_deref().map(PriceTable::load).transpose()?;
    if let (Some(t), Some(u)) = (&table, &report.usd) {
        if t.sha256() != u.prices_sha256 {
            changed_inputs.push(format!("the price table {} changed", t.path().display()));
        }
    }
    let (assets, now, usd) =
        traces_of(data_dir, &report.incidents, report.max_hops, report.tip_height, table.as_ref())?;
    let (mut differences, mut figures) = (Vec::new(), 0u64);
    compare(
        "assets",
        &serde_json::to_value(&report.assets).expect("assets serialize"),
        &serde_json::to_value(assets).expect("assets serialize"),
        &mut differences,
        &mut figures,
    );
    compare(
        "traces",
        &serde_json::Value::Array(report.traces.clone()),
        &serde_json::Value::Array(now),
        &mut differences,
        &mut figures,
    );
    compare(
        "usd",
        &serde_json::to_value(&report.usd).expect("values serialize"),
        &serde_json::to_value(usd).expect("values serialize"),
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
