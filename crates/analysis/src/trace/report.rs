//! What a trace returns: endpoints with amounts per policy and the path that proves them,
//! totals per entity and category, and a reconciliation that adds up to the satoshi.

use std::collections::BTreeMap;

use serde::de::{Deserializer, Error as _};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use sleuth_chain::Sat;
use sleuth_index::{AddrId, OutputNum, TxNum, View};

use super::attribution::Attribution;
use super::endpoints::{EndAcc, Endpoints};
use super::fasthash::IdMap;
use super::policy::Policy;
use super::taint::{ix, N};
use super::Direction;
use crate::cluster::ClusterId;

/// A value per policy: a plain value when one policy ran, `{policy: value}` when several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerPolicy<T>(pub Vec<(Policy, T)>);

impl<T: Copy> PerPolicy<T> {
    /// The value under `p`, if it ran.
    pub fn get(&self, p: Policy) -> Option<T> {
        self.0.iter().find(|(q, _)| *q == p).map(|(_, v)| *v)
    }
}

impl<T: Serialize> Serialize for PerPolicy<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let [(_, v)] = self.0.as_slice() {
            return v.serialize(s);
        }
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (p, v) in &self.0 {
            m.serialize_entry(p.name(), v)?;
        }
        m.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for PerPolicy<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PerPolicy<T>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either<T> {
            Map(BTreeMap<String, T>),
            One(T),
        }
        match Either::<T>::deserialize(d)? {
            // A single value carries no policy name; the report's `policies` says which.
            Either::One(v) => Ok(PerPolicy(vec![(Policy::Haircut, v)])),
            Either::Map(m) => m
                .into_iter()
                .map(|(k, v)| {
                    Policy::from_name(&k).map(|p| (p, v)).ok_or_else(|| D::Error::custom(format!("policy {k}")))
                })
                .collect::<Result<_, _>>()
                .map(PerPolicy),
        }
    }
}

sleuth_chain::named_enum! {
    serde:
    /// Why a trace stopped at an endpoint.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub enum StopReason {
        /// Reached a service that can freeze it (exchange, OTC desk, payment processor, …).
        Service => "service",
        /// Entered a mixer.
        Mixer => "mixer",
        /// Not spent (as of the snapshot's tip).
        Unspent => "unspent",
        /// Spent only above `--until-height`.
        UntilHeight => "until-height",
        /// `--max-hops` transfers from the source.
        MaxHops => "max-hops",
        /// Less taint than `--min-sat` under some policy.
        MinSat => "min-sat",
        /// Still waiting when the walk reached its limit of transactions visited.
        WorkLimit => "work-limit",
        /// Backward: came from a tagged cluster.
        TaggedSource => "tagged-source",
        /// Backward: newly mined (a coinbase).
        Mined => "mined",
    }
}

/// A coin the trace started from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCoin {
    /// Its transaction.
    pub txid: String,
    /// Its output index.
    pub vout: u32,
    /// The address it pays.
    pub address: Option<String>,
    /// Its value.
    pub amount_sat: Sat,
}

/// Where (some of) the taint stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The address (none for dust summed under `min-sat`, and for outputs without one).
    pub address: Option<String>,
    /// Its cluster.
    pub cluster_id: Option<ClusterId>,
    /// The tag label of its cluster.
    pub entity: Option<String>,
    /// The label's category.
    pub category: Option<String>,
    /// Taint that stopped here, per policy.
    pub amount_sat: PerPolicy<Sat>,
    /// Height of the first arrival (forward) or of the coin's creation (backward).
    pub height: u32,
    /// Its block's time (Unix seconds).
    pub time: u32,
    /// Transfers between owners from the source.
    pub hops: u32,
    /// The transactions from the source to here, in order (at most 1,000, the nearest).
    pub path_txids: Vec<String>,
    /// Why the trace stopped here.
    pub stop_reason: StopReason,
    /// Whether the path crossed a CoinJoin.
    pub coinjoin: bool,
}

/// Taint per entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityAmount {
    /// The entity.
    pub entity: String,
    /// Its category.
    pub category: String,
    /// Taint that reached it, per policy.
    pub amount_sat: PerPolicy<Sat>,
}

