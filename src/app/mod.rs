//! The desktop app: a map that fills the window, a side panel for colouring and parameters,
//! a detail panel for the selected sample, and a status bar with progress. Loading and
//! mapping run as background jobs; widgets return commands that one place applies.

mod analysis;
mod colors;
mod jobs;
mod panels;
mod scatter;

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

pub use colors::Legend;
pub use scatter::MapView;

use crate::dataset::{LoadOptions, Samples};
use crate::pipeline::{MapParams, StageTimings};
use crate::progress::Stage;
use jobs::{JobInput, JobMsg, Jobs};

/// Open the app window (optionally on a file) and run until it closes.
pub fn run(
    file: Option<PathBuf>,
    color_by: Option<String>,
    load: LoadOptions,
    params: MapParams,
    use_cache: bool,
) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Sample Atlas")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([640.0, 400.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "Sample Atlas",
        options,
        Box::new(move |cc| {
            let mut app = AtlasApp::new(load, params);
            app.state.color_by = color_by;
            app.state.use_cache = use_cache;
            if let Some(path) = file {
                app.apply(&cc.egui_ctx, Command::Open(path));
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
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
    fn of(samples: &Samples, row: usize) -> Detail {
        let fields = samples
            .row_fields(row, 2_000)
            .into_iter()
            .enumerate()
            .filter(|(_, (name, _))| *name != samples.text_column)
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

/// Everything the widgets read.
pub struct AppState {
    pub load_options: LoadOptions,
    pub params: MapParams,
    /// Read and write the on-disk cache (off with `--no-cache`).
    pub use_cache: bool,
    /// Whether the shown map came from the cache.
    pub from_cache: bool,
    /// The file being loaded or shown.
    pub path: Option<PathBuf>,
    pub samples: Option<Arc<Samples>>,
    /// The current layout (intermediate while UMAP runs).
    pub coords: Option<Vec<[f32; 2]>>,
    /// Whether `coords` is the finished layout.
    pub layout_done: bool,
    pub color_by: Option<String>,
    pub colors: Vec<egui::Color32>,
    pub legend: Legend,
    pub hovered: Option<usize>,
    pub selected: Option<usize>,
    pub detail: Option<Detail>,
    pub view: MapView,
    /// (stage, done, total) of the running job.
    pub progress: Option<(Stage, u64, u64)>,
    pub job_running: bool,
    pub error: Option<String>,
    pub warnings: Vec<String>,
    pub show_warnings: bool,
    /// Seconds of the last finished run: load, then per stage.
    pub timings: Option<(f64, StageTimings)>,
    pub embedding_dims: Option<usize>,
    /// The embedder of the shown map (with what the embedding cache did).
    pub embedder: Option<String>,
    /// The Analysis window (per-setting table, best-of-N curves, new metrics).
    pub analysis: analysis::AnalysisState,
    /// Samples highlighted on the map (e.g. one setting of the analysis table).
    pub highlight: Option<Highlight>,
}

/// A set of highlighted samples: drawn on top, everything else faded.
pub struct Highlight {
    pub label: String,
    pub mask: Vec<bool>,
    pub count: usize,
    /// " · mean COL x" of the colour column over the highlighted rows (kept up to date by
    /// `recolor`, not recomputed every frame).
    pub mean: Option<String>,
}

/// The mean of a numeric colour column over the rows in `mask`, for the status bar.
fn highlight_mean(samples: &Samples, color_by: Option<&str>, mask: &[bool]) -> Option<String> {
    let c = color_by?;
    let i = samples.column_index(c)?;
    let crate::dataset::ColumnKind::Numeric { values, .. } = &samples.columns[i].kind else {
        return None;
    };
    let v: Vec<f64> = values
        .iter()
        .zip(mask)
        .filter(|(v, m)| **m && v.is_finite())
        .map(|(v, _)| *v as f64)
        .collect();
    (!v.is_empty()).then(|| format!(" · mean {c} {:.3}", v.iter().sum::<f64>() / v.len() as f64))
}

/// Everything the widgets can ask for.
#[must_use]
#[derive(Clone, Debug)]
pub enum Command {
    Open(PathBuf),
    OpenDialog,
    Cancel,
    /// Recompute the map of the loaded samples with `state.params`.
    Recompute,
    SetColorBy(Option<String>),
    SetParams(MapParams),
    Hover(Option<usize>),
    Select(Option<usize>),
    ResetView,
    ShowWarnings(bool),
    DismissError,
    ToggleAnalysis,
    /// Highlight these rows on the map, under this label.
    Highlight(String, Vec<u32>),
    ClearHighlight,
    /// Add a metric column from an expression: (name, expression).
    AddMetric(String, String),
}

pub struct AtlasApp {
    pub state: AppState,
    jobs: Jobs,
    /// Commands raised outside a frame's widgets (the file dialog), applied next frame.
    pending: Vec<Command>,
}

impl AtlasApp {
    pub fn new(load_options: LoadOptions, params: MapParams) -> Self {
        AtlasApp {
            state: AppState {
                load_options,
                params,
                use_cache: true,
                from_cache: false,
                path: None,
                samples: None,
                coords: None,
                layout_done: false,
                color_by: None,
                colors: Vec::new(),
                legend: Legend::None,
                hovered: None,
                selected: None,
                detail: None,
                view: MapView::default(),
                progress: None,
                job_running: false,
                error: None,
                warnings: Vec::new(),
                show_warnings: false,
                timings: None,
                embedding_dims: None,
                embedder: None,
                analysis: Default::default(),
                highlight: None,
            },
            jobs: Jobs::default(),
            pending: Vec::new(),
        }
    }

    /// Show a map computed elsewhere (tests, precomputed layouts).
    pub fn set_map(&mut self, samples: Arc<Samples>, coords: Vec<[f32; 2]>) {
        self.set_samples(samples);
        self.state.coords = Some(coords);
        self.state.layout_done = true;
    }

    fn set_samples(&mut self, samples: Arc<Samples>) {
        let s = &mut self.state;
        s.analysis.reset_for(&samples);
        s.highlight = None;
        s.warnings = samples.warnings.clone();
        s.path = Some(samples.path.clone());
        let keep = s.color_by.as_ref().is_some_and(|c| {
            samples
                .column_index(c)
                .is_some_and(|i| samples.columns[i].colorable())
        });
        if !keep {
            s.color_by = colors::default_color_column(&samples);
        }
        s.samples = Some(samples);
        s.selected = None;
        s.detail = None;
        s.hovered = None;
        s.view.auto_fit = true;
        self.recolor();
    }

    /// Add a metric column from an expression (a cheap copy of the samples gains a column),
    /// colour the map by it and make it the analysis metric.
    fn add_metric(&mut self, name: &str, expr: &str) {
        let Some(samples) = self.state.samples.clone() else {
            return;
        };
        let a = &mut self.state.analysis;
        let checked = crate::metrics::parse_metric_expr(&format!("{name}={expr}"));
        let result = checked.and_then(|(name, expr)| {
            let mut copy = (*samples).clone();
            crate::metrics::add_expr(&mut copy, &name, &expr)
                .map(|_| (copy, name))
                .map_err(|e| match e {
                    crate::metrics::MetricError::Expr { rendered, .. } => rendered,
                    other => other.to_string(),
                })
        });
        match result {
            Ok((copy, name)) => {
                a.new_error = None;
                a.refresh_choices(&copy);
                a.inputs.metric = Some(name.clone());
                self.state.samples = Some(Arc::new(copy));
                self.state.color_by = Some(name);
                self.recolor();
            }
            Err(e) => a.new_error = Some(e),
        }
    }

    fn recolor(&mut self) {
        let s = &mut self.state;
        if let Some(samples) = &s.samples {
            let (colors, legend) = colors::point_colors(samples, s.color_by.as_deref());
            s.colors = colors;
            s.legend = legend;
            if let Some(h) = &mut s.highlight {
                h.mean = highlight_mean(samples, s.color_by.as_deref(), &h.mask);
            }
        }
    }

    /// Apply one command. The only place that changes state in response to widgets.
    pub fn apply(&mut self, ctx: &egui::Context, cmd: Command) {
        match cmd {
            Command::Open(path) => {
                let s = &mut self.state;
                s.path = Some(path.clone());
                s.samples = None;
                s.coords = None;
                s.layout_done = false;
                s.selected = None;
                s.detail = None;
                s.hovered = None;
                s.error = None;
                s.warnings.clear();
                s.timings = None;
                s.from_cache = false;
                s.progress = Some((Stage::Load, 0, 1));
                s.job_running = true;
                self.jobs.start(
                    ctx,
                    JobInput::File(path, s.load_options.clone()),
                    s.params.clone(),
                    s.use_cache,
                );
                // A text column named on the command line is for the file named there;
                // files opened later get theirs detected.
                s.load_options.text_column = None;
            }
            Command::OpenDialog => self.jobs.pick_file(ctx),
            Command::Cancel => {
                self.jobs.cancel();
            }
            Command::Recompute => {
                if let Some(samples) = self.state.samples.clone() {
                    let s = &mut self.state;
                    s.error = None;
                    s.layout_done = false;
                    s.from_cache = false;
                    s.job_running = true;
                    s.progress = Some((Stage::Embed, 0, 1));
                    s.warnings = samples.warnings.clone();
                    self.jobs.start(
                        ctx,
                        JobInput::Loaded(samples),
                        s.params.clone(),
                        s.use_cache,
                    );
                }
            }
            Command::SetColorBy(col) => {
                self.state.color_by = col;
                self.recolor();
            }
            Command::ToggleAnalysis => {
                self.state.analysis.open = !self.state.analysis.open;
            }
            Command::Highlight(label, rows) => {
                if let Some(samples) = &self.state.samples {
                    let mut mask = vec![false; samples.len()];
                    for &r in &rows {
                        if let Some(m) = mask.get_mut(r as usize) {
                            *m = true;
                        }
                    }
                    let mean = highlight_mean(samples, self.state.color_by.as_deref(), &mask);
                    self.state.highlight = Some(Highlight {
                        label,
                        count: rows.len(),
                        mask,
                        mean,
                    });
                }
            }
            Command::ClearHighlight => self.state.highlight = None,
            Command::AddMetric(name, expr) => self.add_metric(&name, &expr),
            Command::SetParams(params) => self.state.params = params,
            Command::Hover(row) => self.state.hovered = row,
            Command::Select(row) => {
                let s = &mut self.state;
                s.selected = row.filter(|&r| s.samples.as_ref().is_some_and(|x| r < x.len()));
                s.detail = match (&s.samples, s.selected) {
                    (Some(samples), Some(r)) => Some(Detail::of(samples, r)),
                    _ => None,
                };
            }
            Command::ResetView => self.state.view.auto_fit = true,
            Command::ShowWarnings(show) => self.state.show_warnings = show,
            Command::DismissError => self.state.error = None,
        }
    }

    /// Take in what the worker threads sent since the last frame.
    fn drain_jobs(&mut self) {
        for msg in self.jobs.drain() {
            match msg {
                JobMsg::Progress { stage, done, total } => {
                    self.state.progress = Some((stage, done, total));
                }
                JobMsg::Loaded(samples) => self.set_samples(samples),
                JobMsg::Layout(coords) => {
                    if !self.state.layout_done {
                        self.state.coords = Some(coords);
                    }
                }
                JobMsg::Finished {
                    coords,
                    embedding_dims,
                    embedder,
                    timings,
                    load_s,
                    warnings,
                    from_cache,
                } => {
                    let s = &mut self.state;
                    s.from_cache = from_cache;
                    s.coords = Some(coords);
                    s.layout_done = true;
                    s.embedding_dims = Some(embedding_dims);
                    s.embedder = Some(embedder);
                    s.timings = Some((load_s, timings));
                    s.warnings.extend(warnings);
                    s.progress = None;
                    s.job_running = false;
                }
                JobMsg::Failed { message, cancelled } => {
                    let s = &mut self.state;
                    s.progress = None;
                    s.job_running = false;
                    s.error = Some(if cancelled {
                        "cancelled".to_string()
                    } else {
                        message
                    });
                }
                JobMsg::Picked(path) => match path {
                    // Only the dialog thread sends this; it is not a job result.
                    Some(path) => self.pending.push(Command::Open(path)),
                    None => {
                        self.state.error = Some(
                            "No file chosen. If no dialog appeared, this desktop has no file chooser \
                             (xdg-desktop-portal or zenity): drop a file on the window or pass it on \
                             the command line."
                                .into(),
                        )
                    }
                },
            }
        }
        self.state.job_running = self.jobs.running;
    }

    /// Draw the whole app into `ui` and apply what the widgets asked for.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.drain_jobs();
        let ctx = ui.ctx().clone();
        let mut commands = std::mem::take(&mut self.pending);
        // Files dropped on the window.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if let Some(path) = dropped.into_iter().next() {
            commands.push(Command::Open(path));
        }
        commands.extend(panels::top_bar(ui, &self.state));
        commands.extend(panels::status_bar(ui, &self.state));
        commands.extend(panels::side_panel(ui, &mut self.state));
        if self.state.selected.is_some() {
            commands.extend(panels::detail_panel(ui, &self.state));
        }
        commands.extend(panels::central(ui, &mut self.state));
        self.state.analysis.poll(&ctx, self.state.samples.as_ref());
        if self.state.analysis.open
            && let Some(samples) = self.state.samples.clone()
        {
            commands.extend(analysis::window(&ctx, &mut self.state.analysis, &samples));
        }
        if self.state.show_warnings {
            commands.extend(panels::warnings_window(&ctx, &self.state));
        }
        for cmd in commands {
            self.apply(&ctx, cmd);
        }
    }
}

impl eframe::App for AtlasApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
