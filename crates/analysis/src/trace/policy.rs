//! The five taint policies as rules for one transaction: given how much of each input is
//! tainted, how much of each output (and of the fee) is. Pure integer arithmetic on
//! satoshis; every rule conserves value exactly (poison excepted, by definition). The
//! definitions, sources and worked examples are in `docs/tracing.md`.

use serde::{Deserialize, Serialize};

use super::ranges::Ranges;

sleuth_chain::named_enum! {
    serde:
    /// A rule for how taint passes through a transaction.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub enum Policy {
        /// Any tainted input taints every output in full (Möser, Böhme & Breuker 2014).
        Poison => "poison",
        /// Each output carries the inputs' tainted share in proportion to its value (same paper).
        Haircut => "haircut",
        /// Satoshis leave in the order they entered, first input to first output, at satoshi
        /// precision (Clayton's case; Anderson et al., "Bitcoin Redux", 2018).
        Fifo => "fifo",
        /// Satoshis leave in the reverse order: the last input's to the first output.
        Lifo => "lifo",
        /// Taint in, highest out: tainted value goes to the largest outputs first
        /// (Tironsakkul et al. 2019).
        Tiho => "tiho",
    }
}

/// A policy name that is none of [`Policy::NAME_LIST`] (or `all`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown taint policy {0:?}; expected one of {list}, or all", list = Policy::NAME_LIST)]
pub struct UnknownPolicy(pub String);

impl std::str::FromStr for Policy {
    type Err = UnknownPolicy;
    fn from_str(s: &str) -> Result<Policy, UnknownPolicy> {
        Policy::from_name(s).ok_or_else(|| UnknownPolicy(s.to_owned()))
    }
}

/// Splits `total` over `weights` in proportion, to the satoshi: each part is the floor of its
/// exact share, and the satoshis the floors leave over go one each to the parts with the
/// largest remainders, ties to the earlier part (Hamilton's largest-remainder method). The
/// parts add up to `total` exactly whenever the weights are not all zero.
pub fn split_proportionally(total: u64, weights: &[u64], out: &mut Vec<u64>) {
    out.clear();
    let sum: u128 = weights.iter().map(|&w| w as u128).sum();
    if sum == 0 || total == 0 {
        out.resize(weights.len(), 0);
        return;
    }
    let mut rem: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    let mut given = 0u64;
    for (k, &w) in weights.iter().enumerate() {
        let exact = total as u128 * w as u128;
        let part = (exact / sum) as u64;
        out.push(part);
        given += part;
        rem.push((exact % sum, k));
    }
    let mut left = total - given;
    if left > 0 {
        // Largest remainder first; on equal remainders the earlier part.
        rem.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, k) in &rem {
            if left == 0 {
                break;
            }
            out[k] += 1;
            left -= 1;
        }
    }
}

/// Haircut forward: `tainted` satoshis among inputs worth `input_sum` go to the outputs (and
/// the fee, last in `parts`) in proportion to their values, by [`split_proportionally`].
/// `parts` holds the output values followed by the fee.
pub fn haircut(tainted: u64, parts: &[u64], out: &mut Vec<u64>) {
    split_proportionally(tainted, parts, out);
}

/// TIHO forward: `tainted` satoshis fill the largest outputs first (equal values: the earlier
/// output first), each up to its value; what is left (only when taint exceeds the outputs) is
/// fee. `parts` holds the output values followed by the fee; the fee is always filled last.
pub fn tiho(tainted: u64, parts: &[u64], out: &mut Vec<u64>) {
    out.clear();
    out.resize(parts.len(), 0);
    let n_out = parts.len().saturating_sub(1);
    let mut order: Vec<usize> = (0..n_out).collect();
    order.sort_by(|&a, &b| parts[b].cmp(&parts[a]).then(a.cmp(&b)));
    order.push(n_out);
    let mut left = tainted;
    for k in order {
        let take = left.min(parts[k]);
        out[k] = take;
        left -= take;
        if left == 0 {
            break;
        }
    }
}

/// FIFO forward: the inputs' satoshis lined up in input order (input `i` holds positions
/// `[P_i, P_i + v_i)`), the outputs take consecutive runs in output order, the fee the rest.
/// `taint[i]` are the tainted positions within input `i`; the result, per part (outputs then
/// fee), the tainted positions within it.
pub fn fifo<'a>(inputs: &[u64], taint: impl IntoIterator<Item = &'a Ranges>, parts: &[u64], out: &mut Vec<Ranges>) {
    let line = line_up(inputs, taint);
    cut(&line, parts, false, out);
}

