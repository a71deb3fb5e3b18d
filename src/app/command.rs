//! Everything the widgets can ask for ([`AppCommand`]), and [`AtlasApp::apply`], the one
//! place that changes state in response to them. `apply` only dispatches; each area's
//! handlers live with it: files and jobs here, colouring in `paint`, selection and
//! navigation in `focus`, exports in `export`, new samples and metrics in `samples`.

use std::path::PathBuf;

use eframe::egui;

use super::AtlasApp;
use super::analysis::{AnalysisTable, Inputs, SortColumn};
use super::compare::CompareInputs;
use super::filters::FilterEdit;
use super::jobs::{JobInput, JobPurpose, OntoInput, PickFor};
use super::regions::{RegionColumn, RegionInputs};
use super::scatter::{SelectOp, Tool};
use crate::dataset::{ColumnKind, Samples};
use crate::filter::FilterSpec;
use crate::pipeline::MapParams;
use crate::progress::Stage;
use crate::util::format::thousands;
use std::sync::Arc;

/// Everything the widgets can ask for.
#[must_use]
#[derive(Clone, Debug)]
pub enum AppCommand {
    Open(PathBuf),
    OpenDialog,
    /// Files dropped on the window, and whether Shift was held: with Shift (and a set
    /// open) they are added to it; else one is opened, several are opened as one set.
    Dropped(Vec<PathBuf>, bool),
    /// Open these files as one set (`dataset::load_many`: union of columns, `source`).
    OpenFiles(Vec<PathBuf>),
    AddFileDialog,
    /// Add files to the shown set: the union of its files and these is loaded and mapped
    /// again; filters, colouring and the compare pair stay where their columns still exist.
    AddFiles(Vec<PathBuf>),
    PlaceOntoDialog,
    /// Place a file's samples onto the shown map (`map --onto`): REF's points stay where
    /// they are; the set shown then is REF + the file, with `source` and `ood`.
    PlaceOnto(PathBuf),
    Cancel,
    /// Recompute the map of the loaded samples with `state.config.params`.
    Recompute,
    SetColorBy(Option<String>),
    SetParams(MapParams),
    Hover(Option<usize>),
    Select(Option<usize>),
    ResetView,
    ShowWarnings(bool),
    DismissError,
    ToggleAnalysis,
    /// The Regions window.
    ToggleRegions,
    /// Region labels on the map on / off.
    ToggleRegionLabels,
    /// The Regions window's metric, direction of worse and level filter.
    SetRegionInputs(RegionInputs),
    /// A click on a region's row: select its rows, zoom to it, show what is in it.
    PickRegion(u32),
    /// Select these rows, under this label (e.g. a setting of the analysis table).
    Highlight(String, Vec<u32>),
    /// A box / lasso region (layout coordinates), how it changes the selection, and its name.
    SelectRegion(Vec<[f32; 2]>, SelectOp, &'static str),
    ClearSelection,
    ZoomToSelection,
    /// Filters were edited in the panel: the new search and spec.
    SetFilters(FilterEdit),
    /// The search field took the keyboard focus it was asked to take.
    SearchFocused,
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
    /// Pin the selected sample in the detail panel and open another beside it; `false` unpins.
    Pin(bool),
    SetTool(Tool),
    SetPointScale(f32),
    SetOpacity(f32),
    ToggleDensity,
    ToggleHideFiltered,
    /// The extra columns of the selection table.
    SetTableColumns(Vec<String>),
    /// A click on a table header: sort by it (again: reverse; "#": row order).
    SortTable(String),
    /// The Analysis window's metric, group-by and prompt columns.
    SetAnalysisInputs(Inputs),
    /// A click on a header of an Analysis table: sort by it (again: reverse).
    SortAnalysis(AnalysisTable, SortColumn),
    /// The new-metric editor's (name, expression) text.
    EditNewMetric(String, String),
    ExportSelectionDialog,
    ExportSelection(PathBuf),
    SavePngDialog,
    SavePng(PathBuf),
    /// Add a metric column from an expression: (name, expression).
    AddMetric(String, String),
    /// The compare section's inputs (on / off, split column, A, B, what the map shows).
    SetCompare(CompareInputs),
    /// A click on a Regions table header: sort by it (again: reverse).
    SortRegions(RegionColumn),
}

impl AtlasApp {
    /// Apply one command. The only place that changes state in response to widgets.
    pub fn apply(&mut self, ctx: &egui::Context, cmd: AppCommand) {
        use AppCommand as C;
        match cmd {
            C::Open(path) => self.open_files(ctx, vec![path]),
            C::OpenDialog => self.state.job.jobs.pick_file(ctx, PickFor::Open),
            C::Dropped(files, shift) => self.dropped(ctx, files, shift),
            C::OpenFiles(files) => self.open_files(ctx, files),
            C::AddFileDialog => {
                if self.state.map.samples.is_some() {
                    self.state.job.jobs.pick_file(ctx, PickFor::Add);
                }
            }
            C::AddFiles(files) => self.add_files(ctx, files),
            C::PlaceOntoDialog => {
                if self.state.map.layout_done {
                    self.state.job.jobs.pick_file(ctx, PickFor::Place);
                }
            }
            C::PlaceOnto(path) => self.place_onto(ctx, path),
            C::Cancel => self.state.job.jobs.cancel(),
            C::Recompute => self.recompute(ctx),
            C::SetParams(params) => self.state.config.params = params,
            C::DismissError => self.state.job.error = None,
            C::SetColorBy(col) => self.set_color_by(ctx, col),
            C::CycleColor(step) => self.cycle_color(ctx, step),
            C::Hover(row) => self.state.focus.hovered = row,
            C::Select(row) => self.select(ctx, row),
            C::Highlight(label, rows) => self.set_selection(ctx, label, rows),
            C::SelectRegion(polygon, op, label) => self.select_region(ctx, polygon, op, label),
            C::ClearSelection => {
                self.state.focus.selection = None;
                self.reclass(ctx);
            }
            C::ZoomToSelection => self.zoom_to_selection(),
            C::Step(step) => self.step(ctx, step),
            C::StepPrompt(step) => self.step_prompt(ctx, step),
            C::Pin(on) => self.pin(ctx, on),
            C::SetFilters(edit) => self.set_filters(ctx, edit),
            C::SearchFocused => self.state.overlays.filters.focus_search = false,
            C::FocusSearch => {
                let f = &mut self.state.overlays.filters;
                f.open = true;
                f.focus_search = true;
            }
            C::ToggleHideFiltered => {
                self.state.view.hide_filtered = !self.state.view.hide_filtered;
                self.reclass(ctx);
            }
            C::ResetView => self.state.view.auto_fit = true,
            C::SetTool(t) => self.state.view.tool = t,
            C::SetPointScale(v) => self.state.view.point_scale = v,
            C::SetOpacity(v) => self.state.view.opacity = v,
            C::ToggleDensity => self.state.view.density = !self.state.view.density,
            C::SetTableColumns(cols) => self.state.overlays.table.columns = Some(cols),
            C::SortTable(column) => self.state.overlays.table.sort_by(column),
            C::SetAnalysisInputs(inputs) => self.state.overlays.analysis.inputs = inputs,
            C::SortAnalysis(table, column) => self.state.overlays.analysis.sort_by(table, column),
            C::EditNewMetric(name, expr) => {
                let a = &mut self.state.overlays.analysis;
                (a.new_name, a.new_expr) = (name, expr);
            }
            C::AddMetric(name, expr) => self.add_metric(ctx, &name, &expr),
            C::ToggleAnalysis => toggle(&mut self.state.overlays.analysis.open),
            C::ToggleRegions => toggle(&mut self.state.overlays.regions.open),
            C::ToggleRegionLabels => toggle(&mut self.state.view.region_labels),
            C::SetRegionInputs(inputs) => self.state.overlays.regions.inputs = inputs,
            C::PickRegion(id) => self.pick_region(ctx, id),
            C::ToggleFilters => toggle(&mut self.state.overlays.filters.open),
            C::ToggleTable => toggle(&mut self.state.overlays.table.open),
            C::ToggleHelp => toggle(&mut self.state.overlays.show_help),
            C::ShowWarnings(show) => self.state.overlays.show_warnings = show,
            C::ExportSelectionDialog => self.export_selection_dialog(ctx),
            C::SavePngDialog => self.save_png_dialog(ctx),
            C::ExportSelection(path) => self.export_selection(ctx, path),
            C::SavePng(path) => self.save_png(ctx, path),
            C::SetCompare(inputs) => self.set_compare(ctx, inputs),
            C::SortRegions(column) => self.state.overlays.regions.sort_by(column),
        }
    }

