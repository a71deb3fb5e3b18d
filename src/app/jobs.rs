//! Background jobs: loading and mapping run on a worker thread and report back over a
//! channel; each job carries a generation number and a cancel token, and a newer job
//! cancels the older one. The UI thread only drains the channel. A job opens a set (one
//! file, or several read as one table), maps loaded samples again, or places a file onto
//! the shown map ([`crate::pipeline::onto::map_onto_layout`], the app's `map --onto`).

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
    /// The file dialog closed (with a path when one was chosen), and what it was for.
    Picked(PickFor, Option<PathBuf>),
    /// A save dialog closed (with a path when one was chosen).
    SaveTo(SaveKind, Option<PathBuf>),
}

/// What a file chosen in the open dialog is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickFor {
    /// Open it (the shown set is closed).
    Open,
    /// Add it to the shown set (the union is loaded and mapped again).
    Add,
    /// Place its samples onto the shown map (REF's points stay where they are).
    Place,
}

/// What the current job does with the shown set when its samples arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JobPurpose {
    /// A new set: nothing of the shown one stays.
    #[default]
    Open,
    /// The shown set with another file: filters, colouring and the compare pair stay where
    /// their columns do.
    Add,
    /// The shown set and new samples placed onto its map (as `Add`, and the view stays).
    Place,
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
    /// Send UMAP's intermediate layouts (not when placing onto a map: the shown map is
    /// REF's until the placement is done).
    snapshots: bool,
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
        self.snapshots
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
    /// What the newest job does with the shown set, and the files its set is read from.
    pub purpose: JobPurpose,
    pub files: Vec<PathBuf>,
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
            purpose: JobPurpose::Open,
            files: Vec::new(),
        }
    }
}

/// What a job starts from.
pub enum JobInput {
    /// Load files as one table (`dataset::load_many`), then map it.
    Files(Vec<PathBuf>, LoadSpec),
    /// Map samples already loaded (new parameters).
    Loaded(Arc<Samples>),
    /// Place a file's samples onto the shown map.
    Onto(OntoInput),
}

/// The shown set as REF (its samples, finished layout and files) and the file to place.
pub struct OntoInput {
    pub reference: Arc<Samples>,
    pub layout: Arc<Vec<[f32; 2]>>,
    pub reference_files: Vec<PathBuf>,
    pub new: PathBuf,
    /// How REF was read; the new file's text comes from REF's text column.
    pub spec: LoadSpec,
}

impl JobInput {
    fn purpose(&self) -> JobPurpose {
        match self {
            JobInput::Files(..) | JobInput::Loaded(_) => JobPurpose::Open,
            JobInput::Onto(_) => JobPurpose::Place,
        }
    }

