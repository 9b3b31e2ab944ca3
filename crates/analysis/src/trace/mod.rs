//! Taint tracing: where stolen coins went (forward) and where a deposit's value came from
//! (backward), under five policies side by side in one pass over the transaction graph.
//!
//! The walk visits transactions in chain order (forward) or reverse chain order (backward),
//! so that every tainted input of a transaction is known before the transaction is split
//! ([`policy`] holds the per-transaction rules). It is cluster-aware: a transfer inside one
//! cluster is not a hop, and it stops where [`Attribution`] says money can be frozen
//! (services), is mixed (mixers), or, backward, comes from a tagged source. Every satoshi of
//! taint ends in exactly one bucket of the [`Reconciliation`].

mod attribution;
mod backward;
mod endpoints;
mod fasthash;
mod forward;
pub mod policy;
mod prefetch;
mod queue;
pub mod ranges;
mod report;
mod taint;

pub use attribution::{Attribution, Class, Label};
pub use policy::{Policy, UnknownPolicy};
pub use report::{
    CategoryAmount, Endpoint, EntityAmount, PerPolicy, Reconciliation, SourceCoin, StopReason, TraceReport,
};

use serde::{Deserialize, Serialize};
use sleuth_index::{OutputNum, View};

sleuth_chain::named_enum! {
    serde:
    /// Which way a trace follows value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum Direction {
        /// Where did it go: from coins to their spenders.
        Forward => "forward",
        /// Where did it come from: from coins to the coins their transaction spent.
        Backward => "backward",
    }
}

impl std::str::FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Direction, String> {
        Direction::from_name(s)
            .ok_or_else(|| format!("unknown direction {s:?}; expected one of {}", Direction::NAME_LIST))
    }
}

/// How far and how a trace goes.
#[derive(Debug, Clone)]
pub struct TraceOptions {
    /// Forward or backward.
    pub direction: Direction,
    /// The policies run side by side (at least one).
    pub policies: Vec<Policy>,
    /// Transfers between clusters (or addresses, without clusters) followed at most.
    pub max_hops: u32,
    /// A coin whose taint under a policy is below this is not followed further under it
    /// (counted as limited).
    pub min_sat: u64,
    /// Forward: spends above this height are not followed (the coin counts as unspent then).
    /// Backward: coins created below it are not followed.
    pub until_height: Option<u32>,
    /// Cluster-aware (a cluster paying itself is not a hop); off: coin by coin.
    pub clusters: bool,
    /// Endpoints listed at most (the largest first); the totals cover all.
    pub max_endpoints: usize,
    /// Keep as endpoints — listed, summarised in `by_entity` and `by_category`, counted in
    /// `endpoint_count` — only stops for these reasons (all when `None`); the others count in
    /// the reconciliation alone.
    pub list_only: Option<Vec<StopReason>>,
    /// Transactions visited at most: past them, every coin still waiting stops with
    /// [`StopReason::WorkLimit`] (counted as limited). Screening bounds its walk this way.
    pub max_visits: Option<u64>,
}

impl Default for TraceOptions {
    fn default() -> TraceOptions {
        TraceOptions {
            direction: Direction::Forward,
            policies: Policy::ALL.to_vec(),
            max_hops: 50,
            min_sat: 1_000,
            until_height: None,
            clusters: true,
            max_endpoints: 10_000,
            list_only: None,
            max_visits: None,
        }
    }
}

/// Traces the taint of `sources` (each tainted in full) through `view`.
pub fn trace(view: &View<'_>, sources: &[OutputNum], attribution: &Attribution, opts: &TraceOptions) -> TraceReport {
    match opts.direction {
        Direction::Forward => forward::run(view, sources, attribution, opts),
        Direction::Backward => backward::run(view, sources, attribution, opts),
    }
}
