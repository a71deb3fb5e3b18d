//! The Regions window's widgets: inputs (metric, direction of worse, level), the ranked table
//! (click a row: select and zoom to the region), and the clicked region's detail (what is in
//! it, its most central samples).

use eframe::egui::{self, RichText};

use super::region_labels::ShownRegions;
use super::regions::{LevelFilter, Ranking, RegionsPanel};
use super::{AppCommand, AppState};
use crate::analysis::region_stats::{DEFAULT_MIN_SUPPORT, Worse};
use crate::analysis::regions::Level;
use crate::dataset::Samples;
use crate::util::text::truncate_chars;

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", v * 100.0)
    } else {
        "–".into()
    }
}

fn num(v: f64) -> String {
    if v.is_finite() {
        crate::render::image::format_number(v as f32)
    } else {
        "–".into()
    }
}

fn pval(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        // Below the smallest double: the test's p-value underflowed to 0.
        Some(v) if v <= 0.0 => "< 1e-300".into(),
        Some(v) if v < 1e-4 => format!("{v:.1e}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// The Regions window.
pub fn window(ctx: &egui::Context, state: &AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let mut open = true;
    let right = ctx.content_rect().right();
    egui::Window::new("Regions")
        .open(&mut open)
        .default_pos(egui::pos2((right - 800.0).max(0.0), 40.0))
        .default_width(760.0)
        .default_height(560.0)
        .show(ctx, |ui| body(ui, state, &mut out));
    if !open {
        out.push(AppCommand::ToggleRegions);
    }
    out
}

fn body(ui: &mut egui::Ui, state: &AppState, out: &mut Vec<AppCommand>) {
    let (Some(samples), Some(regions)) = (state.map.samples.as_ref(), state.current_regions())
    else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Finding the regions of the map…");
        });
        return;
    };
    let p = &state.overlays.regions;
    inputs_row(ui, p, samples, out);
    let Some(result) = p.current(regions.coords_version) else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Ranking the regions…");
        });
        return;
    };
    let ranking = match result {
        Ok(r) => r.clone(),
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
            return;
        }
    };
    let r = &regions.regions.regions;
    let worse_count = ranking
        .stats
        .iter()
        .filter(|s| s.is_significantly_worse())
        .count();
    let test = if ranking.is_bool {
        "Fisher's exact test"
    } else {
        "Welch's t-test"
    };
    let worse = p.worse().unwrap_or(Worse::Lower);
    let what = match (ranking.is_bool, worse) {
        (true, Worse::Lower) => "inside / outside: failure rate (share of false)",
        (true, Worse::Higher) => "inside / outside: failure rate (share of true)",
        (false, Worse::Lower) => "inside / outside: mean (lower is worse)",
        (false, Worse::Higher) => "inside / outside: mean (higher is worse)",
    };
    ui.label(RichText::new(what).small());
    ui.label(
        RichText::new(format!(
            "{} coarse and {} fine regions · {worse_count} significantly worse (q ≤ 0.05) · {test}, \
             Benjamini–Hochberg q over both levels · regions under {DEFAULT_MIN_SUPPORT} rows are not tested (grey)",
            r.count(Level::Coarse),
            r.count(Level::Fine)
        ))
        .small()
        .weak(),
    );
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("regions-table")
        .max_height(300.0)
        .show(ui, |ui| table(ui, p, regions, &ranking, test, out));
    if let Some(id) = p.picked {
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("region-detail")
            .show(ui, |ui| detail(ui, state, samples, regions, id, out));
    }
}

fn inputs_row(ui: &mut egui::Ui, p: &RegionsPanel, samples: &Samples, out: &mut Vec<AppCommand>) {
    let metrics = super::analysis::metric_columns(samples);
    let mut inputs = p.inputs.clone();
    ui.horizontal(|ui| {
        ui.label("metric");
        egui::ComboBox::from_id_salt("regions-metric")
            .selected_text(inputs.metric.clone().unwrap_or_else(|| "none".into()))
            .show_ui(ui, |ui| {
                for m in &metrics {
                    if ui
                        .selectable_label(inputs.metric.as_ref() == Some(m), m)
                        .clicked()
                    {
                        inputs.metric = Some(m.clone());
                        inputs.worse = None;
                    }
                }
            });
        if let Some(mut worse) = p.worse() {
            ui.label("worse:");
            ui.radio_value(&mut worse, Worse::Higher, "higher");
            ui.radio_value(&mut worse, Worse::Lower, "lower");
            if Some(worse) != p.worse() {
                inputs.worse = Some(worse);
            }
        }
        ui.separator();
        ui.label("level");
        for (level, name) in [
            (LevelFilter::Both, "both"),
            (LevelFilter::Coarse, "coarse"),
            (LevelFilter::Fine, "fine"),
        ] {
            ui.radio_value(&mut inputs.level, level, name);
        }
    });
    if inputs != p.inputs {
        out.push(AppCommand::SetRegionInputs(inputs));
    }
}

