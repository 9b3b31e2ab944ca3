//! Where an account's value came from: a backward haircut trace. Each credit the account
//! received carries its share of everything it received; a sender's share is split over
//! what that sender had received before it paid, and so on, until a labelled account (a
//! source), minted value, the hop limit, or a share too small to matter.

use std::collections::{BTreeMap, BinaryHeap, HashMap};

use alloy::primitives::{Address, U256, U512};

use super::{AccountLabel, LabelClass, Labels};
use crate::error::EvmError;
use crate::model::AssetId;
use crate::store::EvmReader;

/// Shares below this are not followed (counted as unattributed).
const MIN_SHARE: f64 = 1e-6;
/// Accounts expanded at most, the largest shares first.
const MAX_VISITS: usize = 5_000;
/// Credits of one account read at most.
const MAX_CREDITS: usize = 100_000;

/// A labelled account the value came from.
#[derive(Clone, Debug)]
pub struct BackwardSource {
    /// The account.
    pub address: Address,
    /// Its label.
    pub label: AccountLabel,
    /// Its share of what the subject received.
    pub share: f64,
    /// That share in base units, carried down the walk exactly (each split rounded down).
    pub amount: U256,
    /// Payments (transactions) between it and the subject.
    pub hops: u32,
    /// The transactions from it to the subject, of its largest share.
    pub path: Vec<u64>,
}

/// The sources of an account's value.
#[derive(Clone, Debug, Default)]
pub struct Backward {
    /// Everything the account received of the asset.
    pub received: U256,
    /// Labelled sources, the largest first.
    pub sources: Vec<BackwardSource>,
    /// The share that reached no label (minted value, unlabelled dead ends, limits).
    pub unattributed: f64,
    /// Accounts expanded.
    pub visited: usize,
}

/// A credit to an account, as the walk splits shares over it.
struct Credit {
    from: Address,
    amount: U256,
    tx: u64,
    has_sender: bool,
    n: u64,
}

struct Item {
    share: f64,
    /// The share in base units (`None` at the subject, whose total is read when expanded).
    amount: Option<U256>,
    account: Address,
    /// Credits before this transfer number count.
    before: u64,
    hops: u32,
    /// The transaction through which this share reached the next account down.
    via_tx: u64,
    path: Vec<u64>,
}

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        self.share == o.share
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.share.total_cmp(&o.share)
    }
}

/// Traces `subject`'s value of `asset` back at most `max_hops` payments. Value that came
/// out of a transaction in `marked` (a recorded drain, by transaction number) is a source
/// under that label, its sender (the victim) named as the source's account.
pub fn trace_backward(
    r: &EvmReader,
    subject: &Address,
    asset: AssetId,
    max_hops: u32,
    labels: &dyn Labels,
    marked: &HashMap<u64, AccountLabel>,
) -> Result<Backward, EvmError> {
    let mut out = Backward::default();
    let mut heap = BinaryHeap::new();
    heap.push(Item {
        share: 1.0,
        amount: None,
        account: *subject,
        before: u64::MAX,
        hops: 0,
        via_tx: u64::MAX,
        path: Vec::new(),
    });
    let mut found: BTreeMap<Address, BackwardSource> = BTreeMap::new();
    let mut first = true;
    let mut credits_of: HashMap<Address, Vec<Credit>> = HashMap::new();
    while let Some(item) = heap.pop() {
        if out.visited >= MAX_VISITS {
            out.unattributed += item.share;
            continue;
        }
        out.visited += 1;
        // An account is often reached many times (by each of its payments); its credits are
        // read once.
        if let std::collections::hash_map::Entry::Vacant(slot) = credits_of.entry(item.account) {
            let list = r
                .credits_of(&item.account, asset, MAX_CREDITS)?
                .into_iter()
                .filter(|(_, c)| c.from != item.account)
                .map(|(n, c)| Credit { from: c.from, amount: c.amount, tx: c.tx, has_sender: c.has_payer(), n })
                .collect();
            slot.insert(list);
        }
        let all = &credits_of[&item.account];
        let credits = &all[..all.partition_point(|c| c.n < item.before)];
        let total = credits.iter().fold(U256::ZERO, |s, c| s + c.amount);
        if first {
            out.received = total;
            first = false;
        }
        if total.is_zero() {
            out.unattributed += item.share;
            continue;
        }
        let total_f = f64::from(total);
        let item_amount = item.amount.unwrap_or(total);
        for &Credit { from, amount, tx, has_sender, n } in credits {
            let share = item.share * f64::from(amount) / total_f;
            let part = U256::from(U512::from(item_amount) * U512::from(amount) / U512::from(total));
            if !has_sender || share < MIN_SHARE {
                // Minted (genesis, rewards, withdrawals), or too small to follow.
                out.unattributed += share;
                continue;
            }
            // A payment on within the transaction that paid this account is not a new hop.
            let hops = item.hops + (tx != item.via_tx) as u32;
            let mut path = item.path.clone();
            if path.first() != Some(&tx) {
                path.insert(0, tx);
            }
            let label = marked.get(&tx).cloned().or_else(|| labels.label(&from));
            match label {
                Some(label) if label.class != LabelClass::Other => {
                    let e = found.entry(from).or_insert_with(|| BackwardSource {
                        address: from,
                        label,
                        share: 0.0,
                        amount: U256::ZERO,
                        hops,
                        path: path.clone(),
                    });
                    if share > e.share {
                        e.path = path;
                    }
                    e.share += share;
                    e.amount += part;
                    e.hops = e.hops.min(hops);
                }
                _ if hops >= max_hops => out.unattributed += share,
                _ => heap.push(Item { share, amount: Some(part), account: from, before: n, hops, via_tx: tx, path }),
            }
        }
    }
    out.sources = found.into_values().collect();
    out.sources.sort_by(|a, b| b.share.total_cmp(&a.share));
    Ok(out)
}