/// LIFO forward: as [`fifo`], but the outputs take from the end of the line of inputs: the
/// first output the last input's newest satoshis, and the fee what the oldest inputs leave.
pub fn lifo<'a>(inputs: &[u64], taint: impl IntoIterator<Item = &'a Ranges>, parts: &[u64], out: &mut Vec<Ranges>) {
    let line = line_up(inputs, taint);
    cut(&line, parts, true, out);
}

/// The tainted positions of the whole line of inputs.
fn line_up<'a>(inputs: &[u64], taint: impl IntoIterator<Item = &'a Ranges>) -> Ranges {
    let mut line = Ranges::default();
    let mut at = 0u64;
    for (v, t) in inputs.iter().zip(taint) {
        for (s, e) in t.iter() {
            line.push(at + s, at + e);
        }
        at += v;
    }
    line
}

/// Cuts a line of satoshis into consecutive parts: from the start (FIFO) or from the end
/// (LIFO, the first part the last run). Positions within a part count from its start in
/// line order.
fn cut(line: &Ranges, parts: &[u64], from_end: bool, out: &mut Vec<Ranges>) {
    out.clear();
    let total: u64 = parts.iter().sum();
    let mut at = 0u64;
    for &w in parts {
        let (lo, hi) = if from_end { (total - at - w, total - at) } else { (at, at + w) };
        out.push(line.window(lo, hi));
        at += w;
    }
}

/// Backward FIFO/LIFO: where the tainted positions of output `k` (of values `outputs`, fee
/// after them) came from, per input. The same line as forward, read the other way.
pub fn lined_back(
    inputs: &[u64],
    outputs_and_fee: &[u64],
    k: usize,
    taint: &Ranges,
    from_end: bool,
    out: &mut Vec<Ranges>,
) {
    let total: u64 = outputs_and_fee.iter().sum();
    let before: u64 = outputs_and_fee[..k].iter().sum();
    let w = outputs_and_fee[k];
    let lo = if from_end { total - before - w } else { before };
    let mut line = Ranges::default();
    for (s, e) in taint.iter() {
        line.push(lo + s, lo + e);
    }
    out.clear();
    let mut at = 0u64;
    for &v in inputs {
        out.push(line.window(at, at + v));
        at += v;
    }
}

