//! Prefetch steps for walks that know which inputs or outputs they will reach next (the
//! trace's queue holds them in order). A walk's reads are chains of random accesses — an
//! input, its transaction's record, that transaction's outputs, each output's spender and
//! address — and waiting on each in turn leaves the CPU idle most of the time. Each step here
//! reads only what the step before it asked the CPU to load, and asks for the next links, so
//! a walk running the steps some distance ahead of itself keeps many reads in flight.
//!
//! Every step is a hint: it reads only the immutable part of the files (below the view's
//! split), skips what lies past it, and changes nothing a lookup returns.

use std::sync::atomic::Ordering;

use crate::column::load_u64;
use crate::graph::prefetch;
use crate::schema::{AddrId, InputNum, OutputNum, TxNum, NONE32, NONE64};
use crate::view::View;

/// Records of one transaction prefetched at most, per side: a transaction with thousands of
/// inputs is read when visited, not ahead.
const PER_TX: u64 = 16;

impl View<'_> {
    /// Step 1 for input `i`: its transaction number and the output it spends.
    #[inline]
    pub fn prefetch_input(&self, i: InputNum) {
        let i = i.get();
        if i < self.split.inputs {
            prefetch(&self.files.input_tx[i as usize]);
            prefetch(&self.files.inputs[i as usize]);
        }
    }

    /// Step 1 for output `o`: its transaction number.
    #[inline]
    pub fn prefetch_output_tx(&self, o: OutputNum) {
        if o.get() < self.split.outputs {
            prefetch(&self.files.output_tx[o.get() as usize]);
        }
    }

    /// Step 2 for input `i` (after step 1): its transaction's record and the coin it spends.
    /// Returns the transaction.
    #[inline]
    pub fn prefetch_input_links(&self, i: InputNum) -> Option<TxNum> {
        let i = i.get();
        if i >= self.split.inputs {
            return None;
        }
        let o = self.files.inputs[i as usize];
        if o < self.split.outputs {
            prefetch(&self.files.outputs[o as usize]);
        }
        let t = TxNum::new(self.files.input_tx[i as usize]);
        self.prefetch_tx_record(t);
        Some(t)
    }

    /// Step 2 for output `o` (after step 1): its transaction's record. Returns the transaction.
    #[inline]
    pub fn prefetch_output_links(&self, o: OutputNum) -> Option<TxNum> {
        if o.get() >= self.split.outputs {
            return None;
        }
        let t = TxNum::new(self.files.output_tx[o.get() as usize]);
        self.prefetch_tx_record(t);
        Some(t)
    }

    /// Right before reading transaction `t`'s inputs: every coin it spends, so that the
    /// waits overlap (a sweep or a CoinJoin spends hundreds; the steps ahead cover at most
    /// `PER_TX`, and keys added late to the walk's queue none).
    #[inline]
    pub fn prefetch_spent_coins(&self, t: TxNum) {
        let ins = self.tx_input_range(t);
        if ins.end - ins.start > 2 {
            for i in ins {
                self.prefetch_spent_output(InputNum::new(i));
            }
        }
    }

    /// Transaction `t`'s record and the next one (where its ranges end).
    #[inline]
    fn prefetch_tx_record(&self, t: TxNum) {
        let n = t.pos();
        if n + 1 < self.split.txs {
            prefetch(&self.files.txs[n as usize]);
            prefetch(&self.files.txs[n as usize + 1]);
        }
    }

    /// Step 3 for transaction `t` (after its record was prefetched): its inputs, its outputs
    /// and their spenders.
    #[inline]
    pub fn prefetch_tx_body(&self, t: TxNum) {
        let n = t.pos() as usize;
        if n as u64 + 1 >= self.split.txs {
            return;
        }
        let (a, b) = (&self.files.txs[n], &self.files.txs[n + 1]);
        let ins = a.first_input..b.first_input.min(self.split.inputs);
        for i in ins.clone().take(PER_TX as usize).step_by(8) {
            prefetch(&self.files.inputs[i as usize]);
        }
        let outs = a.first_output..b.first_output.min(self.split.outputs);
        for o in outs.take(PER_TX as usize) {
            // Records straddle cache lines; the spenders are 8 to a line.
            prefetch(&self.files.outputs[o as usize]);
            if o % 8 == 0 || o == a.first_output {
                prefetch(&self.files.spent_by[o as usize]);
            }
        }
    }

    /// Step 4 for transaction `t` (after step 3): the coins it spends, the inputs spending its
    /// outputs, and each output's address with whether the output is spent, handed to `addr`
    /// (to prefetch what the caller reads of it).
    #[inline]
    pub fn prefetch_tx_links(&self, t: TxNum, mut addr: impl FnMut(AddrId, bool)) {
        let n = t.pos() as usize;
        if n as u64 + 1 >= self.split.txs {
            return;
        }
        let (a, b) = (&self.files.txs[n], &self.files.txs[n + 1]);
        for i in a.first_input..b.first_input.min(self.split.inputs).min(a.first_input + PER_TX) {
            let o = self.files.inputs[i as usize];
            if o != NONE64 && o < self.split.outputs {
                prefetch(&self.files.outputs[o as usize]);
            }
        }
        for o in a.first_output..b.first_output.min(self.split.outputs).min(a.first_output + PER_TX) {
            let s = load_u64(&self.files.spent_by[o as usize], Ordering::Relaxed);
            if s != NONE64 && s < self.split.inputs {
                prefetch(&self.files.inputs[s as usize]);
            }
            let r = &self.files.outputs[o as usize];
            if r.addr != NONE32 && (r.addr as u64) < self.split.addrs {
                addr(AddrId::new(r.addr), s != NONE64);
            }
        }
    }
}
