//! The ingest progress bar: blocks/s and tx/s on stderr, hidden off a terminal or with `-q`.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sleuth_index::ingest::Progress;

/// An indicatif bar over the blocks to ingest.
pub struct Bar {
    bar: ProgressBar,
    txs: u64,
    started: Instant,
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
        Bar { bar, txs: 0, started: Instant::now() }
    }
}

impl Progress for Bar {
    fn start(&mut self, blocks: u64) {
        self.bar.set_length(blocks);
        self.started = Instant::now();
    }

    fn block(&mut self, txs: u64) {
        self.txs += txs;
        self.bar.inc(1);
        if self.bar.position().is_multiple_of(64) {
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            self.bar.set_message(format!("{} tx, {:.0} tx/s", self.txs, self.txs as f64 / secs));
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
