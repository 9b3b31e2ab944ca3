//! Following value through accounts: forward from a theft (a transaction or an account) to
//! the services that can freeze it, under several policies side by side, per asset (ETH
//! and each token apart). Labels come from the caller (the engine reads the tag store), so
//! this crate stays below the tags.
//!
//! Every transfer of every account the taint reaches is replayed in chain order; each
//! payment out of a tainted account carries a tainted part under each policy ([`pool`]).
//! Value stops at services (exchanges, bridges, …: they can freeze it; an untagged deposit
//! address that sweeps to one counts as that service), at mixers (reported
//! as dark, with the candidate withdrawals and the evidence for each), at fees, at the hop
//! limit, or stays unspent; per policy these add up exactly to what was traced (poison
//! over-reaches by design and is reported as it is).

mod backward;
pub mod json;
mod mixer;
pub mod pool;
mod sweep;
mod walk;

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;

pub use backward::{trace_backward, Backward, BackwardSource};
pub use mixer::{Candidate, EvidenceLevel, MixerDeposit};
pub use pool::{AccountPolicy, Pool};
pub use sweep::sweeps_to;
pub use walk::{parse_policies, trace_forward};

use crate::amount::BaseUnits;
use crate::model::AssetId;

/// What a label means to a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelClass {
    /// Can freeze deposits: the trace stops there.
    Service,
    /// A mixer: the trace stops there and the value is dark.
    Mixer,
    /// Abuse: followed through, named in screening.
    Risk,
    /// Anything else: followed through.
    Other,
}

/// An account's label, as the tag store gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountLabel {
    /// The entity.
    pub entity: String,
    /// Its category or abuse.
    pub category: String,
    /// What it means to a trace.
    pub class: LabelClass,
}

/// Where labels come from.
pub trait Labels {
    /// The label of an account, if tagged.
    fn label(&self, a: &Address) -> Option<AccountLabel>;
}

impl<F: Fn(&Address) -> Option<AccountLabel>> Labels for F {
    fn label(&self, a: &Address) -> Option<AccountLabel> {
        self(a)
    }
}

/// Where a trace starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceStart {
    /// The value the transactions moved (of the asset traced): a drain, or an incident's
    /// drains, each tainting what it paid when the replay reaches it.
    Txs(Vec<B256>),
    /// Everything an account ever received: a thief's account.
    Account(Address),
}

/// How far and how.
#[derive(Clone, Debug)]
pub struct AccountTraceOptions {
    /// ETH or a token.
    pub asset: AssetId,
    /// Policies run side by side.
    pub policies: Vec<AccountPolicy>,
    /// Payments between accounts followed at most.
    pub max_hops: u32,
    /// Stop at tagged services (and mixers, always).
    pub stop_at_services: bool,
    /// Do not follow transfers above this block.
    pub until_block: Option<u64>,
    /// Endpoints listed at most, the largest first.
    pub max_endpoints: usize,
}

impl Default for AccountTraceOptions {
    fn default() -> Self {
        AccountTraceOptions {
            asset: AssetId::ETH,
            policies: AccountPolicy::ALL.to_vec(),
            max_hops: 20,
            stop_at_services: true,
            until_block: None,
            max_endpoints: 1_000,
        }
    }
}

/// A transfer the trace starts from.
#[derive(Clone, Debug, Serialize)]
pub struct SourceView {
    /// Its transaction.
    pub tx: String,
    /// Payer.
    pub from: String,
    /// Payee: the first tainted account.
    pub to: String,
    /// In base units.
    pub amount_base: BaseUnits,
}

/// Where tainted value ended.
#[derive(Clone, Debug, Serialize)]
pub struct AccountEndpoint {
    /// The account.
    pub address: String,
    /// Its tag label, if any.
    pub entity: Option<String>,
    /// Its category (or `mixer (behaviour)` for an untagged mixer).
    pub category: Option<String>,
    /// Per policy, in the order of `policies`.
    pub amounts_base: Vec<BaseUnits>,
    /// The block tainted value first arrived in.
    pub height: u64,
    /// Its time.
    pub time: u64,
    /// Payments from the source.
    pub hops: u32,
    /// The transactions from the source to here.
    pub path_txids: Vec<String>,
    /// `service`, `mixer`, `hop_limit` or `unspent`.
    pub stop_reason: &'static str,
    /// For an untagged deposit address: the tagged service it sweeps to, whose label it takes.
    pub sweeps_to: Option<String>,
}

/// An entity's total.
#[derive(Clone, Debug, Serialize)]
pub struct EntityTotal {
    /// The entity.
    pub entity: String,
    /// Its category.
    pub category: String,
    /// Per policy.
    pub amounts_base: Vec<BaseUnits>,
}

/// Where the traced value went under one policy; the parts add up to `traced_base` (poison:
/// they may exceed it).
#[derive(Clone, Debug, Default, Serialize)]
pub struct AccountReconciliation {
    /// The policy.
    pub policy: Option<AccountPolicy>,
    /// Into services.
    pub to_services_base: BaseUnits,
    /// Still in accounts the taint reached.
    pub unspent_base: BaseUnits,
    /// Paid as gas (burnt or tipped).
    pub fees_base: BaseUnits,
    /// Into mixers.
    pub mixers_base: BaseUnits,
    /// Past the hop limit.
    pub limited_base: BaseUnits,
}

impl AccountReconciliation {
    /// The sum of its parts.
    pub fn total(&self) -> U256 {
        self.to_services_base.0 + self.unspent_base.0 + self.fees_base.0 + self.mixers_base.0 + self.limited_base.0
    }
}

/// A forward trace's result. In Rust, per-policy amounts are vectors in the order of
/// `policies`; its JSON keeps the Bitcoin trace's shape ([`json`]): each `*_sat` is
/// `*_base`, a decimal string, and per-policy amounts are one value when one policy ran and
/// `{policy: value}` when several.
#[derive(Clone, Debug)]
pub struct AccountTrace {
    /// `ETH` or the token's address.
    pub asset: String,
    /// The policies, in column order.
    pub policies: Vec<AccountPolicy>,
    /// Always `forward` for now.
    pub direction: &'static str,
    /// Where it started.
    pub sources: Vec<SourceView>,
    /// How much it started with.
    pub traced_base: BaseUnits,
    /// Where it ended, the largest first.
    pub endpoints: Vec<AccountEndpoint>,
    /// Per tagged entity.
    pub by_entity: Vec<EntityTotal>,
    /// Per policy.
    pub reconciliation: Vec<AccountReconciliation>,
    /// Tainted deposits into mixers, with candidate withdrawals.
    pub mixer_deposits: Vec<MixerDeposit>,
    /// Accounts the taint reached.
    pub accounts_reached: usize,
    /// Transfers replayed.
    pub transfers_replayed: u64,
}
