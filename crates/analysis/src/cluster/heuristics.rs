//! [`HeuristicSet`]: which heuristics a clustering uses, by name.

use std::fmt;
use std::str::FromStr;

use super::change::ChangeHeuristic;

/// A set of clustering heuristics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeuristicSet {
    /// Multi-input: all inputs of a (non-CoinJoin) transaction have one owner.
    pub multi_input: bool,
    /// The change heuristics in use; a change output is merged only when every one of them
    /// that votes names the same output. Indexed as [`ChangeHeuristic::ALL`].
    pub change: [bool; ChangeHeuristic::ALL.len()],
    /// Cluster-collapse guard: a change inference that would join two clusters of at least
    /// this many addresses each is held back (and recorded) instead of merged; 0 turns the
    /// guard off. See [`DEFAULT_COLLAPSE_GUARD`].
    pub collapse_guard: u32,
    /// The most outputs a payment may have for the change heuristics to consider it (at least
    /// 2). See [`DEFAULT_CHANGE_OUTPUTS`].
    pub change_outputs: u32,
    /// CoinJoin change links: in a JoinMarket-shaped CoinJoin, each change output joins the
    /// one input it is the remainder of ([`super::coinjoin::change_links`]).
    pub coinjoin_change: bool,
}

/// Name of the change-outputs setting: `change-outputs=N`.
const CHANGE_OUTPUTS: &str = "change-outputs";

/// The default of [`HeuristicSet::change_outputs`]: payments of up to 16 outputs (a
/// `sendmany`, an exchange's batched withdrawals), where `change-optimal` only confirms
/// ([`super::change::confirm_only_bits`]). On the real-wallet economy, extending the change
/// heuristics from two-output payments to these raised recall by 2–3 points of the ceiling
/// at precision 1.0000; on the simulator every added merge was correct. 4, 16 and 100 gave
/// the same figures on both within 0.1 point.
pub const DEFAULT_CHANGE_OUTPUTS: u32 = 16;

/// Name of the guard's setting: `collapse-guard=N`.
const COLLAPSE_GUARD: &str = "collapse-guard";

/// The collapse guard's default size. A wallet's change goes to an address it never used,
/// which joins the payer's cluster alone: a change inference landing on an address that is
/// already part of a cluster of several is far more often a payment to someone's reused
/// address than change (Möser & Narayanan 2022, "Resurrecting Address Clustering in
/// Bitcoin", on cluster collapse through single false change inferences).
pub const DEFAULT_COLLAPSE_GUARD: u32 = 2;

/// Name of the multi-input heuristic.
const MULTI_INPUT: &str = "multi-input";

/// Name that stands for the [`DEFAULT_CHANGE`] heuristics.
const CHANGE: &str = "change";

/// Bit in [`MergeRec::heuristic`](super::store::MergeRec) for multi-input merges; change
/// heuristic `i` of [`ChangeHeuristic::ALL`] is bit `i + 1`.
pub const MULTI_INPUT_BIT: u16 = 1;

/// Name of the CoinJoin change link ([`super::coinjoin::change_links`]).
const COINJOIN_CHANGE: &str = "coinjoin-change";

/// Bit in [`MergeRec::heuristic`](super::store::MergeRec) for CoinJoin change links (after
/// the multi-input bit and the change heuristics' bits).
pub const COINJOIN_CHANGE_BIT: u16 = 1 << (ChangeHeuristic::ALL.len() + 1);

/// The change heuristics `--heuristics change` stands for: the set with the highest recall
/// on the real-wallet economy (`scripts/cluster-accuracy-real.sh`) at pairwise precision
/// ≥ 0.999 and no cluster mixing two wallets on every run measured (see README): one-time
/// change, optimal change and round-number payments, each confirmed or contradicted by
/// Bitcoin Core's change type (which names nothing alone, [`super::change::CONFIRM_ONLY_BITS`]).
/// `change` also turns on the CoinJoin change links ([`HeuristicSet::coinjoin_change`]): on
/// the fourteen economies they raised the share of the ceiling from a mean of 50.5 % to 54.8 %
/// at precision 1.0000.
pub const DEFAULT_CHANGE: [ChangeHeuristic; 4] =
    [ChangeHeuristic::Fresh, ChangeHeuristic::Optimal, ChangeHeuristic::Round, ChangeHeuristic::Core];

impl HeuristicSet {
    /// Multi-input only.
    pub fn multi_input_only() -> HeuristicSet {
        HeuristicSet {
            multi_input: true,
            change: [false; ChangeHeuristic::ALL.len()],
            collapse_guard: DEFAULT_COLLAPSE_GUARD,
            change_outputs: DEFAULT_CHANGE_OUTPUTS,
            coinjoin_change: false,
        }
    }

    /// The default: multi-input plus [`DEFAULT_CHANGE`] and the CoinJoin change links.
    pub fn default_set() -> HeuristicSet {
        let mut s = HeuristicSet::multi_input_only();
        for h in DEFAULT_CHANGE {
            s.change[h as usize] = true;
        }
        s.coinjoin_change = true;
        s
    }

    /// The change heuristics in use.
    pub fn change_heuristics(&self) -> impl Iterator<Item = ChangeHeuristic> + '_ {
        ChangeHeuristic::ALL.into_iter().filter(|h| self.change[*h as usize])
    }

    /// Names of the heuristics in use.
    pub fn names(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.multi_input {
            v.push(MULTI_INPUT.to_owned());
        }
        v.extend(self.change_heuristics().map(|h| h.name().to_owned()));
        if self.coinjoin_change {
            v.push(COINJOIN_CHANGE.to_owned());
        }
        // The guard only acts on change inferences.
        if self.change_heuristics().next().is_some() || self.coinjoin_change {
            v.push(format!("{COLLAPSE_GUARD}={}", self.collapse_guard));
            // Named only when it is not the default, so that the names of the sets measured
            // before the setting existed stay what they were.
            if self.change_outputs != DEFAULT_CHANGE_OUTPUTS {
                v.push(format!("{CHANGE_OUTPUTS}={}", self.change_outputs));
            }
        }
        v
    }
}

