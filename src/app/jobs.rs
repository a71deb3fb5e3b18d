//! Background jobs: loading and mapping run on a worker thread and report back over a
//! channel; each job carries a generation number and a cancel token, and a newer job
//! cancels the older one. The UI thread only drains the channel.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Instant;

use eframe::egui;

use crate::cache::Cache;
use crate::dataset::Samples;
use crate::pipeline::LoadSpec;
use crate::pipeline::{MapParams, StageTimings, compute_map};
use crate::progress::{CancelToken, Progress, Stage};

pub enum JobMsg {
    Progress {
        stage: Stage,
        done: u64,
        total: u64,
    },
    Loaded(Arc<Samples>),
    Layout(Vec<[f32; 2]>),
    Finished {
        coords: Vec<[f32; 2]>,
        embedding_dims: usize,
        /// Which embedder made the vectors, and what the per-text cache did.
        embedder: String,
        timings: StageTimings,
        load_s: f64,
        warnings: Vec<String>,
        from_cache: bool,
    },
    Failed {
        message: String,
        cancelled: bool,
    },
    /// The file dialog closed (with a path when one was chosen).
    Picked(Option<PathBuf>),
    /// A save dialog closed (with a path when one was chosen).
    SaveTo(SaveKind, Option<PathBuf>),
}

/// What a save dialog is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveKind {
    Png,
    Selection,
}

struct ChannelProgress {
    generation: u64,
    tx: Sender<(u64, JobMsg)>,
    ctx: egui::Context,
}

/// While a job runs, its progress and layout snapshots redraw the window at most this
/// often (4 frames a second): reports come hundreds of times a second, and every frame takes
/// CPU from the computation, a lot of it under software rendering (llvmpipe: UMAP on
/// persona's 133k rows under Xvfb took 23.7 s with a spinner and a frame per report, 20–21 s
/// at 10 frames a second, 17.0 s at 4; 10.4 s in the CLI). A user's own input still redraws
/// at once.
const JOB_FRAME_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

impl Progress for ChannelProgress {
    fn report(&self, stage: Stage, done: u64, total: u64) {
        let _ = self
            .tx
            .send((self.generation, JobMsg::Progress { stage, done, total }));
        self.ctx.request_repaint_after(JOB_FRAME_INTERVAL);
    }

    fn wants_layout_snapshots(&self) -> bool {
        true
    }

    fn layout_snapshot(&self, coords: &[[f32; 2]]) {
        let _ = self
            .tx
            .send((self.generation, JobMsg::Layout(coords.to_vec())));
        self.ctx.request_repaint_after(JOB_FRAME_INTERVAL);
    }
}

pub struct Jobs {
    tx: Sender<(u64, JobMsg)>,
    rx: Receiver<(u64, JobMsg)>,
    /// Generation of the newest job; messages from older ones are dropped.
    pub generation: u64,
    cancel: Option<CancelToken>,
    pub running: bool,
}

impl Default for Jobs {
    fn default() -> Self {
        let (tx, rx) = channel();
        Jobs {
            tx,
            rx,
            generation: 0,
            cancel: None,
            running: false,
        }
    }
}

/// What a job starts from.
pub enum JobInput {
    /// Load a file, then map it.
    File(PathBuf, LoadSpec),
    /// Map samples already loaded (new parameters).
    Loaded(Arc<Samples>),
}

impl Jobs {
    /// Cancel the running job, if any.
    pub fn cancel(&mut self) {
        if let Some(c) = self.cancel.take() {
            c.cancel();
        }
    }