/// Backward TIHO ("highest in, highest out"): the flow that pours the largest inputs into
/// the largest outputs, in value order, read backward: how much of `amount` tainted satoshis
/// of output `k` came from each input (outputs' values in `outputs`, fee not included; the
/// fee is funded last).
pub fn tiho_back(inputs: &[u64], outputs: &[u64], k: usize, amount: u64, out: &mut Vec<u64>) {
    out.clear();
    out.resize(inputs.len(), 0);
    let mut in_order: Vec<usize> = (0..inputs.len()).collect();
    in_order.sort_by(|&a, &b| inputs[b].cmp(&inputs[a]).then(a.cmp(&b)));
    let mut out_order: Vec<usize> = (0..outputs.len()).collect();
    out_order.sort_by(|&a, &b| outputs[b].cmp(&outputs[a]).then(a.cmp(&b)));
    // Position of output k's run in the sorted pouring, then the inputs that cover it.
    let start: u64 = out_order.iter().take_while(|&&j| j != k).map(|&j| outputs[j]).sum();
    let (lo, hi) = (start, start + amount.min(outputs[k]));
    let mut at = 0u64;
    for i in in_order {
        let (a, b) = (at, at + inputs[i]);
        out[i] = b.min(hi).saturating_sub(a.max(lo));
        at = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_reconciles_and_breaks_ties_to_the_earlier_part() {
        let mut out = Vec::new();
        // 3 stolen of 10 in, outputs 5 and 5: 1.5 each; the leftover satoshi goes to the first.
        split_proportionally(3, &[5, 5], &mut out);
        assert_eq!(out, [2, 1]);
        split_proportionally(100, &[1, 1, 1], &mut out);
        assert_eq!(out, [34, 33, 33]);
        split_proportionally(7, &[0, 0], &mut out);
        assert_eq!(out, [0, 0]);
        split_proportionally(u64::MAX, &[u64::MAX, 1], &mut out);
        assert_eq!(out.iter().map(|&x| x as u128).sum::<u128>(), u64::MAX as u128);
    }

    /// Clayton's case (Devaynes v Noble, 1816), as a transaction: 10 clean coins entered
    /// first, then 3 stolen; 5 leave, then 8. The first out are the first in.
    #[test]
    fn claytons_case_fifo_and_its_mirror_lifo() {
        let inputs = [10, 3];
        let clean = Ranges::default();
        let stolen = Ranges::whole(3);
        let taint = [&clean, &stolen];
        let parts = [5, 8, 0];
        let mut out = Vec::new();
        fifo(&inputs, taint, &parts, &mut out);
        let totals: Vec<u64> = out.iter().map(Ranges::total).collect();
        assert_eq!(totals, [0, 3, 0], "the first 5 out are clean; the stolen 3 stay in the 8");
        assert_eq!(out[1].iter().collect::<Vec<_>>(), [(5, 8)], "the 6th to 8th satoshi of the second output");
        lifo(&inputs, taint, &parts, &mut out);
        let totals: Vec<u64> = out.iter().map(Ranges::total).collect();
        assert_eq!(totals, [3, 0, 0], "the last in (stolen) leave first");
    }

    /// Möser, Böhme & Breuker's example: 3 stolen and 7 clean coins in; every output is 30 %
    /// tainted under haircut, fully under poison. With outputs of 6 and 3 and a fee of 1, the
    /// exact shares are 1.8, 0.9 and 0.3: the floors give 1, 0, 0 and the 2 satoshis left go
    /// to the largest remainders (0.9, then 0.8).
    #[test]
    fn three_stolen_and_seven_clean_under_haircut_reconcile_to_the_satoshi() {
        let mut out = Vec::new();
        haircut(3, &[6, 3, 1], &mut out);
        assert_eq!(out, [2, 1, 0]);
        assert_eq!(out.iter().sum::<u64>(), 3);
        // At satoshi scale: 3 BTC stolen of 10 in; outputs 6 and 3.9999 BTC, fee 0.0001.
        haircut(300_000_000, &[600_000_000, 399_990_000, 10_000], &mut out);
        assert_eq!(out, [180_000_000, 119_997_000, 3_000]);
        // TIHO: the 3 tainted go to the largest output.
        tiho(3, &[6, 3, 1], &mut out);
        assert_eq!(out, [3, 0, 0]);
        // Backward, the 6-coin output came 3/10 from the stolen input.
        split_proportionally(6, &[3, 7], &mut out);
        assert_eq!(out, [2, 4], "1.8 and 4.2: the leftover satoshi to the larger remainder (0.8)");
    }

    #[test]
    fn backward_lines_read_the_forward_line_the_other_way() {
        let inputs = [10, 3];
        let parts = [5, 8, 0];
        let mut out = Vec::new();
        // The second output (positions 5..13 of the line) came 5 from the first input, 3 from
        // the second.
        lined_back(&inputs, &parts, 1, &Ranges::whole(8), false, &mut out);
        assert_eq!(out.iter().map(Ranges::total).collect::<Vec<_>>(), [5, 3]);
        lined_back(&inputs, &parts, 0, &Ranges::whole(5), true, &mut out);
        assert_eq!(
            out.iter().map(Ranges::total).collect::<Vec<_>>(),
            [2, 3],
            "LIFO: the first output took the last in"
        );
        // TIHO back: the largest output (8) is poured from the largest input (10).
        let mut amounts = Vec::new();
        tiho_back(&inputs, &[5, 8], 1, 8, &mut amounts);
        assert_eq!(amounts, [8, 0]);
        tiho_back(&inputs, &[5, 8], 0, 5, &mut amounts);
        assert_eq!(amounts, [2, 3]);
    }

    #[test]
    fn tiho_fills_the_largest_outputs_first_and_the_fee_last() {
        let mut out = Vec::new();
        tiho(7, &[2, 5, 3, 1], &mut out);
        assert_eq!(out, [0, 5, 2, 0]);
        tiho(11, &[2, 5, 3, 1], &mut out);
        assert_eq!(out, [2, 5, 3, 1]);
    }
}
