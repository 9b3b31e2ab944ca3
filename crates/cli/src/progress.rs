//! The ingest progress bar: blocks/s and tx/s on stderr, hidden off a terminal or with `-q`.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sleuth_index::ingest::Progress;

/// An indicatif bar over the blocks to ingest.
pub struct Bar {
    bar: ProgressBar,
    txs: u64,
    started: Instant,
    windows: Option<Windows>,
}

/// Per-window figures for benchmarks (`SLEUTH_INGEST_WINDOWS=N`): every N transactions, a
/// line on stderr with the window's tx/s, the bytes this process has written to disk so far
/// (`/proc/self/io` `write_bytes`) and its resident memory (`/proc/self/status`).
struct Windows {
    every: u64,
    next: u64,
    last_txs: u64,
    last_at: Instant,
}

/// A `key: value` field of a `/proc/self` file, as a number (kB fields in kB).
fn proc_field(file: &str, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/self/{file}"))
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().split(' ').next()?.parse().ok())
        })
        .unwrap_or(0)
}

impl Bar {
    /// A bar that draws only when `visible` and stderr is a terminal.
    pub fn new(visible: bool) -> Bar {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} blocks ({per_sec}) {msg} eta {eta}",
            )
            .expect("template is valid"),
        );
        let windows = std::env::var("SLEUTH_INGEST_WINDOWS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&n| n > 0)
            .map(|every| Windows { every, next: every, last_txs: 0, last_at: Instant::now() });
        Bar { bar, txs: 0, started: Instant::now(), windows }
    }
}

impl Progress for Bar {
    fn start(&mut self, blocks: u64) {
        self.bar.set_length(blocks);
        self.started = Instant::now();
        if let Some(w) = &mut self.windows {
            // Everything before the first block: opening the index, the header scan and
            // validation, sizing the tables.
            eprintln!("scan: {:.1} s before the first block", w.last_at.elapsed().as_secs_f64());
            w.last_at = self.started;
        }
    }

    fn block(&mut self, txs: u64) {
        self.txs += txs;
        self.bar.inc(1);
        if self.bar.position().is_multiple_of(64) {
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            self.bar.set_message(format!("{} tx, {:.0} tx/s", self.txs, self.txs as f64 / secs));
        }
        if let Some(w) = &mut self.windows {
            if self.txs >= w.next {
                let secs = w.last_at.elapsed().as_secs_f64().max(1e-9);
                eprintln!(
                    "window {}..{} tx: {:.0} tx/s, {:.1} s since start, write_bytes {}, rss_anon_kb {}, rss_file_kb {}",
                    w.last_txs,
                    self.txs,
                    (self.txs - w.last_txs) as f64 / secs,
                    self.started.elapsed().as_secs_f64(),
                    proc_field("io", "write_bytes:"),
                    proc_field("status", "RssAnon:"),
                    proc_field("status", "RssFile:"),
                );
                w.last_txs = self.txs;
                w.last_at = Instant::now();
                w.next = (self.txs / w.every + 1) * w.every;
            }
        }
    }

    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// A bar counting `unit`s, hidden off a terminal or when not `visible`.
pub fn count_bar(visible: bool, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(0),
        if visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
    );
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {unit} ({{per_sec}}) eta {{eta}}"
        ))
        .expect("template is valid"),
    );
    bar
}
