//! Evidence reports: for one incident, an actor's incidents or all of them, the stolen amount,
//! where it went under every policy side by side with a conservation ledger, the services
//! reached with USD values, proceeds as a range across policies, and the inputs they were
//! computed from, so that [`verify`] can recompute every figure later.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bitcoin::hashes::{sha256, Hash};
use serde::{Deserialize, Serialize};
use sleuth_analysis::trace::{Direction, Policy, StopReason, TraceOptions};
use sleuth_chain::Sat;
use sleuth_index::Height;

use crate::incidents::{Day, Incident};
use crate::prices::{dollars, PriceTable};
use crate::trace::Subject;
use crate::{Engine, EngineError, EngineSnapshot};

/// Which incidents a report covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One incident, by name or number.
    Incident(String),
    /// Every incident of an actor.
    Actor(String),
    /// Every incident.
    All,
}

/// How a report is computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportParams {
    /// The incidents.
    pub scope: Scope,
    /// The price table, if USD values are wanted.
    pub prices: Option<PathBuf>,
    /// Trace limit: transfers between clusters.
    pub max_hops: u32,
    /// Trace limit: taint followed per coin and policy.
    pub min_sat: u64,
}

/// An incident as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    /// Name.
    pub name: String,
    /// Victim.
    pub victim: String,
    /// Actor.
    pub actor: Option<String>,
    /// Day.
    pub date: Day,
    /// The theft's transactions.
    pub txids: Vec<String>,
    /// Value of the stolen outputs.
    pub stolen_sat: Sat,
    /// In USD at the day's close.
    pub stolen_usd: Option<f64>,
}

/// Where the stolen value is, under one policy: adds up to the stolen amount (poison: to
/// what it reached).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// At services that can freeze it.
    pub to_services_sat: Sat,
    /// Still unspent at thief-controlled (or other) clusters: seizable.
    pub unspent_sat: Sat,
    /// Entered mixers.
    pub mixers_sat: Sat,
    /// Paid as fees.
    pub fees_sat: Sat,
    /// Beyond the trace limits.
    pub limited_sat: Sat,
}

/// A service the stolen value reached, under one policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceFlow {
    /// The entity.
    pub entity: String,
    /// Its category.
    pub category: String,
    /// Value that reached it.
    pub amount_sat: Sat,
    /// In USD at the close of each arrival's day.
    pub usd: Option<f64>,
    /// First arrival.
    pub first_height: u32,
    /// Fewest hops.
    pub hops: u32,
    /// The path of its largest arrival.
    pub path_txids: Vec<String>,
}

/// One policy's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyResult {
    /// Everything traced (the stolen amount, except for poison).
    pub traced_sat: Sat,
    /// Whether the policy conserves value (all but poison).
    pub conserves: bool,
    /// Where it is.
    pub ledger: Ledger,
    /// Services reached, the largest first (at most 50; the rest summed in `other_services`).
    pub services: Vec<ServiceFlow>,
    /// Services below the 50 listed, summed.
    pub other_services: Option<ServiceFlow>,
    /// What reached services, in USD on arrival.
    pub to_services_usd: Option<f64>,
}

/// A USD figure and the policy that gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyUsd {
    /// USD.
    pub usd: f64,
    /// The policy.
    pub policy: Policy,
}

/// Proceeds (value that reached services, in USD on arrival) as a range across the
/// policies that conserve value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proceeds {
    /// The lowest.
    pub low: PolicyUsd,
    /// The highest.
    pub high: PolicyUsd,
}

/// A tag source the report depended on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagInput {
    /// The source (an import id).
    pub source: String,
    /// Its store file.
    pub file: String,
    /// SHA-256 of the store file.
    pub sha256: String,
}

/// What a report was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// Sleuth's version.
    pub sleuth_version: String,
    /// The chain.
    pub chain: String,
    /// The index tip the figures hold at.
    pub tip_height: u32,
    /// Its hash.
    pub tip_hash: String,
    /// The clustering's heuristics and coverage (none without one).
    pub clustering: Option<ClusteringInput>,
    /// Tag sources.
    pub tags: Vec<TagInput>,
    /// The incidents as recorded.
    pub incidents: Vec<Incident>,
    /// How it was computed.
    pub params: ReportParams,
    /// SHA-256 of the price table.
    pub prices_sha256: Option<String>,
}

/// The clustering a report used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusteringInput {
    /// Heuristics.
    pub heuristics: Vec<String>,
    /// Transactions covered.
    pub upto_tx: u64,
    /// Its last transaction.
    pub last_txid: Option<String>,
}

