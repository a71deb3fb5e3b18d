//! The desktop app: a map that fills the window, a side panel for colouring and parameters,
//! a detail panel for the selected sample, and a status bar with progress. Loading and
//! mapping run as background jobs; widgets return commands that one place applies.
//!
//! Each frame runs [`AtlasApp::logic`] (take in what jobs and background tasks finished)
//! and then [`AtlasApp::ui`] (draw, collect the widgets' commands, apply them).
//!
//! - `state`: [`AppState`] and its groups; `command`: [`AppCommand`] and `apply`.
//! - `samples`, `paint`, `focus`, `export`, `persist`: the handlers, per area.
//! - `bars`, `panels`, `scatter`, `map_labels`, `filters`, `selection`, `analysis`,
//!   `region_panel` (the Regions window; its state and work in `regions`), `keys`: the widgets; `region_labels`: the map's regions
//!   (computed per layout) and their labels; `compare` the compare view (its section, state
//!   and work).
//! - `jobs` (load and map), `background` (latest-wins tasks): the worker threads.

mod analysis;
mod background;
mod bars;
mod command;
mod compare;
mod estimate;
mod export;
mod filters;
mod focus;
mod icon;
mod jobs;
mod keys;
mod map_labels;
mod paint;
mod panels;
mod persist;
mod region_labels;
mod region_panel;
mod regions;
mod samples;
mod scatter;
mod selection;
mod state;

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

pub use crate::render::colors::Legend;
pub use command::AppCommand;
pub use compare::{CompareInputs, CompareShow};
pub use persist::{FileView, Persisted};
pub use regions::RegionColumn;
pub use scatter::{MapView, SelectOp, Tool};
pub use selection::Selection;
pub use state::{AppState, Detail, Focus, JobStatus, LoadedMap, Overlays, Paint, RunConfig};

use crate::pipeline::LoadSpec;
use crate::pipeline::MapParams;
use crate::spatial::GridIndex;
use background::INLINE_ROWS;
use jobs::{JobMsg, SaveKind};

/// Open the app window (optionally on a file) and run until it closes.
pub fn run(
    file: Option<PathBuf>,
    color_by: Option<String>,
    load: LoadSpec,
    params: MapParams,
    cache_cap: Option<u64>,
) -> anyhow::Result<()> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Sample Atlas")
        .with_inner_size([1280.0, 820.0])
        .with_min_inner_size([640.0, 400.0])
        .with_drag_and_drop(true);
    // The icon is compiled in and tested to decode; a window without one still works.
    if let Ok(icon) = eframe::icon_data::from_png_bytes(icon::ICON_PNG) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
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
            app.state.config.cache_cap = cache_cap;
            if let Some(path) = file {
                app.apply(&cc.egui_ctx, AppCommand::Open(path));
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}

pub struct AtlasApp {
    pub state: AppState,
    /// Commands raised outside a frame's widgets (the file dialog), applied next frame.
    pending: Vec<AppCommand>,
    /// Settings remembered between runs.
    pub persisted: Persisted,
    /// The colour column asked for on the command line: wins over the remembered one, once.
    pub requested_color_by: Option<String>,
}

impl AtlasApp {
    pub fn new(load_options: LoadSpec, params: MapParams) -> Self {
        AtlasApp {
            state: AppState::new(load_options, params),
            pending: Vec::new(),
            persisted: Persisted::default(),
            requested_color_by: None,
        }
    }

