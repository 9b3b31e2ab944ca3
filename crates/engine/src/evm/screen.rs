//! Screening an EVM account: its own tags, then a backward haircut trace of what it received
//! (`sleuth_evm::trace::trace_backward`), the shares that reached risk-tagged accounts or
//! came out of a drain in the incident ledger weighed by the same risk groups and score as
//! the Bitcoin side (`crate::screen`).

use std::collections::BTreeMap;
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
    // Value out of a recorded drain is theft, named by its incident.
    let mut marked = std::collections::HashMap::new();
    for i in super::evm_incidents(data_dir)? {
        for h in &i.txs {
            if let Some(num) = r.tx_num_of(&super::parse_hash(h)?)? {
                let label = AccountLabel { entity: i.name.clone(), category: "theft".into(), class: LabelClass::Risk };
                marked.insert(num, label);
            }
        }
    }
    let back = trace_backward(&r, &a, asset_id, hops.max(1), &labels, &marked)?;
    let amount_of = |share: f64| BaseUnits(U256::from((f64::from(back.received) * share.min(1.0)).floor()));
    for s in &back.sources {
        let Some((group, w)) = risk_group(&s.label.category) else { continue };
        let e = by_group.entry(group.into()).or_default();
        if s.hops <= 1 {
            e.0 += s.share;
        }
        e.1 += s.share;
        let mut path_txids = Vec::with_capacity(s.path.len());
        for num in &s.path {
            if let Some(t) = r.tx(*num)? {
                path_txids.push(t.hash.to_string());
            }
        }
        reasons.push(EvmReason {
            kind: if s.hops <= 1 { "received-from" } else { "indirect" },
            category: group.into(),
            entity: s.label.entity.clone(),
            address: s.address.to_string(),
            share: s.share,
            amount_base: amount_of(s.share),
            hops: s.hops,
            path_txids,
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
    let exposures = |pick: fn(&(f64, f64, bool)) -> f64| -> Vec<EvmExposure> {
        by_group
            .iter()
            .filter(|(_, v)| pick(v) > 0.0)
            .map(|(g, v)| EvmExposure { category: g.clone(), share: pick(v), amount_base: amount_of(pick(v)) })
            .collect()
    };
    let received_from = exposures(|v| v.0);
    let indirect = exposures(|v| v.1);
    reasons.sort_by(|x, y| y.score.cmp(&x.score).then(y.share.total_cmp(&x.share)));
    reasons.truncate(MAX_REASONS);
    Ok(EvmScreenReport {
        subject: a.to_string(),
        asset: asset_name,
        entity: own.map(|l| l.entity),
        score,
        level: Level::of(score),
        screened_base: BaseUnits(back.received),
        received_from,
        indirect,
        hops,
        reasons,
        unattributed_share: back.unattributed,
        accounts_visited: back.visited,
        micros: started.elapsed().as_micros() as u64,
    })
}
