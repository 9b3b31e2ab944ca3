//! The backward walk: from coins to the coins their transaction spent, in reverse chain
//! order, until value reaches a tagged source, a coinbase or a limit.

use std::time::Instant;

use super::fasthash::IdSet;
use super::prefetch::Lookahead;
use super::queue::PendingQueue;

use sleuth_index::{InputNum, OutputNum, TxNum, View};

use super::attribution::{Attribution, Owner};
use super::policy::{self, Policy};
use super::ranges::Ranges;
use super::report::{Collector, StopReason, TraceReport};
use super::taint::{ix, Taint, N};
use super::TraceOptions;
use crate::cluster::{coinjoin, TxView};

struct Walk<'v, 'a> {
    view: &'v View<'v>,
    attribution: &'a Attribution,
    opts: &'a TraceOptions,
    out: Collector,
    /// Tainted coins waiting for the transaction that created them, keyed by output, largest
    /// first: outputs are numbered in chain order, so this visits transactions in reverse
    /// chain order, and a transaction's tainted outputs come out together.
    pending: PendingQueue<Taint>,
    /// Owners of the coins traced from: their own cluster is not a source.
    start_owners: Vec<Owner>,
}

impl Walk<'_, '_> {
    /// Settles the taint `t` of coin `o`, reached from its spender `via` (none for a source):
    /// it stops there or waits for its creator's visit.
    fn settle(&mut self, o: OutputNum, mut t: Taint, via: Option<TxNum>) {
        let view = self.view;
        let coin = view.output(o);
        let created_by = view.tx_of_output(o);
        // For paths; only where one can end (a listed stop, or a visit to come).
        let link = |w: &mut Self| {
            if let Some(v) = via {
                w.out.pred.first(created_by.get(), v.get());
            }
        };
        let stop = |w: &mut Self, why: StopReason, t: &Taint| {
            if w.out.lists(why) {
                link(w);
            }
            let a = t.amounts(coin.value);
            w.out.stop(coin.addr, why, &a, created_by, t.hops, t.coinjoin);
        };
        if via.is_some()
            && coin.addr.and_then(|a| self.attribution.label_of(a)).is_some()
            && !self.start_owners.contains(&self.attribution.owner(coin.addr, self.opts.clusters))
        {
            return stop(self, StopReason::TaggedSource, &t);
        }
        let mut limited = [0u64; N];
        t.drop_below(coin.value, self.opts.min_sat, &mut limited);
        if limited.iter().any(|&x| x > 0) {
            self.out.stop(None, StopReason::MinSat, &limited, created_by, t.hops, t.coinjoin);
        }
        if t.is_clean() {
            return;
        }
        // At the hop limit first: most coins a screening settles stop there, and the test
        // for a coinbase would read their creators, which the walk has no other use for.
        if t.hops >= self.opts.max_hops {
            return stop(self, StopReason::MaxHops, &t);
        }
        let ins = view.tx_input_range(created_by);
        if ins.end - ins.start == 1 && view.spent_output(InputNum::new(ins.start)).is_none() {
            return stop(self, StopReason::Mined, &t);
        }
        if self.opts.until_height.is_some_and(|u| view.height_of_tx(created_by).get() < u) {
            return stop(self, StopReason::MaxHops, &t);
        }
        // The same coin reached again is merged when its creator is visited.
        link(self);
        self.pending.push(o.get(), t);
    }

