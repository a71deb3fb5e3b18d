//! Panels around the map. Each reads the state and returns the commands its widgets raised.

use eframe::egui::{self, RichText};

use super::scatter::{self, MapData};
use super::{AppCommand, AppState, Tool, filters};
use crate::dataset::ColumnKind;
use crate::embedding::EndpointParams;
use crate::neighbors::Metric;
use crate::pipeline::VectorSource;
use crate::util::text::truncate_chars;

/// Longest text shown whole in the detail panel (characters); longer texts are cut.
const MAX_DETAIL_CHARS: usize = 50_000;

/// The embedder choice (and its folder / URL / model fields) as rows of the parameter grid.
fn embedder_rows(ui: &mut egui::Ui, v: &mut VectorSource, samples: &crate::dataset::Samples) {
    let label = match v {
        VectorSource::Lexical => "built-in lexical".to_string(),
        VectorSource::Model2Vec(_) => "model2vec folder".to_string(),
        VectorSource::Transformer(_) => "transformer folder".to_string(),
        VectorSource::Endpoint(_) => "OpenAI-compatible endpoint".to_string(),
        VectorSource::Column(c) => format!("column {c}"),
        VectorSource::Npy(p) => format!(
            "vectors {}",
            p.file_name().unwrap_or_default().to_string_lossy()
        ),
    };
    let l = ui.label("embedder");
    egui::ComboBox::from_id_salt("embedder")
        .width(150.0)
        .selected_text(truncate_chars(&label, 22))
        .show_ui(ui, |ui| {
            if ui
                .selectable_label(*v == VectorSource::Lexical, "built-in lexical")
                .on_hover_text("TF-IDF of words and character n-grams, fitted to these texts")
                .clicked()
            {
                *v = VectorSource::Lexical;
            }
            let is_m2v = matches!(v, VectorSource::Model2Vec(_));
            if ui
                .selectable_label(is_m2v, "model2vec folder")
                .on_hover_text("A static model2vec model on disk, e.g. potion-base-8M")
                .clicked()
                && !is_m2v
            {
                let dir = crate::defaults::default_model2vec_dir().unwrap_or_default();
                *v = VectorSource::Model2Vec(dir);
            }
            let is_tf = matches!(v, VectorSource::Transformer(_));
            if ui
                .selectable_label(is_tf, "transformer folder")
                .on_hover_text(
                    "A sentence-transformers model on disk (BERT family: all-MiniLM-L6-v2, BGE, E5, GTE); \
                     slower than model2vec, better maps",
                )
                .clicked()
                && !is_tf
            {
                let dir = crate::defaults::installed_transformer_dir().unwrap_or_default();
                *v = VectorSource::Transformer(dir);
            }
            let is_ep = matches!(v, VectorSource::Endpoint(_));
            if ui
                .selectable_label(is_ep, "OpenAI-compatible endpoint")
                .on_hover_text("POST URL/v1/embeddings; the API key is read from OPENAI_API_KEY")
                .clicked()
                && !is_ep
            {
                *v = VectorSource::Endpoint(EndpointParams {
                    url: "http://127.0.0.1:8080".into(),
                    ..Default::default()
                });
            }
            for col in samples.frame.columns() {
                if matches!(
                    col.dtype(),
                    polars::prelude::DataType::List(_) | polars::prelude::DataType::Array(..)
                ) {
                    let name = col.name().to_string();
                    let on = *v == VectorSource::Column(name.clone());
                    if ui.selectable_label(on, format!("column {name}")).clicked() {
                        *v = VectorSource::Column(name);
                    }
                }
            }
        })
        .response
        .labelled_by(l.id);
    ui.end_row();
    let is_transformer = matches!(v, VectorSource::Transformer(_));
    match v {
        VectorSource::Model2Vec(dir) | VectorSource::Transformer(dir) => {
            let hint = if is_transformer {
                "/path/to/all-MiniLM-L6-v2"
            } else {
                "/path/to/potion-base-8M"
            };
            let l = ui.label("model folder");
            let mut s = dir.display().to_string();
            if ui
                .add(egui::TextEdit::singleline(&mut s).hint_text(hint))
                .labelled_by(l.id)
                .changed()
            {
                *dir = s.into();
            }
            ui.end_row();
        }
        VectorSource::Endpoint(ep) => {
            let l = ui.label("URL");
            ui.add(egui::TextEdit::singleline(&mut ep.url).hint_text("http://host:port"))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("model");
            ui.add(egui::TextEdit::singleline(&mut ep.model))
                .labelled_by(l.id);
            ui.end_row();
        }
        _ => {}
    }
}

