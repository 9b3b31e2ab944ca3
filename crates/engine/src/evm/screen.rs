//! Screening an EVM account: its own tags, then a backward haircut trace of what it received
//! (`sleuth_evm::trace::trace_backward`), the shares that reached risk-tagged accounts or
//! came out of a drain in the incident ledger weighed by the same risk groups and score as
//! the Bitcoin side (`crate::screen`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use sleuth_evm::trace::{trace_backward, AccountLabel, LabelClass, Labels};
use sleuth_evm::{Address, BaseUnits, U256};

use super::{open, parse_address, resolve_asset, TagLabels};
use crate::screen::{contribution, risk_group, risk_group_weight, Level};
use crate::EngineError;

/// Reasons listed at most, the largest score first.
const MAX_REASONS: usize = 25;

/// Exposure to one risk group.
#[derive(Clone, Debug, Serialize)]
pub struct EvmExposure {
    /// The risk group (sanctioned, theft, mixer, …).
    pub category: String,
    /// Its share of what the account received, and that share of the amount.
    pub share: f64,
    /// That share of what the account received, in base units (rounded down).
    pub amount_base: BaseUnits,
}

/// One reason behind the score.
#[derive(Clone, Debug, Serialize)]
pub struct EvmReason {
    /// `own` (the account's own tag), `received-from` (a direct sender) or `indirect`.
    pub kind: &'static str,
    /// The risk group.
    pub category: String,
    /// The tagged entity.
    pub entity: String,
    /// Its account.
    pub address: String,
    /// Its share of what the account received.
    pub share: f64,
    /// That share in base units.
    pub amount_base: BaseUnits,
    /// Payments between it and the account.
    pub hops: u32,
    /// The transactions from it to the account.
    pub path_txids: Vec<String>,
    /// What it adds to the score.
    pub score: u32,
}

/// A screening of an EVM account, in the shape of the Bitcoin one.
#[derive(Clone, Debug, Serialize)]
pub struct EvmScreenReport {
    /// The account.
    pub subject: String,
    /// `ETH` or the token's address.
    pub asset: String,
    /// Its own tag, if any.
    pub entity: Option<String>,
    /// 0–100.
    pub score: u32,
    /// severe, high, medium, low or none.
    pub level: Level,
    /// What it received of the asset.
    pub screened_base: BaseUnits,
    /// From direct senders, by risk group.
    pub received_from: Vec<EvmExposure>,
    /// Within the hop limit, by risk group (direct senders included).
    pub indirect: Vec<EvmExposure>,
    /// The hop limit.
    pub hops: u32,
    /// The reasons, the largest first.
    pub reasons: Vec<EvmReason>,
    /// The share that reached no tag (minted value, untagged dead ends, limits).
    pub unattributed_share: f64,
    /// Accounts the backward trace expanded.
    pub accounts_visited: usize,
    /// Time taken.
    pub micros: u64,
}

/// The drains of the incident ledger by transaction number, each labelled theft by its
/// incident: value out of one is theft.
fn drains(data_dir: &Path, r: &sleuth_evm::EvmReader) -> Result<HashMap<u64, AccountLabel>, EngineError> {
    let mut marked = HashMap::new();
    for i in super::evm_incidents(data_dir)? {
        for h in &i.txs {
            if let Some(num) = r.tx_num_of(&super::parse_hash(h)?)? {
                let label = AccountLabel { entity: i.name.clone(), category: "theft".into(), class: LabelClass::Risk };
                marked.insert(num, label);
            }
        }
    }
    Ok(marked)
}

/// A labelled source of an account's value, as a backward trace lists it.
#[derive(Clone, Debug, Serialize)]
pub struct EvmSourceView {
    /// Its account (for a drain: the victim).
    pub address: String,
    /// Its tag label or incident.
    pub entity: String,
    /// Its category.
    pub category: String,
    /// Its share of what the account received.
    pub share: f64,
    /// That share in base units (rounded down).
    pub amount_base: BaseUnits,
    /// Payments between it and the account.
    pub hops: u32,
    /// The transactions from it to the account.
    pub path_txids: Vec<String>,
}

/// `trace --direction backward` on an EVM account: where its value came from.
#[derive(Clone, Debug, Serialize)]
pub struct EvmBackwardReport {
    /// The account.
    pub subject: String,
    /// `ETH` or the token's address.
    pub asset: String,
    /// Always `backward`.
    pub direction: &'static str,
    /// The hop limit.
    pub max_hops: u32,
    /// What it received of the asset.
    pub received_base: BaseUnits,
    /// Labelled sources (tags and incidents), the largest share first.
    pub sources: Vec<EvmSourceView>,
    /// The share that reached no label.
    pub unattributed_share: f64,
    /// Accounts expanded.
    pub accounts_visited: usize,
}

/// Where the value of `address` came from, `max_hops` payments back (haircut shares).
///
/// # Errors
/// A malformed address or asset, an account the index does not hold, a damaged store.
pub fn trace_back(
    data_dir: &Path,
    address: &str,
    asset: Option<&str>,
    max_hops: u32,
) -> Result<EvmBackwardReport, EngineError> {
    let r = open(data_dir)?;
    let a: Address = parse_address(address)?;
    if r.account(&a)?.is_none() {
        return Err(sleuth_evm::EvmError::NotFound(format!(
            "address {a} is not in the index (never paid, never sent)"
        ))
        .into());
    }
    let (asset_id, asset_name) = resolve_asset(&r, asset)?;
    backward_report(data_dir, &r, a, (asset_id, asset_name), max_hops, &TagLabels::open(data_dir)?)
}