    /// Attributes the taint of transaction `c`'s outputs to the coins it spent.
    fn visit(&mut self, c: TxNum, tx: &mut TxView, sc: &mut Scratch) {
        let view = self.view;
        view.prefetch_spent_coins(c);
        tx.load(view, c);
        self.out.visited += 1;
        let on = self.out.on;
        sc.ins.clear();
        sc.ins.extend(tx.inputs.iter().map(|i| i.value));
        sc.outs.clear();
        sc.outs.extend(tx.outputs.iter().map(|o| o.value));
        let in_sum: u64 = sc.ins.iter().sum();
        sc.parts.clear();
        sc.parts.extend_from_slice(&sc.outs);
        sc.parts.push(in_sum.saturating_sub(sc.outs.iter().sum()));
        let is_cj = self.attribution.coinjoin(c).unwrap_or_else(|| coinjoin::detect(tx, &mut sc.counts).is_some());
        if is_cj {
            self.out.coinjoins += 1;
        }
        sc.acc.clear();
        sc.acc.resize(sc.ins.len(), Taint::default());
        let (mut hops, mut cj, mut any) = (u32::MAX, is_cj, false);
        let mut owner_out = Owner::None;
        let first_out = tx.outputs.first().map_or(0, |o| o.out.get());
        sc.taken.clear();
        sc.taken.resize(tx.outputs.len(), None);
        while let Some(o) = self.pending.peek().filter(|&o| o >= first_out) {
            let (_, t) = self.pending.pop().expect("peeked");
            match &mut sc.taken[(o - first_out) as usize] {
                Some(x) => x.merge(&t),
                slot => *slot = Some(t),
            }
        }
        for k in 0..tx.outputs.len() {
            let Some(t) = sc.taken[k].take() else { continue };
            if !any {
                owner_out = self.attribution.owner(tx.outputs[k].addr, self.opts.clusters);
                any = true;
            }
            hops = hops.min(t.hops);
            cj |= t.coinjoin;
            if t.poison {
                sc.acc.iter_mut().for_each(|a| a.poison = true);
            }
            if on[ix(Policy::Haircut)] && t.haircut > 0 {
                policy::split_proportionally(t.haircut, &sc.ins, &mut sc.amounts);
                sc.acc.iter_mut().zip(&sc.amounts).for_each(|(a, x)| a.haircut += x);
            }
            if on[ix(Policy::Tiho)] && t.tiho > 0 {
                policy::tiho_back(&sc.ins, &sc.outs, k, t.tiho, &mut sc.amounts);
                sc.acc.iter_mut().zip(&sc.amounts).for_each(|(a, x)| a.tiho += x);
            }
            for (from_end, get) in [(false, Policy::Fifo), (true, Policy::Lifo)] {
                let r: &Ranges = if get == Policy::Fifo { &t.fifo } else { &t.lifo };
                if on[ix(get)] && !r.is_empty() {
                    policy::lined_back(&sc.ins, &sc.parts, k, r, from_end, &mut sc.ranges);
                    for (a, x) in sc.acc.iter_mut().zip(&sc.ranges) {
                        let slot = if get == Policy::Fifo { &mut a.fifo } else { &mut a.lifo };
                        *slot = slot.union(x);
                    }
                }
            }
        }
        if !any {
            return;
        }
        // What settling the spent coins reads — their clusters and endpoint slots, and the
        // transactions that made them — asked for together, so that the reads overlap
        // instead of following one another (at the hop limit most coins stop, and their
        // stops were most of a screening).
        let ins = view.tx_input_range(c);
        let coins = || ins.clone().take(64).filter_map(|i| view.spent_output(InputNum::new(i)));
        for (input, o) in tx.inputs.iter().zip(coins()) {
            if let Some(a) = input.addr {
                self.attribution.prefetch(a);
                if self.out.lists_all() {
                    self.out.endpoints.prefetch(a);
                }
            }
            view.prefetch_output_tx(o);
        }

        for (k, i) in ins.enumerate() {
            let Some(o) = view.spent_output(InputNum::new(i)) else { continue };
            let mut t = std::mem::take(&mut sc.acc[k]);
            if t.is_clean() {
                continue;
            }
            let owner = self.attribution.owner(tx.inputs[k].addr, self.opts.clusters);
            t.hops = if owner != owner_out || owner == Owner::None { hops.saturating_add(1) } else { hops };
            t.coinjoin = cj;
            self.settle(o, t, Some(c));
        }
    }
}

/// Buffers reused from transaction to transaction.
#[derive(Default)]
struct Scratch {
    ins: Vec<u64>,
    outs: Vec<u64>,
    parts: Vec<u64>,
    acc: Vec<Taint>,
    taken: Vec<Option<Taint>>,
    amounts: Vec<u64>,
    ranges: Vec<Ranges>,
    counts: Vec<u64>,
}

pub(super) fn run(
    view: &View<'_>,
    sources: &[OutputNum],
    attribution: &Attribution,
    opts: &TraceOptions,
) -> TraceReport {
    let started = Instant::now();
    let mut w = Walk {
        view,
        attribution,
        opts,
        out: Collector::new(opts),
        pending: PendingQueue::new(true),
        start_owners: sources.iter().map(|&o| attribution.owner(view.output(o).addr, opts.clusters)).collect(),
    };
    let on = w.out.on;
    let mut seen = IdSet::default();
    for &o in sources {
        if seen.insert(o) {
            w.settle(o, Taint::whole(view.output(o).value, &on), None);
        }
    }
    let mut tx = TxView::default();
    let mut scratch = Scratch::default();
    let mut look = Lookahead::default();
    while let Some(o) = w.pending.peek() {
        if w.out.visits_exhausted(opts) {
            break;
        }
        look.run(&w.pending, |step, k| {
            let o = OutputNum::new(k);
            match step {
                0 => view.prefetch_output_tx(o),
                1 => _ = view.prefetch_output_links(o),
                2 => view.prefetch_tx_body(view.tx_of_output(o)),
                _ => view.prefetch_tx_links(view.tx_of_output(o), |a, _| attribution.prefetch(a)),
            }
        });
        // Takes every pending coin this transaction created.
        w.visit(view.tx_of_output(OutputNum::new(o)), &mut tx, &mut scratch);
    }
    let waiting = std::mem::replace(&mut w.pending, PendingQueue::new(true)).drain();
    w.out.stop_waiting(view, waiting.map(|(o, t)| (OutputNum::new(o), t)));
    let seconds = started.elapsed().as_secs_f64();
    w.out.finish(view, attribution, opts, sources, seconds)
}