    /// Open files as one set: forget the shown one and start loading and mapping them.
    fn open_files(&mut self, ctx: &egui::Context, files: Vec<PathBuf>) {
        let Some(first) = files.first().cloned() else {
            return;
        };
        self.remember_view();
        let s = &mut self.state;
        s.reset_for_file(first);
        s.map.files = files.clone();
        s.job.notice = None;
        s.job.progress = Some((Stage::Load, 0, 1));
        let cfg = &mut s.config;
        s.job.jobs.start(
            ctx,
            JobInput::Files(files, cfg.load_options.clone()),
            cfg.params.clone(),
            cfg.cache_cap,
        );
        // A text column named on the command line is for the file named there; files
        // opened later get theirs detected.
        cfg.load_options.options.text_column = None;
    }

    /// Files dropped on the window: added with Shift when a set is shown, else opened.
    fn dropped(&mut self, ctx: &egui::Context, files: Vec<PathBuf>, shift: bool) {
        if shift && self.state.map.samples.is_some() {
            self.add_files(ctx, files);
        } else {
            self.open_files(ctx, files);
        }
    }

    /// Load the shown set's files and `files` as one table and map it again (as opening
    /// does); the shown set stays until the new one is read.
    fn add_files(&mut self, ctx: &egui::Context, files: Vec<PathBuf>) {
        let s = &mut self.state;
        let Some(samples) = s.map.samples.clone() else {
            s.job.notice = Some("Open a sample set first, then add files to it".into());
            return;
        };
        let mut all = s.map.files.clone();
        for f in files {
            if all.contains(&f) {
                s.job.notice = Some(format!("{} is already in the set", f.display()));
            } else {
                all.push(f);
            }
        }
        if all.len() == s.map.files.len() {
            return;
        }
        s.job.error = None;
        s.job.progress = Some((Stage::Load, 0, 1));
        let cfg = &s.config;
        // The added files' text comes from the column the shown set's came from.
        let mut spec = cfg.load_options.clone();
        spec.options.text_column = Some(samples.text_column.clone());
        s.job.jobs.start_for(
            ctx,
            JobInput::Files(all, spec),
            JobPurpose::Add,
            cfg.params.clone(),
            cfg.cache_cap,
        );
    }