    /// Start a job (cancelling the previous one); returns its generation.
    pub fn start(
        &mut self,
        ctx: &egui::Context,
        input: JobInput,
        params: MapParams,
        cache_cap: Option<u64>,
    ) -> u64 {
        self.cancel();
        self.generation += 1;
        self.running = true;
        let cancel = CancelToken::new();
        self.cancel = Some(cancel.clone());
        let progress = ChannelProgress {
            generation: self.generation,
            tx: self.tx.clone(),
            ctx: ctx.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("atlas-job".into())
            .spawn(move || run_job(input, params, cache_cap, &progress, &cancel));
        if let Err(e) = spawned {
            let _ = self.tx.send((
                self.generation,
                JobMsg::Failed {
                    message: format!("could not start a worker thread: {e}"),
                    cancelled: false,
                },
            ));
        }
        self.generation
    }

    /// Run a native dialog on its own thread (it blocks while open) and send its answer.
    fn dialog(&self, ctx: &egui::Context, run: impl FnOnce() -> JobMsg + Send + 'static) {
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        let generation = self.generation;
        let _ = std::thread::Builder::new()
            .name("atlas-dialog".into())
            .spawn(move || {
                let _ = tx.send((generation, run()));
                ctx.request_repaint();
            });
    }

    /// Open the native file dialog.
    pub fn pick_file(&self, ctx: &egui::Context) {
        self.dialog(ctx, || {
            JobMsg::Picked(
                rfd::FileDialog::new()
                    .set_title("Open a sample set")
                    .add_filter(
                        "Sample sets",
                        &[
                            "jsonl", "ndjson", "json", "csv", "tsv", "parquet", "npy", "gz", "zst",
                        ],
                    )
                    .pick_file(),
            )
        });
    }

    /// Open a native save dialog for `kind`.
    pub fn save_dialog(&self, ctx: &egui::Context, kind: SaveKind) {
        self.dialog(ctx, move || {
            let dialog = rfd::FileDialog::new();
            let dialog = match kind {
                SaveKind::Png => dialog
                    .set_title("Save the map as PNG")
                    .set_file_name("map.png")
                    .add_filter("PNG image", &["png"]),
                SaveKind::Selection => dialog
                    .set_title("Export the selected rows")
                    .set_file_name("selection.jsonl")
                    .add_filter("JSON Lines", &["jsonl"])
                    .add_filter("CSV", &["csv"])
                    .add_filter("Parquet", &["parquet"]),
            };
            JobMsg::SaveTo(kind, dialog.save_file())
        });
    }

    /// Messages that arrived since the last call, from the current generation (file
    /// dialog results are always delivered).
    pub fn drain(&mut self) -> Vec<JobMsg> {
        let mut out = Vec::new();
        while let Ok((generation, msg)) = self.rx.try_recv() {
            let current = generation == self.generation;
            if matches!(msg, JobMsg::Picked(_) | JobMsg::SaveTo(..)) || current {
                if current && matches!(msg, JobMsg::Finished { .. } | JobMsg::Failed { .. }) {
                    self.running = false;
                    self.cancel = None;
                }
                out.push(msg);
            }
        }
        out
    }
}

fn run_job(
    input: JobInput,
    params: MapParams,
    cache_cap: Option<u64>,
    progress: &ChannelProgress,
    cancel: &CancelToken,
) {
    let send = |msg| {
        let _ = progress.tx.send((progress.generation, msg));
        progress.ctx.request_repaint();
    };
    let t = Instant::now();
    let cache = cache_cap.and_then(Cache::open_default);
    let samples = match input {
        JobInput::Loaded(s) => s,
        JobInput::File(path, spec) => {
            match crate::pipeline::load_inputs(&[path], &spec, cache.as_ref(), progress, cancel) {
                Ok(s) => {
                    let s = Arc::new(s);
                    send(JobMsg::Loaded(s.clone()));
                    s
                }
                Err(e) => {
                    let cancelled = e.is_cancelled();
                    send(JobMsg::Failed {
                        message: e.to_string(),
                        cancelled,
                    });
                    return;
                }
            }
        }
    };
    let load_s = t.elapsed().as_secs_f64();
    let result = compute_map(&samples, &params, cache.as_ref(), progress, cancel);
    // Trimmed to its cap once the map is done with its entries; not by a cancelled job, whose
    // successor (another `Cache`, which this one cannot spare) may be reading them.
    if let (Some(c), Ok(_)) = (&cache, &result) {
        c.trim();
    }
    match result {
        Ok(r) => send(JobMsg::Finished {
            coords: r.coords,
            embedding_dims: r.embedding_dims,
            embedder: match r.text_cache {
                Some(tc) => format!(
                    "{}; {} texts embedded, {} from the cache",
                    r.embedder, tc.embedded, tc.reused
                ),
                None => r.embedder,
            },
            timings: r.timings,
            load_s,
            warnings: r.warnings,
            from_cache: r.cache.layout == crate::cache::CacheUse::Hit,
        }),
        Err(e) => send(JobMsg::Failed {
            cancelled: e.is_cancelled(),
            message: format!("{}: {e}", samples.path.display()),
        }),
    }
}
