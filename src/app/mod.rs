//! The desktop app: a map that fills the window, a side panel for colouring and parameters,
//! a detail panel for the selected sample, and a status bar with progress. Loading and
//! mapping run as background jobs; widgets return commands that one place applies.

mod analysis;
mod background;
mod filters;
mod jobs;
mod keys;
mod panels;
mod scatter;
mod selection;

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

pub use crate::render::colors::Legend;
pub use scatter::{MapView, SelectOp, Tool};
pub use selection::Selection;

use crate::dataset::Samples;
use crate::pipeline::LoadSpec;
use crate::pipeline::{MapParams, StageTimings};
use crate::progress::Stage;
use crate::render::{self, Rgba, colors};
use crate::spatial::GridIndex;
use background::{INLINE_ROWS, Task};
use jobs::{JobInput, JobMsg, Jobs};

/// Open the app window (optionally on a file) and run until it closes.
pub fn run(
    file: Option<PathBuf>,
    color_by: Option<String>,
    load: LoadSpec,
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
            if let Some(storage) = cc.storage
                && let Some(saved) = eframe::get_value::<Persisted>(storage, eframe::APP_KEY)
            {
                app.persisted = saved;
            }
            app.requested_color_by = color_by;
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
    pub load_options: LoadSpec,
    pub params: MapParams,
    /// Read and write the on-disk cache (off with `--no-cache`).
    pub use_cache: bool,
    /// Whether the shown map came from the cache.
    pub from_cache: bool,
    /// The file being loaded or shown.
    pub path: Option<PathBuf>,
    pub samples: Option<Arc<Samples>>,
    /// The current layout (intermediate while UMAP runs).
    pub coords: Option<Arc<Vec<[f32; 2]>>>,
    /// Whether `coords` is the finished layout.
    pub layout_done: bool,
    pub color_by: Option<String>,
    pub colors: Arc<Vec<Rgba>>,
    pub legend: Legend,
    pub hovered: Option<usize>,
    pub selected: Option<usize>,
    pub detail: Option<Detail>,
    pub view: MapView,
    /// The map texture and its renderer.
    pub canvas: scatter::MapCanvas,
    /// Bumped when coordinates, colours or classes change (the renderer's cache key).
    pub version: u64,
    /// How each point is drawn (`render::HIDDEN` … `render::TOP`), from filters and selection.
    pub classes: Arc<Vec<u8>>,
    /// The picking index and the coordinates version it was built for.
    pub index: Option<(u64, Arc<GridIndex>)>,
    index_task: Task<(u64, GridIndex)>,
    /// Version of the coordinates (the index is rebuilt when it changes).
    pub coords_version: u64,
    /// The box around the current coordinates.
    pub bounds: ([f32; 2], [f32; 2]),
    /// A box / lasso selection being computed.
    region_task: Task<(String, Vec<u32>)>,
    pub filters: filters::FilterState,
    pub table: selection::TableState,
    /// Rows sharing the selected sample's prompt (for next / previous), when a prompt column exists.
    pub same_prompt: Option<(String, Vec<u32>)>,
    pub show_help: bool,
    /// A short message for the status bar (e.g. where an export went).
    pub notice: Option<String>,
    export_task: Task<Result<String, String>>,
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
    /// Selected samples (box, lasso, or a setting of the analysis table).
    pub selection: Option<Selection>,
}

/// View settings remembered per file (and restored when it opens again).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FileView {
    pub color_by: Option<String>,
    pub point_scale: f32,
    pub opacity: f32,
    pub density: bool,
    pub hide_filtered: bool,
    pub tool: Tool,
    pub filters_open: bool,
    pub table_open: bool,
}

/// What the app remembers between runs (eframe storage); egui itself keeps window and panel
/// sizes.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Persisted {
    /// Per file path: its view settings.
    pub files: std::collections::BTreeMap<String, FileView>,
}