    /// Place `path`'s samples onto the shown (finished) map as a background job.
    fn place_onto(&mut self, ctx: &egui::Context, path: PathBuf) {
        let s = &mut self.state;
        let (Some(samples), Some(coords)) = (s.map.samples.clone(), s.map.coords.clone()) else {
            s.job.notice = Some("Open a sample set first, then place files onto its map".into());
            return;
        };
        if !s.map.layout_done {
            s.job.notice = Some("Wait for the map to finish, then place a file onto it".into());
            return;
        }
        if s.map.files.contains(&path) {
            s.job.error = Some(format!(
                "{} is already in the shown set: place another file onto it",
                path.display()
            ));
            return;
        }
        s.job.error = None;
        s.job.progress = Some((Stage::Load, 0, 1));
        let cfg = &s.config;
        let input = OntoInput {
            reference: samples,
            layout: coords,
            reference_files: s.map.files.clone(),
            new: path,
            spec: cfg.load_options.clone(),
        };
        s.job.jobs.start(
            ctx,
            JobInput::Onto(input),
            cfg.params.clone(),
            cfg.cache_cap,
        );
    }

    /// A job's samples arrived: a new set, or the shown one with more files (what was
    /// chosen on it stays where its columns do), or with samples placed onto its map (the
    /// view stays too).
    pub(super) fn take_loaded(&mut self, ctx: &egui::Context, samples: Arc<Samples>) {
        let jobs = &self.state.job.jobs;
        let (purpose, files) = (jobs.purpose, jobs.files.clone());
        let kept = (purpose != JobPurpose::Open)
            .then(|| Kept::of(&self.state))
            .flatten();
        self.set_samples(ctx, samples.clone());
        if !files.is_empty() {
            self.state.map.files = files;
        }
        if let Some(label) = self.state.map.files_label() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(format!(
                "Sample Atlas — {label}"
            )));
        }
        let Some(kept) = kept else {
            return;
        };
        kept.restore(ctx, self, &samples, purpose == JobPurpose::Place);
        let s = &mut self.state;
        let n_new = samples.len().saturating_sub(kept.rows);
        let added = s
            .map
            .files
            .last()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        s.job.notice = Some(match purpose {
            JobPurpose::Place => {
                let ood = crate::render::ood::ood_rows(&samples).map_or(0, |f| {
                    f[kept.rows.min(f.len())..].iter().filter(|&&o| o).count()
                });
                format!(
                    "placed {} samples of {added}: {ood} out of distribution (white; column 'ood')",
                    thousands(n_new)
                )
            }
            _ => format!("added {added} ({} samples)", thousands(n_new)),
        });
    }

    /// Map the loaded samples again with the current parameters.
    fn recompute(&mut self, ctx: &egui::Context) {
        let s = &mut self.state;
        let Some(samples) = s.map.samples.clone() else {
            return;
        };
        s.job.error = None;
        s.map.layout_done = false;
        s.map.from_cache = false;
        s.job.progress = Some((Stage::Embed, 0, 1));
        s.map.warnings = samples.warnings.clone();
        let cfg = &s.config;
        s.job.jobs.start(
            ctx,
            JobInput::Loaded(samples),
            cfg.params.clone(),
            cfg.cache_cap,
        );
    }

    /// New filter settings from the panel: evaluate them (the classes follow when done).
    fn set_filters(&mut self, ctx: &egui::Context, edit: FilterEdit) {
        let Some(samples) = self.state.map.samples.clone() else {
            return;
        };
        let f = &mut self.state.overlays.filters;
        f.edit(edit);
        f.changed(ctx, &samples);
        if f.poll(ctx, &samples) || !f.active() {
            self.reclass(ctx);
        }
    }
}