fn table(
    ui: &mut egui::Ui,
    p: &RegionsPanel,
    regions: &ShownRegions,
    ranking: &Ranking,
    test: &str,
    out: &mut Vec<AppCommand>,
) {
    let all = &regions.regions.regions.regions;
    let what = if ranking.is_bool {
        "failure rate"
    } else {
        "mean"
    };
    egui::Grid::new("regions-grid")
        .striped(true)
        .num_columns(10)
        .show(ui, |ui| {
            for (h, tip) in [
                (
                    "region",
                    "The region's distinctive terms; click to select it",
                ),
                ("level", "coarse regions, and the finer ones inside them"),
                ("size", "rows in the region"),
                ("share", "share of all rows"),
                ("inside", what),
                ("outside", what),
                ("lift", "inside / outside"),
                ("95% CI", "of inside − outside"),
                ("p", test),
                ("q", "Benjamini–Hochberg over all regions of both levels"),
            ] {
                ui.label(RichText::new(h).strong()).on_hover_text(tip);
            }
            ui.end_row();
            for s in &ranking.stats {
                let region = &all[s.region];
                let keep = match p.inputs.level {
                    LevelFilter::Both => true,
                    LevelFilter::Coarse => region.level == Level::Coarse,
                    LevelFilter::Fine => region.level == Level::Fine,
                };
                if !keep {
                    continue;
                }
                let label = &regions.regions.labels[s.region];
                let mut text = RichText::new(truncate_chars(label, 48));
                if !s.tested {
                    text = text.weak();
                } else if s.is_significantly_worse() {
                    text = text.color(ui.visuals().warn_fg_color);
                }
                let picked = p.picked == Some(region.id);
                if ui
                    .selectable_label(picked, text)
                    .on_hover_text(label)
                    .clicked()
                {
                    out.push(AppCommand::PickRegion(region.id));
                }
                let cell = |ui: &mut egui::Ui, t: String| {
                    if s.tested {
                        ui.label(t);
                    } else {
                        ui.label(RichText::new(t).weak());
                    }
                };
                let value = |v: f64| if ranking.is_bool { pct(v) } else { num(v) };
                let level = match region.level {
                    Level::Coarse => "coarse",
                    Level::Fine => "fine",
                };
                cell(ui, level.into());
                cell(ui, s.size.to_string());
                cell(ui, pct(s.share));
                cell(ui, value(s.inside));
                cell(ui, value(s.outside));
                cell(
                    ui,
                    if s.lift.is_finite() {
                        format!("{:.2}", s.lift)
                    } else {
                        "–".into()
                    },
                );
                cell(ui, format!("{} … {}", value(s.ci_low), value(s.ci_high)));
                cell(ui, pval(s.p));
                cell(ui, pval(s.q));
                ui.end_row();
            }
        });
}

fn detail(
    ui: &mut egui::Ui,
    state: &AppState,
    samples: &Samples,
    regions: &ShownRegions,
    id: u32,
    out: &mut Vec<AppCommand>,
) {
    let Some(region) = regions.regions.regions.regions.get(id as usize) else {
        return;
    };
    ui.label(RichText::new(&regions.regions.labels[id as usize]).strong());
    ui.label(
        RichText::new(
            "What is in it (run columns, or categories, inside vs outside; Fisher's exact test)",
        )
        .weak(),
    );
    let p = &state.overlays.regions;
    match &p.composition {
        Some(((v, r), Ok(shares))) if *v == regions.coords_version && *r == id => {
            if shares.is_empty() {
                ui.label(
                    "No run or category columns (model, temperature, prompt, …) in this file.",
                );
            }
            for v in shares.iter().take(12) {
                let line = format!(
                    "{} = {}: {} inside vs {} outside, q {}",
                    v.column,
                    truncate_chars(&v.value, 40),
                    pct(v.inside_share),
                    pct(v.outside_share),
                    pval(Some(v.q))
                );
                if v.is_significantly_over() {
                    ui.label(line);
                } else {
                    ui.label(RichText::new(line).weak());
                }
            }
        }
        Some(((v, r), Err(e))) if *v == regions.coords_version && *r == id => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        _ => {
            ui.spinner();
        }
    }
    ui.add_space(4.0);
    ui.label(RichText::new("Most central samples (click to open)").weak());
    for &row in region.central.iter().take(5) {
        let text = samples.texts.get(row as usize).map_or("", String::as_str);
        let preview = truncate_chars(&text.replace('\n', " "), 110).to_string();
        if ui
            .add(egui::Button::selectable(false, format!("#{row}  {preview}")).truncate())
            .on_hover_text(truncate_chars(text, 600))
            .clicked()
        {
            out.push(AppCommand::Select(Some(row as usize)));
        }
    }
}