    /// The files of the set the job shows.
    fn files(&self) -> Vec<PathBuf> {
        match self {
            JobInput::Files(files, _) => files.clone(),
            JobInput::Loaded(s) => vec![s.path.clone()],
            JobInput::Onto(o) => {
                let mut f = o.reference_files.clone();
                f.push(o.new.clone());
                f
            }
        }
    }
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
        let purpose = input.purpose();
        self.start_for(ctx, input, purpose, params, cache_cap)
    }

    /// [`Jobs::start`] with what the job's samples do to the shown set (adding a file is
    /// loading files, but keeps the filters and colouring).
    pub fn start_for(
        &mut self,
        ctx: &egui::Context,
        input: JobInput,
        purpose: JobPurpose,
        params: MapParams,
        cache_cap: Option<u64>,
    ) -> u64 {
        self.cancel();
        self.generation += 1;
        self.running = true;
        self.purpose = purpose;
        self.files = input.files();
        let cancel = CancelToken::new();
        self.cancel = Some(cancel.clone());
        let progress = ChannelProgress {
            generation: self.generation,
            tx: self.tx.clone(),
            ctx: ctx.clone(),
            snapshots: purpose != JobPurpose::Place,
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

    /// Open the native file dialog, for `what`.
    pub fn pick_file(&self, ctx: &egui::Context, what: PickFor) {
        self.dialog(ctx, move || {
            JobMsg::Picked(
                what,
                rfd::FileDialog::new()
                    .set_title(match what {
                        PickFor::Open => "Open a sample set",
                        PickFor::Add => "Add a file to the shown set",
                        PickFor::Place => "Place a file's samples onto this map",
                    })
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
            if matches!(msg, JobMsg::Picked(..) | JobMsg::SaveTo(..)) || current {
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
        JobInput::Onto(o) => return run_onto(o, &params, cache.as_ref(), progress, cancel),
        JobInput::Files(files, spec) => {
            match crate::pipeline::load_inputs(&files, &spec, cache.as_ref(), progress, cancel) {
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

/// Place `o.new` onto the shown map: the new file read with REF's text column, REF's files
/// and it read again as one table (the union of their columns and a `source` column, as
/// adding a file does), the placement by [`crate::pipeline::map_onto_layout`] on REF's shown
/// layout, then that table with an `ood` column (REF's rows keep their flags) and REF's
/// coordinates, unchanged, followed by the new samples'.
fn run_onto(
    o: OntoInput,
    params: &MapParams,
    cache: Option<&Cache>,
    progress: &ChannelProgress,
    cancel: &CancelToken,
) {
    let send = |msg| {
        let _ = progress.tx.send((progress.generation, msg));
        progress.ctx.request_repaint();
    };
    match place(o, params, cache, progress, cancel) {
        Ok((both, coords, onto, load_s)) => {
            if let Some(c) = cache {
                c.trim();
            }
            send(JobMsg::Loaded(Arc::new(both)));
            send(JobMsg::Finished {
                coords,
                embedding_dims: onto.embedding_dims,
                embedder: onto.embedder,
                timings: onto.timings,
                load_s,
                warnings: onto.warnings,
                from_cache: false,
            });
        }
        Err((message, cancelled)) => send(JobMsg::Failed { message, cancelled }),
    }
}

/// REF + NEW as one table with `ood`, their coordinates, the placement, and the seconds
/// the files took to read.
type Placed = (Samples, Vec<[f32; 2]>, crate::pipeline::OntoResult, f64);

/// The work of [`run_onto`], or (the error, whether it was a cancel).
fn place(
    o: OntoInput,
    params: &MapParams,
    cache: Option<&Cache>,
    progress: &ChannelProgress,
    cancel: &CancelToken,
) -> Result<Placed, (String, bool)> {
    use crate::render::ood::{OOD_COLUMN, ood_rows};
    use polars::prelude::{NamedFrom, Series};
    let fail = |e: crate::pipeline::PipelineError| (e.to_string(), e.is_cancelled());
    let t = Instant::now();
    let mut spec = o.spec;
    spec.options.text_column = Some(o.reference.text_column.clone());
    let new =
        crate::pipeline::load_inputs(std::slice::from_ref(&o.new), &spec, cache, progress, cancel)
            .map_err(fail)?;
    let mut inputs = o.reference_files;
    inputs.push(o.new.clone());
    let mut both =
        crate::pipeline::load_inputs(&inputs, &spec, cache, progress, cancel).map_err(fail)?;
    let load_s = t.elapsed().as_secs_f64();
    let n_ref = o.reference.len();
    if both.len() != n_ref + new.len() {
        return Err((
            format!(
                "reading the shown set's files and {} together gave {} rows, apart {} + {}: has a file changed since it was opened?",
                o.new.display(),
                both.len(),
                n_ref,
                new.len()
            ),
            false,
        ));
    }
    let onto = crate::pipeline::map_onto_layout(
        &o.reference,
        Some(o.layout.to_vec()),
        &new,
        params,
        cache,
        progress,
        cancel,
    )
    .map_err(|e| {
        let (m, c) = fail(e);
        (
            format!("{}: placing it onto the map: {m}", o.new.display()),
            c,
        )
    })?;
    // REF's rows keep the flags of an earlier placement.
    let ood: Vec<bool> = ood_rows(&o.reference)
        .unwrap_or_else(|| vec![false; n_ref])
        .into_iter()
        .chain(onto.placement.ood.iter().copied())
        .collect();
    both.set_column(Series::new(OOD_COLUMN.into(), ood))
        .map_err(|e| (format!("{}: {e}", o.new.display()), false))?;
    let mut coords = onto.reference.clone();
    coords.extend_from_slice(&onto.placement.coords);
    Ok((both, coords, onto, load_s))
}
