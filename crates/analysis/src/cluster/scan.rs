//! The build's pass over the chain, in two stages on three threads. The *readers* (the
//! calling thread and one more, each taking every other chunk of [`BATCH`] transactions) load
//! every transaction from the index, skip CoinJoins and decide each change vote; none of that
//! depends on the clustering so far. The *linker* (a thread of its own) owns the union-find
//! and applies what the readers decided, chunk by chunk in chain order: multi-input unions,
//! the collapse guard (which needs the sizes of the sets so far) and change unions, recording
//! each as evidence. Both stages are dominated by cache misses in random order (spent outputs
//! for the readers, union-find links for the linker); a reader needs about three times the
//! linker's time per transaction, so two readers keep one linker busy and the two cores full.
//! The files are the same whatever the number of readers: the linker's order is the chain's.

use std::collections::BTreeMap;
use std::sync::mpsc;

use sleuth_index::{TxNum, View};

use super::change::{self, ChangeHeuristic};
use super::coinjoin;
use super::heuristics::{COINJOIN_CHANGE_BIT, MULTI_INPUT_BIT};
use super::store::{HeldRec, MergeRec};
use super::txview::TxView;
use super::union_find::UnionFind;

/// Transactions per batch handed from a reader to the linker.
const BATCH: usize = 4096;
/// Batches in flight per reader: a reader runs at most this far ahead.
const IN_FLIGHT: usize = 4;
/// Readers: two keep the linker fed on a two-core machine (it needs a third of a reader's
/// time), and more only compete for the cores.
const READERS: usize = 2;

/// What the reader decided for one transaction: `addrs[from..from + inputs]` are its distinct
/// input addresses, and with `change_bits != 0` the next one is the change output's address.
#[derive(Debug, Clone, Copy)]
struct Decided {
    tx: u32,
    from: u32,
    inputs: u32,
    change_bits: u16,
}

/// Distinct values of a merge record's heuristic bits: multi-input, the change heuristics
/// and the CoinJoin change link.
pub(super) const MERGE_KINDS: usize = (COINJOIN_CHANGE_BIT as usize) << 1;

#[derive(Debug, Default)]
struct Batch {
    txs: Vec<Decided>,
    addrs: Vec<u32>,
    /// The chunk's CoinJoins, in order.
    coinjoins: Vec<u32>,
}

/// What the pass adds to the clustering.
pub(super) struct Scanned {
    pub uf: UnionFind,
    pub merges: Vec<MergeRec>,
    pub held: Vec<HeldRec>,
    /// Unions by heuristic bits.
    pub merge_counts: [u64; MERGE_KINDS],
    /// CoinJoins recognised, by kind name.
    pub coinjoins: BTreeMap<String, u64>,
    /// A bit per transaction of `0..n_tx`, set for the CoinJoins.
    pub coinjoin_bits: Vec<u64>,
}

/// The rules the pass applies.
pub(super) struct Rules<'a> {
    pub multi_input: bool,
    pub change: &'a [ChangeHeuristic],
    pub collapse_guard: u32,
    pub change_outputs: usize,
    pub coinjoin_change: bool,
}

