//! What the widgets read, grouped by what it is about: the run configuration, the loaded
//! map, how the points are painted, the job status, the view, what the user points at and
//! has picked, and the overlays (filters, table, analysis, help). A new file resets the
//! map and the focus in one place ([`AppState::reset_for_file`]).

use std::path::PathBuf;
use std::sync::Arc;

use super::analysis::AnalysisState;
use super::background::Task;
use super::filters::FilterState;
use super::jobs::Jobs;
use super::region_labels::{RegionsOutcome, ShownRegions};
use super::regions::RegionsPanel;
use super::scatter::{self, MapCanvas, MapView};
use super::selection::{Selection, TableState};
use crate::dataset::Samples;
use crate::pipeline::LoadSpec;
use crate::pipeline::{MapParams, StageTimings};
use crate::progress::{CancelToken, Stage};
use crate::render::colors::Legend;
use crate::render::{PointClass, Rgba};
use crate::spatial::GridIndex;

/// Everything the widgets read.
pub struct AppState {
    pub config: RunConfig,
    pub map: LoadedMap,
    pub paint: Paint,
    pub job: JobStatus,
    pub view: MapView,
    pub focus: Focus,
    pub overlays: Overlays,
    /// The compare view: a split column, two of its values, what the map shows of them.
    pub compare: super::compare::CompareState,
}

/// What the next job runs with.
pub struct RunConfig {
    pub load_options: LoadSpec,
    pub params: MapParams,
    /// The on-disk cache's size cap in bytes (`--cache-max-gb`): the cache is read, written
    /// and trimmed to it after each map; `None`: no cache (`--no-cache`).
    pub cache_cap: Option<u64>,
    /// How long the transformer embedder would take here (and an installed model to offer).
    pub estimate: super::estimate::EstimateState,
}

/// The file being loaded or shown, and what has been computed for it.
#[derive(Default)]
pub struct LoadedMap {
    /// The first of `files` (the key its view settings are remembered under).
    pub path: Option<PathBuf>,
    /// The files the shown set was read from, as one table (`dataset::load_many`: the union
    /// of their columns, a `source` column naming each file when there are several).
    pub files: Vec<PathBuf>,
    pub samples: Option<Arc<Samples>>,
    /// The current layout (intermediate while UMAP runs).
    pub coords: Option<Arc<Vec<[f32; 2]>>>,
    /// Version of the coordinates (the index is rebuilt when it changes).
    pub coords_version: u64,
    /// The box around the current coordinates.
    pub bounds: ([f32; 2], [f32; 2]),
    /// Whether `coords` is the finished layout.
    pub layout_done: bool,
    /// Whether the shown map came from the cache.
    pub from_cache: bool,
    /// The picking index and the coordinates version it was built for.
    pub index: Option<(u64, Arc<GridIndex>)>,
    pub(super) index_task: Task<(u64, GridIndex)>,
    /// The regions of the finished layout (see [`AppState::current_regions`]).
    pub regions: Option<Arc<ShownRegions>>,
    pub(super) regions_task: Task<RegionsOutcome>,
    pub(super) regions_cancel: Option<CancelToken>,
    /// The coordinates version the last regions computation was started for.
    pub(super) regions_started: Option<u64>,
    pub warnings: Vec<String>,
    /// Seconds of the last finished run: load, then per stage.
    pub timings: Option<(f64, StageTimings)>,
    pub embedding_dims: Option<usize>,
    /// The embedder of the shown map (with what the embedding cache did).
    pub embedder: Option<String>,
}

impl LoadedMap {
    /// How the top bar names the shown set: its file, or "N files: a, b, …".
    pub fn files_label(&self) -> Option<String> {
        let name = |p: &PathBuf| {
            p.file_name()
                .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
        };
        match self.files.as_slice() {
            [] => self.path.as_ref().map(|p| p.display().to_string()),
            [one] => Some(one.display().to_string()),
            many => {
                let names: Vec<String> = many.iter().take(3).map(name).collect();
                let more = if many.len() > 3 { ", …" } else { "" };
                Some(format!("{} files: {}{more}", many.len(), names.join(", ")))
            }
        }
    }
}

/// Colours and legend of the current colouring (computed together, off the UI thread for
/// large sets), and the selection mean they were computed with.
pub(super) struct Colouring {
    pub colors: Vec<Rgba>,
    pub legend: Legend,
    /// The selection rows the mean is for, and the mean.
    pub mean: Option<(Arc<Vec<u32>>, Option<String>)>,
}

/// How the points are painted.
pub struct Paint {
    pub color_by: Option<String>,
    pub colors: Arc<Vec<Rgba>>,
    pub legend: Legend,
    /// How each point is drawn, from filters and selection.
    pub classes: Arc<Vec<PointClass>>,
    /// Bumped when coordinates, colours or classes change (the renderer's cache key).
    pub version: u64,
    /// The map texture and its renderer.
    pub canvas: MapCanvas,
    pub(super) color_task: Task<Colouring>,
    pub(super) class_task: Task<Vec<PointClass>>,
}

impl Default for Paint {
    fn default() -> Self {
        Paint {
            color_by: None,
            colors: Arc::new(Vec::new()),
            legend: Legend::None,
            classes: Arc::new(Vec::new()),
            version: 0,
            canvas: MapCanvas::default(),
            color_task: Task::default(),
            class_task: Task::default(),
        }
    }
}

