//! Appending a decoded block with the rules that need the index: every input spends an
//! output that exists, is unspent and (for a coinbase's) mature, no txid repeats one with
//! unspent outputs where BIP30 applies, no transaction pays more than it spends, and the
//! coinbase claims no more than the subsidy and the fees. Block files ([`crate::ingest`]) and
//! a node's RPC (`sleuth-node`) both append through [`append_checked`], each naming the
//! block's place its own way.

use sleuth_chain::decode::ParsedBlock;
use sleuth_chain::validate::Rules;

use crate::error::IndexError;
use crate::store::IndexWriter;
use crate::writer::Appended;

/// Why [`append_checked`] refused a block.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The block breaks a rule checked against the outputs it spends.
    #[error(transparent)]
    Rule(IndexError),
    /// The coinbase claims more than the subsidy and the fees.
    #[error(
        "breaks rule coinbase-value: its coinbase pays {claimed} base units, the subsidy and fees allow {allowed}"
    )]
    CoinbaseValue {
        /// What the coinbase pays.
        claimed: u64,
        /// Subsidy plus fees.
        allowed: u64,
    },
    /// The index cannot be written.
    #[error(transparent)]
    Index(IndexError),
}

/// Appends `block` at the next height of `index`'s open batch, under `rules`. On an error the
/// batch holds part of the block: the caller discards the batch
/// ([`IndexWriter::discard_batch`]).
///
/// # Errors
/// [`AppendError::Rule`] (missing, twice-spent or immature prevout, a BIP30 duplicate, value
/// out above value in), [`AppendError::CoinbaseValue`], [`AppendError::Index`] for I/O.
pub fn append_checked(index: &mut IndexWriter, block: &ParsedBlock, rules: &Rules) -> Result<Appended, AppendError> {
    let height = index.height_count() as u32;
    let bip30 = rules.checks_bip30(height, &block.hash);
    let added = index.append_block(block, bip30).map_err(|e| match e {
        e @ (IndexError::MissingPrevout { .. }
        | IndexError::DoubleSpend { .. }
        | IndexError::ImmatureSpend { .. }
        | IndexError::DuplicateTxid { .. }
        | IndexError::ValueOutExceedsIn { .. }) => AppendError::Rule(e),
        e => AppendError::Index(e),
    })?;
    let allowed = rules.subsidy(height).saturating_add(added.fees);
    if added.coinbase_value > allowed {
        return Err(AppendError::CoinbaseValue { claimed: added.coinbase_value, allowed });
    }
    Ok(added)
}