pub fn side_panel(ui: &mut egui::Ui, state: &AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    egui::Panel::left("atlas-side")
        .default_size(260.0)
        .resizable(true)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                let Some(samples) = state.map.samples.clone() else {
                    ui.label("Open a sample set to see its map.");
                    return;
                };
                ui.heading("Colour");
                let current = state.paint.color_by.clone().unwrap_or_else(|| "none".into());
                let shown = if current.chars().count() > 18 {
                    format!("{}…", truncate_chars(&current, 17))
                } else {
                    current
                };
                egui::ComboBox::from_label("colour by")
                    .width(150.0)
                    .selected_text(shown)
                    .show_ui(ui, |ui| {
                        if ui
                            .selectable_label(state.paint.color_by.is_none(), "none")
                            .clicked()
                        {
                            out.push(AppCommand::SetColorBy(None));
                        }
                        for col in samples.columns.iter().filter(|c| c.colorable()) {
                            let on = state.paint.color_by.as_deref() == Some(col.name.as_str());
                            if ui.selectable_label(on, &col.name).clicked() {
                                out.push(AppCommand::SetColorBy(Some(col.name.clone())));
                            }
                        }
                    });
                let mut scale = state.view.point_scale;
                if ui
                    .add(egui::Slider::new(&mut scale, 0.3..=4.0).text("point size"))
                    .changed()
                {
                    out.push(AppCommand::SetPointScale(scale));
                }
                let mut opacity = state.view.opacity;
                if ui
                    .add(egui::Slider::new(&mut opacity, 0.05..=1.0).text("opacity"))
                    .changed()
                {
                    out.push(AppCommand::SetOpacity(opacity));
                }
                ui.horizontal(|ui| {
                    let mut density = state.view.density;
                    if ui
                        .checkbox(&mut density, "density")
                        .on_hover_text("Show how many points fall on each pixel (D)")
                        .changed()
                    {
                        out.push(AppCommand::ToggleDensity);
                    }
                    let mut labels = state.view.region_labels;
                    if ui
                        .checkbox(&mut labels, "region labels")
                        .on_hover_text("Name the map's regions by their distinctive terms (M)")
                        .changed()
                    {
                        out.push(AppCommand::ToggleRegionLabels);
                    }
                });
                ui.horizontal(|ui| {
                    ui.label("drag:");
                    for (tool, label, key) in [
                        (Tool::Pan, "pan", "V"),
                        (Tool::Box, "box", "B"),
                        (Tool::Lasso, "lasso", "L"),
                    ] {
                        if ui
                            .selectable_label(state.view.tool == tool, label)
                            .on_hover_text(format!(
                                "{key}; with box and lasso, Shift adds to the selection and Ctrl subtracts"
                            ))
                            .clicked()
                        {
                            out.push(AppCommand::SetTool(tool));
                        }
                    }
                });
                if ui
                    .button("Reset view")
                    .on_hover_text("Or double-click the map")
                    .clicked()
                {
                    out.push(AppCommand::ResetView);
                }

                ui.separator();
                out.extend(super::compare::section(ui, state));
                ui.separator();
                ui.heading("Map");
                let mut p = state.config.params.clone();
                egui::Grid::new("params").num_columns(2).show(ui, |ui| {
                    if samples.format != crate::dataset::Format::Npy {
                        embedder_rows(ui, &mut p.vectors, &samples);
                    }
                    let l = ui.label("neighbours");
                    ui.add(egui::DragValue::new(&mut p.umap.n_neighbors).range(2..=200))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("min dist");
                    ui.add(
                        egui::DragValue::new(&mut p.umap.min_dist)
                            .range(0.0..=1.0)
                            .speed(0.01),
                    )
                    .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("distance");
                    egui::ComboBox::from_id_salt("metric")
                        .selected_text(p.umap.metric.to_string())
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut p.umap.metric, Metric::Cosine, "cosine");
                            ui.selectable_value(&mut p.umap.metric, Metric::Euclidean, "euclidean");
                        })
                        .response
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("seed");
                    ui.add(egui::DragValue::new(&mut p.umap.seed))
                        .labelled_by(l.id);
                    ui.end_row();
                });
                if samples.format != crate::dataset::Format::Npy {
                    out.extend(super::estimate::rows(
                        ui,
                        &state.config.estimate,
                        &p,
                        samples.len(),
                    ));
                }
                if p != state.config.params {
                    out.push(AppCommand::SetParams(p));
                }
                ui.add_enabled_ui(!state.job.running(), |ui| {
                    if ui.button("Recompute map").clicked() {
                        out.push(AppCommand::Recompute);
                    }
                });

                ui.separator();
                let filters_open = egui::CollapsingHeader::new(egui::RichText::new("Filters").heading())
                    .id_salt("filters-section")
                    .open(Some(state.overlays.filters.open))
                    .show(ui, |ui| {
                        let f = &state.overlays.filters;
                        out.extend(filters::filter_section(ui, f, &samples, state.view.hide_filtered));
                    });
                if filters_open.header_response.clicked() {
                    out.push(AppCommand::ToggleFilters);
                }


                ui.separator();
                ui.heading("Data");
                egui::Grid::new("data-summary")
                    .num_columns(2)
                    .show(ui, |ui| {
                        ui.label("rows");
                        ui.label(thousands(samples.len()));
                        ui.end_row();
                        ui.label("text");
                        ui.label(format!(
                            "{}{}",
                            samples.text_column,
                            if samples.text_column_detected {
                                " (detected)"
                            } else {
                                ""
                            }
                        ));
                        ui.end_row();
                        if let Some(d) = state.map.embedding_dims {
                            ui.label("embedding");
                            ui.label(format!("{d} dims"))
                                .on_hover_text(state.map.embedder.clone().unwrap_or_default());
                            ui.end_row();
                        }
                        if let Some(e) = &state.map.embedder {
                            ui.label("embedder");
                            ui.add(egui::Label::new(e.as_str()).wrap());
                            ui.end_row();
                        }
                    });
                ui.collapsing(format!("{} columns", samples.columns.len()), |ui| {
                    for col in &samples.columns {
                        let kind = match &col.kind {
                            ColumnKind::Numeric { min, max, .. } => format!(
                                "numeric {} – {}",
                                scatter::format_number(*min),
                                scatter::format_number(*max)
                            ),
                            ColumnKind::Category { levels, .. } => {
                                format!("{} categories", levels.len())
                            }
                            ColumnKind::Text => "text".into(),
                            ColumnKind::Other => col.dtype.clone(),
                        };
                        ui.label(format!("{}: {kind}", col.name));
                    }
                });
            });
        });
    out
}

