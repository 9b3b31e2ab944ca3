//! Change heuristics: which output of a payment returns to the payer. Each one votes for an
//! output or abstains; the rules and their sources are in docs/clustering.md.

use serde::{Deserialize, Serialize};
use sleuth_index::View;

use super::txview::TxView;

/// A change heuristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeHeuristic {
    /// One-time change: the only output to an address never seen before, when the other was.
    Fresh,
    /// Address-type match: the only output of the same script type as every input.
    AddressType,
    /// Optimal change: the only output smaller than every input (else an input was unneeded).
    Optimal,
    /// Round-number payment: the other output is a round amount, this one is not.
    Round,
    /// Wallet fingerprint: the only output whose spender has this transaction's version,
    /// sequence style, locktime style, segwit use and BIP69 ordering.
    Fingerprint,
    /// Peel chain: the only output spent by a one-input, two-output transaction in turn.
    Peel,
}

impl ChangeHeuristic {
    /// All change heuristics.
    pub const ALL: [ChangeHeuristic; 6] = [
        ChangeHeuristic::Fresh,
        ChangeHeuristic::AddressType,
        ChangeHeuristic::Optimal,
        ChangeHeuristic::Round,
        ChangeHeuristic::Fingerprint,
        ChangeHeuristic::Peel,
    ];

    /// Name on the command line (`change-fresh`, …).
    pub fn name(self) -> &'static str {
        match self {
            ChangeHeuristic::Fresh => "change-fresh",
            ChangeHeuristic::AddressType => "change-type",
            ChangeHeuristic::Optimal => "change-optimal",
            ChangeHeuristic::Round => "change-round",
            ChangeHeuristic::Fingerprint => "change-fingerprint",
            ChangeHeuristic::Peel => "change-peel",
        }
    }
}

/// Whether a value looks chosen by a person: a multiple of 0.0001 BTC (10,000 sat).
fn is_round(v: u64) -> bool {
    v > 0 && v.is_multiple_of(10_000)
}

/// The one position `pred` holds for among two, if exactly one.
fn only_one(pred: impl Fn(usize) -> bool) -> Option<usize> {
    match (pred(0), pred(1)) {
        (true, false) => Some(0),
        (false, true) => Some(1),
        _ => None,
    }
}

/// The output `h` names as change of `tx`, if it names one. Only two-output payments whose
/// outputs both have addresses, none of them an input address, are considered.
pub fn vote(h: ChangeHeuristic, tx: &TxView, index: &View<'_>) -> Option<usize> {
    let outs = &tx.outputs;
    match h {
        ChangeHeuristic::Fresh => only_one(|k| outs[k].first_use),
        ChangeHeuristic::AddressType => {
            let kind = tx.inputs.first()?.kind;
            if tx.inputs.iter().any(|i| i.kind != kind) {
                return None;
            }
            only_one(|k| outs[k].kind == kind)
        }
        ChangeHeuristic::Optimal => {
            if tx.inputs.len() < 2 {
                return None;
            }
            let min_in = tx.inputs.iter().map(|i| i.value).min()?;
            only_one(|k| outs[k].value < min_in)
        }
        ChangeHeuristic::Round => only_one(|k| !is_round(outs[k].value)),
        ChangeHeuristic::Fingerprint => {
            let mine = tx.fingerprint(index);
            let style = |f: sleuth_index::TxFingerprint| (f.version, f.sequences, f.locktime != 0, f.segwit, f.bip69);
            let same =
                |k: usize| tx.spender_of(index, k).is_some_and(|s| style(index.tx_fingerprint(s)) == style(mine));
            only_one(same)
        }
        ChangeHeuristic::Peel => {
            let peels = |k: usize| {
                tx.spender_of(index, k)
                    .is_some_and(|s| index.tx_input_range(s).count() == 1 && index.tx_output_range(s).count() == 2)
            };
            only_one(peels)
        }
    }
}

/// Whether `tx` has the shape the change heuristics consider.
pub fn is_candidate(tx: &TxView) -> bool {
    !tx.coinbase
        && tx.outputs.len() == 2
        && !tx.input_addrs.is_empty()
        && tx.outputs.iter().all(|o| o.addr.is_some_and(|a| !tx.input_addrs.contains(&a)))
}