/// The mean of a numeric colour column over the rows in `mask`, for the status bar.
fn selection_mean(samples: &Samples, color_by: Option<&str>, mask: &[bool]) -> Option<String> {
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
    /// Select these rows, under this label (e.g. a setting of the analysis table).
    Highlight(String, Vec<u32>),
    /// A box / lasso region (layout coordinates), how it changes the selection, and its name.
    SelectRegion(Vec<[f32; 2]>, SelectOp, &'static str),
    ClearSelection,
    ZoomToSelection,
    /// Filters were edited in the panel.
    FiltersChanged,
    ToggleFilters,
    ToggleTable,
    ToggleHelp,
    FocusSearch,
    /// Colour by the next (+1) or previous (−1) colourable column.
    CycleColor(i32),
    /// Select the next (+1) or previous (−1) point: in the selection if there is one, else
    /// in row order.
    Step(i32),
    /// Select the next / previous sample of the same prompt.
    StepPrompt(i32),
    SetTool(Tool),
    ToggleDensity,
    ToggleHideFiltered,
    ExportSelectionDialog,
    ExportSelection(PathBuf),
    SavePngDialog,
    SavePng(PathBuf),
    /// Add a metric column from an expression: (name, expression).
    AddMetric(String, String),
}

pub struct AtlasApp {
    pub state: AppState,
    jobs: Jobs,
    /// Commands raised outside a frame's widgets (the file dialog), applied next frame.
    pending: Vec<Command>,
    /// Settings remembered between runs.
    pub persisted: Persisted,
    /// The colour column asked for on the command line: wins over the remembered one, once.
    pub requested_color_by: Option<String>,
}

impl AtlasApp {
    pub fn new(load_options: LoadSpec, params: MapParams) -> Self {
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
                colors: Arc::new(Vec::new()),
                legend: Legend::None,
                hovered: None,
                selected: None,
                detail: None,
                view: MapView::default(),
                canvas: Default::default(),
                version: 0,
                classes: Arc::new(Vec::new()),
                index: None,
                index_task: Task::default(),
                coords_version: 0,
                bounds: ([0.0; 2], [0.0; 2]),
                region_task: Task::default(),
                filters: filters::FilterState::opened(),
                table: Default::default(),
                same_prompt: None,
                show_help: false,
                notice: None,
                export_task: Task::default(),
                progress: None,
                job_running: false,
                error: None,
                warnings: Vec::new(),
                show_warnings: false,
                timings: None,
                embedding_dims: None,
                embedder: None,
                analysis: Default::default(),
                selection: None,
            },
            jobs: Jobs::default(),
            pending: Vec::new(),
            persisted: Persisted::default(),
            requested_color_by: None,
        }
    }

    /// Show a map computed elsewhere (tests, precomputed layouts).
    pub fn set_map(&mut self, samples: Arc<Samples>, coords: Vec<[f32; 2]>) {
        self.set_samples(samples);
        self.set_coords(coords);
        self.state.layout_done = true;
    }

    fn set_coords(&mut self, coords: Vec<[f32; 2]>) {
        let s = &mut self.state;
        s.bounds = render::bounds(&coords);
        s.coords = Some(Arc::new(coords));
        s.coords_version += 1;
        s.version += 1;
    }

    fn path_key(path: &std::path::Path) -> String {
        path.canonicalize()
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string()
    }

    /// Remember the current file's view settings.
    fn remember_view(&mut self) {
        let s = &self.state;
        if let Some(path) = &s.path {
            let v = FileView {
                color_by: s.color_by.clone(),
                point_scale: s.view.point_scale,
                opacity: s.view.opacity,
                density: s.view.density,
                hide_filtered: s.view.hide_filtered,
                tool: s.view.tool,
                filters_open: s.filters.open,
                table_open: s.table.open,
            };
            self.persisted.files.insert(Self::path_key(path), v);
        }
    }

    fn set_samples(&mut self, samples: Arc<Samples>) {
        self.remember_view();
        let s = &mut self.state;
        s.analysis.reset_for(&samples);
        s.selection = None;
        s.same_prompt = None;
        s.warnings = samples.warnings.clone();
        s.path = Some(samples.path.clone());
        let saved = self.persisted.files.get(&Self::path_key(&samples.path));
        if let Some(c) = self.requested_color_by.take() {
            s.color_by = Some(c);
        } else if let Some(c) = saved.and_then(|v| v.color_by.clone()) {
            s.color_by = Some(c);
        }
        if let Some(v) = saved {
            s.view.point_scale = if v.point_scale > 0.0 {
                v.point_scale
            } else {
                1.0
            };
            s.view.opacity = if v.opacity > 0.0 { v.opacity } else { 0.85 };
            s.view.density = v.density;
            s.view.hide_filtered = v.hide_filtered;
            s.view.tool = v.tool;
            s.filters.open = v.filters_open;
            s.table.open = v.table_open;
        }
        let keep = s.color_by.as_ref().is_some_and(|c| {
            samples
                .column_index(c)
                .is_some_and(|i| samples.columns[i].colorable())
        });
        if !keep {
            s.color_by = colors::default_color_column(&samples);
        }
        s.filters.reset_for();
        s.table.reset_for(&samples, s.color_by.as_deref());
        s.samples = Some(samples);
        s.selected = None;
        s.detail = None;
        s.hovered = None;
        s.view.auto_fit = true;
        self.recolor();
        self.reclass();
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
            s.colors = Arc::new(colors);
            s.legend = legend;
            if let Some(h) = &mut s.selection {
                h.mean = selection_mean(samples, s.color_by.as_deref(), &h.mask);
            }
            s.version += 1;
        }
    }

    /// How each point is drawn, from the filter and the selection.
    fn reclass(&mut self) {
        let s = &mut self.state;
        let Some(samples) = &s.samples else {
            return;
        };
        let n = samples.len();
        let pass = s.filters.pass();
        let out_class = if s.view.hide_filtered {
            render::HIDDEN
        } else {
            render::FADED
        };
        let classes: Vec<u8> = (0..n)
            .map(|i| {
                if pass.is_some_and(|p| !p[i]) {
                    out_class
                } else {
                    match &s.selection {
                        Some(sel) if sel.mask[i] => render::TOP,
                        Some(_) => render::FADED,
                        None => render::NORMAL,
                    }
                }
            })
            .collect();
        s.classes = Arc::new(classes);
        s.version += 1;
    }

    fn set_selection(&mut self, label: String, rows: Vec<u32>) {
        let s = &mut self.state;
        let Some(samples) = &s.samples else {
            return;
        };
        if rows.is_empty() {
            s.selection = None;
        } else {
            let mut sel = Selection::new(label, rows, samples.len());
            sel.mean = selection_mean(samples, s.color_by.as_deref(), &sel.mask);
            s.selection = Some(sel);
            s.table.version += 1;
        }
        self.reclass();
    }

    /// Select `row` (or nothing) and look up what the detail panel shows.
    fn select(&mut self, row: Option<usize>) {
        let s = &mut self.state;
        s.selected = row.filter(|&r| s.samples.as_ref().is_some_and(|x| r < x.len()));
        s.detail = match (&s.samples, s.selected) {
            (Some(samples), Some(r)) => Some(Detail::of(samples, r)),
            _ => None,
        };
        // The other samples of the same prompt, for next / previous.
        let keep = match (&s.same_prompt, s.selected) {
            (Some((_, rows)), Some(r)) => rows.binary_search(&(r as u32)).is_ok(),
            _ => false,
        };
        if !keep {
            s.same_prompt = None;
            if let (Some(samples), Some(r)) = (&s.samples, s.selected)
                && let Some(col) = s.analysis.prompt_column()
                && let Some(i) = samples.column_index(&col)
                && let crate::dataset::ColumnKind::Category { codes, .. } = &samples.columns[i].kind
            {
                let code = codes[r];
                let rows: Vec<u32> = (0..codes.len() as u32)
                    .filter(|&k| codes[k as usize] == code)
                    .collect();
                s.same_prompt = Some((col, rows));
            }
        }
    }

    /// Apply one command. The only place that changes state in response to widgets.
    pub fn apply(&mut self, ctx: &egui::Context, cmd: Command) {
        match cmd {
            Command::Open(path) => {
                self.remember_view();
                let s = &mut self.state;
                s.path = Some(path.clone());
                s.samples = None;
                s.coords = None;
                s.layout_done = false;
                s.selected = None;
                s.detail = None;
                s.hovered = None;
                s.selection = None;
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
                s.load_options.options.text_column = None;
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
            Command::CycleColor(step) => {
                if let Some(samples) = &self.state.samples {
                    let mut names: Vec<Option<String>> = vec![None];
                    names.extend(
                        samples
                            .columns
                            .iter()
                            .filter(|c| c.colorable())
                            .map(|c| Some(c.name.clone())),
                    );
                    let at = names
                        .iter()
                        .position(|n| *n == self.state.color_by)
                        .unwrap_or(0) as i64;
                    let next = (at + step as i64).rem_euclid(names.len() as i64) as usize;
                    self.state.color_by = names[next].clone();
                    self.recolor();
                }
            }
            Command::ToggleAnalysis => {
                self.state.analysis.open = !self.state.analysis.open;
            }
            Command::Highlight(label, rows) => self.set_selection(label, rows),
            Command::SelectRegion(polygon, op, label) => {
                let s = &mut self.state;
                let (Some(coords), Some((v, index))) = (s.coords.clone(), s.index.clone()) else {
                    return;
                };
                if v != s.coords_version {
                    return;
                }
                let old = s
                    .selection
                    .as_ref()
                    .map(|x| x.rows.clone())
                    .unwrap_or_default();
                let pass = s.filters.pass().map(|p| p.to_vec());
                let inline = coords.len() <= INLINE_ROWS;
                let label = match (op, &s.selection) {
                    (SelectOp::Replace, _) | (_, None) => label.to_string(),
                    (_, Some(old)) => format!(
                        "{} {} {label}",
                        old.label,
                        if op == SelectOp::Add { "+" } else { "-" }
                    ),
                };
                s.region_task.start(ctx, inline, move || {
                    let rows = selection::region_rows(
                        &index,
                        &coords,
                        &polygon,
                        pass.as_deref(),
                        &old,
                        op,
                    );
                    (label, rows)
                });
            }
            Command::ClearSelection => {
                self.state.selection = None;
                self.reclass();
            }
            Command::ZoomToSelection => {
                let s = &mut self.state;
                if let (Some(coords), Some(sel)) = (&s.coords, &s.selection) {
                    let pts: Vec<[f32; 2]> = sel.rows.iter().map(|&r| coords[r as usize]).collect();
                    s.view.fit(render::bounds(&pts));
                    s.view.auto_fit = false;
                } else if let (Some(coords), Some(r)) = (&s.coords, s.selected) {
                    s.view.center = coords[r];
                    s.view.auto_fit = false;
                }
            }
            Command::FiltersChanged => {
                if let Some(samples) = self.state.samples.clone() {
                    self.state.filters.changed(ctx, &samples);
                    if self.state.filters.poll(ctx, &samples) || !self.state.filters.active() {
                        self.reclass();
                    }
                }
            }
            Command::ToggleFilters => self.state.filters.open = !self.state.filters.open,
            Command::ToggleTable => self.state.table.open = !self.state.table.open,
            Command::ToggleHelp => self.state.show_help = !self.state.show_help,
            Command::FocusSearch => {
                self.state.filters.open = true;
                self.state.filters.focus_search = true;
            }
            Command::Step(step) => {
                let s = &self.state;
                let Some(samples) = &s.samples else {
                    return;
                };
                let next = match &s.selection {
                    Some(sel) => {
                        let rows = &sel.rows;
                        let at = s
                            .selected
                            .and_then(|r| rows.binary_search(&(r as u32)).ok());
                        let i = match at {
                            Some(i) => (i as i64 + step as i64).rem_euclid(rows.len() as i64),
                            None if step >= 0 => 0,
                            None => rows.len() as i64 - 1,
                        };
                        rows[i as usize] as usize
                    }
                    None => {
                        let n = samples.len() as i64;
                        match s.selected {
                            Some(r) => (r as i64 + step as i64).rem_euclid(n) as usize,
                            None => 0,
                        }
                    }
                };
                self.select(Some(next));
            }
            Command::StepPrompt(step) => {
                if let (Some((_, rows)), Some(r)) = (&self.state.same_prompt, self.state.selected)
                    && let Ok(i) = rows.binary_search(&(r as u32))
                {
                    let j = (i as i64 + step as i64).rem_euclid(rows.len() as i64) as usize;
                    let next = rows[j] as usize;
                    self.select(Some(next));
                }
            }
            Command::SetTool(t) => self.state.view.tool = t,
            Command::ToggleDensity => self.state.view.density = !self.state.view.density,
            Command::ToggleHideFiltered => {
                self.state.view.hide_filtered = !self.state.view.hide_filtered;
                self.reclass();
            }
            Command::ExportSelectionDialog => {
                if self.state.selection.is_some() {
                    self.jobs.save_dialog(ctx, jobs::SaveKind::Selection);
                } else {
                    self.state.notice = Some("Select some points first (box: B, lasso: L)".into());
                }
            }
            Command::SavePngDialog => {
                if self.state.coords.is_some() {
                    self.jobs.save_dialog(ctx, jobs::SaveKind::Png);
                }
            }
            Command::ExportSelection(path) => {
                let s = &mut self.state;
                if let (Some(samples), Some(coords), Some(sel)) =
                    (s.samples.clone(), s.coords.clone(), s.selection.as_ref())
                {
                    let rows = sel.rows.clone();
                    s.notice = Some(format!("exporting {} rows…", rows.len()));
                    s.export_task.start(ctx, false, move || {
                        crate::dataset::write_rows(
                            &samples.frame,
                            &rows,
                            &coords,
                            &samples.path,
                            &path,
                        )
                        .map(|n| format!("saved {n} rows to {}", path.display()))
                        .map_err(|e| e.to_string())
                    });
                }
            }
            Command::SavePng(path) => {
                if let Some(job) = self.png_job(ctx.pixels_per_point()) {
                    self.state.notice = Some("saving the map…".into());
                    self.state.export_task.start(ctx, false, move || job(&path));
                }
            }
            Command::AddMetric(name, expr) => self.add_metric(&name, &expr),
            Command::SetParams(params) => self.state.params = params,
            Command::Hover(row) => self.state.hovered = row,
            Command::Select(row) => self.select(row),
            Command::ResetView => self.state.view.auto_fit = true,
            Command::ShowWarnings(show) => self.state.show_warnings = show,
            Command::DismissError => self.state.error = None,
        }
    }

    /// A closure that draws the current view (with legend) into a PNG file, or `None` when
    /// there is no map.
    #[allow(clippy::type_complexity)]
    pub fn png_job(
        &self,
        ppp: f32,
    ) -> Option<Box<dyn FnOnce(&std::path::Path) -> Result<String, String> + Send>> {
        let s = &self.state;
        let (samples, coords) = (s.samples.clone()?, s.coords.clone()?);
        let (colors, classes, legend) = (s.colors.clone(), s.classes.clone(), s.legend.clone());
        let view = s.view.viewport(ppp);
        let mut style = s
            .view
            .style(coords.len(), ppp, egui::Color32::from_gray(12));
        style.background = render::image::BACKGROUND;
        let caption = render::image::caption(&samples.path, samples.len(), s.color_by.as_deref());
        Some(Box::new(move |path: &std::path::Path| {
            let pic = render::image::Picture {
                coords: &coords,
                colors: &colors,
                classes: Some(&classes),
                legend: &legend,
                caption: Some(caption),
                view,
                style,
                scale: ppp,
            };
            render::image::render(&pic)
                .and_then(|c| c.write_png(path))
                .map(|_| format!("saved the map to {}", path.display()))
                .map_err(|e| e.to_string())
        }))
    }

    /// Take in what the worker threads sent since the last frame.
    fn drain_jobs(&mut self, ctx: &egui::Context) {
        for msg in self.jobs.drain() {
            match msg {
                JobMsg::Progress { stage, done, total } => {
                    self.state.progress = Some((stage, done, total));
                }
                JobMsg::Loaded(samples) => self.set_samples(samples),
                JobMsg::Layout(coords) => {
                    if !self.state.layout_done {
                        self.set_coords(coords);
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
                    self.set_coords(coords);
                    let s = &mut self.state;
                    s.from_cache = from_cache;
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
                JobMsg::SaveTo(kind, path) => {
                    if let Some(path) = path {
                        self.pending.push(match kind {
                            jobs::SaveKind::Png => Command::SavePng(path),
                            jobs::SaveKind::Selection => Command::ExportSelection(path),
                        });
                    }
                }
            }
        }
        self.state.job_running = self.jobs.running;
        self.poll_tasks(ctx);
    }

    /// Take in finished map work: picking index, region selection, filters, exports.
    fn poll_tasks(&mut self, ctx: &egui::Context) {
        let s = &mut self.state;
        if let Some((v, index)) = s.index_task.poll() {
            s.index = Some((v, Arc::new(index)));
        }
        let stale = s.index.as_ref().is_none_or(|(v, _)| *v != s.coords_version);
        if stale
            && !s.index_task.busy()
            && let Some(coords) = s.coords.clone()
        {
            let v = s.coords_version;
            s.index_task
                .start(ctx, coords.len() <= INLINE_ROWS, move || {
                    (v, GridIndex::build(&coords))
                });
            if let Some((v, index)) = s.index_task.poll() {
                s.index = Some((v, Arc::new(index)));
            }
        }
        if let Some((label, rows)) = s.region_task.poll() {
            let any = !rows.is_empty();
            self.set_selection(label, rows);
            self.state.table.open |= any;
        }
        let s = &mut self.state;
        if let Some(samples) = s.samples.clone()
            && s.filters.poll(ctx, &samples)
        {
            self.reclass();
        }
        let s = &mut self.state;
        if let Some(r) = s.export_task.poll() {
            match r {
                Ok(msg) => s.notice = Some(msg),
                Err(e) => s.error = Some(e),
            }
        }
    }

    /// Wait for background map work (tests and benches).
    pub fn wait_for_map_work(&mut self, ctx: &egui::Context) {
        let s = &mut self.state;
        if let Some((v, index)) = s.index_task.wait() {
            s.index = Some((v, Arc::new(index)));
        }
        if let Some((label, rows)) = s.region_task.wait() {
            self.set_selection(label, rows);
        }
        if let Some(r) = self.state.export_task.wait() {
            match r {
                Ok(msg) => self.state.notice = Some(msg),
                Err(e) => self.state.error = Some(e),
            }
        }
        self.poll_tasks(ctx);
    }

    /// Draw the whole app into `ui` and apply what the widgets asked for.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.drain_jobs(&ctx);
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
        commands.extend(keys::shortcuts(&ctx, &self.state));
        commands.extend(panels::top_bar(ui, &self.state));
        commands.extend(panels::status_bar(ui, &self.state));
        commands.extend(panels::side_panel(ui, &mut self.state));
        if self.state.selected.is_some() {
            commands.extend(panels::detail_panel(ui, &self.state));
        }
        if self.state.table.open && self.state.selection.is_some() {
            commands.extend(selection::table_panel(ui, &mut self.state));
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
        if self.state.show_help {
            commands.extend(keys::help_window(&ctx));
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

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.remember_view();
        eframe::set_value(storage, eframe::APP_KEY, &self.persisted);
    }
}
