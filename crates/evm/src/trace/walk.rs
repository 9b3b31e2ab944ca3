//! The forward replay: every transfer of every tainted account, in chain order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use alloy::primitives::{Address, U256};

use super::mixer::{self, MixerDeposit};
use super::pool::{AccountPolicy, Pool};
use super::*;
use crate::error::EvmError;
use crate::model::TransferKind;
use crate::store::{EvmReader, TransferRec};

/// A tainted account: its balance (shared by every policy), its pool under each, and how the
/// taint first reached it.
struct Tracked {
    balance: U256,
    pools: Vec<Pool>,
    hops: u32,
    /// The account and transaction that first tainted it (`None`: a source account).
    pred: Option<(Address, u64)>,
    /// The transaction that first tainted it: a payment on within the same transaction (a
    /// router, a forwarding contract) is not a new hop.
    first_tx: u64,
    /// Every credit is tainted in full (the account a trace starts from).
    source: bool,
}

/// Where value stopped, per account.
struct Stop {
    amounts: Vec<U256>,
    height: u64,
    hops: u32,
    path: Vec<u64>,
    reason: &'static str,
    label: Option<AccountLabel>,
    /// The hot wallet a deposit address sweeps to.
    sweeps_to: Option<Address>,
}

struct Walk<'a> {
    r: &'a EvmReader,
    opts: &'a AccountTraceOptions,
    labels: &'a dyn Labels,
    tracked: HashMap<Address, Tracked>,
    heap: BinaryHeap<Reverse<(u64, Address)>>,
    stops: HashMap<Address, Stop>,
    recon: Vec<AccountReconciliation>,
    traced: U256,
    mixer_cache: HashMap<Address, Option<String>>,
    sweep_cache: HashMap<Address, Option<(AccountLabel, Address)>>,
    mixer_deposits: Vec<MixerDeposit>,
    replayed: u64,
}

/// Traces `start` forward under `opts.policies`, stopping at what `labels` calls services
/// and mixers.
pub fn trace_forward(
    r: &EvmReader,
    start: &TraceStart,
    opts: &AccountTraceOptions,
    labels: &dyn Labels,
) -> Result<AccountTrace, EvmError> {
    if opts.policies.is_empty() {
        return Err(EvmError::NotFound("no policy to trace under".into()));
    }
    let mut w = Walk {
        r,
        opts,
        labels,
        tracked: HashMap::new(),
        heap: BinaryHeap::new(),
        stops: HashMap::new(),
        recon: opts.policies.iter().map(|p| AccountReconciliation { policy: Some(*p), ..Default::default() }).collect(),
        traced: U256::ZERO,
        mixer_cache: HashMap::new(),
        sweep_cache: HashMap::new(),
        mixer_deposits: Vec::new(),
        replayed: 0,
    };
    let sources = w.seed(start)?;
    w.run()?;
    w.finish(sources)
}

