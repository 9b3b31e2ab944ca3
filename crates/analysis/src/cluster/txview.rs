//! [`TxView`]: one transaction's inputs and outputs as the heuristics need them, loaded
//! into reused buffers.

use sleuth_chain::ScriptKind;
use sleuth_index::{AddrId, InputNum, OutputNum, TxFingerprint, TxNum, View};

/// A spent output, seen from the input spending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputInfo {
    /// Address of the spent output.
    pub addr: Option<AddrId>,
    /// Its value.
    pub value: u64,
    /// Its script kind.
    pub kind: ScriptKind,
}

/// An output of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputInfo {
    /// Its number in the index.
    pub out: OutputNum,
    /// Address paid.
    pub addr: Option<AddrId>,
    /// Value.
    pub value: u64,
    /// Script kind.
    pub kind: ScriptKind,
    /// First output ever to pay this address.
    pub first_use: bool,
}

/// A transaction, loaded for the clustering heuristics.
#[derive(Debug, Clone, Default)]
pub struct TxView {
    /// The transaction.
    pub tx: Option<TxNum>,
    /// Whether it is a coinbase.
    pub coinbase: bool,
    /// Its inputs.
    pub inputs: Vec<InputInfo>,
    /// Its outputs.
    pub outputs: Vec<OutputInfo>,
    /// Distinct input addresses, in input order.
    pub input_addrs: Vec<AddrId>,
    /// (address, position) pairs, reused.
    scratch: Vec<(u32, u32)>,
}

impl TxView {
    /// Loads transaction `t` from `index`, reusing the buffers.
    pub fn load(&mut self, index: &View<'_>, t: TxNum) {
        self.tx = Some(t);
        self.coinbase = false;
        self.inputs.clear();
        self.outputs.clear();
        self.input_addrs.clear();
        for i in index.tx_input_range(t) {
            let Some(v) = index.spent(InputNum::new(i)) else {
                self.coinbase = true;
                continue;
            };
            self.inputs.push(InputInfo { addr: v.addr, value: v.value, kind: v.kind });
        }
        self.distinct_input_addrs();
        for o in index.tx_output_range(t) {
            let o = OutputNum::new(o);
            let v = index.output(o);
            self.outputs.push(OutputInfo {
                out: o,
                addr: v.addr,
                value: v.value,
                kind: v.kind,
                first_use: v.first_use,
            });
        }
    }

    /// Fills `input_addrs`: each address of the inputs once, in the order of its first input.
    /// A scan of the list so far for each input is quadratic, and sweeps of thousands of
    /// inputs are common; past a few inputs, a sort of (address, position) pairs is used.
    fn distinct_input_addrs(&mut self) {
        const SCAN_UP_TO: usize = 16;
        let addrs = self.inputs.iter().filter_map(|i| i.addr);
        if self.inputs.len() <= SCAN_UP_TO {
            for a in addrs {
                if !self.input_addrs.contains(&a) {
                    self.input_addrs.push(a);
                }
            }
            return;
        }
        let firsts = &mut self.scratch;
        firsts.clear();
        firsts.extend(addrs.enumerate().map(|(k, a)| (a.get(), k as u32)));
        // By address, then position: the first of each run is the address's first input.
        firsts.sort_unstable();
        firsts.dedup_by_key(|p| p.0);
        firsts.sort_unstable_by_key(|p| p.1);
        self.input_addrs.extend(firsts.iter().map(|p| AddrId::new(p.0)));
    }

    /// The transaction's number.
    pub fn tx_num(&self) -> TxNum {
        self.tx.expect("a transaction is loaded")
    }

    /// The transaction spending output `k` of this one, if any.
    pub fn spender_of(&self, index: &View<'_>, k: usize) -> Option<TxNum> {
        index.spender(self.outputs[k].out).map(|i| index.tx_of_input(i))
    }

    /// Fingerprint of this transaction.
    pub fn fingerprint(&self, index: &View<'_>) -> TxFingerprint {
        index.tx_fingerprint(self.tx_num())
    }
}