    /// One frame: take in finished work, then draw and apply what the widgets asked for.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.logic(&ctx);
        self.ui(ui);
    }

    /// Take in what the worker threads sent since the last frame and start the background
    /// work the state now needs (picking index, table order, analysis). Never blocks.
    pub fn logic(&mut self, ctx: &egui::Context) {
        self.drain_jobs(ctx);
        self.poll_tasks(ctx);
    }

    /// Draw the whole app into `ui` and apply what the widgets asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
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
        if !dropped.is_empty() {
            let shift = ctx.input(|i| i.modifiers.shift);
            commands.push(AppCommand::Dropped(dropped, shift));
        }
        let s = &mut self.state;
        commands.extend(keys::shortcuts(&ctx, s));
        commands.extend(bars::top_bar(ui, s));
        commands.extend(bars::status_bar(ui, s));
        commands.extend(panels::side_panel(ui, s));
        if s.focus.selected.is_some() {
            commands.extend(panels::detail_panel(ui, s));
        }
        if s.overlays.table.open && s.focus.selection.is_some() {
            commands.extend(selection::table_panel(ui, s));
        }
        commands.extend(panels::central(ui, s));
        if s.overlays.analysis.open
            && let Some(samples) = s.map.samples.clone()
        {
            commands.extend(analysis::window(&ctx, &s.overlays.analysis, &samples));
        }
        if s.overlays.regions.open {
            commands.extend(region_panel::window(&ctx, s));
        }
        if s.overlays.show_warnings {
            commands.extend(panels::warnings_window(&ctx, s));
        }
        if s.overlays.show_help {
            commands.extend(keys::help_window(&ctx));
        }
        for cmd in commands {
            self.apply(&ctx, cmd);
        }
    }

    /// Take in the job's messages: progress, samples, layouts, the end of the job, dialogs.
    fn drain_jobs(&mut self, ctx: &egui::Context) {
        for msg in self.state.job.jobs.drain() {
            match msg {
                JobMsg::Progress { stage, done, total } => {
                    let job = &mut self.state.job;
                    if job.stage_started.is_none_or(|(s, _, _)| s != stage) {
                        job.stage_started = Some((stage, std::time::Instant::now(), done));
                    }
                    job.progress = Some((stage, done, total));
                }
                JobMsg::Loaded(samples) => self.take_loaded(ctx, samples),
                JobMsg::Layout(coords) => {
                    if !self.state.map.layout_done {
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
                    let m = &mut self.state.map;
                    m.from_cache = from_cache;
                    m.layout_done = true;
                    m.embedding_dims = Some(embedding_dims);
                    m.embedder = Some(embedder);
                    m.timings = Some((load_s, timings));
                    m.warnings.extend(warnings);
                    self.state.job.progress = None;
                    self.state.job.stage_started = None;
                }
                JobMsg::Failed { message, cancelled } => {
                    let job = &mut self.state.job;
                    job.progress = None;
                    job.stage_started = None;
                    job.error = Some(if cancelled {
                        "cancelled".to_string()
                    } else {
                        message
                    });
                }
                JobMsg::Picked(what, path) => match path {
                    // Only the dialog thread sends this; it is not a job result.
                    Some(path) => self.pending.push(match what {
                        jobs::PickFor::Open => AppCommand::Open(path),
                        jobs::PickFor::Add => AppCommand::AddFiles(vec![path]),
                        jobs::PickFor::Place => AppCommand::PlaceOnto(path),
                    }),
                    None => {
                        self.state.job.error = Some(
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
                            SaveKind::Png => AppCommand::SavePng(path),
                            SaveKind::Selection => AppCommand::ExportSelection(path),
                        });
                    }
                }
            }
        }
    }

    /// Take in finished background work (index, colours, classes, regions, filters, the
    /// table order, new metrics, the analysis, exports) and start what is now stale.
    fn poll_tasks(&mut self, ctx: &egui::Context) {
        let c = &mut self.state.config;
        c.estimate
            .update(ctx, &c.params, self.state.map.samples.as_ref());
        self.take_paint();
        self.take_same_prompt();
        self.take_metric(ctx);
        let m = &mut self.state.map;
        if let Some((v, index)) = m.index_task.poll() {
            m.index = Some((v, Arc::new(index)));
        }
        let stale = m.index.as_ref().is_none_or(|(v, _)| *v != m.coords_version);
        if stale
            && !m.index_task.busy()
            && let Some(coords) = m.coords.clone()
        {
            let v = m.coords_version;
            m.index_task
                .start(ctx, coords.len() <= INLINE_ROWS, move || {
                    (v, GridIndex::build(&coords))
                });
            if let Some((v, index)) = m.index_task.poll() {
                m.index = Some((v, Arc::new(index)));
            }
        }
        if let Some((label, rows)) = self.state.focus.region_task.poll() {
            let any = !rows.is_empty();
            self.set_selection(ctx, label, rows);
            self.state.overlays.table.open |= any;
        }
        let s = &mut self.state;
        if let Some(samples) = s.map.samples.clone() {
            if s.overlays.filters.poll(ctx, &samples) {
                self.reclass(ctx);
            }
            let s = &mut self.state;
            if s.overlays.table.open
                && let Some(sel) = &s.focus.selection
            {
                s.overlays.table.refresh(ctx, &samples, &sel.rows);
            }
            s.overlays.analysis.poll(ctx, Some(&samples));
        }
        self.take_regions(ctx);
        self.poll_compare(ctx);
        self.poll_regions_panel(ctx);
        self.take_export();
    }

    /// Wait for background map work (tests and benches).
    pub fn wait_for_map_work(&mut self, ctx: &egui::Context) {
        let s = &mut self.state;
        s.map.index_task.finish();
        s.focus.region_task.finish();
        s.job.export_task.finish();
        s.map.regions_task.finish();
        self.wait_for_paint();
        self.poll_tasks(ctx);
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
