//! Raw, allocation-free access to the transaction graph for the analysis crates: ranges of
//! inputs and outputs by number, what an input spends, who spends an output.

use std::ops::Range;

use sleuth_chain::decode::SequenceKind;
use sleuth_chain::ScriptKind;

use crate::schema::{AddrId, InputNum, OutputNum, TxNum, NONE32, NONE64};
use crate::store::Index;

/// An output as the analyses see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputView {
    /// Value in satoshis.
    pub value: u64,
    /// Address paid, if any.
    pub addr: Option<AddrId>,
    /// Script kind.
    pub kind: ScriptKind,
    /// The first output ever to pay its address (a fresh address).
    pub first_use: bool,
}

/// Wallet-fingerprint fields of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxFingerprint {
    /// Version (clamped to 0..=255).
    pub version: u8,
    /// Lock time.
    pub locktime: u32,
    /// How its inputs set sequence numbers.
    pub sequences: SequenceKind,
    /// Serialized with witness data.
    pub segwit: bool,
    /// Inputs and outputs in BIP69 order.
    pub bip69: bool,
}

impl Index {
    /// Committed transactions.
    pub fn tx_count(&self) -> u64 {
        self.meta.transactions
    }

    /// Committed addresses.
    pub fn address_count(&self) -> u64 {
        self.meta.addresses
    }

    /// The inputs of `t`.
    #[inline]
    pub fn tx_input_range(&self, t: TxNum) -> Range<u64> {
        let n = t.get() as u64;
        let start = self.txs.get(n).first_input;
        let end = if n + 1 < self.meta.transactions { self.txs.get(n + 1).first_input } else { self.meta.inputs };
        start..end
    }

    /// The outputs of `t`.
    #[inline]
    pub fn tx_output_range(&self, t: TxNum) -> Range<u64> {
        let n = t.get() as u64;
        let start = self.txs.get(n).first_output;
        let end = if n + 1 < self.meta.transactions { self.txs.get(n + 1).first_output } else { self.meta.outputs };
        start..end
    }

    /// The output input `i` spends (`None` for a coinbase input).
    #[inline]
    pub fn spent_output(&self, i: InputNum) -> Option<OutputNum> {
        let o = self.inputs.get(i.get());
        (o != NONE64).then(|| OutputNum::new(o))
    }

    /// Hints the CPU to load the output that input `i` spends, for a pass over the graph
    /// that will read it soon (the clustering reads every spent output, in random order).
    #[inline]
    pub fn prefetch_spent_output(&self, i: InputNum) {
        let o = self.inputs.get(i.get());
        if o != NONE64 {
            self.outputs.prefetch(o);
        }
    }

    /// Output `o`.
    #[inline]
    pub fn output(&self, o: OutputNum) -> OutputView {
        let r = self.outputs.get(o.get());
        OutputView {
            value: r.value,
            addr: (r.addr != NONE32).then(|| AddrId::new(r.addr)),
            kind: ScriptKind::from_u8(r.kind).unwrap_or(ScriptKind::NonStandard),
            first_use: r.prev_same_addr == NONE64,
        }
    }

    /// Fingerprint fields of `t`.
    #[inline]
    pub fn tx_fingerprint(&self, t: TxNum) -> TxFingerprint {
        let m = self.tx_meta.get(t.get() as u64);
        TxFingerprint {
            version: m.version,
            locktime: m.locktime,
            sequences: SequenceKind::from_u8(m.sequences),
            segwit: m.segwit != 0,
            bip69: m.bip69 != 0,
        }
    }
}
