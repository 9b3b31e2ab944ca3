//! Screening: how exposed an address or an incoming output is to crime, as a 0–100 score with
//! the reasons behind it. Direct exposure is what its cluster received from and sent to
//! tagged risk clusters; indirect exposure is a backward haircut trace within a few hops,
//! as shares of value by category. The rules are in `docs/tracing.md`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sleuth_analysis::cluster::ClusterId;
use sleuth_analysis::trace::{Attribution, Class, Direction, Policy, StopReason, TraceOptions};
use sleuth_chain::Sat;
use sleuth_index::{AddrId, OutputNum, View};

use crate::exposure::{Flow, Flows, RiskFlows};
use crate::trace::Subject;
use crate::{EngineError, EngineSnapshot};

/// Risk groups: (group, severity weight, the tag categories or abuses it gathers).
const RISK_GROUPS: &[(&str, u32, &[&str])] = &[
    ("sanctioned", 100, &["sanction", "sanctioned"]),
    ("terrorism", 100, &["terrorism", "terrorism_financing", "extremism"]),
    ("child_abuse", 100, &["child_sexual_abuse", "sexual_abuse", "human_trafficking"]),
    ("theft", 90, &["theft", "service_hack", "account_hack", "hacking", "exploit", "data_breach"]),
    ("ransomware", 90, &["ransomware", "malware"]),
    ("darknet", 80, &["dark_web", "market", "darknet", "drugs", "weapons", "counterfeit"]),
    (
        "scam",
        70,
        &["scam", "phishing", "investment_fraud", "ponzi_scheme", "pyramid_scheme", "extortion", "sextortion"],
    ),
    ("mixer", 60, &["mixing_service", "coinjoin", "mixer"]),
    ("fraud", 60, &["payment_card_fraud", "financial_crime", "money_laundering"]),
    ("gambling", 25, &["gambling"]),
];

/// The risk group of a tag category or abuse, with its weight.
pub fn risk_group(category: &str) -> Option<(&'static str, u32)> {
    RISK_GROUPS.iter().find(|(_, _, cats)| cats.contains(&category)).map(|(g, w, _)| (*g, *w))
}

/// A screening's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// No exposure found.
    None,
    /// Score 1–29.
    Low,
    /// 30–59.
    Medium,
    /// 60–79.
    High,
    /// 80–100.
    Severe,
}

impl Level {
    pub(crate) fn of(score: u32) -> Level {
        match score {
            0 => Level::None,
            1..=29 => Level::Low,
            30..=59 => Level::Medium,
            60..=79 => Level::High,
            _ => Level::Severe,
        }
    }
}

/// Exposure to one risk group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    /// The risk group (`sanctioned`, `theft`, …).
    pub category: String,
    /// Value involved.
    pub amount_sat: Sat,
    /// As a share of the value screened (0–1).
    pub share: f64,
}

/// Why the score is what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// `own` (the subject's cluster is tagged), `received-from`, `sent-to` (direct
    /// counterparties) or `indirect` (within the backward trace).
    pub kind: String,
    /// The risk group.
    pub category: String,
    /// The tagged entity.
    pub entity: String,
    /// An address of it on the path.
    pub address: Option<String>,
    /// Value involved.
    pub amount_sat: Sat,
    /// As a share of the value screened.
    pub share: f64,
    /// Hops from the subject.
    pub hops: u32,
    /// The transactions that link them.
    pub path_txids: Vec<String>,
    /// What this reason adds to the score.
    pub score: u32,
}

/// The answer of a screening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenReport {
    /// What was screened, as given.
    pub subject: String,
    /// Its cluster.
    pub cluster_id: Option<ClusterId>,
    /// The label of its own cluster, if tagged.
    pub entity: Option<String>,
    /// 0–100.
    pub score: u32,
    /// The verdict.
    pub level: Level,
    /// Value screened (the coins traced back).
    pub screened_sat: Sat,
    /// Direct exposure: received from risk clusters.
    pub received_from: Vec<Exposure>,
    /// Direct exposure: sent to risk clusters.
    pub sent_to: Vec<Exposure>,
    /// Indirect exposure within `hops`, haircut.
    pub indirect: Vec<Exposure>,
    /// Hops of the indirect trace.
    pub hops: u32,
    /// The reasons, strongest first.
    pub reasons: Vec<Reason>,
    /// Whether the indirect trace reached [`MAX_INDIRECT_VISITS`]: its shares are then of
    /// the value it could follow that far, and the rest counts as limited.
    pub indirect_limited: bool,
    /// Microseconds spent.
    pub micros: u64,
}