/// The backward walk from `a` with its sources named: what `trace --direction backward`
/// shows and screening scores.
fn backward_report(
    data_dir: &Path,
    r: &sleuth_evm::EvmReader,
    a: Address,
    (asset_id, asset_name): (sleuth_evm::model::AssetId, String),
    max_hops: u32,
    labels: &TagLabels,
) -> Result<EvmBackwardReport, EngineError> {
    let back = trace_backward(r, &a, asset_id, max_hops.max(1), labels, &drains(data_dir, r)?)?;
    let mut sources = Vec::with_capacity(back.sources.len());
    for s in back.sources {
        sources.push(EvmSourceView {
            address: s.address.to_string(),
            entity: s.label.entity,
            category: s.label.category,
            share: s.share,
            amount_base: BaseUnits(s.amount),
            hops: s.hops,
            path_txids: r.tx_hashes(&s.path)?,
        });
    }
    Ok(EvmBackwardReport {
        subject: a.to_string(),
        asset: asset_name,
        direction: "backward",
        max_hops,
        received_base: BaseUnits(back.received),
        sources,
        unattributed_share: back.unattributed,
        accounts_visited: back.visited,
    })
}

/// Screens `address` in the EVM index of `data_dir`, `hops` payments back.
pub fn screen(data_dir: &Path, address: &str, asset: Option<&str>, hops: u32) -> Result<EvmScreenReport, EngineError> {
    let started = Instant::now();
    let r = open(data_dir)?;
    let a: Address = parse_address(address)?;
    let (asset_id, asset_name) = resolve_asset(&r, asset)?;
    let labels = TagLabels::open(data_dir)?;
    let own = labels.label(&a);
    // An account the chain never touched can still be on a list (a sanctioned address
    // screened before its first deposit): its own tags are its answer.
    if r.account(&a)?.is_none() && own.is_none() {
        let m = format!("address {a} is not in the index (never paid, never sent) and has no tags");
        return Err(sleuth_evm::EvmError::NotFound(m).into());
    }
    let mut reasons = Vec::new();
    let mut by_group: BTreeMap<String, (f64, f64, bool)> = BTreeMap::new();
    // Each of its own tags in a risk group counts: a pool that is both a mixer and sanctioned
    // is screened as sanctioned.
    for l in labels.all(&a) {
        if let Some((group, w)) = risk_group(&l.category) {
            if by_group.get(group).is_some_and(|g| g.2) {
                continue;
            }
            by_group.entry(group.into()).or_default().2 = true;
            reasons.push(EvmReason {
                kind: "own",
                category: group.into(),
                entity: l.entity.clone(),
                address: a.to_string(),
                share: 1.0,
                amount_base: BaseUnits::ZERO,
                hops: 0,
                path_txids: Vec::new(),
                score: w,
            });
        }
    }
    let back = backward_report(data_dir, &r, a, (asset_id, asset_name), hops, &labels)?;
    // Per group, exact amounts beside the shares: (direct, within the hops).
    let mut amounts: BTreeMap<String, (U256, U256)> = BTreeMap::new();
    for s in &back.sources {
        let Some((group, w)) = risk_group(&s.category) else { continue };
        let e = by_group.entry(group.into()).or_default();
        let m = amounts.entry(group.into()).or_default();
        if s.hops <= 1 {
            e.0 += s.share;
            m.0 += s.amount_base.0;
        }
        e.1 += s.share;
        m.1 += s.amount_base.0;
        reasons.push(EvmReason {
            kind: if s.hops <= 1 { "received-from" } else { "indirect" },
            category: group.into(),
            entity: s.entity.clone(),
            address: s.address.clone(),
            share: s.share,
            amount_base: s.amount_base,
            hops: s.hops,
            path_txids: s.path_txids.clone(),
            score: contribution(w, s.share.min(1.0)),
        });
    }
    let score = by_group
        .iter()
        .map(|(g, &(_, share, own))| {
            let w = risk_group_weight(g);
            if own {
                w
            } else {
                contribution(w, share.min(1.0))
            }
        })
        .max()
        .unwrap_or(0);
    let exposures = |direct: bool| -> Vec<EvmExposure> {
        by_group
            .iter()
            .map(|(g, v)| {
                let m = amounts.get(g).copied().unwrap_or_default();
                let (share, amount) = if direct { (v.0, m.0) } else { (v.1, m.1) };
                EvmExposure { category: g.clone(), share, amount_base: BaseUnits(amount) }
            })
            .filter(|x| x.share > 0.0)
            .collect()
    };
    let received_from = exposures(true);
    let indirect = exposures(false);
    reasons.sort_by(|x, y| y.score.cmp(&x.score).then(y.share.total_cmp(&x.share)));
    reasons.truncate(MAX_REASONS);
    Ok(EvmScreenReport {
        subject: a.to_string(),
        asset: back.asset,
        entity: own.map(|l| l.entity),
        score,
        level: Level::of(score),
        screened_base: back.received_base,
        received_from,
        indirect,
        hops,
        reasons,
        unattributed_share: back.unattributed_share,
        accounts_visited: back.accounts_visited,
        micros: started.elapsed().as_micros() as u64,
    })
}
