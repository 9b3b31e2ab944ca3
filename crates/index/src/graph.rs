//! Raw, allocation-free access to the transaction graph for the analysis crates: ranges of
//! inputs and outputs by number, what an input spends, who spends an output.

use std::ops::Range;

use sleuth_chain::decode::SequenceKind;
use sleuth_chain::ScriptKind;

use crate::schema::{AddrId, InputNum, OutputNum, TxNum, NONE32, NONE64};
use crate::view::View;

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

/// The output an input spends, as the input sees it: read from the input's own record, in
/// input order (no read of the output's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpentView {
    /// Value in base units.
    pub value: u64,
    /// Address paid, if any.
    pub addr: Option<AddrId>,
    /// Script kind.
    pub kind: ScriptKind,
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

impl View<'_> {
    /// Committed transactions.
    pub fn tx_count(&self) -> u64 {
        self.top.txs
    }

    /// Committed addresses.
    pub fn address_count(&self) -> u64 {
        self.top.addrs
    }

    /// The inputs of `t`.
    #[inline]
    pub fn tx_input_range(&self, t: TxNum) -> Range<u64> {
        let n = t.pos();
        let start = self.tx_rec(n).first_input;
        let end = if n + 1 < self.top.txs { self.tx_rec(n + 1).first_input } else { self.top.inputs };
        start..end
    }

    /// The outputs of `t`.
    #[inline]
    pub fn tx_output_range(&self, t: TxNum) -> Range<u64> {
        let n = t.pos();
        let start = self.tx_rec(n).first_output;
        let end = if n + 1 < self.top.txs { self.tx_rec(n + 1).first_output } else { self.top.outputs };
        start..end
    }

    /// The output input `i` spends (`None` for a coinbase input).
    #[inline]
    pub fn spent_output(&self, i: InputNum) -> Option<OutputNum> {
        let o = self.input_rec(i.get());
        (o != NONE64).then(|| OutputNum::new(o))
    }

    /// Hints the CPU to load the output that input `i` spends, for a pass over the graph
    /// that will read it soon (the clustering reads every spent output, in random order).
    #[inline]
    pub fn prefetch_spent_output(&self, i: InputNum) {
        let o = self.input_rec(i.get());
        if o != NONE64 && o < self.split.outputs {
            prefetch(&self.files.outputs[o as usize]);
        }
    }

    /// What input `i` spends: value, address and kind of the spent output, from the input's
    /// own record (`None` for a coinbase input). A pass over the inputs in order reads them
    /// in order; [`View::spent_output`] and [`View::output`] give the same at a random read.
    #[inline]
    pub fn spent(&self, i: InputNum) -> Option<SpentView> {
        let r = self.input_spent_rec(i.get());
        if r.kind == crate::schema::SPENT_COINBASE {
            return None;
        }
        if r.addr != NONE32 && u64::from(r.addr) >= self.top.addrs {
            crate::damaged::past_count(self.dir, "address", u64::from(r.addr), self.top.addrs);
        }
        Some(SpentView {
            value: r.value,
            addr: (r.addr != NONE32).then(|| AddrId::new(r.addr)),
            kind: ScriptKind::from_u8(r.kind).unwrap_or(ScriptKind::NonStandard),
        })
    }

    /// Output `o`.
    #[inline]
    pub fn output(&self, o: OutputNum) -> OutputView {
        let r = self.output_rec(o.get());
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
        let m = self.tx_meta_rec(t.pos());
        TxFingerprint {
            version: m.version,
            locktime: m.locktime,
            sequences: SequenceKind::from_u8(m.sequences),
            segwit: m.segwit != 0,
            bip69: m.bip69 != 0,
        }
    }
}

/// Hints the CPU to load `r` into cache (a no-op off x86-64): for walks that know what they
/// will read a little before they read it.
#[inline]
pub fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; the pointer is a valid reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((r as *const T).cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}