/// An evidence report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The incidents covered.
    pub incidents: Vec<IncidentSummary>,
    /// Stolen in all.
    pub stolen_sat: Sat,
    /// In USD on the incidents' days.
    pub stolen_usd: Option<f64>,
    /// The policies, in order.
    pub policies: Vec<Policy>,
    /// Per policy.
    pub by_policy: BTreeMap<Policy, PolicyResult>,
    /// Proceeds across the policies that conserve value.
    pub proceeds_usd: Option<Proceeds>,
    /// CoinJoins the stolen value crossed.
    pub coinjoins_crossed: u64,
    /// What it was computed from.
    pub inputs: Inputs,
}

/// Services listed per policy at most.
const LISTED_SERVICES: usize = 50;

impl EngineSnapshot {
    /// The incidents a scope names.
    ///
    /// # Errors
    /// [`EngineError::Incident`] if none matches.
    pub fn incidents_of(&self, scope: &Scope) -> Result<Vec<Incident>, EngineError> {
        let all = self.incidents.incidents();
        let found: Vec<Incident> = match scope {
            Scope::All => all.to_vec(),
            Scope::Incident(n) => self.incidents.find(n).cloned().into_iter().collect(),
            Scope::Actor(a) => {
                all.iter().filter(|i| i.actor.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(a))).cloned().collect()
            }
        };
        if found.is_empty() {
            return Err(EngineError::Incident(match scope {
                Scope::All => "the incident ledger is empty; add incidents first".into(),
                Scope::Incident(n) => format!("no incident named or numbered {n:?}"),
                Scope::Actor(a) => format!("no incident of actor {a:?}"),
            }));
        }
        Ok(found)
    }

    /// The report for `params`, at this snapshot's tip.
    ///
    /// # Errors
    /// Incident, price-table and index errors.
    pub fn report(&self, params: &ReportParams) -> Result<Report, EngineError> {
        let tip = self
            .index
            .counts()
            .blocks
            .checked_sub(1)
            .ok_or_else(|| EngineError::Incident("the index is empty".into()))?;
        self.report_at(params, tip as u32)
    }

    /// The report for `params` with spends above `tip_height` not followed.
    pub(crate) fn report_at(&self, params: &ReportParams, tip_height: u32) -> Result<Report, EngineError> {
        let incidents = self.incidents_of(&params.scope)?;
        let prices = params.prices.as_deref().map(PriceTable::load).transpose()?;
        let view = self.index.view();
        let mut summaries = Vec::new();
        let mut subjects = Vec::new();
        let mut stolen_usd_cents = Some(0u64);
        for i in &incidents {
            let mut txids: Vec<String> = i.outputs.iter().map(|o| o.txid.to_string()).collect();
            txids.dedup();
            let subj: Vec<Subject> = i.outputs.iter().map(|o| Subject::Tx(o.txid, o.vout)).collect();
            let mut coins = Vec::new();
            for s in &subj {
                coins.extend(self.coins_of(&view, s)?);
            }
            let stolen = Sat::new(coins.iter().map(|&o| view.output(o).value).sum());
            let usd = prices.as_ref().map(|p| p.usd_cents(stolen, &i.date)).transpose()?;
            stolen_usd_cents = stolen_usd_cents.zip(usd).map(|(a, b)| a + b);
            summaries.push(IncidentSummary {
                name: i.name.clone(),
                victim: i.victim.clone(),
                actor: i.actor.clone(),
                date: i.date.clone(),
                txids,
                stolen_sat: stolen,
                stolen_usd: usd.map(dollars),
            });
            subjects.extend(subj);
        }
        let opts = TraceOptions {
            direction: Direction::Forward,
            policies: Policy::ALL.to_vec(),
            max_hops: params.max_hops,
            min_sat: params.min_sat,
            until_height: Some(tip_height),
            clusters: true,
            max_endpoints: usize::MAX,
            list_only: Some(vec![StopReason::Service]),
            max_visits: None,
        };
        let trace = self.trace(&subjects, &opts, None)?;
        let stolen_sat = trace.source_sat;
        let mut by_policy = BTreeMap::new();
        for &p in &opts.policies {
            let rec = trace.reconciliation.get(p).unwrap_or_default();
            let mut per: BTreeMap<(String, String), ServiceFlow> = BTreeMap::new();
            let mut usd_per: BTreeMap<(String, String), u64> = BTreeMap::new();
            for e in &trace.endpoints {
                let amount = e.amount_sat.get(p).unwrap_or_default();
                if amount == Sat::ZERO {
                    continue;
                }
                let key = (e.entity.clone().unwrap_or_default(), e.category.clone().unwrap_or_default());
                if let Some(pt) = &prices {
                    let day = Day::of_unix(e.time as u64);
                    *usd_per.entry(key.clone()).or_default() += pt.usd_cents(amount, &day)?;
                }
                let f = per.entry(key.clone()).or_insert(ServiceFlow {
                    entity: key.0.clone(),
                    category: key.1.clone(),
                    amount_sat: Sat::ZERO,
                    usd: None,
                    first_height: e.height,
                    hops: e.hops,
                    path_txids: e.path_txids.clone(),
                });
                // The path shown is the first arrival's.
                if e.height < f.first_height {
                    f.path_txids = e.path_txids.clone();
                }
                f.amount_sat = f.amount_sat.checked_add(amount).expect("below the stolen amount");
                f.first_height = f.first_height.min(e.height);
                f.hops = f.hops.min(e.hops);
            }
            for (k, f) in per.iter_mut() {
                f.usd = usd_per.get(k).map(|&c| dollars(c));
            }
            let mut services: Vec<ServiceFlow> = per.into_values().collect();
            services.sort_by(|a, b| b.amount_sat.cmp(&a.amount_sat).then(a.entity.cmp(&b.entity)));
            let other_services = (services.len() > LISTED_SERVICES).then(|| {
                let rest = services.split_off(LISTED_SERVICES);
                ServiceFlow {
                    entity: format!("{} other services", rest.len()),
                    category: "aggregated".into(),
                    amount_sat: Sat::new(rest.iter().map(|f| f.amount_sat.get()).sum()),
                    usd: prices.as_ref().map(|_| rest.iter().filter_map(|f| f.usd).sum()),
                    first_height: rest.iter().map(|f| f.first_height).min().unwrap_or(0),
                    hops: rest.iter().map(|f| f.hops).min().unwrap_or(0),
                    path_txids: Vec::new(),
                }
            });
            let to_services_usd = prices
                .as_ref()
                .map(|_| services.iter().chain(other_services.iter()).filter_map(|f| f.usd).sum::<f64>());
            by_policy.insert(
                p,
                PolicyResult {
                    traced_sat: rec.traced_sat,
                    conserves: p != Policy::Poison,
                    ledger: Ledger {
                        to_services_sat: rec.to_services_sat,
                        unspent_sat: rec.unspent_sat,
                        mixers_sat: rec.mixers_sat,
                        fees_sat: rec.fees_sat,
                        limited_sat: rec.limited_sat,
                    },
                    services,
                    other_services,
                    to_services_usd,
                },
            );
        }
        let proceeds_usd = prices.as_ref().map(|_| {
            let conserving: Vec<(Policy, f64)> = by_policy
                .iter()
                .filter(|(_, r)| r.conserves)
                .map(|(p, r)| (*p, (r.to_services_usd.unwrap_or(0.0) * 100.0).round() / 100.0))
                .collect();
            let low = conserving.iter().min_by(|a, b| a.1.total_cmp(&b.1)).expect("four policies conserve");
            let high = conserving.iter().max_by(|a, b| a.1.total_cmp(&b.1)).expect("four policies conserve");
            Proceeds { low: PolicyUsd { usd: low.1, policy: low.0 }, high: PolicyUsd { usd: high.1, policy: high.0 } }
        });
        let inputs = Inputs {
            sleuth_version: env!("CARGO_PKG_VERSION").into(),
            chain: view.chain().to_string(),
            tip_height,
            tip_hash: view.block_hash(Height::new(tip_height)).to_string(),
            clustering: self.clustering().map(|c| ClusteringInput {
                heuristics: c.meta().heuristics.clone(),
                upto_tx: c.meta().upto_tx,
                last_txid: c.meta().last_txid.clone(),
            }),
            tags: self.tag_inputs(),
            incidents: incidents.clone(),
            params: params.clone(),
            prices_sha256: prices.as_ref().map(|p| p.sha256().to_owned()),
        };
        Ok(Report {
            incidents: summaries,
            stolen_sat,
            stolen_usd: stolen_usd_cents.filter(|_| prices.is_some()).map(dollars),
            policies: opts.policies.clone(),
            by_policy,
            proceeds_usd,
            coinjoins_crossed: trace.coinjoins_crossed,
            inputs,
        })
    }

    /// The tag store's files with their hashes.
    fn tag_inputs(&self) -> Vec<TagInput> {
        let dir = self.tags.dir();
        let mut out: Vec<TagInput> = self
            .tags
            .source_files()
            .map(|(source, file)| {
                let sha = std::fs::read(dir.join(file)).map(|b| sha256::Hash::hash(&b).to_string()).unwrap_or_default();
                TagInput { source: source.to_owned(), file: file.to_owned(), sha256: sha }
            })
            .collect();
        out.sort_by(|a, b| a.source.cmp(&b.source));
        out
    }
}

