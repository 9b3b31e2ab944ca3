//! Zero-copy decoding of serialized blocks into the flat records the index consumes.
//!
//! rust-bitcoin's `Block` decoder allocates every script and witness; the ingest hot loop
//! only needs txids, outpoints, values and addresses, so this decoder walks the bytes once,
//! hashes the txid's parts in place and classifies each output script without copying it.

mod block;
mod cursor;
mod parsed;
mod tx;

pub use block::{parse_block, ParsedBlock};
pub use parsed::{ParsedInput, ParsedOutput, ParsedTx, SequenceKind};

/// Bytes that are not a valid block or transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The data ended inside a field.
    #[error("data ends at byte {at} while reading {what}")]
    Truncated {
        /// Offset of the field within the block.
        at: usize,
        /// The field being read.
        what: &'static str,
    },
    /// A segwit flag byte this chain does not define.
    #[error("transaction {tx_index} has unknown segwit flag {flag:#04x} at byte {at}")]
    BadFlag {
        /// Position of the transaction in its block.
        tx_index: usize,
        /// The flag byte.
        flag: u8,
        /// Offset of the flag within the block.
        at: usize,
    },
    /// A canonical transaction that carries a full MWEB transaction body.
    #[error("transaction {tx_index} carries an MWEB transaction body at byte {at}; only the HogEx form (empty body) is expected in blocks")]
    MwebBody {
        /// Position of the transaction in its block.
        tx_index: usize,
        /// Offset of the body within the block.
        at: usize,
    },
    /// Bytes left after the transactions of a block without an MWEB extension.
    #[error("{extra} unexpected bytes after the last transaction at byte {at}")]
    TrailingBytes {
        /// Offset where the extra bytes start.
        at: usize,
        /// How many bytes are left.
        extra: usize,
    },
    /// The transactions do not hash to the header's merkle root.
    #[error("merkle root mismatch: the header says {expected}, the transactions hash to {found}")]
    MerkleMismatch {
        /// Root in the header.
        expected: String,
        /// Root of the decoded transactions.
        found: String,
    },
    /// The transaction list is malleated (CVE-2012-2459): transactions repeat at the end of
    /// the list so that the merkle root is unchanged.
    #[error("rule merkle-malleation: of its {transactions} transactions, some repeat so that the merkle root still matches (CVE-2012-2459)")]
    MerkleMalleated {
        /// Transactions in the block.
        transactions: usize,
    },
    /// A count or length that cannot be right.
    #[error("implausible {what} {value} at byte {at}")]
    Implausible {
        /// The field.
        what: &'static str,
        /// Its value.
        value: u64,
        /// Offset within the block.
        at: usize,
    },
}