/// Tagged sources of the indirect trace listed as reasons, at most (the largest); the
/// indirect shares and the score count every source reached.
pub const MAX_INDIRECT_REASONS: usize = 25;

/// Coins of an address traced back for indirect exposure, at most (the newest).
const MAX_TRACED_COINS: usize = 100;
/// Transactions the indirect trace visits at most: enough for a user's coins within a few
/// hops, and a bound on a screening whose subject's own cluster is an
/// exchange, whose internal moves are no hops (`indirect_limited` says when it was reached).
pub const MAX_INDIRECT_VISITS: u64 = 10_000;

/// A share's contribution to the score: the full weight at half of the value or more.
pub(crate) fn contribution(weight: u32, share: f64) -> u32 {
    if share <= 0.0 {
        return 0;
    }
    ((weight as f64 * (2.0 * share).min(1.0)).ceil() as u32).clamp(1, weight)
}

impl EngineSnapshot {
    /// The risk-side flows of the big clusters, made on first use.
    fn risk_flows(&self, view: &View<'_>, attribution: &Attribution, upto: u64) -> Arc<RiskFlows> {
        self.risk_flows.get_or_init(|| Arc::new(RiskFlows::compute(view, attribution, upto))).clone()
    }

    /// Builds now what the first trace or screening would otherwise build: the attribution
    /// (seconds with millions of tags) and the direct exposure of the big clusters. A server
    /// warms a snapshot before it answers from it.
    ///
    /// # Errors
    /// As [`EngineSnapshot::attribution`].
    pub fn warm(&self) -> Result<(), EngineError> {
        let attribution = self.attribution()?;
        if let Some(cl) = self.clustering() {
            let view = self.index.view();
            self.risk_flows(&view, &attribution, cl.meta().upto_tx);
        }
        Ok(())
    }