/// What the shown set had chosen, carried over to the same set with more rows.
struct Kept {
    old: Arc<Samples>,
    rows: usize,
    color_by: Option<String>,
    filters: FilterEdit,
    compare: super::compare::CompareInputs,
    /// (centre, scale) of a map that was drawn and is kept where it was.
    view: Option<([f32; 2], f32)>,
}

impl Kept {
    fn of(s: &super::AppState) -> Option<Kept> {
        let f = &s.overlays.filters;
        let old = s.map.samples.clone()?;
        Some(Kept {
            rows: old.len(),
            old,
            color_by: s.paint.color_by.clone(),
            filters: FilterEdit {
                spec: f.spec.clone(),
                search: f.search.clone(),
                regex: f.regex,
                case_sensitive: f.case_sensitive,
            },
            compare: s.compare.inputs.clone(),
            view: (s.view.rect.area() > 0.0).then_some((s.view.center, s.view.px_per_unit)),
        })
    }

    /// Put back what still applies to `new`: the colour column, the filters on columns it
    /// has (category filters by level name; a level only the new rows have passes), the
    /// compare pair, and with `keep_view` the view.
    fn restore(&self, ctx: &egui::Context, app: &mut AtlasApp, new: &Samples, keep_view: bool) {
        let colourable = |c: &String| {
            new.column_index(c)
                .is_some_and(|i| new.columns[i].colorable())
        };
        if let Some(c) = self.color_by.as_ref().filter(|c| colourable(c))
            && app.state.paint.color_by.as_ref() != Some(c)
        {
            app.set_color_by(ctx, Some(c.clone()));
        }
        let edit = FilterEdit {
            spec: remap_filters(&self.filters.spec, &self.old, new),
            ..self.filters.clone()
        };
        if !edit.spec.is_empty() || !edit.search.is_empty() {
            app.set_filters(ctx, edit);
        }
        let c = &self.compare;
        if c.column
            .as_ref()
            .is_some_and(|n| new.column_index(n).is_some())
        {
            app.state.compare.inputs = c.clone();
            app.poll_compare(ctx);
        }
        if keep_view && let Some((center, px_per_unit)) = self.view {
            let v = &mut app.state.view;
            (v.center, v.px_per_unit, v.auto_fit) = (center, px_per_unit, false);
        }
    }
}

/// `spec` (made for `old`) for `new`: ranges on its number columns, category filters on its
/// category columns with the allowed levels matched by name (levels `old` lacked pass).
fn remap_filters(spec: &FilterSpec, old: &Samples, new: &Samples) -> FilterSpec {
    fn kind<'a>(s: &'a Samples, name: &str) -> Option<&'a ColumnKind> {
        s.column_index(name).map(|i| &s.columns[i].kind)
    }
    let ranges = spec
        .ranges
        .iter()
        .filter(|(c, ..)| matches!(kind(new, c), Some(ColumnKind::Numeric { .. })))
        .cloned()
        .collect();
    let categories = spec
        .categories
        .iter()
        .filter_map(|(c, allowed, missing)| {
            let Some(ColumnKind::Category { levels: was, .. }) = kind(old, c) else {
                return None;
            };
            let Some(ColumnKind::Category { levels, .. }) = kind(new, c) else {
                return None;
            };
            let now = levels
                .iter()
                .map(|l| {
                    was.iter()
                        .position(|w| w == l)
                        .is_none_or(|i| allowed.get(i).copied().unwrap_or(true))
                })
                .collect();
            Some((c.clone(), now, *missing))
        })
        .collect();
    FilterSpec {
        ranges,
        categories,
        search: spec.search.clone(),
    }
}

fn toggle(flag: &mut bool) {
    *flag = !*flag;
}
