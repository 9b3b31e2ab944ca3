//! Change heuristics: which output of a payment returns to the payer. Each one votes for an
//! output or abstains; the rules and their sources are in docs/clustering.md.

use serde::{Deserialize, Serialize};
use sleuth_chain::decode::SequenceKind;
use sleuth_chain::ScriptKind;
use sleuth_index::{TxFingerprint, View};

use super::txview::TxView;

/// A change heuristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeHeuristic {
    /// One-time change: the only output to an address never seen before, when the other was.
    Fresh,
    /// Address-type match: the only output of the same script type as every input, on
    /// transactions without Bitcoin Core's signature (Core picks change types of its own).
    AddressType,
    /// Optimal change: the only output smaller than every input (else an input was unneeded);
    /// with no such output it vetoes every vote (see [`vetoes`]).
    Optimal,
    /// Round-number payment: the other output is a round amount, this one is not.
    Round,
    /// Wallet fingerprint: every output is spent, and only one spender has this
    /// transaction's version, sequence style, locktime style, segwit use and BIP69 ordering.
    Fingerprint,
    /// Peel chain: the only output spent by a one-input, two-output transaction with this
    /// transaction's wallet fingerprint.
    Peel,
    /// Bitcoin Core's change type: on a transaction with Core's signature (version 2,
    /// anti-fee-sniping locktime, sequences `0xfffffffe` or BIP125), the only P2WPKH output;
    /// with no P2WPKH output it vetoes every vote (see [`vetoes`]). It confirms or
    /// contradicts the other heuristics but never names change alone
    /// ([`CONFIRM_ONLY_BITS`]): a Core spend whose coin selection found an exact input set
    /// (branch and bound) has no change, and one of its payments may be P2WPKH.
    Core,
}

/// Merge-record bits of the heuristics that only confirm or contradict another's vote:
/// `change-core`. On the real-wallet economy it named a merchant's payment to a supplier as
/// change in changeless two-payment spends of many inputs, once per run or two.
pub const CONFIRM_ONLY_BITS: u8 = 1 << (ChangeHeuristic::Core as u8 + 1);

/// The merge-record bits of the heuristics that only confirm or contradict on a payment of
/// `outputs` outputs: [`CONFIRM_ONLY_BITS`], and on payments of three outputs or more
/// `change-optimal` too. There a lone optimal vote has more ways to be wrong: on the simulator
/// it named a mining pool's one small payout (a coinbase and a second input paying seven
/// miners, no change) and a settlement's payment below its smallest input (22 inputs, the
/// true change larger than that input), where `change-round` alone named none falsely.
pub fn confirm_only_bits(outputs: usize) -> u8 {
    let optimal = 1 << (ChangeHeuristic::Optimal as u8 + 1);
    if outputs > 2 {
        CONFIRM_ONLY_BITS | optimal
    } else {
        CONFIRM_ONLY_BITS
    }
}

impl ChangeHeuristic {
    /// All change heuristics.
    pub const ALL: [ChangeHeuristic; 7] = [
        ChangeHeuristic::Fresh,
        ChangeHeuristic::AddressType,
        ChangeHeuristic::Optimal,
        ChangeHeuristic::Round,
        ChangeHeuristic::Fingerprint,
        ChangeHeuristic::Peel,
        ChangeHeuristic::Core,
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
            ChangeHeuristic::Core => "change-core",
        }
    }
}

/// Whether a value looks chosen by a person: a multiple of 0.0001 BTC (10,000 sat).
fn is_round(v: u64) -> bool {
    v > 0 && v.is_multiple_of(10_000)
}

/// The one position among `n` that `pred` holds for, if exactly one.
fn only_one(n: usize, pred: impl Fn(usize) -> bool) -> Option<usize> {
    let mut found = None;
    for k in 0..n {
        if pred(k) {
            if found.is_some() {
                return None;
            }
            found = Some(k);
        }
    }
    found
}

/// Locktimes below this are block heights (BIP65's threshold).
const LOCKTIME_THRESHOLD: u32 = 500_000_000;

/// Whether `f` carries Bitcoin Core's signature: version 2, a height locktime (anti-fee-
/// sniping sets the tip's height) and every input's sequence `0xfffffffe`, or BIP125's.
fn is_core(f: TxFingerprint) -> bool {
    f.version == 2
        && f.locktime != 0
        && f.locktime < LOCKTIME_THRESHOLD
        && matches!(f.sequences, SequenceKind::LocktimeNoRbf | SequenceKind::Rbf)
}

/// The wallet-style fields compared between a transaction and the spender of an output.
fn style(f: TxFingerprint) -> (u8, SequenceKind, bool, bool, bool) {
    (f.version, f.sequences, f.locktime != 0, f.segwit, f.bip69)
}

