//! Progress bars on stderr for headless runs.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::progress::{Progress, Stage};

/// indicatif bars on stderr, one per stage.
pub(super) struct CliProgress {
    multi: MultiProgress,
    bars: Mutex<Vec<(Stage, ProgressBar)>>,
    quiet: bool,
}

impl CliProgress {
    pub(super) fn new(quiet: bool) -> Self {
        CliProgress {
            multi: MultiProgress::new(),
            bars: Mutex::new(Vec::new()),
            quiet,
        }
    }

    /// Print `f`'s lines above the bars (which are drawn again after).
    pub(super) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }

    pub(super) fn finish(&self) {
        if let Ok(bars) = self.bars.lock() {
            for (_, bar) in bars.iter() {
                bar.finish();
            }
        }
    }
}

impl Progress for CliProgress {
    fn report(&self, stage: Stage, done: u64, total: u64) {
        if self.quiet {
            return;
        }
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = match bars.iter().find(|(s, _)| *s == stage) {
            Some((_, bar)) => bar.clone(),
            None => {
                for (_, b) in bars.iter() {
                    b.finish();
                }
                let bar = self.multi.add(ProgressBar::new(total));
                // Embedders report texts: show their rate and the time left.
                let template = if stage == Stage::Embed {
                    "{msg:>20} [{bar:40}] {pos}/{len} texts, {per_sec}, {eta} left, {elapsed_precise}"
                } else {
                    "{msg:>20} [{bar:40}] {pos}/{len} {elapsed_precise}"
                };
                bar.set_style(
                    ProgressStyle::with_template(template)
                        .expect("static template")
                        .progress_chars("=> "),
                );
                bar.set_message(stage.label());
                bar.enable_steady_tick(Duration::from_millis(200));
                bars.push((stage, bar.clone()));
                bar
            }
        };
        bar.set_length(total);
        bar.set_position(done.min(total));
    }
}
