//! The flat records a decoded block is made of: its transactions, inputs and outputs.

use bitcoin::hashes::Hash;
use bitcoin::Txid;

use crate::script::{AddressKey, ScriptKind};

/// A transaction of a [`ParsedBlock`](super::ParsedBlock); its inputs and outputs follow
/// those of the transactions before it in the block's flat arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedTx {
    /// Transaction id (hash without witness or MWEB data).
    pub txid: Txid,
    /// Number of inputs.
    pub n_inputs: u32,
    /// Number of outputs.
    pub n_outputs: u32,
    /// Serialized with witness data.
    pub segwit: bool,
    /// Transaction version.
    pub version: i32,
    /// Lock time.
    pub locktime: u32,
    /// Summary of the inputs' sequence numbers: wallets set them differently, so they are
    /// part of a wallet's fingerprint.
    pub sequences: SequenceKind,
    /// Inputs and outputs are in BIP69 order (another fingerprint; trivially true for one
    /// input and one output).
    pub bip69: bool,
}

/// How a transaction sets its inputs' sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SequenceKind {
    /// All `0xffffffff` (final: no locktime, no RBF).
    Final = 0,
    /// All `0xfffffffe` (locktime enabled, no RBF signal), as Bitcoin Core without RBF sets.
    LocktimeNoRbf = 1,
    /// All below `0xfffffffe` (BIP125 replace-by-fee signalled by every input).
    Rbf = 2,
    /// Inputs disagree.
    Mixed = 3,
}

impl SequenceKind {
    /// The kind stored as byte `b`.
    pub fn from_u8(b: u8) -> SequenceKind {
        match b {
            0 => SequenceKind::Final,
            1 => SequenceKind::LocktimeNoRbf,
            2 => SequenceKind::Rbf,
            _ => SequenceKind::Mixed,
        }
    }

    fn of(seq: u32) -> SequenceKind {
        match seq {
            0xffff_ffff => SequenceKind::Final,
            0xffff_fffe => SequenceKind::LocktimeNoRbf,
            _ => SequenceKind::Rbf,
        }
    }

    /// Folds the next input's sequence into the summary.
    pub(crate) fn fold(acc: Option<SequenceKind>, seq: u32) -> Option<SequenceKind> {
        let k = SequenceKind::of(seq);
        Some(match acc {
            None => k,
            Some(a) if a == k => a,
            Some(_) => SequenceKind::Mixed,
        })
    }
}

/// An input: the outpoint it spends. A coinbase input has the null outpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedInput {
    /// Txid of the spent output.
    pub prev_txid: Txid,
    /// Index of the spent output in its transaction.
    pub prev_vout: u32,
}

impl ParsedInput {
    /// Whether this is the null outpoint of a coinbase.
    pub fn is_null(&self) -> bool {
        self.prev_vout == u32::MAX && self.prev_txid == Txid::all_zeros()
    }
}

/// An output: value, script kind and the address it pays, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedOutput {
    /// Value in satoshis.
    pub value: u64,
    /// Kind of the locking script.
    pub kind: ScriptKind,
    /// Address the script pays, if it has one.
    pub address: Option<AddressKey>,
}