/// Taint per category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryAmount {
    /// The category.
    pub category: String,
    /// Taint that reached it, per policy.
    pub amount_sat: PerPolicy<Sat>,
}

/// Where every traced satoshi ended, under one policy: the parts add up to `traced_sat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reconciliation {
    /// Everything traced (forward poison: everything it reached, which exceeds the sources).
    pub traced_sat: Sat,
    /// Reached services.
    pub to_services_sat: Sat,
    /// Still unspent (or spent only past `--until-height`).
    pub unspent_sat: Sat,
    /// Paid as fees to miners.
    pub fees_sat: Sat,
    /// Entered mixers.
    pub mixers_sat: Sat,
    /// Stopped by `--max-hops`, `--min-sat` or a limit of transactions visited.
    pub limited_sat: Sat,
    /// Backward: came from tagged sources.
    pub tagged_sources_sat: Sat,
    /// Backward: newly mined.
    pub mined_sat: Sat,
}

/// The result of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceReport {
    /// The policies run side by side.
    pub policies: Vec<Policy>,
    /// Forward or backward.
    pub direction: Direction,
    /// The coins traced from.
    pub sources: Vec<SourceCoin>,
    /// Their value.
    pub source_sat: Sat,
    /// Everything traced, per policy (the reconciliation's total).
    pub traced_sat: PerPolicy<Sat>,
    /// Endpoints, the largest first (at most `max_endpoints`).
    pub endpoints: Vec<Endpoint>,
    /// Endpoints in all (some may be left out of the list).
    pub endpoint_count: u64,
    /// Taint per tagged entity.
    pub by_entity: Vec<EntityAmount>,
    /// Taint per category.
    pub by_category: Vec<CategoryAmount>,
    /// Where every satoshi ended, per policy.
    pub reconciliation: PerPolicy<Reconciliation>,
    /// Transactions visited.
    pub transactions_visited: u64,
    /// CoinJoins crossed.
    pub coinjoins_crossed: u64,
    /// Seconds spent.
    pub seconds: f64,
}

/// Buckets of the reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bucket {
    Services,
    Unspent,
    Fees,
    Mixers,
    Limited,
    Tagged,
    Mined,
}

/// What a walk collects, turned into a [`TraceReport`] at the end.
pub(crate) struct Collector {
    pub on: [bool; N],
    /// Per [`StopReason`], whether its stops are endpoints (`list_only`); the others go to
    /// the reconciliation only, which spares a screening the thousands of endpoint entries
    /// its hop limit makes.
    listed: [bool; StopReason::ALL.len()],
    buckets: [[u64; 7]; N],
    pub endpoints: Endpoints,
    /// For paths: the transaction a visited transaction's taint came from.
    pub pred: Preds,
    pub visited: u64,
    pub coinjoins: u64,
}

impl Collector {
    pub fn new(opts: &super::TraceOptions) -> Collector {
        let mut on = [false; N];
        for &p in &opts.policies {
            on[ix(p)] = true;
        }
        let listed = StopReason::ALL.map(|r| opts.list_only.as_ref().is_none_or(|l| l.contains(&r)));
        Collector {
            on,
            listed,
            buckets: [[0; 7]; N],
            endpoints: Endpoints::default(),
            pred: Preds::default(),
            visited: 0,
            coinjoins: 0,
        }
    }

    /// Adds `amounts` to a bucket, with no endpoint (fees).
    pub fn bucket(&mut self, b: Bucket, amounts: &[u64; N]) {
        for (bucket, x) in self.buckets.iter_mut().zip(amounts) {
            bucket[b as usize] += x;
        }
    }

    /// Adds `amounts` stopping at `addr` (created by `tx`) for `why`.
    pub fn stop(&mut self, addr: Option<AddrId>, why: StopReason, amounts: &[u64; N], tx: TxNum, hops: u32, cj: bool) {
        let b = match why {
            StopReason::Service => Bucket::Services,
            StopReason::Mixer => Bucket::Mixers,
            StopReason::Unspent | StopReason::UntilHeight => Bucket::Unspent,
            StopReason::MaxHops | StopReason::MinSat | StopReason::WorkLimit => Bucket::Limited,
            StopReason::TaggedSource => Bucket::Tagged,
            StopReason::Mined => Bucket::Mined,
        };
        self.bucket(b, amounts);
        if !self.lists(why) {
            return;
        }
        let e = self.endpoints.entry(addr, why, tx, hops, cj);
        for (a, x) in e.amounts.iter_mut().zip(amounts) {
            *a += x;
        }
        // Forward: the first arrival; backward: any (each coin is reached once per path).
        if tx < e.tx {
            e.tx = tx;
        }
        e.hops = e.hops.min(hops);
        e.coinjoin |= cj;
    }

