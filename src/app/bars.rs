//! The bars above and below the map: open / add file / place onto / analysis / save /
//! cancel / help on top;
//! counts, the selection, notices, warnings and the job's progress at the bottom.

use eframe::egui::{self, RichText};

use super::panels::thousands;
use super::{AppCommand, AppState};
use crate::progress::Stage;

pub fn top_bar(ui: &mut egui::Ui, state: &AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    egui::Panel::top("atlas-top").show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.strong("Sample Atlas");
            ui.separator();
            if ui
                .button("Open…")
                .on_hover_text(
                    "Open a sample set (JSONL, CSV, Parquet); or drop a file on the window",
                )
                .clicked()
            {
                out.push(AppCommand::OpenDialog);
            }
            let open = state.map.samples.is_some();
            if ui
                .add_enabled(open, egui::Button::new("Add file…"))
                .on_hover_text(
                    "Add another file to the shown set: the files are read as one table (a \
                     'source' column names each) and mapped again; or drop a file with Shift held",
                )
                .on_disabled_hover_text("Open a sample set first")
                .clicked()
            {
                out.push(AppCommand::AddFileDialog);
            }
            let placeable = state.map.layout_done && !state.job.running();
            if ui
                .add_enabled(placeable, egui::Button::new("Place file onto this map…"))
                .on_hover_text(
                    "Place another file's samples onto this map without moving its points \
                     (map --onto): samples unlike any here are drawn white (column 'ood')",
                )
                .on_disabled_hover_text("Open a sample set and let its map finish first")
                .clicked()
            {
                out.push(AppCommand::PlaceOntoDialog);
            }
            if let Some(label) = state.map.files_label() {
                let all: Vec<String> = state
                    .map
                    .files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                ui.label(RichText::new(label).monospace())
                    .on_hover_text(all.join("\n"));
            }
            if state.map.samples.is_some()
                && ui
                    .selectable_label(state.overlays.analysis.open, "Analysis")
                    .on_hover_text("Per-setting table, best-of-N curves, new metrics")
                    .clicked()
            {
                out.push(AppCommand::ToggleAnalysis);
            }
            if state.map.samples.is_some()
                && ui
                    .selectable_label(state.overlays.regions.open, "Regions")
                    .on_hover_text(
                        "The map's regions ranked by how much worse a metric is inside them (G)",
                    )
                    .clicked()
            {
                out.push(AppCommand::ToggleRegions);
            }
            if state.map.coords.is_some()
                && ui
                    .button("Save PNG…")
                    .on_hover_text("Save the current view with its legend (Ctrl+S)")
                    .clicked()
            {
                out.push(AppCommand::SavePngDialog);
            }
            if state.job.running() && ui.button("Cancel").clicked() {
                out.push(AppCommand::Cancel);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .selectable_label(state.overlays.show_help, " ? ")
                    .on_hover_text("Keyboard shortcuts (?)")
                    .clicked()
                {
                    out.push(AppCommand::ToggleHelp);
                }
            });
        });
    });
    out
}

pub fn status_bar(ui: &mut egui::Ui, state: &AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    egui::Panel::bottom("atlas-status").show(ui, |ui| {
        ui.horizontal(|ui| {
            match &state.map.samples {
                Some(s) => {
                    ui.label(format!("{} samples", thousands(s.len())));
                    if state.map.files.len() > 1 {
                        ui.separator();
                        ui.label(format!("{} files", state.map.files.len()));
                    }
                    ui.separator();
                    ui.label(format!("text: {}", s.text_column));
                    if let Some(i) = state.focus.selected {
                        ui.separator();
                        ui.label(format!("selected #{i}"));
                    }
                    if let Some(h) = &state.focus.selection {
                        ui.separator();
                        ui.label(format!(
                            "{} selected ({}){}",
                            thousands(h.count()),
                            h.label,
                            h.mean.as_deref().unwrap_or_default()
                        ));
                        if ui
                            .small_button(if state.overlays.table.open { "Hide table" } else { "Table" })
                            .on_hover_text("T")
                            .clicked()
                        {
                            out.push(AppCommand::ToggleTable);
                        }
                        if ui.small_button("Clear").on_hover_text("Esc").clicked() {
                            out.push(AppCommand::ClearSelection);
                        }
                    }
                    if let Some(n) = &state.job.notice {
                        ui.separator();
                        ui.label(RichText::new(n).weak());
                    }
                    if let Some(i) = state.focus.hovered {
                        ui.separator();
                        ui.label(format!("hover #{i}"));
                    }
                }
                None if state.map.path.is_some() => {
                    ui.label("no data loaded");
                }
                None => {
                    ui.label("no file open");
                }
            }
            if !state.map.warnings.is_empty() {
                ui.separator();
                let label = format!("{} warnings", state.map.warnings.len());
                if ui.link(label).clicked() {
                    out.push(AppCommand::ShowWarnings(!state.overlays.show_warnings));
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if let Some((stage, done, total)) = state.job.progress {
                    let frac = if total > 0 {
                        done as f32 / total as f32
                    } else {
                        0.0
                    };
                    ui.add(
                        egui::ProgressBar::new(frac)
                            .desired_width(360.0)
                            .text(progress_text(stage, done, total, state.job.stage_started)),
                    );
                    // No spinner: it repaints every frame, and under software rendering
                    // (llvmpipe) that took a core from the computation. The bar moves with
                    // each progress report, which asks for a repaint itself.
                } else if state.map.from_cache && state.map.layout_done {
                    ui.label(RichText::new("map ready: from the cache").weak());
                } else if let Some((load, t)) = &state.map.timings {
                    ui.label(
                        RichText::new(format!(
                            "map ready: load {load:.2} s · embed {:.2} s · kNN {:.2} s · UMAP {:.2} s",
                            t.embed_s, t.neighbors_s, t.layout_s
                        ))
                        .weak(),
                    );
                }
            });
        });
    });
    out
}

/// "embedding 486/5,268 · 23 texts/s · 4 min left": the count, and for the embedding stage
/// (whose units are texts) its rate and the time left once a few seconds have passed.
fn progress_text(
    stage: Stage,
    done: u64,
    total: u64,
    started: Option<(Stage, std::time::Instant, u64)>,
) -> String {
    let count = format!(
        "{} {}/{}",
        stage.label(),
        thousands(done as usize),
        thousands(total as usize)
    );
    let Some((_, at, done0)) =
        started.filter(|(s, ..)| *s == Stage::Embed && stage == Stage::Embed)
    else {
        return count;
    };
    let secs = at.elapsed().as_secs_f64();
    let rate = done.saturating_sub(done0) as f64 / secs.max(1e-9);
    if secs < 2.0 || rate <= 0.0 {
        return count;
    }
    let left = total.saturating_sub(done) as f64 / rate;
    format!(
        "{count} · {rate:.0} texts/s · {} left",
        crate::util::format::duration_words(left)
    )
}
