//! The forward walk: from tainted coins to the transactions spending them, in chain order.

use std::time::Instant;

use super::prefetch::Lookahead;
use super::queue::PendingQueue;

use sleuth_index::{InputNum, OutputNum, TxNum, View};

use super::attribution::{Attribution, Class, Owner};
use super::policy::{self, Policy};
use super::ranges::Ranges;
use super::report::{Bucket, Collector, StopReason, TraceReport};
use super::taint::{ix, Taint, N};
use super::TraceOptions;
use crate::cluster::{coinjoin, TxView};

struct Walk<'v, 'a> {
    view: &'v View<'v>,
    attribution: &'a Attribution,
    opts: &'a TraceOptions,
    out: Collector,
    /// Tainted coins waiting for their spending transaction, keyed by the input spending
    /// them, smallest first: inputs are numbered in chain order, so this visits transactions
    /// in chain order, and a transaction's tainted inputs come out together.
    pending: PendingQueue<Taint>,
}

impl Walk<'_, '_> {
    /// Decides what happens to a tainted coin: it stops (and why), or waits for its spender.
    fn settle(&mut self, o: OutputNum, mut t: Taint, created_by: TxNum, source: bool) {
        let view = self.view;
        let coin = view.output(o);
        let stop = |w: &mut Self, why: StopReason, t: &Taint| {
            let a = t.amounts(coin.value);
            w.out.stop(coin.addr, why, &a, created_by, t.hops, t.coinjoin);
        };
        if !source {
            match coin.addr.and_then(|a| self.attribution.label_of(a)) {
                Some(l) if self.attribution.stops_at(l) => {
                    let why = if l.class == Class::Mixer { StopReason::Mixer } else { StopReason::Service };
                    return stop(self, why, &t);
                }
                _ => {}
            }
        }
        let mut limited = [0u64; N];
        t.drop_below(coin.value, self.opts.min_sat, &mut limited);
        if limited.iter().any(|&x| x > 0) {
            self.out.stop(None, StopReason::MinSat, &limited, created_by, t.hops, t.coinjoin);
        }
        if t.is_clean() {
            return;
        }
        let Some(spender) = view.spender(o) else { return stop(self, StopReason::Unspent, &t) };
        if let Some(u) = self.opts.until_height {
            if view.height_of_tx(view.tx_of_input(spender)).get() > u {
                return stop(self, StopReason::UntilHeight, &t);
            }
        }
        if t.hops >= self.opts.max_hops {
            return stop(self, StopReason::MaxHops, &t);
        }
        t.from = created_by.get();
        // The same coin reached again (from two sources) is merged when its spender is visited.
        self.pending.push(spender.get(), t);
    }

    /// Splits the taint of transaction `s`'s inputs over its outputs and fee.
    fn visit(&mut self, s: TxNum, tx: &mut TxView, scratch: &mut Scratch) {
        let view = self.view;
        view.prefetch_spent_coins(s);
        tx.load(view, s);
        self.out.visited += 1;
        let on = self.out.on;
        let ins = view.tx_input_range(s);
        scratch.clear();
        scratch.taints.resize(tx.inputs.len(), Taint::default());
        while let Some(i) = self.pending.peek().filter(|&i| i < ins.end) {
            let (_, t) = self.pending.pop().expect("peeked");
            let slot = &mut scratch.taints[(i - ins.start) as usize];
            // Pushed taint is never clean: a clean slot is one not reached yet.
            if slot.is_clean() {
                *slot = t;
            } else {
                // Reached twice: the first arrival's path.
                slot.from = slot.from.min(t.from);
                slot.merge(&t);
            }
        }
        let mut first: Option<(u32, Owner)> = None;
        let mut hops = u32::MAX;
        let mut cj = false;
        for k in 0..tx.inputs.len() {
            scratch.in_values.push(tx.inputs[k].value);
            let t = &scratch.taints[k];
            if !t.is_clean() {
                hops = hops.min(t.hops);
                cj |= t.coinjoin;
                if first.is_none() {
                    first = Some((t.from, self.attribution.owner(tx.inputs[k].addr, self.opts.clusters)));
                }
            }
        }
        let Some((from, owner_in)) = first else { return };
        self.out.pred.visited(s.get(), from);
        let in_sum: u64 = scratch.in_values.iter().sum();
        for o in &tx.outputs {
            scratch.parts.push(o.value);
        }
        let out_sum: u64 = scratch.parts.iter().sum();
        scratch.parts.push(in_sum.saturating_sub(out_sum));
        let n_out = tx.outputs.len();
        let is_cj = self.attribution.coinjoin(s).unwrap_or_else(|| coinjoin::detect(tx, &mut scratch.counts).is_some());
        if is_cj {
            self.out.coinjoins += 1;
        }

        // Each policy's share of every output (and of the fee, the last part).
        let poisoned = on[ix(Policy::Poison)] && scratch.taints.iter().any(|t| t.poison);
        if on[ix(Policy::Haircut)] {
            let total = scratch.taints.iter().map(|t| t.haircut).sum();
            policy::haircut(total, &scratch.parts, &mut scratch.haircut);
        }
        if on[ix(Policy::Tiho)] {
            let total = scratch.taints.iter().map(|t| t.tiho).sum();
            policy::tiho(total, &scratch.parts, &mut scratch.tiho);
        }
        if on[ix(Policy::Fifo)] {
            let taints = scratch.taints.iter().map(|t| &t.fifo);
            policy::fifo(&scratch.in_values, taints, &scratch.parts, &mut scratch.fifo);
        }
        if on[ix(Policy::Lifo)] {
            let taints = scratch.taints.iter().map(|t| &t.lifo);
            policy::lifo(&scratch.in_values, taints, &scratch.parts, &mut scratch.lifo);
        }
        let part = |k: usize| Taint {
            poison: poisoned,
            haircut: scratch.haircut.get(k).copied().unwrap_or(0),
            fifo: scratch.fifo.get(k).cloned().unwrap_or_default(),
            lifo: scratch.lifo.get(k).cloned().unwrap_or_default(),
            tiho: scratch.tiho.get(k).copied().unwrap_or(0),
            hops,
            coinjoin: cj || is_cj,
            from: s.get(),
        };
        let fee = part(n_out);
        let fee_amounts = fee.amounts(scratch.parts[n_out]);
        if fee_amounts.iter().any(|&x| x > 0) {
            self.out.bucket(Bucket::Fees, &fee_amounts);
        }
        for (k, o) in tx.outputs.iter().enumerate() {
            let mut t = part(k);
            if t.is_clean() {
                continue;
            }
            let owner = self.attribution.owner(o.addr, self.opts.clusters);
            // A transfer to another owner is a hop; an owner paying itself is not.
            if owner != owner_in || owner == Owner::None {
                t.hops = hops.saturating_add(1);
            }
            self.settle(o.out, t, s, false);
        }
    }
}