    /// Screens an address or an output: direct and indirect exposure, score and reasons.
    ///
    /// # Errors
    /// As [`EngineSnapshot::coins_of`].
    pub fn screen(&self, subject: &Subject, hops: u32) -> Result<ScreenReport, EngineError> {
        let started = Instant::now();
        let view = self.index.view();
        let attribution = self.attribution()?;
        let mut coins = self.coins_of(&view, subject)?;
        let owner_addr: Option<AddrId> = coins.first().and_then(|&o| view.output(o).addr);
        let cluster_id = owner_addr.and_then(|a| attribution.cluster_of(a));
        let own = owner_addr.and_then(|a| attribution.label_of(a)).cloned();
        let mut reasons = Vec::new();
        if let Some(l) = own.as_ref().filter(|l| l.class == Class::Risk) {
            if let Some((group, w)) = risk_group(&l.category) {
                reasons.push(Reason {
                    kind: "own".into(),
                    category: group.into(),
                    entity: l.entity.clone(),
                    address: owner_addr.map(|a| view.address_of(a)),
                    amount_sat: Sat::ZERO,
                    share: 1.0,
                    hops: 0,
                    path_txids: Vec::new(),
                    score: w,
                });
            }
        }

        // Direct: the cluster's (or, for an output, the coin's) counterparties; per cluster,
        // computed once per snapshot.
        let key = matches!(subject, Subject::Address(_) | Subject::Cluster(_)).then_some(cluster_id).flatten();
        let cached = key.and_then(|c| self.direct_cache.lock().unwrap_or_else(|e| e.into_inner()).get(&c).cloned());
        let direct = match cached {
            Some(d) => d,
            None => {
                let (flows, received) =
                    direct_flows(self, &view, &attribution, subject, &coins, cluster_id, owner_addr);
                let d = Arc::new(direct_exposure(&view, &flows, received));
                if let Some(c) = key {
                    self.direct_cache.lock().unwrap_or_else(|e| e.into_inner()).insert(c, d.clone());
                }
                d
            }
        };
        let Direct { received_from, sent_to, .. } = (*direct).clone();
        reasons.extend(direct.reasons.iter().cloned());

        // Indirect: a backward haircut trace of the coins received, within `hops`.
        if coins.len() > MAX_TRACED_COINS {
            coins.drain(..coins.len() - MAX_TRACED_COINS);
        }
        let opts = TraceOptions {
            direction: Direction::Backward,
            policies: vec![Policy::Haircut],
            max_hops: hops,
            min_sat: 1,
            until_height: None,
            clusters: true,
            max_endpoints: MAX_INDIRECT_REASONS,
            list_only: Some(vec![StopReason::TaggedSource]),
            max_visits: Some(MAX_INDIRECT_VISITS),
        };
        let report = sleuth_analysis::trace::trace(&view, &coins, &attribution, &opts);
        let traced = report.source_sat.get();
        // Per group, over every tagged source reached (the summary covers them all); the
        // reasons name the largest.
        let mut indirect: BTreeMap<&str, u64> = BTreeMap::new();
        for c in &report.by_category {
            if let Some((g, _)) = risk_group(&c.category) {
                *indirect.entry(g).or_default() += c.amount_sat.get(Policy::Haircut).map_or(0, Sat::get);
            }
        }
        for e in report.endpoints.iter().filter(|e| e.stop_reason == StopReason::TaggedSource) {
            let Some((g, w)) = e.category.as_deref().and_then(risk_group) else { continue };
            let x = e.amount_sat.get(Policy::Haircut).map_or(0, Sat::get);
            let share = share_of(x, traced);
            reasons.push(Reason {
                kind: "indirect".into(),
                category: g.into(),
                entity: e.entity.clone().unwrap_or_default(),
                address: e.address.clone(),
                amount_sat: Sat::new(x),
                share,
                hops: e.hops,
                path_txids: e.path_txids.clone(),
                score: contribution(w, share),
            });
        }
        let indirect: Vec<Exposure> = indirect
            .into_iter()
            .map(|(g, x)| Exposure { category: g.into(), amount_sat: Sat::new(x), share: share_of(x, traced) })
            .collect();
        // Per group, the shares received directly and indirectly add up before they are
        // weighed (the indirect share is over every source reached, listed as a reason or
        // not: the reasons name the largest, at most MAX_INDIRECT_REASONS).
        let mut by_group: BTreeMap<String, (u32, f64, bool)> = BTreeMap::new();
        for r in &reasons {
            let w = risk_group_weight(&r.category);
            let e = by_group.entry(r.category.clone()).or_insert((w, 0.0, false));
            if r.kind == "own" {
                e.2 = true;
            } else if r.kind == "received-from" {
                e.1 += r.share;
            }
        }
        for x in &indirect {
            let w = risk_group_weight(&x.category);
            by_group.entry(x.category.clone()).or_insert((w, 0.0, false)).1 += x.share;
        }
        let score = by_group
            .values()
            .map(|&(w, share, own)| if own { w } else { contribution(w, share.min(1.0)) })
            .chain(reasons.iter().filter(|r| r.kind == "sent-to").map(|r| r.score))
            .max()
            .unwrap_or(0);
        reasons.sort_by(|a, b| b.score.cmp(&a.score).then(b.amount_sat.cmp(&a.amount_sat)));
        Ok(ScreenReport {
            subject: match subject {
                Subject::Tx(t, Some(v)) => format!("{t}:{v}"),
                Subject::Tx(t, None) => t.to_string(),
                Subject::Address(a) => a.clone(),
                Subject::Cluster(c) => format!("cluster:{c}"),
                Subject::Incident(n) => format!("incident:{n}"),
            },
            cluster_id,
            entity: own.map(|l| l.entity),
            score,
            level: Level::of(score),
            screened_sat: Sat::new(traced),
            received_from,
            sent_to,
            indirect,
            hops,
            reasons,
            indirect_limited: report.transactions_visited >= MAX_INDIRECT_VISITS,
            micros: started.elapsed().as_micros() as u64,
        })
    }
}