/// Clusters transactions `start..n_tx` onto `uf`, `merges` and `held`.
pub(super) fn scan(
    index: &View<'_>,
    rules: &Rules<'_>,
    (start, n_tx): (u64, u64),
    (uf, merges, held, mut coinjoin_bits): (UnionFind, Vec<MergeRec>, Vec<HeldRec>, Vec<u64>),
    progress: &mut dyn FnMut(u64, u64),
) -> Scanned {
    coinjoin_bits.resize(n_tx.div_ceil(64) as usize, 0);
    let chunks = ChunkPlan { start, n_tx };
    let mut senders = Vec::new();
    let mut batches = Vec::new();
    let mut returns = Vec::new();
    let mut spent = Vec::new();
    for _ in 0..READERS {
        let (to_linker, batch) = mpsc::sync_channel::<Batch>(IN_FLIGHT);
        let (to_reader, spent_batch) = mpsc::channel::<Batch>();
        senders.push(to_linker);
        batches.push(batch);
        returns.push(to_reader);
        spent.push(spent_batch);
    }
    std::thread::scope(|s| {
        let (multi_input, guard) = (rules.multi_input, rules.collapse_guard);
        let linker = s.spawn(move || {
            let mut linked =
                Linked { uf, merges, held, merge_counts: [0; MERGE_KINDS], multi_input, guard, coinjoin_bits };
            let mut busy = std::time::Duration::ZERO;
            // Chunk k comes from reader k % READERS: taking one from each in turn applies
            // them in chain order. The first reader with none left has sent the last chunk.
            'chunks: loop {
                for (batch, to_reader) in batches.iter().zip(&returns) {
                    let Ok(mut batch) = batch.recv() else { break 'chunks };
                    let applying = std::time::Instant::now();
                    linked.apply(&batch);
                    busy += applying.elapsed();
                    batch.txs.clear();
                    batch.addrs.clear();
                    batch.coinjoins.clear();
                    // The reader may be gone (it finished); the batch is then dropped.
                    let _ = to_reader.send(batch);
                }
            }
            tracing::debug!(busy_s = busy.as_secs_f64(), "cluster build linker");
            linked
        });
        let mut senders = senders.into_iter();
        let mut spent = spent.into_iter();
        let (first_sender, first_spent) = (senders.next(), spent.next());
        let others: Vec<_> = senders
            .zip(spent)
            .enumerate()
            .map(|(k, (to_linker, spent))| {
                s.spawn(move || read(index, rules, (chunks, k + 1), &to_linker, &spent, &mut |_, _| {}))
            })
            .collect();
        let (to_linker, spent) = (first_sender.expect("a reader"), first_spent.expect("a reader"));
        let mut coinjoins = read(index, rules, (chunks, 0), &to_linker, &spent, progress);
        drop(to_linker);
        for other in others {
            for (kind, n) in other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)) {
                *coinjoins.entry(kind).or_default() += n;
            }
        }
        let l = linker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Scanned {
            uf: l.uf,
            merges: l.merges,
            held: l.held,
            merge_counts: l.merge_counts,
            coinjoins,
            coinjoin_bits: l.coinjoin_bits,
        }
    })
}

/// How the transactions are dealt to the readers: chunks of [`BATCH`] transactions, chunk `k`
/// to reader `k % READERS`.
#[derive(Debug, Clone, Copy)]
struct ChunkPlan {
    start: u64,
    n_tx: u64,
}

impl ChunkPlan {
    /// The transaction ranges of reader `r`, in order.
    fn of(self, r: usize) -> impl Iterator<Item = std::ops::Range<u64>> {
        let ChunkPlan { start, n_tx } = self;
        (r as u64..)
            .step_by(READERS)
            .map(move |k| start + k * BATCH as u64)
            .take_while(move |&lo| lo < n_tx)
            .map(move |lo| lo..(lo + BATCH as u64).min(n_tx))
    }
}

/// Reader number `reader`: decides every transaction of its chunks and sends a batch per chunk (an empty
/// one too: the linker counts on one batch per chunk, in turn).
fn read(
    index: &View<'_>,
    rules: &Rules<'_>,
    (plan, reader): (ChunkPlan, usize),
    to_linker: &mpsc::SyncSender<Batch>,
    spent: &mpsc::Receiver<Batch>,
    progress: &mut dyn FnMut(u64, u64),
) -> BTreeMap<String, u64> {
    let mut coinjoins: BTreeMap<String, u64> = BTreeMap::new();
    let mut view = TxView::default();
    let mut counts = Vec::new();
    let mut links = Vec::new();
    for chunk in plan.of(reader) {
        let mut batch = spent.try_recv().unwrap_or_default();
        progress(chunk.start - plan.start, plan.n_tx - plan.start);
        for t in chunk {
            let t = TxNum::new(t as u32);
            view.load(index, t);
            if view.coinbase {
                continue;
            }
            // Kept for the traces, which cross every CoinJoin and would detect it again.
            let coinjoin = coinjoin::detect(&view, &mut counts);
            if coinjoin.is_some() {
                batch.coinjoins.push(t.get());
            }
            if view.input_addrs.is_empty() {
                continue;
            }
            if let Some(kind) = coinjoin {
                *coinjoins.entry(serde_json::to_value(kind).unwrap().as_str().unwrap().to_owned()).or_default() += 1;
                if rules.coinjoin_change {
                    // Each link is a change union of one input address.
                    coinjoin::change_links(&view, &mut counts, &mut links);
                    for &(input, change) in &links {
                        let from = batch.addrs.len() as u32;
                        batch.addrs.extend([input.get(), change.get()]);
                        batch.txs.push(Decided { tx: t.get(), from, inputs: 1, change_bits: COINJOIN_CHANGE_BIT });
                    }
                }
                continue;
            }
            let from = batch.addrs.len() as u32;
            batch.addrs.extend(view.input_addrs.iter().map(|a| a.get()));
            let change_bits = match change_vote(rules, &view, index) {
                Some((k, bits)) => {
                    batch.addrs.push(view.outputs[k].addr.expect("candidates pay addresses").get());
                    u16::from(bits)
                }
                None => 0,
            };
            batch.txs.push(Decided { tx: t.get(), from, inputs: view.input_addrs.len() as u32, change_bits });
        }
        if to_linker.send(batch).is_err() {
            break; // the linker panicked; joining it says why
        }
    }
    coinjoins
}

