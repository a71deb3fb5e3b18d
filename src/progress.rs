//! Progress reporting and cooperative cancellation, shared by the CLI (indicatif bars) and
//! the app (a progress bar in the status line). Long functions take a `&dyn Progress` and a
//! `&CancelToken`, work in chunks, and after each chunk check the token and report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The pipeline stages, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Load,
    Embed,
    Neighbors,
    Graph,
    Layout,
    Regions,
    Write,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Load => "loading",
            Stage::Embed => "embedding",
            Stage::Neighbors => "nearest neighbours",
            Stage::Graph => "fuzzy graph",
            Stage::Layout => "UMAP layout",
            Stage::Regions => "regions",
            Stage::Write => "writing",
        }
    }
}

/// Receives progress from long-running work. Implementations must be cheap: they are
/// called after every chunk of work, possibly from several threads.
pub trait Progress: Send + Sync {
    /// `done` of `total` units of `stage` are finished.
    fn report(&self, stage: Stage, done: u64, total: u64);

    /// An intermediate 2-D layout while UMAP converges (for animation). Default: ignored.
    fn layout_snapshot(&self, _coords: &[[f32; 2]]) {}

    /// Whether `layout_snapshot` is wanted at all (copying the layout is skipped otherwise).
    fn wants_layout_snapshots(&self) -> bool {
        false
    }
}

/// A progress sink that ignores everything (tests, benches).
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _stage: Stage, _done: u64, _total: u64) {}
}

/// A cheap, cloneable cancellation flag. Cancelling is sticky.
#[derive(Clone, Default, Debug)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
