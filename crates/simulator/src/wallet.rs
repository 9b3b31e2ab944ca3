//! Unspent outputs, kept compactly in pockets, and how wallets pick which ones to spend.

use bitcoin::Txid;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::address::{Addr, AddrKind};

/// An unspent output of an entity: 56 bytes. Its owner is the entity whose pocket holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Utxo {
    /// Transaction that created it.
    pub txid: Txid,
    /// Value in satoshis.
    pub value: u64,
    /// Output index.
    pub vout: u32,
    /// Key index of the address in the owner's wallet.
    pub index: u32,
    /// First height at which the owner spends it: coinbase maturity, or a thief's patience.
    pub ready: u32,
    /// Script type of the address.
    pub kind: AddrKind,
    /// Free for the owner's bookkeeping; thieves keep the theft number here (0: none).
    pub tag: u16,
}

impl Utxo {
    /// The address it pays, given its owner.
    pub fn addr(&self, owner: u32) -> Addr {
        Addr { entity: owner, index: self.index, kind: self.kind }
    }
}

/// Takes the outputs at `picked` (indices, any order) out of `pocket`.
pub(crate) fn take_indices(pocket: &mut Vec<Utxo>, picked: &mut [usize]) -> Vec<Utxo> {
    let out = picked.iter().map(|&i| pocket[i]).collect();
    // Removing from the highest index down never moves an output that is still to be removed.
    picked.sort_unstable_by(|a, b| b.cmp(a));
    for &i in picked.iter() {
        pocket.swap_remove(i);
    }
    out
}

/// How a wallet chooses coins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Random coins until the target is covered, after trying for a single coin that pays
    /// the target without change (Bitcoin Core's branch-and-bound finds such exact matches,
    /// its knapsack fallback picks randomly).
    Core,
    /// Oldest coins first (first in, first out), as simple wallets and services do.
    Oldest,
    /// Largest coins first, fewest inputs.
    Largest,
}

/// Chooses spendable outputs of `pocket` worth at least `target` plus their own input
/// weight at `feerate` (sat/vB), removes and returns them. `None` (and `pocket` untouched)
/// when the spendable coins do not cover it.
pub(crate) fn select(
    pocket: &mut Vec<Utxo>,
    target: u64,
    feerate: f64,
    height: u32,
    how: Selection,
    max_inputs: usize,
    rng: &mut impl Rng,
) -> Option<Vec<Utxo>> {
    let net = |u: &Utxo| u.value.saturating_sub((u.kind.input_weight() as f64 / 4.0 * feerate) as u64);
    let mut order: Vec<usize> = (0..pocket.len()).filter(|&i| pocket[i].ready <= height).collect();
    if order.is_empty() {
        return None;
    }
    match how {
        Selection::Core => {
            // An exact match (within what change would cost) avoids a change output.
            let slack = (feerate * 70.0) as u64 + 1000;
            if let Some(&i) = order.iter().find(|&&i| {
                let v = net(&pocket[i]);
                v >= target && v <= target + slack
            }) {
                return Some(take_indices(pocket, &mut [i]));
            }
            order.shuffle(rng);
        }
        Selection::Oldest => {}
        Selection::Largest => {
            // Only the `max_inputs` largest can be picked: partition them out, then sort them.
            if order.len() > max_inputs {
                order.select_nth_unstable_by_key(max_inputs, |&i| std::cmp::Reverse((pocket[i].value, i)));
                order.truncate(max_inputs);
            }
            order.sort_by_key(|&i| std::cmp::Reverse((pocket[i].value, i)));
        }
    }
    let mut sum = 0u64;
    let mut picked = Vec::new();
    for &i in &order {
        if picked.len() == max_inputs {
            break;
        }
        let v = net(&pocket[i]);
        if v == 0 {
            continue;
        }
        picked.push(i);
        sum += v;
        if sum >= target {
            return Some(take_indices(pocket, &mut picked));
        }
    }
    None
}

/// Value of the outputs of `pocket` spendable at `height`.
pub(crate) fn spendable(pocket: &[Utxo], height: u32) -> u64 {
    pocket.iter().filter(|u| u.ready <= height).map(|u| u.value).sum()
}

/// Takes up to `max` spendable outputs, smallest first (consolidation of dust-like coins).
pub(crate) fn take_smallest(pocket: &mut Vec<Utxo>, height: u32, max: usize) -> Vec<Utxo> {
    let mut order: Vec<usize> = (0..pocket.len()).filter(|&i| pocket[i].ready <= height).collect();
    if order.len() > max {
        order.select_nth_unstable_by_key(max, |&i| (pocket[i].value, i));
        order.truncate(max);
    }
    order.sort_by_key(|&i| (pocket[i].value, i));
    take_indices(pocket, &mut order)
}

/// Takes every spendable output, up to `max` of them, oldest first.
pub(crate) fn take_all(pocket: &mut Vec<Utxo>, height: u32, max: usize) -> Vec<Utxo> {
    let mut order: Vec<usize> = (0..pocket.len()).filter(|&i| pocket[i].ready <= height).collect();
    order.truncate(max);
    take_indices(pocket, &mut order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use rand::SeedableRng;

    fn utxo(value: u64, ready: u32) -> Utxo {
        Utxo { txid: Txid::all_zeros(), value, vout: 0, index: 0, ready, kind: AddrKind::P2wpkh, tag: 0 }
    }

    #[test]
    fn utxo_is_compact() {
        assert_eq!(std::mem::size_of::<Utxo>(), 56);
    }

    #[test]
    fn selection_covers_the_target_or_leaves_the_pocket_alone() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut pocket = vec![utxo(10_000, 0), utxo(50_000, 0), utxo(1_000_000, 500)];
        assert!(select(&mut pocket, 100_000, 1.0, 10, Selection::Core, 10, &mut rng).is_none());
        assert_eq!(pocket.len(), 3);
        let got = select(&mut pocket, 55_000, 1.0, 10, Selection::Largest, 10, &mut rng).unwrap();
        assert_eq!(got.iter().map(|u| u.value).sum::<u64>(), 60_000);
        assert_eq!(pocket.len(), 1);
        let got = select(&mut pocket, 900_000, 1.0, 500, Selection::Oldest, 10, &mut rng).unwrap();
        assert_eq!(got.len(), 1);
        assert!(pocket.is_empty());
    }

    #[test]
    fn take_indices_removes_exactly_those() {
        let mut pocket: Vec<Utxo> = (0..6).map(|v| utxo(v, 0)).collect();
        let got = take_indices(&mut pocket, &mut [4, 1, 5]);
        assert_eq!(got.iter().map(|u| u.value).collect::<Vec<_>>(), vec![4, 1, 5]);
        let mut rest: Vec<u64> = pocket.iter().map(|u| u.value).collect();
        rest.sort();
        assert_eq!(rest, vec![0, 2, 3]);
    }
}
