//! The engine's door to an EVM chain's data dir: its own index (`evm.redb`), opened by the
//! same engine, so the CLI, the server and the reports reach the account model through one
//! crate as they reach the UTXO model. The account index itself lives in `sleuth-evm`.

use std::path::Path;
use std::sync::atomic::AtomicBool;

mod handles;
mod incidents;
mod report;
mod report_render;
mod screen;
pub mod watch;
pub use incidents::{add_evm_incidents, evm_incidents, find_evm_incident, parse_evm_csv, EvmIncident, NewEvmIncident};
pub use report::{evm_report, verify_evm_report, EvmAsset, EvmReport, EVM_REPORT_FORMAT};
pub use report_render::{evm_report_csv, evm_report_html};
pub use screen::{screen, trace_back, EvmBackwardReport, EvmExposure, EvmReason, EvmScreenReport, EvmSourceView};

pub use sleuth_evm::amount::format_units;
pub use sleuth_evm::views::{EvmAddressView, EvmBlockView, EvmStatusView, EvmTxView, TransferView};
pub use sleuth_evm::{
    is_evm_chain_name, Address, EvmChain, EvmError, EvmNode, EvmReader, EvmStore, SyncOptions, SyncReport,
    TraceDialect, B256,
};

/// Whether `data_dir` holds an EVM chain's index rather than a UTXO chain's.
pub fn is_evm_data_dir(data_dir: &Path) -> bool {
    sleuth_evm::is_evm_data_dir(data_dir)
}

/// A read snapshot of the EVM index in `data_dir`: one commit, whatever an ingest beside it
/// commits meanwhile.
pub fn open(data_dir: &Path) -> Result<EvmReader, EvmError> {
    handles::store(data_dir)?.reader()
}

