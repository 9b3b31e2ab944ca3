//! Direct exposure: what an owner (a cluster, or an address or coin when no clustering covers
//! it) received from and sent to owners tagged with a risk, over every one of its coins.
//!
//! The definition, from the owner's side (`docs/tracing.md`, "Screening"):
//! - *received from*: each coin it was paid counts in full for the risk group of the first
//!   input (in input order) of the paying transaction that spent a coin of a risk-tagged owner
//!   other than itself;
//! - *sent to*: each transaction that spent one of its coins counts, once, every output it
//!   paid to a risk-tagged owner other than itself.
//!
//! Computed from the owner's side, that reads every coin of the owner: cheap for a user's
//! cluster, seconds for an exchange's with millions of coins. So for the clusters the
//! clustering lists as big ([`sleuth_analysis::cluster::BIG_COINS`] coins or more) the same
//! sums are made from the other side once per snapshot ([`RiskFlows`]): every transaction
//! that paid or spent a coin of a risk-tagged owner, credited to the owners on its other side.
//! Both read only transactions the clustering covers, so they agree exactly (a test checks
//! every cluster of a simulated chain both ways), and the big clusters' totals come with the
//! clustering.

use std::collections::{BTreeMap, HashMap};

use sleuth_analysis::cluster::ClusterId;
use sleuth_analysis::trace::{Attribution, Label};
use sleuth_index::{AddrId, InputNum, OutputNum, TxNum, View};

use crate::screen::risk_group;

/// Value one owner exchanged with one risk group, and the earliest transaction that showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flow {
    /// Value in base units.
    pub amount: u64,
    /// The risk group's weight.
    pub weight: u32,
    /// The earliest transaction.
    pub first_tx: TxNum,
    /// The risk-tagged address in it (the input, or the output paid).
    pub addr: Option<AddrId>,
    /// Its entity.
    pub entity: String,
}

/// Flows per risk group, both ways.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Flows {
    pub received: BTreeMap<&'static str, Flow>,
    pub sent: BTreeMap<&'static str, Flow>,
}