/// Buffers reused from transaction to transaction.
#[derive(Default)]
struct Scratch {
    in_values: Vec<u64>,
    taints: Vec<Taint>,
    parts: Vec<u64>,
    haircut: Vec<u64>,
    tiho: Vec<u64>,
    fifo: Vec<Ranges>,
    lifo: Vec<Ranges>,
    counts: Vec<u64>,
}

impl Scratch {
    fn clear(&mut self) {
        self.in_values.clear();
        self.taints.clear();
        self.parts.clear();
        self.haircut.clear();
        self.tiho.clear();
        self.fifo.clear();
        self.lifo.clear();
    }
}

pub(super) fn run(
    view: &View<'_>,
    sources: &[OutputNum],
    attribution: &Attribution,
    opts: &TraceOptions,
) -> TraceReport {
    let started = Instant::now();
    let mut w = Walk { view, attribution, opts, out: Collector::new(opts), pending: PendingQueue::new(false) };
    let on = w.out.on;
    let mut seen = super::fasthash::IdSet::default();
    for &o in sources {
        if seen.insert(o) {
            let created_by = view.tx_of_output(o);
            w.settle(o, Taint::whole(view.output(o).value, &on), created_by, true);
        }
    }
    let mut tx = TxView::default();
    let mut scratch = Scratch::default();
    let mut look = Lookahead::default();
    while let Some(i) = w.pending.peek() {
        if w.out.visits_exhausted(opts) {
            break;
        }
        let endpoints = &w.out.endpoints;
        let unspent_listed = w.out.lists(StopReason::Unspent);
        look.run(&w.pending, |step, k| {
            let i = InputNum::new(k);
            match step {
                0 => view.prefetch_input(i),
                1 => _ = view.prefetch_input_links(i),
                2 => view.prefetch_tx_body(view.tx_of_input(i)),
                _ => {
                    // The owner of the spent coin (the tainted input's cluster).
                    if let Some(a) = view.spent_output(i).and_then(|o| view.output(o).addr) {
                        attribution.prefetch(a);
                    }
                    view.prefetch_tx_links(view.tx_of_input(i), |a, spent| {
                        attribution.prefetch(a);
                        if !spent && unspent_listed {
                            endpoints.prefetch(a);
                        }
                    })
                }
            }
        });
        // Takes every pending coin this transaction spends.
        w.visit(view.tx_of_input(InputNum::new(i)), &mut tx, &mut scratch);
    }
    let waiting = std::mem::replace(&mut w.pending, PendingQueue::new(false))
        .drain()
        .map(|(i, t)| (view.spent_output(InputNum::new(i)).expect("a pending coin is spent"), t));
    w.out.stop_waiting(view, waiting);
    let seconds = started.elapsed().as_secs_f64();
    w.out.finish(view, attribution, opts, sources, seconds)
}