    /// Whether stops for `why` become endpoints.
    #[inline]
    pub fn lists(&self, why: StopReason) -> bool {
        self.listed[why as usize]
    }

    /// Whether every stop becomes an endpoint.
    pub fn lists_all(&self) -> bool {
        self.listed.iter().all(|&l| l)
    }

    /// Whether the walk visited as many transactions as `opts.max_visits` allows.
    pub fn visits_exhausted(&self, opts: &super::TraceOptions) -> bool {
        opts.max_visits.is_some_and(|m| self.visited >= m)
    }

    /// Stops every coin still waiting for a visit (`pending`: coin and taint) where it is, as
    /// [`StopReason::WorkLimit`]: a walk past its limit of visits leaves them, and the
    /// reconciliation still adds up.
    pub fn stop_waiting(&mut self, view: &View<'_>, pending: impl Iterator<Item = (OutputNum, super::taint::Taint)>) {
        for (o, t) in pending {
            let coin = view.output(o);
            let a = t.amounts(coin.value);
            self.stop(coin.addr, StopReason::WorkLimit, &a, view.tx_of_output(o), t.hops, t.coinjoin);
        }
    }

    fn per_policy(&self, policies: &[Policy], a: &[u64; N]) -> PerPolicy<Sat> {
        PerPolicy(policies.iter().map(|&p| (p, Sat::new(a[ix(p)]))).collect())
    }

    fn path(&self, view: &View<'_>, tx: TxNum) -> Vec<String> {
        let mut path = vec![tx.get()];
        let mut t = tx.get();
        while let Some(p) = self.pred.get(t) {
            if path.len() >= 1_000 || p == t {
                break;
            }
            path.push(p);
            t = p;
        }
        path.reverse();
        path.into_iter().map(|t| view.txid(TxNum::new(t)).to_string()).collect()
    }

