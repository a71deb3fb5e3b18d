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
use super::jobs::JobInput;
use super::regions::{RegionColumn, RegionInputs};
use super::scatter::{SelectOp, Tool};
use crate::pipeline::MapParams;
use crate::progress::Stage;

/// Everything the widgets can ask for.
#[must_use]
#[derive(Clone, Debug)]
pub enum AppCommand {
    Open(PathBuf),
    OpenDialog,
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
            C::Open(path) => self.open(ctx, path),
            C::OpenDialog => self.state.job.jobs.pick_file(ctx),
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

    /// Open a file: forget the shown one and start loading and mapping it.
    fn open(&mut self, ctx: &egui::Context, path: PathBuf) {
        self.remember_view();
        let s = &mut self.state;
        s.reset_for_file(path.clone());
        s.job.progress = Some((Stage::Load, 0, 1));
        let cfg = &mut s.config;
        s.job.jobs.start(
            ctx,
            JobInput::File(path, cfg.load_options.clone()),
            cfg.params.clone(),
            cfg.cache_cap,
        );
        // A text column named on the command line is for the file named there; files
        // opened later get theirs detected.
        cfg.load_options.options.text_column = None;
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

fn toggle(flag: &mut bool) {
    *flag = !*flag;
}