/// One figure that no longer matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// Where in the report (`by_policy.haircut.ledger.to_services_sat`, …).
    pub field: String,
    /// In the report.
    pub was: serde_json::Value,
    /// Recomputed now.
    pub now: serde_json::Value,
}

/// The result of re-verifying a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Every figure matches.
    pub matches: bool,
    /// Figures compared.
    pub figures: u64,
    /// Those that differ.
    pub differences: Vec<Difference>,
    /// Inputs that changed since, which explain the differences.
    pub changed_inputs: Vec<String>,
}

/// Recomputes `report` from the data dir of `engine` with the same parameters and at the
/// same tip height, and compares every figure.
///
/// # Errors
/// As [`EngineSnapshot::report`].
pub fn verify(engine: &Engine, report: &Report) -> Result<Verification, EngineError> {
    let snap = engine.snapshot()?;
    let was = &report.inputs;
    let mut changed = Vec::new();
    let view = snap.index().view();
    if view.chain().to_string() != was.chain {
        changed.push(format!("chain: the index holds {}, the report {}", view.chain(), was.chain));
    }
    let counts = view.counts();
    if (was.tip_height as u64) >= counts.blocks {
        changed.push(format!("chain: the index ends below height {}", was.tip_height));
    } else {
        let now = view.block_hash(Height::new(was.tip_height)).to_string();
        if now != was.tip_hash {
            changed.push(format!(
                "chain: block {} is now {now}, the report used {} (a reorg)",
                was.tip_height, was.tip_hash
            ));
        }
    }
    drop(view);
    let tags_now = snap.tag_inputs();
    for t in &was.tags {
        match tags_now.iter().find(|n| n.source == t.source) {
            None => changed.push(format!("tags: source {} was removed", t.source)),
            Some(n) if n.sha256 != t.sha256 => {
                changed.push(format!("tags: source {} was imported again with other contents", t.source))
            }
            _ => {}
        }
    }
    for n in tags_now.iter().filter(|n| !was.tags.iter().any(|t| t.source == n.source)) {
        changed.push(format!("tags: source {} is new", n.source));
    }
    let cl_now = snap.clustering().map(|c| (c.meta().heuristics.clone(), c.meta().upto_tx));
    if cl_now != was.clustering.as_ref().map(|c| (c.heuristics.clone(), c.upto_tx)) {
        changed.push("clustering: built again with other heuristics or on more transactions".into());
    }
    let incidents_now = snap.incidents_of(&was.params.scope).unwrap_or_default();
    if incidents_now != was.incidents {
        changed.push("incidents: the ledger entries of this report changed".into());
    }
    let (now, prices_now) = match snap.report_at(&was.params, was.tip_height) {
        Ok(r) => {
            let sha = r.inputs.prices_sha256.clone();
            (Some(r), sha)
        }
        Err(e) => {
            changed.push(format!("recomputing failed: {e}"));
            (None, None)
        }
    };
    if now.is_some() && prices_now != was.prices_sha256 {
        changed.push("prices: the price table changed".into());
    }
    let mut differences = Vec::new();
    let mut figures = 0;
    if let Some(now) = &now {
        let a = figures_of(report);
        let b = figures_of(now);
        compare("", &a, &b, &mut differences, &mut figures);
    }
    Ok(Verification { matches: now.is_some() && differences.is_empty(), figures, differences, changed_inputs: changed })
}

/// The figures of a report: everything but the provenance record.
fn figures_of(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).expect("reports serialize");
    if let Some(o) = v.as_object_mut() {
        o.remove("inputs");
    }
    v
}

pub(crate) fn compare(at: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<Difference>, n: &mut u64) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                compare(&path, va, y.get(k).unwrap_or(&Value::Null), out, n);
            }
            for (k, vb) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                out.push(Difference { field: format!("{at}.{k}"), was: Value::Null, now: vb.clone() });
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                compare(&format!("{at}[{i}]"), va, vb, out, n);
            }
        }
        _ => {
            *n += 1;
            if a != b {
                out.push(Difference { field: at.to_owned(), was: a.clone(), now: b.clone() });
            }
        }
    }
}
