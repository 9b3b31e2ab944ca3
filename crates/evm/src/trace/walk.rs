//! The forward replay: every transfer of every tainted account, in chain order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use alloy::primitives::{Address, U256};

use super::mixer::{self, MixerDeposit};
use super::pool::{AccountPolicy, Pool};
use super::*;
use crate::error::EvmError;
use crate::model::TransferKind;
use crate::store::{EvmReader, TransferRec};

/// At most this many policies run at once (every account policy).
const MAX_POLICIES: usize = AccountPolicy::ALL.len();

/// The tainted part of one payment under each policy, in the order of the options'
/// policies (the rest zero): on the stack, as the replay makes one per transfer.
type Taint = [U256; MAX_POLICIES];

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
    /// The source transfers of the transactions traced from, in chain order, each credited
    /// in full when the replay reaches it (an incident's later drain pays accounts the
    /// earlier one already tainted only after what those accounts did in between).
    seeds: VecDeque<(u64, TransferRec)>,
    /// Their numbers: the replay, which also meets them in a tracked account's list, skips
    /// them rather than credit them twice.
    seed_nums: Vec<u64>,
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
        return Err(EvmError::BadInput("no policy to trace under".into()));
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
        seeds: VecDeque::new(),
        seed_nums: Vec::new(),
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
        match start {
            TraceStart::Account(a) => {
                if self.r.account(a)?.is_none() {
                    return Err(EvmError::NotFound(format!("address {a} is not in the index")));
                }
                self.track(*a, 0, 0, None, true)?;
                Ok(Vec::new())
            }
            TraceStart::Txs(hashes) => self.seed_txs(hashes),
        }
    }

    /// Queues the source transfers of `hashes` (each must be indexed): what each moved of the
    /// asset, but for value a recipient passes on within the same transaction, which the
    /// replay follows instead of counting it twice.
    fn seed_txs(&mut self, hashes: &[B256]) -> Result<Vec<SourceView>, EvmError> {
        let asset = self.opts.asset;
        let mut txs = Vec::with_capacity(hashes.len());
        for hash in hashes {
            let num = self
                .r
                .tx_num_of(hash)?
                .ok_or_else(|| EvmError::NotFound(format!("transaction {hash} is not in the index")))?;
            txs.push(self.r.tx(num)?.ok_or_else(|| EvmError::NotFound(format!("transaction {hash}")))?);
        }
        txs.sort_by_key(|t| t.first_transfer);
        txs.dedup_by_key(|t| t.first_transfer);
        let mut sources = Vec::new();
        for tx in &txs {
            let mut recipients: Vec<Address> = Vec::new();
            for n in tx.first_transfer..tx.first_transfer + tx.transfer_count as u64 {
                let t = self.r.transfer(n)?;
                if t.asset != asset || !t.effective() || !t.kind.credits() || matches!(t.kind, TransferKind::FeeTip) {
                    continue;
                }
                if self.opts.until_block.is_some_and(|u| t.block > u) || recipients.contains(&t.from) {
                    continue;
                }
                recipients.push(t.to);
                sources.push(SourceView {
                    tx: tx.hash.to_string(),
                    from: t.from.to_string(),
                    to: t.to.to_string(),
                    amount_base: BaseUnits(t.amount),
                });
                self.seed_nums.push(n);
                self.seeds.push_back((n, t));
            }
        }
        if sources.is_empty() {
            let what = match hashes {
                [one] => format!("transaction {one}"),
                _ => format!("none of the {} transactions", hashes.len()),
            };
            return Err(EvmError::NotFound(format!("{what} moved {} to anyone", self.asset_name())));
        }
        Ok(sources)
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
        loop {
            let next = self.heap.peek().map(|Reverse((n, _))| *n);
            if let Some(&(s, _)) = self.seeds.front() {
                if next.is_none_or(|n| s <= n) {
                    let (s, t) = self.seeds.pop_front().expect("peeked");
                    self.traced += t.amount;
                    self.credit(s, &t, &[t.amount; MAX_POLICIES], 0)?;
                    continue;
                }
            }
            let Some(Reverse((n, a))) = self.heap.pop() else { break };
            if let Some(next) = self.r.account_transfer_nums(&a, Some(n), 1)?.first() {
                self.heap.push(Reverse((*next, a)));
            }
            // A transfer between two tracked accounts is in both their lists.
            if last == Some(n) || self.seed_nums.binary_search(&n).is_ok() {
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
        let mut m: Taint = [U256::ZERO; MAX_POLICIES];
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
            for (r, v) in self.recon.iter_mut().zip(m) {
                r.fees_base.0 += v;
            }
            return Ok(());
        }
        // Credits to the account the trace starts from are tainted in full.
        if self.tracked.get(&t.to).is_some_and(|x| x.source) {
            self.traced += t.amount;
            m = [t.amount; MAX_POLICIES];
        }
        self.credit(n, t, &m, hops)
    }

    /// Credits transfer `n` (`t`) to its payee, `m[i]` of it tainted under policy `i`,
    /// `hops` payments from the source: to a tracked account's pools, to a stop (service,
    /// mixer, hop limit), or to an account the taint reaches for the first time.
    fn credit(&mut self, n: u64, t: &TransferRec, m: &Taint, hops: u32) -> Result<(), EvmError> {
        let k = self.n_policies();
        if !self.tracked.contains_key(&t.to) {
            if m[..k].iter().all(|v| v.is_zero()) {
                return Ok(());
            }
            match self.stop_reason(&t.to, hops)? {
                Some((reason, label, sweeps_to)) => return self.stop_at(n, t, &m[..k], hops, reason, label, sweeps_to),
                None => self.track(t.to, n, hops, Some((t.from, t.tx)), false)?,
            }
        }
        let x = self.tracked.get_mut(&t.to).expect("tracked above");
        for (pool, v) in x.pools.iter_mut().zip(m) {
            pool.receive(t.amount, *v);
        }
        x.balance += t.amount;
        Ok(())
    }

    /// Why tainted value stops at `a`, an account not yet tracked: a mixer (by tag, then by
    /// behaviour), a service (by tag, or as the deposit address of a tagged one), the hop
    /// limit; `None` to follow it.
    #[allow(clippy::type_complexity)]
    fn stop_reason(
        &mut self,
        a: &Address,
        hops: u32,
    ) -> Result<Option<(&'static str, Option<AccountLabel>, Option<Address>)>, EvmError> {
        let label = self.labels.label(a);
        match label.as_ref().map(|l| l.class) {
            Some(LabelClass::Mixer) => return Ok(Some(("mixer", label, None))),
            Some(LabelClass::Service) if self.opts.stop_at_services => return Ok(Some(("service", label, None))),
            _ => {}
        }
        if self.mixer_behaviour(a)?.is_some() {
            return Ok(Some(("mixer", label, None)));
        }
        if label.is_none() && self.opts.stop_at_services {
            if let Some((l, hot)) = self.sweep_of(a)? {
                return Ok(Some(("service", Some(l), Some(hot))));
            }
        }
        Ok((hops > self.opts.max_hops).then_some(("hop_limit", label, None)))
    }

    /// Books tainted value `m` that stopped at `t.to` for `reason`.
    #[allow(clippy::too_many_arguments)]
    fn stop_at(
        &mut self,
        n: u64,
        t: &TransferRec,
        m: &[U256],
        hops: u32,
        reason: &'static str,
        label: Option<AccountLabel>,
        sweeps_to: Option<Address>,
    ) -> Result<(), EvmError> {
        for (r, v) in self.recon.iter_mut().zip(m) {
            match reason {
                "mixer" => r.mixers_base.0 += *v,
                "service" => r.to_services_base.0 += *v,
                _ => r.limited_base.0 += *v,
            }
        }
        if reason == "mixer" {
            let recognised_by = self.mixer_behaviour(&t.to)?.unwrap_or_else(|| "tag".into());
            self.mixer_deposits.push(mixer::deposit(self.r, t, n, recognised_by)?);
        }
        let path = self.path_to(t.from, t.tx);
        let stop = self.stops.entry(t.to).or_insert_with(|| Stop {
            amounts: vec![U256::ZERO; m.len()],
            height: t.block,
            hops,
            path,
            reason,
            label,
            sweeps_to,
        });
        for (a, v) in stop.amounts.iter_mut().zip(m) {
            *a += *v;
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

    /// How `a` behaves like a mixer, if it does (read once per account).
    fn mixer_behaviour(&mut self, a: &Address) -> Result<Option<String>, EvmError> {
        if let Some(v) = self.mixer_cache.get(a) {
            return Ok(v.clone());
        }
        let v = mixer::behaviour(self.r, a)?;
        self.mixer_cache.insert(*a, v.clone());
        Ok(v)
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
        let path_txids = self.r.tx_hashes(&path)?;
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