/// Adds `amount` seen in `tx` at `addr` (labelled `label`, of `group`) to `map`.
fn add(
    map: &mut BTreeMap<&'static str, Flow>,
    (group, weight): (&'static str, u32),
    label: &Label,
    amount: u64,
    tx: TxNum,
    addr: Option<AddrId>,
) {
    let f = map.entry(group).or_insert_with(|| Flow {
        amount: 0,
        weight,
        first_tx: tx,
        addr,
        entity: label.entity.clone(),
    });
    f.amount = f.amount.saturating_add(amount);
    if tx < f.first_tx {
        f.first_tx = tx;
        f.addr = addr;
        f.entity = label.entity.clone();
    }
}

/// The risk group of `a`'s label, if it has one.
fn risky(attribution: &Attribution, a: Option<AddrId>) -> Option<((&'static str, u32), &Label)> {
    let l = attribution.label_of(a?)?;
    Some((risk_group(&l.category)?, l))
}

/// The exposure of the owner of `coins` (every coin it was paid in transactions below
/// `upto`), read from its side; `is_own` tells its addresses. Returns the flows and the value
/// of those coins.
pub(crate) fn from_owner(
    view: &View<'_>,
    attribution: &Attribution,
    coins: &[OutputNum],
    is_own: impl Fn(Option<AddrId>) -> bool,
    upto: u64,
) -> (Flows, u64) {
    let mut flows = Flows::default();
    let mut total = 0u64;
    let mut spenders = Vec::new();
    for &o in coins {
        let t = view.tx_of_output(o);
        if t.pos() >= upto {
            continue;
        }
        let value = view.output(o).value;
        total = total.saturating_add(value);
        for i in view.tx_input_range(t) {
            let Some(prev) = view.spent_output(InputNum::new(i)) else { continue };
            let a = view.output(prev).addr;
            if is_own(a) {
                continue;
            }
            if let Some((g, l)) = risky(attribution, a) {
                add(&mut flows.received, g, l, value, t, a);
                break;
            }
        }
        if let Some(s) = view.spender(o) {
            let st = view.tx_of_input(s);
            if st.pos() < upto {
                spenders.push(st);
            }
        }
    }
    spenders.sort_unstable();
    spenders.dedup();
    for st in spenders {
        for out in view.tx_output_range(st) {
            let ov = view.output(OutputNum::new(out));
            if is_own(ov.addr) {
                continue;
            }
            if let Some((g, l)) = risky(attribution, ov.addr) {
                add(&mut flows.sent, g, l, ov.value, st, ov.addr);
            }
        }
    }
    (flows, total)
}

/// Direct exposure of every cluster, made from the risk side (see the module documentation).
pub(crate) struct RiskFlows {
    by_cluster: HashMap<ClusterId, Flows>,
}

impl RiskFlows {
    /// Reads every coin of every risk-tagged owner paid in transactions below `upto` (the
    /// clustering's), and the transactions that paid and spent them.
    pub fn compute(view: &View<'_>, attribution: &Attribution, upto: u64) -> RiskFlows {
        let started = std::time::Instant::now();
        let mut addrs: Vec<AddrId> = Vec::new();
        for (c, l) in attribution.labelled_clusters() {
            if risk_group(&l.category).is_some() {
                if let Some(cl) = attribution.clustering() {
                    addrs.extend(cl.members(c));
                }
            }
        }
        addrs.extend(
            attribution.labelled_addresses().filter(|(_, l)| risk_group(&l.category).is_some()).map(|(a, _)| a),
        );
        let (mut paid, mut spent) = (Vec::new(), Vec::new());
        for &a in &addrs {
            for o in view.address_outputs(a) {
                let t = view.tx_of_output(o);
                if t.pos() >= upto {
                    continue;
                }
                paid.push(t);
                if let Some(s) = view.spender(o) {
                    let st = view.tx_of_input(s);
                    if st.pos() < upto {
                        spent.push(st);
                    }
                }
            }
        }
        for v in [&mut paid, &mut spent] {
            v.sort_unstable();
            v.dedup();
        }
        let cluster = |a: Option<AddrId>| a.and_then(|a| attribution.cluster_of(a));
        let mut by_cluster: HashMap<ClusterId, Flows> = HashMap::new();
        let mut inputs: Vec<(Option<ClusterId>, Option<AddrId>)> = Vec::new();
        // Spent a risk-tagged coin: each output's owner received from the first risky input
        // that is not its own.
        for &t in &spent {
            inputs.clear();
            inputs.extend(view.tx_input_range(t).filter_map(|i| {
                let a = view.output(view.spent_output(InputNum::new(i))?).addr;
                Some((cluster(a), a))
            }));
            for out in view.tx_output_range(t) {
                let ov = view.output(OutputNum::new(out));
                let Some(c) = cluster(ov.addr) else { continue };
                let first = inputs
                    .iter()
                    .find_map(|&(ic, a)| (ic != Some(c)).then(|| risky(attribution, a)).flatten().map(|r| (r, a)));
                if let Some(((g, l), a)) = first {
                    add(&mut by_cluster.entry(c).or_default().received, g, l, ov.value, t, a);
                }
            }
        }
        // Paid a risk-tagged owner: each owner among the inputs sent it what it was paid.
        let mut owners: Vec<ClusterId> = Vec::new();
        for &t in &paid {
            owners.clear();
            owners.extend(
                view.tx_input_range(t).filter_map(|i| cluster(view.output(view.spent_output(InputNum::new(i))?).addr)),
            );
            owners.sort_unstable();
            owners.dedup();
            for out in view.tx_output_range(t) {
                let ov = view.output(OutputNum::new(out));
                let Some((g, l)) = risky(attribution, ov.addr) else { continue };
                let to = cluster(ov.addr);
                for &c in owners.iter().filter(|&&c| Some(c) != to) {
                    add(&mut by_cluster.entry(c).or_default().sent, g, l, ov.value, t, ov.addr);
                }
            }
        }
        tracing::debug!(
            risk_addresses = addrs.len(),
            paid = paid.len(),
            spent = spent.len(),
            clusters = by_cluster.len(),
            seconds = started.elapsed().as_secs_f64(),
            "risk flows"
        );
        RiskFlows { by_cluster }
    }

    /// Cluster `c`'s flows (none when it never dealt with a risk-tagged owner).
    pub fn of(&self, c: ClusterId) -> Flows {
        self.by_cluster.get(&c).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::sync::atomic::AtomicBool;

    use sleuth_analysis::cluster::HeuristicSet;
    use sleuth_chain::Chain;
    use sleuth_index::ingest::{IngestOptions, NoProgress};
    use sleuth_simulator::SimConfig;
    use sleuth_tags::TagFormat;

    use super::*;
    use crate::Engine;

    /// The two ways of making the direct exposure agree for every cluster of a simulated chain
    /// with gambling services, thieves (`service_hack`) and CoinJoin coordinators tagged as risks, and the big
    /// clusters' totals written by the clustering are what their coins add up to.
    #[test]
    fn every_cluster_gets_the_same_exposure_from_its_own_side_and_from_the_risk_side() {
        let tmp = tempfile::tempdir().unwrap();
        let sim = tmp.path().join("sim");
        let cfg = SimConfig { out: sim.clone(), transactions: 30_000, seed: 9, chain: Chain::Regtest, truth: true };
        sleuth_simulator::simulate(&cfg, &mut |_| {}).unwrap();
        let root = tmp.path().join("idx");
        let opts = IngestOptions::new(sim.join("blocks"));
        crate::ingest(&root, &opts, &mut NoProgress, &AtomicBool::new(false)).unwrap();
        let engine = Engine::open(&root);
        engine.build_clustering(HeuristicSet::default_set(), &mut |_, _| {}).unwrap();
        let truth = |f: &str| std::fs::read_to_string(sim.join("truth").join(f)).unwrap();
        let category: HashMap<String, &str> = truth("entities.csv")
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let c = match f[2] {
                    "gambling" => "gambling",
                    "thief" => "service_hack",
                    "coinjoin_coordinator" => "mixing_service",
                    "exchange" => "exchange",
                    _ => return None,
                };
                Some((f[0].to_owned(), c))
            })
            .collect();
        let mut csv = String::from("address,label,category,source\n");
        for l in truth("addresses.csv").lines().skip(1) {
            let (addr, entity) = l.split_once(',').unwrap();
            if let Some(c) = category.get(entity) {
                csv += &format!("{addr},entity {entity},{c},truth\n");
            }
        }
        let tags = tmp.path().join("tags.csv");
        std::fs::write(&tags, csv).unwrap();
        engine.import_tags(&tags, TagFormat::Csv).unwrap();

        let snap = engine.snapshot().unwrap();
        let attribution = snap.attribution().unwrap();
        let cl = snap.clustering().expect("a clustering");
        let upto = cl.meta().upto_tx;
        let view = snap.index().view();
        let risk = RiskFlows::compute(&view, &attribution, upto);
        let clusters: HashSet<u32> =
            (0..cl.address_count()).filter_map(|a| cl.cluster_of(AddrId::new(a as u32))).map(ClusterId::get).collect();
        let (mut with_received, mut with_sent, mut big) = (0, 0, 0);
        for &c in &clusters {
            let c = ClusterId::new(c);
            let coins: Vec<OutputNum> = cl.members(c).into_iter().flat_map(|m| view.address_outputs(m)).collect();
            let is_own = |a: Option<AddrId>| a.is_some_and(|a| attribution.cluster_of(a) == Some(c));
            let (mine, total) = from_owner(&view, &attribution, &coins, is_own, upto);
            assert_eq!(risk.of(c), mine, "cluster {c:?}: from the risk side and from its own");
            with_received += !mine.received.is_empty() as u32;
            with_sent += !mine.sent.is_empty() as u32;
            let n = coins.iter().filter(|&&o| view.tx_of_output(o).pos() < upto).count() as u64;
            match cl.big(c) {
                Some(b) => {
                    big += 1;
                    assert_eq!((b.coins, b.received_sat), (n, total), "cluster {c:?}: the clustering's totals");
                }
                None => {
                    assert!(n < sleuth_analysis::cluster::BIG_COINS, "cluster {c:?} has {n} coins, not listed as big")
                }
            }
        }
        eprintln!(
            "{} clusters, {with_received} received from risks, {with_sent} sent to risks, {big} big",
            clusters.len()
        );
        assert!(with_received > 20 && with_sent > 20, "risk flows found: {with_received} received, {with_sent} sent");
        assert!(big > 0, "the exchanges' clusters are big");
    }
}