/// Brings the EVM index in `data_dir` to the tip of the node at `url` (reorgs included);
/// `progress` hears (indexed height, target height).
pub fn ingest(
    data_dir: &Path,
    url: &str,
    opts: &SyncOptions,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SyncReport, EvmError> {
    ingest_from(data_dir, &EvmNode::connect(url)?, opts, stop, progress)
}

/// As [`ingest`], from a node already connected (a follower syncs with the same client
/// round after round).
pub fn ingest_from(
    data_dir: &Path,
    node: &EvmNode,
    opts: &SyncOptions,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SyncReport, EvmError> {
    sleuth_evm::sync(data_dir, node, opts, stop, progress)
}

/// Parses an EVM address, naming the input when it is not one.
pub fn parse_address(s: &str) -> Result<Address, EvmError> {
    let t = s.trim();
    if !(t.len() == 42 && t.starts_with("0x")) {
        return Err(EvmError::BadInput(format!("{t:?} is not an EVM address: expected 0x and 40 hex digits")));
    }
    t.parse().map_err(|_| EvmError::BadInput(format!("{t:?} is not an EVM address: expected 0x and 40 hex digits")))
}

/// Parses a block or transaction hash (0x and 64 hex digits).
pub fn parse_hash(s: &str) -> Result<B256, EvmError> {
    let t = s.trim();
    let hex = t.strip_prefix("0x").unwrap_or(t);
    if hex.len() != 64 {
        return Err(EvmError::BadInput(format!("{t:?} is not a hash: expected 0x and 64 hex digits")));
    }
    hex.parse().map_err(|_| EvmError::BadInput(format!("{t:?} is not a hash: expected 0x and 64 hex digits")))
}

pub use sleuth_evm::trace::{parse_policies, AccountPolicy, AccountTrace, AccountTraceOptions, TraceStart};

/// The labels of EVM accounts from the data dir's tag store (TagPacks, OFAC's ETH, USDT and
/// USDC lists, CSV), each read once: a service or mixer tag wins over others, as it decides
/// where a trace stops.
struct TagLabels {
    store: std::sync::Arc<sleuth_tags::TagStore>,
    cache: std::cell::RefCell<std::collections::HashMap<Address, Option<sleuth_evm::trace::AccountLabel>>>,
}

impl TagLabels {
    /// Every tag of `a` as a label (screening weighs each of an account's own tags).
    fn all(&self, a: &Address) -> Vec<sleuth_evm::trace::AccountLabel> {
        use sleuth_analysis::trace::Class;
        use sleuth_evm::trace::{AccountLabel, LabelClass};
        let tags = self.store.tags_for(&a.to_string()).unwrap_or_default();
        tags.iter()
            .map(crate::trace::label_of_tag)
            .map(|l| AccountLabel {
                class: match l.class {
                    Class::Service => LabelClass::Service,
                    Class::Mixer => LabelClass::Mixer,
                    Class::Risk => LabelClass::Risk,
                    Class::Other => LabelClass::Other,
                },
                entity: l.entity,
                category: l.category,
            })
            .collect()
    }
}

impl sleuth_evm::trace::Labels for TagLabels {
    fn label(&self, a: &Address) -> Option<sleuth_evm::trace::AccountLabel> {
        use sleuth_evm::trace::LabelClass;
        if let Some(l) = self.cache.borrow().get(a) {
            return l.clone();
        }
        let rank = |c: LabelClass| match c {
            LabelClass::Service | LabelClass::Mixer => 0,
            LabelClass::Risk => 1,
            LabelClass::Other => 2,
        };
        let label = self.all(a).into_iter().min_by_key(|l| rank(l.class));
        self.cache.borrow_mut().insert(*a, label.clone());
        label
    }
}

/// Where a trace of an EVM index starts, from what the user typed: a transaction hash or an
/// account.
pub fn parse_start(s: &str) -> Result<TraceStart, EvmError> {
    let t = s.trim();
    if t.len() == 42 {
        return parse_address(t).map(TraceStart::Account);
    }
    parse_hash(t).map(|h| TraceStart::Txs(vec![h])).map_err(|_| {
        EvmError::BadInput(format!(
            "{t:?} is neither a transaction hash (0x and 64 hex digits), an address (0x and 40) nor incident:NAME"
        ))
    })
}

/// Where a trace starts in the EVM data dir `data_dir`: a transaction hash, an account, or
/// `incident:NAME_OR_NUMBER` (every drain of an incident in the data dir's ledger).
///
/// # Errors
/// Malformed input, or an incident the ledger does not have.
pub fn start_in(data_dir: &Path, s: &str) -> Result<TraceStart, crate::EngineError> {
    match s.trim().strip_prefix("incident:") {
        Some(name) => {
            let i = find_evm_incident(data_dir, name)?;
            Ok(TraceStart::Txs(i.txs.iter().map(|h| parse_hash(h)).collect::<Result<_, _>>()?))
        }
        None => Ok(parse_start(s)?),
    }
}

/// Traces forward from `start` in the EVM index of `data_dir`, stopping at the services and
/// mixers its tag store names. `asset` is `ETH` (or `None`) or a token's address.
pub fn trace(
    data_dir: &Path,
    start: &TraceStart,
    asset: Option<&str>,
    mut opts: AccountTraceOptions,
) -> Result<AccountTrace, crate::EngineError> {
    let r = open(data_dir)?;
    opts.asset = resolve_asset(&r, asset)?.0;
    let labels = TagLabels::open(data_dir)?;
    Ok(sleuth_evm::trace::trace_forward(&r, start, &opts, &labels)?)
}

/// `ETH` (or nothing) or a token's address, as the index numbers it, with its name.
fn resolve_asset(r: &EvmReader, asset: Option<&str>) -> Result<(sleuth_evm::model::AssetId, String), EvmError> {
    match asset.map(str::trim) {
        None | Some("ETH") | Some("eth") => Ok((sleuth_evm::model::AssetId::ETH, "ETH".into())),
        Some(token) => {
            let a = parse_address(token)?;
            let id = r
                .token_id(&a)?
                .ok_or_else(|| EvmError::NotFound(format!("token {a} has no transfers in the index")))?;
            Ok((id, a.to_string()))
        }
    }
}

impl TagLabels {
    fn open(data_dir: &Path) -> Result<TagLabels, crate::EngineError> {
        Ok(TagLabels { store: handles::tags(data_dir)?, cache: Default::default() })
    }
}

/// An EVM account with the tags on it, as `address` shows it.
#[derive(Debug, serde::Serialize)]
pub struct EvmAddressWithTags {
    /// Balances, counts and first transfers.
    #[serde(flatten)]
    pub view: EvmAddressView,
    /// Tags on the account (TagPacks, OFAC, CSV).
    pub tags: Vec<sleuth_tags::Tag>,
}

/// The account `address` of the EVM index in `data_dir`, with its tags.
///
/// # Errors
/// A malformed address, an account the index does not hold, a damaged store.
pub fn address(data_dir: &Path, address: &str) -> Result<EvmAddressWithTags, crate::EngineError> {
    let a = parse_address(address)?;
    let view = open(data_dir)?.address_view(&a)?;
    Ok(EvmAddressWithTags { view, tags: handles::tags(data_dir)?.tags_for(&a.to_string())? })
}