pub fn detail_panel(ui: &mut egui::Ui, state: &AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let (Some(samples), Some(row)) = (&state.map.samples, state.focus.selected) else {
        return out;
    };
    if row >= samples.len() {
        return out;
    }
    // A pinned sample of these samples, shown to the left of the selected one.
    let pin = state
        .focus
        .pin
        .as_ref()
        .filter(|p| p.row < samples.len() && p.row != row);
    let panel = match pin {
        Some(_) => egui::Panel::right("atlas-detail-pinned").default_size(760.0),
        None => egui::Panel::right("atlas-detail").default_size(380.0),
    };
    panel.resizable(true).show(ui, |ui| {
        ui.horizontal(|ui| {
            match pin {
                Some(p) => ui.heading(format!("Sample #{} beside #{row}", p.row)),
                None => ui.heading(format!("Sample #{row}")),
            };
            ui.label(RichText::new(samples.locate(row)).weak());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Close").clicked() {
                    out.push(AppCommand::Pin(false));
                    out.push(AppCommand::Select(None));
                }
                if state.focus.pin.is_some() {
                    if ui
                        .button("Unpin")
                        .on_hover_text("Show one sample again")
                        .clicked()
                    {
                        out.push(AppCommand::Pin(false));
                    }
                } else if ui
                    .button("Pin")
                    .on_hover_text(
                        "Keep this sample here and open another beside it: the same prompt's \
                         sample from another setting when there is one, else the next one you \
                         select",
                    )
                    .clicked()
                {
                    out.push(AppCommand::Pin(true));
                }
            });
        });
        if let Some((col, rows)) = &state.focus.same_prompt
            && let Ok(at) = rows.binary_search(&(row as u32))
        {
            ui.horizontal(|ui| {
                if ui
                    .small_button("<")
                    .on_hover_text("Previous sample of this prompt ([)")
                    .clicked()
                {
                    out.push(AppCommand::StepPrompt(-1));
                }
                ui.label(format!("{} {} of {}", col, at + 1, rows.len()));
                if ui
                    .small_button(">")
                    .on_hover_text("Next sample of this prompt (])")
                    .clicked()
                {
                    out.push(AppCommand::StepPrompt(1));
                }
            });
        }
        if state.focus.pin.as_ref().is_some_and(|p| p.row == row) {
            ui.label(
                RichText::new("Pinned: select another sample to see it beside this one.").weak(),
            );
        }
        ui.separator();
        let Some(detail) = state.focus.detail.as_ref().filter(|d| d.row == row) else {
            return;
        };
        egui::ScrollArea::vertical().show(ui, |ui| match pin {
            Some(p) => {
                ui.columns(2, |cols| {
                    cols[0].label(RichText::new(format!("Pinned #{}", p.row)).strong());
                    cols[0].label(RichText::new(samples.locate(p.row)).weak());
                    sample_detail(&mut cols[0], samples, &p.detail, "detail-fields-pinned");
                    cols[1].label(RichText::new(format!("Sample #{row}")).strong());
                    cols[1].label(RichText::new(samples.locate(row)).weak());
                    sample_detail(&mut cols[1], samples, detail, "detail-fields");
                });
            }
            None => sample_detail(ui, samples, detail, "detail-fields"),
        });
    });
    out
}