    /// The report.
    pub fn finish(
        self,
        view: &View<'_>,
        attribution: &Attribution,
        opts: &super::TraceOptions,
        sources: &[OutputNum],
        seconds: f64,
    ) -> TraceReport {
        let (direction, policies, max_endpoints) = (opts.direction, opts.policies.as_slice(), opts.max_endpoints);
        let source_coins: Vec<SourceCoin> = sources
            .iter()
            .map(|&o| {
                let t = view.tx_of_output(o);
                let out = view.output(o);
                SourceCoin {
                    txid: view.txid(t).to_string(),
                    vout: (o.get() - view.tx_output_range(t).start) as u32,
                    address: out.addr.map(|a| view.address_of(a)),
                    amount_sat: Sat::new(out.value),
                }
            })
            .collect();
        let source_sat = Sat::new(source_coins.iter().map(|s| s.amount_sat.get()).sum());
        let mut recs = Vec::new();
        for &p in policies {
            let b = &self.buckets[ix(p)];
            let s = |k: Bucket| Sat::new(b[k as usize]);
            recs.push((
                p,
                Reconciliation {
                    traced_sat: Sat::new(b.iter().sum()),
                    to_services_sat: s(Bucket::Services),
                    unspent_sat: s(Bucket::Unspent),
                    fees_sat: s(Bucket::Fees),
                    mixers_sat: s(Bucket::Mixers),
                    limited_sat: s(Bucket::Limited),
                    tagged_sources_sat: s(Bucket::Tagged),
                    mined_sat: s(Bucket::Mined),
                },
            ));
        }
        let traced_sat = PerPolicy(recs.iter().map(|(p, r)| (*p, r.traced_sat)).collect());
        let mut ends: Vec<&EndAcc> = self.endpoints.iter().collect();
        let endpoint_count = self.endpoints.len() as u64;
        // Summed per label first (a label is one entity and category), keyed by where it
        // lives: the strings are copied once per label, not once per endpoint.
        let mut per_label: IdMap<usize, (&super::attribution::Label, [u64; N])> = IdMap::default();
        for e in &ends {
            if let Some(l) = e.addr().and_then(|a| attribution.label_of(a)) {
                let x = &mut per_label.entry(l as *const _ as usize).or_insert((l, [0; N])).1;
                x.iter_mut().zip(&e.amounts).for_each(|(x, a)| *x += a);
            }
        }
        let mut by_entity: BTreeMap<(String, String), [u64; N]> = BTreeMap::new();
        let mut by_category: BTreeMap<String, [u64; N]> = BTreeMap::new();
        for (l, a) in per_label.into_values() {
            let x = by_entity.entry((l.entity.clone(), l.category.clone())).or_insert([0; N]);
            let y = by_category.entry(l.category.clone()).or_insert([0; N]);
            for p in 0..N {
                x[p] += a[p];
                y[p] += a[p];
            }
        }
        // The largest first: by the largest amount under any policy, then by address; only
        // the listed ones are sorted.
        let size = |e: &EndAcc| e.amounts.iter().copied().max().unwrap_or(0);
        let order = |a: &&EndAcc, b: &&EndAcc| size(b).cmp(&size(a)).then((a.addr(), a.why).cmp(&(b.addr(), b.why)));
        if ends.len() > max_endpoints && max_endpoints > 0 {
            ends.select_nth_unstable_by(max_endpoints - 1, order);
            ends.truncate(max_endpoints);
        }
        ends.sort_by(order);
        let endpoints = ends
            .into_iter()
            .take(max_endpoints)
            .map(|e| {
                let (addr, why) = (e.addr(), e.why);
                let h = view.height_of_tx(e.tx);
                let label = addr.and_then(|a| attribution.label_of(a));
                Endpoint {
                    address: addr.map(|a| view.address_of(a)),
                    cluster_id: addr.and_then(|a| attribution.cluster_of(a)),
                    entity: label.map(|l| l.entity.clone()),
                    category: label.map(|l| l.category.clone()),
                    amount_sat: self.per_policy(policies, &e.amounts),
                    height: h.get(),
                    time: view.block_time(h),
                    hops: e.hops,
                    path_txids: self.path(view, e.tx),
                    stop_reason: why,
                    coinjoin: e.coinjoin,
                }
            })
            .collect();
        TraceReport {
            policies: policies.to_vec(),
            direction,
            sources: source_coins,
            source_sat,
            traced_sat,
            endpoints,
            endpoint_count,
            by_entity: by_entity
                .into_iter()
                .map(|((entity, category), a)| EntityAmount {
                    entity,
                    category,
                    amount_sat: self.per_policy(policies, &a),
                })
                .collect(),
            by_category: by_category
                .into_iter()
                .map(|(category, a)| CategoryAmount { category, amount_sat: self.per_policy(policies, &a) })
                .collect(),
            reconciliation: PerPolicy(recs),
            transactions_visited: self.visited,
            coinjoins_crossed: self.coinjoins,
            seconds,
        }
    }
}

/// For paths: the transaction each visited transaction's taint came from.
#[derive(Default)]
pub(crate) struct Preds {
    /// Forward: appended as transactions are visited, in chain order, so sorted by the first:
    /// no hash map to insert into once per visit.
    visited: Vec<(u32, u32)>,
    /// Backward: the first spender to reach each creator.
    first: IdMap<u32, u32>,
}

impl Preds {
    /// Forward: transaction `tx`, visited after every transaction before it, took taint from
    /// `from`.
    pub fn visited(&mut self, tx: u32, from: u32) {
        debug_assert!(self.visited.last().is_none_or(|l| l.0 < tx), "visits in chain order");
        self.visited.push((tx, from));
    }

    /// Backward: coins of `tx` took taint from `from`, unless an earlier visit gave some.
    pub fn first(&mut self, tx: u32, from: u32) {
        self.first.entry(tx).or_insert(from);
    }

    fn get(&self, tx: u32) -> Option<u32> {
        match self.visited.binary_search_by_key(&tx, |e| e.0) {
            Ok(k) => Some(self.visited[k].1),
            Err(_) => self.first.get(&tx).copied(),
        }
    }
}
