//! CoinJoin detection. A CoinJoin's inputs belong to many owners, so a transaction
//! recognised here is never used to merge clusters. Each rule is stated in docs/clustering.md.

use serde::{Deserialize, Serialize};

use super::txview::TxView;

/// The CoinJoin styles recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoinJoinKind {
    /// Samourai Whirlpool: 5 inputs, 5 outputs of one pool denomination.
    Whirlpool,
    /// Wasabi 1.x (ZeroLink): many equal outputs of about 0.1 BTC.
    Wasabi1,
    /// Wasabi 2.x (WabiSabi): many owners, many outputs in repeated standard denominations.
    Wasabi2,
    /// JoinMarket: a few equal outputs (one per participant) plus at most one change each.
    JoinMarket,
    /// Any other transaction whose outputs are mostly of one value, paid to as many owners.
    Generic,
}

/// Whirlpool's pool denominations in satoshis (0.001, 0.01, 0.05 and 0.5 BTC).
const WHIRLPOOL_POOLS: [u64; 4] = [100_000, 1_000_000, 5_000_000, 50_000_000];

/// Whether `v` is one of WabiSabi's standard output denominations (at least 5,000 sat): powers
/// of 2 and 3, twice a power of 3, and 1, 2 or 5 times a power of 10.
fn is_wabisabi_denomination(v: u64) -> bool {
    if v < 5_000 {
        return false;
    }
    let power_of = |mut x: u64, b: u64| {
        while x.is_multiple_of(b) {
            x /= b;
        }
        x == 1
    };
    v.is_power_of_two()
        || power_of(v, 3)
        || (v.is_multiple_of(2) && power_of(v / 2, 3))
        || [1, 2, 5].iter().any(|&m| v.is_multiple_of(m) && power_of(v / m, 10))
}

/// The most common output value and how many outputs carry it (of equally common values, the
/// largest). Sorting a copy of the values beats a map for the few outputs most transactions
/// have, and, unlike a cleared map, costs nothing extra after one wide transaction.
fn most_common_value(tx: &TxView, values: &mut Vec<u64>) -> (u64, usize) {
    values.clear();
    values.extend(tx.outputs.iter().map(|o| o.value));
    values.sort_unstable();
    let mut best = (0, 0);
    for run in values.chunk_by(|a, b| a == b) {
        if run.len() >= best.1 {
            best = (run[0], run.len());
        }
    }
    best
}

/// Recognises a CoinJoin; `values` is a reused scratch buffer.
pub fn detect(tx: &TxView, values: &mut Vec<u64>) -> Option<CoinJoinKind> {
    let (n_in, n_out) = (tx.inputs.len(), tx.outputs.len());
    if tx.coinbase || n_in < 2 || n_out < 2 {
        return None;
    }
    let owners_in = tx.input_addrs.len();
    let (value, equal) = most_common_value(tx, values);
    if n_in == 5 && n_out == 5 && equal == 5 && WHIRLPOOL_POOLS.contains(&value) {
        return Some(CoinJoinKind::Whirlpool);
    }
    if equal >= 10 && (8_000_000..=12_000_000).contains(&value) && owners_in >= equal / 2 {
        return Some(CoinJoinKind::Wasabi1);
    }
    if n_in >= 5 && n_out >= 10 && owners_in >= 5 {
        let standard = tx.outputs.iter().filter(|o| is_wabisabi_denomination(o.value)).count();
        if standard * 2 >= n_out {
            return Some(CoinJoinKind::Wasabi2);
        }
    }
    if equal >= 3 && owners_in >= equal && n_out <= 2 * equal + 1 {
        return Some(CoinJoinKind::JoinMarket);
    }
    if equal >= 2 && equal * 2 >= n_out && owners_in >= equal && n_in >= equal {
        return Some(CoinJoinKind::Generic);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wabisabi_denominations() {
        for v in [5_000u64, 6_561, 8_192, 10_000, 13_122, 20_000, 50_000, 200_000_000, 1 << 30] {
            assert!(is_wabisabi_denomination(v), "{v}");
        }
        for v in [4_096u64, 7_000, 12_345, 2_696_423, 300_000] {
            assert!(!is_wabisabi_denomination(v), "{v}");
        }
    }
}