/// One sample in the detail panel: its turns (or text), then its fields.
fn sample_detail(
    ui: &mut egui::Ui,
    samples: &crate::dataset::Samples,
    detail: &super::state::Detail,
    grid_id: &str,
) {
    if let Some(turns) = &detail.turns {
        for (role, content) in turns {
            ui.label(RichText::new(role).strong());
            ui.label(truncate_chars(content, MAX_DETAIL_CHARS));
            ui.add_space(6.0);
        }
    } else if let Some(text) = samples.texts.get(detail.row) {
        ui.label(truncate_chars(text, MAX_DETAIL_CHARS));
        if detail.text_chars > MAX_DETAIL_CHARS {
            ui.label(
                RichText::new(format!(
                    "(first {} of {} characters shown)",
                    thousands(MAX_DETAIL_CHARS),
                    thousands(detail.text_chars)
                ))
                .weak(),
            );
        }
    }
    ui.separator();
    egui::Grid::new(grid_id)
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            for (name, value) in &detail.fields {
                ui.label(RichText::new(name).weak());
                ui.add(egui::Label::new(value).wrap());
                ui.end_row();
            }
        });
}

pub fn central(ui: &mut egui::Ui, state: &mut AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    egui::CentralPanel::default_margins().show(ui, |ui| {
        if let Some(err) = state.job.error.clone() {
            egui::Frame::new()
                .fill(ui.visuals().error_fg_color.gamma_multiply(0.15))
                .inner_margin(6.0)
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.colored_label(ui.visuals().error_fg_color, &err);
                        if ui.small_button("Dismiss").clicked() {
                            out.push(AppCommand::DismissError);
                        }
                    });
                });
        }
        let (Some(samples), Some(coords)) = (state.map.samples.clone(), state.map.coords.clone()) else {
            ui.centered_and_justified(|ui| {
                if state.job.running() {
                    ui.label(RichText::new("Working… the map appears as soon as the layout starts.").size(16.0));
                } else {
                    ui.label(
                        RichText::new("Open a sample set (JSONL, CSV or Parquet) with “Open…”, or drop a file here.")
                            .size(16.0),
                    );
                }
            });
            return;
        };
        let index = state.current_index();
        let regions = state.current_regions().filter(|_| state.view.region_labels).cloned();
        let p = &mut state.paint;
        let data = MapData {
            samples: &samples,
            coords: &coords,
            colors: &p.colors,
            classes: &p.classes,
            version: p.version,
            legend: &p.legend,
            selected: state.focus.selected,
            index: index.as_deref(),
            bounds: state.map.bounds,
            pass: state.overlays.filters.pass(),
            labels: regions.as_ref().map(|r| r.marks.as_slice()),
            difference: state.compare.difference(),
            panes: state.compare.panes(),
        };
        // The map widget keeps its own memory (pan, zoom, the region being drawn, its
        // texture) in `view` and `canvas`; everything else it asks for by command.
        let result = scatter::show_map(ui, &mut state.view, &mut p.canvas, &data);
        if let Some((polygon, op, label)) = result.region {
            out.push(AppCommand::SelectRegion(polygon, op, label));
        }
        if result.hovered != state.focus.hovered {
            out.push(AppCommand::Hover(result.hovered));
        }
        if let Some(click) = result.clicked {
            out.push(AppCommand::Select(click));
        }
    });
    out
}

pub fn warnings_window(ctx: &egui::Context, state: &AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let mut open = true;
    egui::Window::new("Warnings")
        .open(&mut open)
        .default_width(520.0)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical()
                .max_height(360.0)
                .show(ui, |ui| {
                    for w in &state.map.warnings {
                        ui.label(w);
                    }
                });
        });
    if !open {
        out.push(AppCommand::ShowWarnings(false));
    }
    out
}

pub use crate::util::format::thousands;