impl Walk<'_> {
    fn n_policies(&self) -> usize {
        self.opts.policies.len()
    }

    /// Marks where the taint starts; returns the source transfers.
    fn seed(&mut self, start: &TraceStart) -> Result<Vec<SourceView>, EvmError> {
        let asset = self.opts.asset;
        match start {
            TraceStart::Account(a) => {
                if self.r.account(a)?.is_none() {
                    return Err(EvmError::NotFound(format!("address {a} is not in the index")));
                }
                self.track(*a, 0, 0, None, true)?;
                Ok(Vec::new())
            }
            TraceStart::Tx(hash) => {
                let num = self
                    .r
                    .tx_num_of(hash)?
                    .ok_or_else(|| EvmError::NotFound(format!("transaction {hash} is not in the index")))?;
                let tx = self.r.tx(num)?.ok_or_else(|| EvmError::NotFound(format!("transaction {hash}")))?;
                let mut sources = Vec::new();
                let mut recipients: Vec<Address> = Vec::new();
                for n in tx.first_transfer..tx.first_transfer + tx.transfer_count as u64 {
                    let t = self.r.transfer(n)?;
                    if t.asset != asset || !t.effective() || !t.kind.credits() || matches!(t.kind, TransferKind::FeeTip)
                    {
                        continue;
                    }
                    // A recipient passing value on in the same transaction is followed by
                    // the replay, not counted again.
                    if recipients.contains(&t.from) {
                        continue;
                    }
                    recipients.push(t.to);
                    self.traced += t.amount;
                    let m = vec![t.amount; self.n_policies()];
                    self.credit(n, &t, t.from, m, 0, num)?;
                    sources.push(SourceView {
                        tx: tx.hash.to_string(),
                        from: t.from.to_string(),
                        to: t.to.to_string(),
                        amount_base: BaseUnits(t.amount),
                    });
                }
                if sources.is_empty() {
                    return Err(EvmError::NotFound(format!(
                        "transaction {hash} moved no {} to anyone",
                        self.asset_name()
                    )));
                }
                Ok(sources)
            }
        }
    }

    fn asset_name(&self) -> String {
        if self.opts.asset == AssetId::ETH {
            "ETH".into()
        } else {
            self.r
                .token(self.opts.asset)
                .ok()
                .flatten()
                .map_or_else(|| format!("token #{}", self.opts.asset.0), |t| t.address.to_string())
        }
    }

    /// Starts following `a`, first tainted by transfer `n` (its balance before `n` is clean).
    fn track(
        &mut self,
        a: Address,
        n: u64,
        hops: u32,
        pred: Option<(Address, u64)>,
        source: bool,
    ) -> Result<(), EvmError> {
        let balance = if source { U256::ZERO } else { self.r.balance_before(&a, self.opts.asset, n)? };
        let pools = self.opts.policies.iter().map(|&p| Pool::new(p, balance)).collect();
        let first_tx = pred.map_or(u64::MAX, |(_, tx)| tx);
        self.tracked.insert(a, Tracked { balance, pools, hops, pred, first_tx, source });
        // A source is replayed from its first transfer; anyone else from after `n`.
        let after = if source { None } else { Some(n) };
        if let Some(next) = self.r.account_transfer_nums(&a, after, 1)?.first() {
            self.heap.push(Reverse((*next, a)));
        }
        Ok(())
    }

    fn run(&mut self) -> Result<(), EvmError> {
        let mut last: Option<u64> = None;
        while let Some(Reverse((n, a))) = self.heap.pop() {
            if let Some(next) = self.r.account_transfer_nums(&a, Some(n), 1)?.first() {
                self.heap.push(Reverse((*next, a)));
            }
            // A transfer between two tracked accounts is in both their lists.
            if last == Some(n) {
                continue;
            }
            last = Some(n);
            let t = self.r.transfer(n)?;
            if self.opts.until_block.is_some_and(|u| t.block > u) {
                break;
            }
            if t.asset != self.opts.asset || !t.effective() {
                continue;
            }
            self.replayed += 1;
            self.step(n, &t)?;
        }
        Ok(())
    }

    fn step(&mut self, n: u64, t: &TransferRec) -> Result<(), EvmError> {
        let k = self.n_policies();
        let mut m = vec![U256::ZERO; k];
        let mut hops = 1;
        if t.kind.debits() {
            if let Some(f) = self.tracked.get_mut(&t.from) {
                for (i, &p) in self.opts.policies.iter().enumerate() {
                    m[i] = f.pools[i].take(p, t.amount, f.balance);
                }
                f.balance = f.balance.saturating_sub(t.amount);
                hops = f.hops + (t.tx != f.first_tx) as u32;
            }
        }
        if !t.kind.credits() || t.kind == TransferKind::FeeTip {
            for (i, v) in m.iter().enumerate() {
                self.recon[i].fees_base.0 += *v;
            }
            return Ok(());
        }
        // Credits to the account the trace starts from are tainted in full.
        if self.tracked.get(&t.to).is_some_and(|x| x.source) {
            self.traced += t.amount;
            m = vec![t.amount; k];
        }
        self.credit(n, t, t.from, m, hops, t.tx)
    }

    /// Credits `t.amount` to `t.to`, `m[i]` of it tainted under policy `i`.
    fn credit(
        &mut self,
        n: u64,
        t: &TransferRec,
        from: Address,
        m: Vec<U256>,
        hops: u32,
        tx: u64,
    ) -> Result<(), EvmError> {
        if let Some(x) = self.tracked.get_mut(&t.to) {
            for (i, pool) in x.pools.iter_mut().enumerate() {
                pool.receive(t.amount, m[i]);
            }
            x.balance += t.amount;
            return Ok(());
        }
        if m.iter().all(|v| v.is_zero()) {
            return Ok(());
        }
        let mut label = self.labels.label(&t.to);
        let mut sweeps_to = None;
        if label.is_none() && self.opts.stop_at_services {
            if let Some((l, hot)) = self.sweep_of(&t.to)? {
                label = Some(l);
                sweeps_to = Some(hot);
            }
        }
        let class = label.as_ref().map(|l| l.class);
        let reason = if class == Some(LabelClass::Mixer) || self.behaves_like_mixer(&t.to)? {
            Some("mixer")
        } else if class == Some(LabelClass::Service) && self.opts.stop_at_services {
            Some("service")
        } else if hops > self.opts.max_hops {
            Some("hop_limit")
        } else {
            None
        };
        let Some(reason) = reason else {
            self.track(t.to, n, hops, Some((from, tx)), false)?;
            let x = self.tracked.get_mut(&t.to).expect("just tracked");
            for (i, pool) in x.pools.iter_mut().enumerate() {
                pool.receive(t.amount, m[i]);
            }
            x.balance += t.amount;
            return Ok(());
        };
        for (i, v) in m.iter().enumerate() {
            let r = &mut self.recon[i];
            match reason {
                "mixer" => r.mixers_base.0 += *v,
                "service" => r.to_services_base.0 += *v,
                _ => r.limited_base.0 += *v,
            }
        }
        if reason == "mixer" {
            let depositor = from;
            self.mixer_deposits.push(mixer::deposit(self.r, t, n, depositor)?);
        }
        let path = self.path_to(from, tx);
        let stop = self.stops.entry(t.to).or_insert_with(|| Stop {
            amounts: vec![U256::ZERO; m.len()],
            height: t.block,
            hops,
            path,
            reason,
            label: label.clone(),
            sweeps_to,
        });
        for (i, v) in m.iter().enumerate() {
            stop.amounts[i] += *v;
        }
        Ok(())
    }

    /// The transactions from a source to `from`, then `tx`.
    fn path_to(&self, from: Address, tx: u64) -> Vec<u64> {
        let mut path = vec![tx];
        let mut at = from;
        while let Some((prev, ptx)) = self.tracked.get(&at).and_then(|x| x.pred) {
            if path.len() >= 64 || prev == at {
                break;
            }
            // Accounts passing value on within one transaction share it.
            if path.last() != Some(&ptx) {
                path.push(ptx);
            }
            at = prev;
        }
        path.reverse();
        path
    }

    fn sweep_of(&mut self, a: &Address) -> Result<Option<(AccountLabel, Address)>, EvmError> {
        if let Some(v) = self.sweep_cache.get(a) {
            return Ok(v.clone());
        }
        let v = super::sweep::sweeps_to(self.r, a, self.labels)?;
        self.sweep_cache.insert(*a, v.clone());
        Ok(v)
    }

    fn behaves_like_mixer(&mut self, a: &Address) -> Result<bool, EvmError> {
        if let Some(v) = self.mixer_cache.get(a) {
            return Ok(v.is_some());
        }
        let v = mixer::behaviour(self.r, a)?;
        let is = v.is_some();
        self.mixer_cache.insert(*a, v);
        Ok(is)
    }

    fn finish(mut self, sources: Vec<SourceView>) -> Result<AccountTrace, EvmError> {
        let k = self.n_policies();
        // What is still in tainted accounts.
        let mut endpoints = Vec::new();
        let mut unspent: Vec<(Address, Vec<U256>)> = Vec::new();
        for (a, x) in &self.tracked {
            let left: Vec<U256> = x.pools.iter().map(|p| p.tainted(x.balance)).collect();
            if left.iter().any(|v| !v.is_zero()) {
                for (i, v) in left.iter().enumerate() {
                    self.recon[i].unspent_base.0 += *v;
                }
                unspent.push((*a, left));
            }
        }
        for (a, amounts) in unspent {
            let x = &self.tracked[&a];
            let (height, path) = match x.pred {
                Some((from, tx)) => (self.r.tx(tx)?.map_or(0, |t| t.block), self.path_to(from, tx)),
                None => (0, Vec::new()),
            };
            let stop = Stop {
                amounts,
                height,
                hops: x.hops,
                path,
                reason: "unspent",
                label: self.labels.label(&a),
                sweeps_to: None,
            };
            endpoints.push(self.endpoint(a, stop)?);
        }
        let stops: Vec<_> = self.stops.drain().collect();
        for (a, s) in stops {
            endpoints.push(self.endpoint(a, s)?);
        }
        endpoints.sort_by(|a, b| {
            b.amounts_base.iter().max().cmp(&a.amounts_base.iter().max()).then(a.address.cmp(&b.address))
        });
        let mut by_entity: BTreeMap<(String, String), Vec<U256>> = BTreeMap::new();
        for e in &endpoints {
            if let (Some(entity), Some(cat)) = (&e.entity, &e.category) {
                let v = by_entity.entry((entity.clone(), cat.clone())).or_insert_with(|| vec![U256::ZERO; k]);
                for (i, a) in e.amounts_base.iter().enumerate() {
                    v[i] += a.0;
                }
            }
        }
        endpoints.truncate(self.opts.max_endpoints);
        Ok(AccountTrace {
            asset: self.asset_name(),
            policies: self.opts.policies.clone(),
            direction: "forward",
            sources,
            traced_base: BaseUnits(self.traced),
            endpoints,
            by_entity: by_entity
                .into_iter()
                .map(|((entity, category), v)| EntityTotal {
                    entity,
                    category,
                    amounts_base: v.into_iter().map(BaseUnits).collect(),
                })
                .collect(),
            reconciliation: self.recon,
            mixer_deposits: self.mixer_deposits,
            accounts_reached: self.tracked.len(),
            transfers_replayed: self.replayed,
        })
    }

    fn endpoint(&self, a: Address, stop: Stop) -> Result<AccountEndpoint, EvmError> {
        let Stop { amounts, height, hops, path, reason, label, sweeps_to } = stop;
        let mut path_txids = Vec::with_capacity(path.len());
        for num in path {
            if let Some(t) = self.r.tx(num)? {
                path_txids.push(t.hash.to_string());
            }
        }
        let (entity, category) = match (&label, reason) {
            (Some(l), _) => (Some(l.entity.clone()), Some(l.category.clone())),
            (None, "mixer") => (None, Some("mixer (behaviour)".into())),
            _ => (None, None),
        };
        Ok(AccountEndpoint {
            address: a.to_string(),
            entity,
            category,
            amounts_base: amounts.into_iter().map(BaseUnits).collect(),
            height,
            time: self.r.block(height)?.map_or(0, |b| b.timestamp),
            hops,
            path_txids,
            stop_reason: reason,
            sweeps_to: sweeps_to.map(|a| a.to_string()),
        })
    }
}

/// Policies in column order, for callers that parse `--policy`.
pub fn parse_policies(s: &str) -> Result<Vec<AccountPolicy>, String> {
    if s == "all" {
        return Ok(AccountPolicy::ALL.to_vec());
    }
    let mut v = s.split(',').map(AccountPolicy::parse).collect::<Result<Vec<_>, _>>()?;
    v.sort();
    v.dedup();
    Ok(v)
}