/// The background job (load and map) and what it and other work report.
#[derive(Default)]
pub struct JobStatus {
    pub(super) jobs: Jobs,
    /// (stage, done, total) of the running job.
    pub progress: Option<(Stage, u64, u64)>,
    /// When the current stage was first reported, and how much of it was done then (for its
    /// rate and the time left).
    pub stage_started: Option<(Stage, std::time::Instant, u64)>,
    pub error: Option<String>,
    /// A short message for the status bar (e.g. where an export went).
    pub notice: Option<String>,
    pub(super) export_task: Task<Result<String, String>>,
}

impl JobStatus {
    /// Whether a load / map job is running.
    pub fn running(&self) -> bool {
        self.jobs.running
    }
}

/// What the user points at and has picked.
#[derive(Default)]
pub struct Focus {
    pub hovered: Option<usize>,
    pub selected: Option<usize>,
    pub detail: Option<Detail>,
    /// Rows sharing the selected sample's prompt (for next / previous), when a prompt column exists.
    pub same_prompt: Option<(String, Vec<u32>)>,
    /// Selected samples (box, lasso, or a setting of the analysis table).
    pub selection: Option<Selection>,
    pub pin: Option<super::focus::Pin>,
    /// A box / lasso selection being computed.
    pub(super) region_task: Task<(String, Vec<u32>)>,
    /// The same-prompt rows of a selected sample being looked up: (row, column, rows).
    pub(super) prompt_task: Task<(usize, String, Vec<u32>)>,
}

/// Windows and panels over or around the map.
pub struct Overlays {
    pub filters: FilterState,
    pub table: TableState,
    /// The Analysis window (per-setting table, best-of-N curves, new metrics).
    pub analysis: AnalysisState,
    /// The Regions window (regions ranked by a metric).
    pub regions: RegionsPanel,
    pub show_help: bool,
    pub show_warnings: bool,
}

impl AppState {
    pub fn new(load_options: LoadSpec, params: MapParams) -> AppState {
        AppState {
            config: RunConfig {
                load_options,
                params,
                cache_cap: Some(crate::cache::DEFAULT_MAX_BYTES),
                estimate: super::estimate::EstimateState::new(
                    crate::defaults::installed_transformer_dir(),
                ),
            },
            map: LoadedMap::default(),
            paint: Paint::default(),
            job: JobStatus::default(),
            view: MapView::default(),
            focus: Focus::default(),
            overlays: Overlays {
                filters: FilterState::opened(),
                table: TableState::default(),
                analysis: AnalysisState::default(),
                regions: RegionsPanel::default(),
                show_help: false,
                show_warnings: false,
            },
            compare: super::compare::CompareState::default(),
        }
    }

    /// A new file (being opened, or its samples arrived): nothing of the previous one stays
    /// in the map or the focus, and its error is gone. The one place that clears them.
    /// The set is `path` alone until the caller says otherwise ([`LoadedMap::files`]).
    pub fn reset_for_file(&mut self, path: PathBuf) {
        if let Some(cancel) = self.map.regions_cancel.take() {
            cancel.cancel();
        }
        self.overlays.regions.reset();
        self.compare.reset();
        self.map = LoadedMap {
            files: vec![path.clone()],
            path: Some(path),
            ..LoadedMap::default()
        };
        self.focus = Focus::default();
        self.job.error = None;
    }

    /// The regions when they belong to the current coordinates.
    pub fn current_regions(&self) -> Option<&Arc<ShownRegions>> {
        self.map
            .regions
            .as_ref()
            .filter(|r| r.coords_version == self.map.coords_version)
    }

    /// The picking index when it matches the current coordinates.
    pub fn current_index(&self) -> Option<Arc<GridIndex>> {
        self.map
            .index
            .as_ref()
            .filter(|(v, _)| *v == self.map.coords_version)
            .map(|(_, i)| i.clone())
    }
}

/// The selected sample, looked up once when it is selected (not every frame).
pub struct Detail {
    pub row: usize,
    /// (column, display value) of every column but the text.
    pub fields: Vec<(String, String)>,
    /// Chat turns (role, content) when the text column holds chat messages.
    pub turns: Option<Vec<(String, String)>>,
    pub text_chars: usize,
}

impl Detail {
    pub(super) fn of(samples: &Samples, row: usize) -> Detail {
        let fields = samples
            .row_fields(row, 2_000)
            .into_iter()
            .enumerate()
            // The text, and a prompt shown above it as a turn, are not repeated as fields.
            .filter(|(_, (name, _))| {
                *name != samples.text_column
                    && (samples.text_is_chat || samples.prompt_column.as_ref() != Some(name))
            })
            .map(|(i, (name, value))| {
                // Numbers and categories in the same compact form as the tooltip.
                let shown = samples
                    .columns
                    .get(i)
                    .and_then(|c| scatter::format_value(&c.kind, row));
                (name, shown.unwrap_or(value))
            })
            .collect();
        Detail {
            row,
            fields,
            turns: samples.chat_turns(row),
            text_chars: samples.texts[row].chars().count(),
        }
    }
}