/// Names of the heuristics a merge record's bits stand for.
pub fn bit_names(bits: u16) -> Vec<&'static str> {
    let mut v = Vec::new();
    if bits & MULTI_INPUT_BIT != 0 {
        v.push(MULTI_INPUT);
    }
    for h in ChangeHeuristic::ALL {
        if bits & (1 << (h as u16 + 1)) != 0 {
            v.push(h.name());
        }
    }
    if bits & COINJOIN_CHANGE_BIT != 0 {
        v.push(COINJOIN_CHANGE);
    }
    v
}

/// An unknown heuristic name.
#[derive(Debug, thiserror::Error)]
#[error("unknown heuristic {0:?}; expected {expected}", expected = expected_names())]
pub struct UnknownHeuristic(pub String);

/// Every name `HeuristicSet`'s `FromStr` takes, as "a, b or c".
fn expected_names() -> String {
    let mut names = vec![MULTI_INPUT, CHANGE];
    names.extend(ChangeHeuristic::ALL.map(ChangeHeuristic::name));
    names.push(COINJOIN_CHANGE);
    names.push("collapse-guard=N (0: off)");
    names.push("change-outputs=N (2 or more)");
    let (last, rest) = names.split_last().expect("at least two names");
    format!("{} or {last}", rest.join(", "))
}

impl FromStr for HeuristicSet {
    type Err = UnknownHeuristic;
    /// Comma-separated names; `change` adds the default change heuristics;
    /// `collapse-guard=N` sets the guard ([`DEFAULT_COLLAPSE_GUARD`] unless given).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = HeuristicSet {
            multi_input: false,
            change: [false; ChangeHeuristic::ALL.len()],
            collapse_guard: DEFAULT_COLLAPSE_GUARD,
            change_outputs: DEFAULT_CHANGE_OUTPUTS,
            coinjoin_change: false,
        };
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if let Some(n) = name.strip_prefix(COLLAPSE_GUARD).and_then(|r| r.strip_prefix('=')) {
                set.collapse_guard = n.parse().map_err(|_| UnknownHeuristic(name.to_owned()))?;
                continue;
            }
            if let Some(n) = name.strip_prefix(CHANGE_OUTPUTS).and_then(|r| r.strip_prefix('=')) {
                set.change_outputs =
                    n.parse().ok().filter(|&n| n >= 2).ok_or_else(|| UnknownHeuristic(name.to_owned()))?;
                continue;
            }
            match name {
                MULTI_INPUT => set.multi_input = true,
                CHANGE => {
                    DEFAULT_CHANGE.iter().for_each(|h| set.change[*h as usize] = true);
                    set.coinjoin_change = true;
                }
                COINJOIN_CHANGE => set.coinjoin_change = true,
                _ => {
                    let h = ChangeHeuristic::ALL
                        .into_iter()
                        .find(|h| h.name() == name)
                        .ok_or_else(|| UnknownHeuristic(name.to_owned()))?;
                    set.change[h as usize] = true;
                }
            }
        }
        Ok(set)
    }
}

impl fmt::Display for HeuristicSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let all = "multi-input,change-fresh,change-type,change-optimal,change-round,change-fingerprint,change-peel,change-core,coinjoin-change,collapse-guard=7,change-outputs=5";
        let set: HeuristicSet = all.parse().unwrap();
        assert!(set.multi_input && set.change.iter().all(|&on| on) && set.coinjoin_change);
        assert_eq!((set.collapse_guard, set.change_outputs), (7, 5));
        assert!("multi-input,change-outputs=1".parse::<HeuristicSet>().is_err(), "a payment has two outputs or more");
        assert_eq!(set.to_string(), all);
        let guarded = format!("multi-input,change-optimal,collapse-guard={DEFAULT_COLLAPSE_GUARD}");
        assert_eq!("multi-input,change-optimal".parse::<HeuristicSet>().unwrap().to_string(), guarded);
        assert_eq!("multi-input".parse::<HeuristicSet>().unwrap().to_string(), "multi-input", "no change, no guard");
        assert_eq!("change-round,collapse-guard=0".parse::<HeuristicSet>().unwrap().collapse_guard, 0);
        assert!("collapse-guard=many".parse::<HeuristicSet>().is_err());
        assert_eq!("change".parse::<HeuristicSet>().unwrap().change_heuristics().collect::<Vec<_>>(), DEFAULT_CHANGE);
        assert_eq!("multi-input,change".parse::<HeuristicSet>().unwrap(), HeuristicSet::default_set());
        assert_eq!(bit_names(0b11), ["multi-input", "change-fresh"]);
        assert_eq!(bit_names(1 << 7), ["change-core"]);
        assert_eq!(bit_names(COINJOIN_CHANGE_BIT), ["coinjoin-change"]);
        assert_eq!(
            "coinjoin-change".parse::<HeuristicSet>().unwrap().to_string(),
            format!("coinjoin-change,collapse-guard={DEFAULT_COLLAPSE_GUARD}")
        );
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let err = "multi-input,bogus".parse::<HeuristicSet>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown heuristic \"bogus\"; expected multi-input, change, change-fresh, change-type, change-optimal, \
             change-round, change-fingerprint, change-peel, change-core, coinjoin-change, collapse-guard=N (0: off) or \
             change-outputs=N (2 or more)"
        );
    }
}
