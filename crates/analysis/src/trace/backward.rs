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
    fn settle(&mut self, o: OutputNum, mut t: Taint, source: bool) {
        let view = self.view;
        let coin = view.output(o);
        let created_by = view.tx_of_output(o);
        let stop = |w: &mut Self, why: StopReason, t: &Taint| {
            let a = t.amounts(coin.value);
            w.out.stop(coin.addr, why, &a, created_by, t.hops, t.coinjoin);
        };
        let owner = self.attribution.owner(coin.addr, self.opts.clusters);
        if !source
            && !self.start_owners.contains(&owner)
            && coin.addr.and_then(|a| self.attribution.label_of(a)).is_some()
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
        let ins = view.tx_input_range(created_by);
        if ins.end - ins.start == 1 && view.spent_output(InputNum::new(ins.start)).is_none() {
            return stop(self, StopReason::Mined, &t);
        }
        if self.opts.until_height.is_some_and(|u| view.height_of_tx(created_by).get() < u)
            || t.hops >= self.opts.max_hops
        {
            return stop(self, StopReason::MaxHops, &t);
        }
        // The same coin reached again is merged when its creator is visited.
        self.pending.push(o.get(), t);
    }

    /// Attributes the taint of transaction `c`'s outputs to the coins it spent.
    fn visit(&mut self, c: TxNum, tx: &mut TxView, counts: &mut Vec<u64>) {
        let view = self.view;
        tx.load(view, c);
        self.out.visited += 1;
        let on = self.out.on;
        let ins: Vec<u64> = tx.inputs.iter().map(|i| i.value).collect();
        let outs: Vec<u64> = tx.outputs.iter().map(|o| o.value).collect();
        let in_sum: u64 = ins.iter().sum();
        let mut parts = outs.clone();
        parts.push(in_sum.saturating_sub(outs.iter().sum()));
        let is_cj = coinjoin::detect(tx, counts).is_some();
        if is_cj {
            self.out.coinjoins += 1;
        }
        let mut acc: Vec<Taint> = vec![Taint::default(); ins.len()];
        let (mut hops, mut cj, mut any) = (u32::MAX, is_cj, false);
        let mut owner_out = Owner::None;
        let mut tmp_amounts = Vec::new();
        let mut tmp_ranges = Vec::new();
        let first_out = tx.outputs.first().map_or(0, |o| o.out.get());
        let mut taken: Vec<Option<Taint>> = vec![None; tx.outputs.len()];
        while let Some(o) = self.pending.peek().filter(|&o| o >= first_out) {
            let (_, t) = self.pending.pop().expect("peeked");
            match &mut taken[(o - first_out) as usize] {
                Some(x) => x.merge(&t),
                slot => *slot = Some(t),
            }
        }
        for (k, (o, t)) in tx.outputs.iter().zip(taken).enumerate() {
            let Some(t) = t else { continue };
            if !any {
                owner_out = self.attribution.owner(o.addr, self.opts.clusters);
                any = true;
            }
            hops = hops.min(t.hops);
            cj |= t.coinjoin;
            if t.poison {
                acc.iter_mut().for_each(|a| a.poison = true);
            }
            if on[ix(Policy::Haircut)] && t.haircut > 0 {
                policy::split_proportionally(t.haircut, &ins, &mut tmp_amounts);
                acc.iter_mut().zip(&tmp_amounts).for_each(|(a, x)| a.haircut += x);
            }
            if on[ix(Policy::Tiho)] && t.tiho > 0 {
                policy::tiho_back(&ins, &outs, k, t.tiho, &mut tmp_amounts);
                acc.iter_mut().zip(&tmp_amounts).for_each(|(a, x)| a.tiho += x);
            }
            for (from_end, get) in [(false, Policy::Fifo), (true, Policy::Lifo)] {
                let r: &Ranges = if get == Policy::Fifo { &t.fifo } else { &t.lifo };
                if on[ix(get)] && !r.is_empty() {
                    policy::lined_back(&ins, &parts, k, r, from_end, &mut tmp_ranges);
                    for (a, x) in acc.iter_mut().zip(&tmp_ranges) {
                        let slot = if get == Policy::Fifo { &mut a.fifo } else { &mut a.lifo };
                        *slot = slot.union(x);
                    }
                }
            }
        }
        if !any {
            return;
        }
        let spent: Vec<(OutputNum, Owner)> = view
            .tx_input_range(c)
            .filter_map(|i| view.spent_output(InputNum::new(i)))
            .zip(&tx.inputs)
            .map(|(o, i)| (o, self.attribution.owner(i.addr, self.opts.clusters)))
            .collect();
        for ((o, owner), mut t) in spent.into_iter().zip(acc) {
            if t.is_clean() {
                continue;
            }
            t.hops = if owner != owner_out || owner == Owner::None { hops.saturating_add(1) } else { hops };
            t.coinjoin = cj;
            let creator = view.tx_of_output(o).get();
            self.out.pred.first(creator, c.get());
            self.settle(o, t, false);
        }
    }
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
        out: Collector::new(&opts.policies),
        pending: PendingQueue::new(true),
        start_owners: sources.iter().map(|&o| attribution.owner(view.output(o).addr, opts.clusters)).collect(),
    };
    let on = w.out.on;
    let mut seen = IdSet::default();
    for &o in sources {
        if seen.insert(o) {
            w.settle(o, Taint::whole(view.output(o).value, &on), true);
        }
    }
    let mut tx = TxView::default();
    let mut counts = Vec::new();
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
        w.visit(view.tx_of_output(OutputNum::new(o)), &mut tx, &mut counts);
    }
    let waiting = std::mem::replace(&mut w.pending, PendingQueue::new(true)).drain();
    w.out.stop_waiting(view, waiting.map(|(o, t)| (OutputNum::new(o), t)));
    let seconds = started.elapsed().as_secs_f64();
    w.out.finish(view, attribution, opts, sources, seconds)
}