/// `x` as a share of `total` (0 when there is nothing).
fn share_of(x: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        x as f64 / total as f64
    }
}

pub(crate) fn risk_group_weight(group: &str) -> u32 {
    RISK_GROUPS.iter().find(|(g, _, _)| *g == group).map_or(0, |(_, w, _)| *w)
}

fn direct_reason(
    kind: &str,
    group: &str,
    entity: &str,
    view: &View<'_>,
    a: Option<AddrId>,
    t: sleuth_index::TxNum,
) -> Reason {
    Reason {
        kind: kind.into(),
        category: group.into(),
        entity: entity.into(),
        address: a.map(|a| view.address_of(a)),
        amount_sat: Sat::ZERO,
        share: 0.0,
        hops: 1,
        path_txids: vec![view.txid(t).to_string()],
        score: 0,
    }
}

/// Direct exposure of a cluster (or of coins, for an output): what it received from and sent
/// to risk clusters.
#[derive(Debug, Clone)]
pub(crate) struct Direct {
    received_from: Vec<Exposure>,
    sent_to: Vec<Exposure>,
    reasons: Vec<Reason>,
}

/// The flows of the subject's owner ([`crate::exposure`]), and the value it was paid: from
/// the risk side for a big cluster, from its own coins otherwise.
fn direct_flows(
    snap: &EngineSnapshot,
    view: &View<'_>,
    attribution: &Attribution,
    subject: &Subject,
    coins: &[OutputNum],
    cluster_id: Option<ClusterId>,
    owner_addr: Option<AddrId>,
) -> (Flows, u64) {
    let same = |a: Option<AddrId>| match (a, cluster_id) {
        (Some(a), Some(c)) => attribution.cluster_of(a) == Some(c),
        (Some(a), None) => Some(a) == owner_addr,
        _ => false,
    };
    match (subject, cluster_id, snap.clustering()) {
        (Subject::Tx(..) | Subject::Incident(_), _, _) | (_, None, _) | (_, _, None) => {
            crate::exposure::from_owner(view, attribution, coins, same, view.tx_count())
        }
        (_, Some(c), Some(cl)) => {
            let upto = cl.meta().upto_tx;
            if let Some(big) = cl.big(c) {
                let flows = snap.risk_flows(view, attribution, upto);
                return (flows.of(c), big.received_sat);
            }
            let mut all = Vec::new();
            for m in cl.members(c) {
                all.extend(view.address_outputs(m));
            }
            crate::exposure::from_owner(view, attribution, &all, same, upto)
        }
    }
}

/// The exposures, shares and reasons of `flows`, for an owner that was paid `received_total`.
fn direct_exposure(view: &View<'_>, flows: &Flows, received_total: u64) -> Direct {
    let exposures = |m: &BTreeMap<&str, Flow>, total: u64| -> Vec<Exposure> {
        m.iter()
            .map(|(g, f)| Exposure {
                category: (*g).into(),
                amount_sat: Sat::new(f.amount),
                share: share_of(f.amount, total),
            })
            .collect()
    };
    let received_from = exposures(&flows.received, received_total);
    let sent_total: u64 = flows.sent.values().map(|f| f.amount).sum::<u64>().max(received_total);
    let sent_to = exposures(&flows.sent, sent_total);
    let mut reasons = Vec::new();
    for (kind, map, total) in [("received-from", &flows.received, received_total), ("sent-to", &flows.sent, sent_total)]
    {
        for (g, f) in map {
            let mut r = direct_reason(kind, g, &f.entity, view, f.addr, f.first_tx);
            r.amount_sat = Sat::new(f.amount);
            r.share = share_of(f.amount, total);
            r.score = contribution(f.weight, r.share);
            reasons.push(r);
        }
    }
    Direct { received_from, sent_to, reasons }
}