/// The output `h` names as change of `tx`, if it names one. Only payments with two to
/// `change-outputs=N` outputs that all have addresses, none of them an input address, are
/// considered (see [`is_candidate`]).
pub fn vote(h: ChangeHeuristic, tx: &TxView, index: &View<'_>) -> Option<usize> {
    let outs = &tx.outputs;
    let n = outs.len();
    match h {
        ChangeHeuristic::Fresh => only_one(n, |k| outs[k].first_use),
        ChangeHeuristic::AddressType => {
            if is_core(tx.fingerprint(index)) {
                return None;
            }
            let kind = tx.inputs.first()?.kind;
            if tx.inputs.iter().any(|i| i.kind != kind) {
                return None;
            }
            only_one(n, |k| outs[k].kind == kind)
        }
        ChangeHeuristic::Optimal => {
            if tx.inputs.len() < 2 {
                return None;
            }
            let min_in = tx.inputs.iter().map(|i| i.value).min()?;
            only_one(n, |k| outs[k].value < min_in)
        }
        ChangeHeuristic::Round => only_one(n, |k| !is_round(outs[k].value)),
        ChangeHeuristic::Fingerprint => {
            // An unspent output says nothing about its owner's wallet: vote only when every
            // output's spender is known.
            let spenders: Vec<_> = (0..n).map(|k| tx.spender_of(index, k)).collect();
            if spenders.iter().any(Option::is_none) {
                return None;
            }
            let mine = style(tx.fingerprint(index));
            only_one(n, |k| spenders[k].is_some_and(|s| style(index.tx_fingerprint(s)) == mine))
        }
        ChangeHeuristic::Peel => {
            let mine = style(tx.fingerprint(index));
            let peels = |k: usize| {
                tx.spender_of(index, k).is_some_and(|s| {
                    index.tx_input_range(s).count() == 1
                        && index.tx_output_range(s).count() == 2
                        && style(index.tx_fingerprint(s)) == mine
                })
            };
            only_one(n, peels)
        }
        ChangeHeuristic::Core => {
            if !is_core(tx.fingerprint(index)) {
                return None;
            }
            only_one(n, |k| outs[k].kind == ScriptKind::P2wpkh)
        }
    }
}

/// Whether `h` says `tx` has no change at all, so that no heuristic's vote is used:
/// `change-optimal` on a spend of two or more inputs where no output is smaller than every
/// input, and `change-core` on a transaction with Core's signature and no P2WPKH output
/// (Core's change would be P2WPKH; without one, coin selection found a changeless input set).
pub fn vetoes(h: ChangeHeuristic, tx: &TxView, index: &View<'_>) -> bool {
    match h {
        // Every output at least as large as some input: were one of them change, that input
        // was not needed. An optimal coin selection made no change here (Core's branch and
        // bound found an exact input set), or the spender does not select optimally, and then
        // the other heuristics' premises are as doubtful.
        ChangeHeuristic::Optimal => {
            tx.inputs.len() >= 2 && {
                let min_in = tx.inputs.iter().map(|i| i.value).min().unwrap_or(0);
                tx.outputs.iter().all(|o| o.value >= min_in)
            }
        }
        ChangeHeuristic::Core => {
            is_core(tx.fingerprint(index)) && tx.outputs.iter().all(|o| o.kind != ScriptKind::P2wpkh)
        }
        _ => false,
    }
}

/// Whether `tx` has the shape the change heuristics consider: a payment of two to
/// `max_outputs` outputs, each paying an address that is not one of its inputs'.
pub fn is_candidate(tx: &TxView, max_outputs: usize) -> bool {
    !tx.coinbase
        && (2..=max_outputs).contains(&tx.outputs.len())
        && !tx.input_addrs.is_empty()
        && tx.outputs.iter().all(|o| o.addr.is_some_and(|a| !tx.input_addrs.contains(&a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(version: u8, locktime: u32, sequences: SequenceKind) -> TxFingerprint {
        TxFingerprint { version, locktime, sequences, segwit: true, bip69: false }
    }

    #[test]
    fn core_signature_is_version_2_height_locktime_and_core_sequences() {
        assert!(is_core(fp(2, 812_345, SequenceKind::LocktimeNoRbf)));
        assert!(is_core(fp(2, 812_345, SequenceKind::Rbf)));
        assert!(!is_core(fp(2, 0, SequenceKind::LocktimeNoRbf)), "no anti-fee-sniping");
        assert!(!is_core(fp(1, 812_345, SequenceKind::LocktimeNoRbf)), "version 1");
        assert!(!is_core(fp(2, 1_700_000_000, SequenceKind::LocktimeNoRbf)), "a time, not a height");
        assert!(!is_core(fp(2, 812_345, SequenceKind::Final)), "final sequences disable the locktime");
        assert!(!is_core(fp(2, 812_345, SequenceKind::Mixed)));
    }

    #[test]
    fn optimal_names_change_alone_only_on_two_output_payments() {
        let optimal = 1 << (ChangeHeuristic::Optimal as u8 + 1);
        let round = 1 << (ChangeHeuristic::Round as u8 + 1);
        let named = |bits: u8, outputs| bits & !confirm_only_bits(outputs) != 0;
        assert!(named(optimal, 2));
        assert!(!named(optimal, 3) && !named(optimal | CONFIRM_ONLY_BITS, 5));
        assert!(named(round, 3) && named(round | optimal, 16));
        assert!(!named(CONFIRM_ONLY_BITS, 2));
    }

    #[test]
    fn only_one_needs_exactly_one() {
        assert_eq!(only_one(2, |k| k == 1), Some(1));
        assert_eq!(only_one(3, |k| k == 0), Some(0));
        assert_eq!(only_one(2, |_| true), None);
        assert_eq!(only_one(2, |_| false), None);
    }
}