/// The change output the enabled heuristics agree on, with their bits: none when the
/// transaction is not a candidate, one heuristic vetoes, two votes differ, or only
/// confirm-only heuristics voted.
fn change_vote(rules: &Rules<'_>, view: &TxView, index: &View<'_>) -> Option<(usize, u8)> {
    let heuristics = rules.change;
    if heuristics.is_empty()
        || !change::is_candidate(view, rules.change_outputs)
        || heuristics.iter().any(|&h| change::vetoes(h, view, index))
    {
        return None;
    }
    let mut pick = None;
    let mut bits = 0u8;
    for &h in heuristics {
        if let Some(k) = change::vote(h, view, index) {
            if pick.is_some_and(|p| p != k) {
                return None;
            }
            pick = Some(k);
            bits |= 1 << (h as u8 + 1);
        }
    }
    // Some heuristics only confirm or contradict the others: alone they name nothing.
    let named = bits & !change::confirm_only_bits(view.outputs.len()) != 0;
    pick.filter(|_| named).map(|k| (k, bits))
}

/// The linker's state.
struct Linked {
    uf: UnionFind,
    merges: Vec<MergeRec>,
    held: Vec<HeldRec>,
    merge_counts: [u64; MERGE_KINDS],
    multi_input: bool,
    guard: u32,
    coinjoin_bits: Vec<u64>,
}

impl Linked {
    fn apply(&mut self, batch: &Batch) {
        for &t in &batch.coinjoins {
            self.coinjoin_bits[t as usize / 64] |= 1 << (t % 64);
        }
        // Union-find links are cache misses in random order too: start them some addresses
        // ahead (the batch lists every address the unions will touch, in order).
        const AHEAD_LINKS: usize = 24;
        let addrs = &batch.addrs;
        let mut next_prefetch = 0;
        for d in &batch.txs {
            let from = d.from as usize;
            let end = from + d.inputs as usize + usize::from(d.change_bits != 0);
            while next_prefetch < (end + AHEAD_LINKS).min(addrs.len()) {
                self.uf.prefetch(addrs[next_prefetch]);
                next_prefetch += 1;
            }
            let first = addrs[from];
            if self.multi_input {
                for &b in &addrs[from + 1..from + d.inputs as usize] {
                    if self.uf.union(first, b) {
                        self.merges.push(MergeRec { tx: d.tx, a: first, b, heuristic: MULTI_INPUT_BIT, _pad: [0; 2] });
                        self.merge_counts[MULTI_INPUT_BIT as usize] += 1;
                    }
                }
            }
            if d.change_bits != 0 {
                let b = addrs[end - 1];
                let bits = d.change_bits;
                let (ra, rb) = (self.uf.find(first), self.uf.find(b));
                if ra != rb {
                    // Roots: their sizes are a lookup each.
                    let (size_a, size_b) = (self.uf.set_size(ra), self.uf.set_size(rb));
                    if self.guard > 0 && size_a.min(size_b) >= self.guard {
                        self.held.push(HeldRec {
                            tx: d.tx,
                            a: first,
                            b,
                            heuristic: bits,
                            _pad: [0; 2],
                            size_a,
                            size_b,
                        });
                    } else {
                        self.uf.union_roots(ra, rb);
                        self.merges.push(MergeRec { tx: d.tx, a: first, b, heuristic: bits, _pad: [0; 2] });
                        self.merge_counts[bits as usize] += 1;
                    }
                }
            }
        }
    }
}
