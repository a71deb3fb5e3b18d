//! The Regions window: the map's regions (both levels) ranked by how much worse a metric is
//! inside them than outside (`analysis::region_stats::rank_regions`), worst significant
//! first. A click on a row selects the region's rows, zooms to it, and shows its most central
//! samples and what is in it (the run columns' values inside vs outside). The ranking and the
//! composition are computed off the UI thread for large sets.

use std::sync::Arc;

use eframe::egui::{self, RichText};

use super::background::{INLINE_ROWS, Task};
use super::region_labels::ShownRegions;
use super::{AppCommand, AppState, AtlasApp};
use crate::analysis;
use crate::analysis::region_stats::{
    DEFAULT_MIN_SUPPORT, RegionStat, ValueShare, Worse, default_worse, rank_regions,
    region_composition,
};
use crate::analysis::regions::Level;
use crate::dataset::Samples;
use crate::util::text::truncate_chars;

/// Which levels the table lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LevelFilter {
    #[default]
    Both,
    Coarse,
    Fine,
}

/// What the window ranks by.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RegionInputs {
    pub metric: Option<String>,
    /// The direction of worse; `None`: from the metric's name.
    pub worse: Option<Worse>,
    pub level: LevelFilter,
}

/// What a ranking is for: the coordinates version, the metric and the direction of worse.
type RankKey = (u64, String, Worse);

/// The regions ranked by one metric.
pub struct Ranking {
    pub stats: Vec<RegionStat>,
    pub is_bool: bool,
}

/// What is in one region: (coordinates version, region id) and its run columns' values.
type CompositionKey = (u64, u32);

#[derive(Default)]
pub struct RegionsPanel {
    pub open: bool,
    pub inputs: RegionInputs,
    pub ranking: Option<(RankKey, Result<Arc<Ranking>, String>)>,
    rank_task: Task<(RankKey, Result<Ranking, String>)>,
    rank_started: Option<RankKey>,
    /// The region clicked last.
    pub picked: Option<u32>,
    pub composition: Option<(CompositionKey, Result<Arc<Vec<ValueShare>>, String>)>,
    composition_task: Task<(CompositionKey, Result<Vec<ValueShare>, String>)>,
}

impl RegionsPanel {
    /// A new file: nothing of the previous one stays (the window stays open or closed).
    pub fn reset(&mut self) {
        *self = RegionsPanel {
            open: self.open,
            ..RegionsPanel::default()
        };
    }

    /// Whether a ranking is being computed.
    pub fn running(&self) -> bool {
        self.rank_task.busy()
    }

    /// The direction of worse in use.
    pub fn worse(&self) -> Option<Worse> {
        let metric = self.inputs.metric.as_deref()?;
        Some(self.inputs.worse.unwrap_or_else(|| default_worse(metric)))
    }

    /// The ranking when it is for the current regions and inputs.
    pub fn current(&self, coords_version: u64) -> Option<&Result<Arc<Ranking>, String>> {
        let (key, result) = self.ranking.as_ref()?;
        let want = (coords_version, self.inputs.metric.clone()?, self.worse()?);
        (*key == want).then_some(result)
    }
}

/// The metric the window starts with: the colour column when it is a metric, else the
/// Analysis window's (a score-like column), else the first candidate.
fn default_metric(state: &AppState, metrics: &[String]) -> Option<String> {
    let ok = |c: &Option<String>| c.clone().filter(|c| metrics.contains(c));
    ok(&state.paint.color_by)
        .or_else(|| ok(&state.overlays.analysis.inputs.metric))
        .or_else(|| metrics.first().cloned())
}

fn rank(
    samples: &Samples,
    regions: &ShownRegions,
    metric: &str,
    worse: Worse,
) -> Result<Ranking, String> {
    let (values, is_bool) = analysis::metric_values(samples, metric).map_err(|e| e.to_string())?;
    let all = &regions.regions.regions.regions;
    let rows: Vec<&[u32]> = all.iter().map(|r| r.rows.as_slice()).collect();
    let unclustered: Vec<usize> = (0..all.len()).filter(|&i| all[i].unclustered).collect();
    let stats = rank_regions(
        &values,
        is_bool,
        worse,
        &rows,
        &unclustered,
        DEFAULT_MIN_SUPPORT,
    );
    Ok(Ranking { stats, is_bool })
}

/// The run columns (hyperparameters and the prompt column) of `samples` inside `rows` vs
/// outside.
fn composition(samples: &Samples, rows: &[u32]) -> Result<Vec<ValueShare>, String> {
    let schema = analysis::detect_schema(samples);
    let names: Vec<String> = schema
        .hyperparameters
        .into_iter()
        .chain(schema.prompt)
        .collect();
    let mut values = Vec::new();
    for name in &names {
        values.push(analysis::string_values(samples, name).map_err(|e| e.to_string())?);
    }
    let columns: Vec<(&str, &[String])> = names
        .iter()
        .zip(&values)
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    Ok(region_composition(rows, &columns))
}

impl AtlasApp {
    /// Keep the Regions window's ranking up to date (while it is open) and take in finished
    /// rankings and compositions.
    pub(super) fn poll_regions_panel(&mut self, ctx: &egui::Context) {
        let s = &mut self.state;
        let (Some(samples), Some(regions)) = (s.map.samples.clone(), s.current_regions().cloned())
        else {
            return;
        };
        let metrics = super::analysis::metric_columns(&samples);
        let keep = s
            .overlays
            .regions
            .inputs
            .metric
            .as_ref()
            .is_some_and(|m| metrics.contains(m));
        if !keep {
            s.overlays.regions.inputs.metric = default_metric(s, &metrics);
        }
        let p = &mut s.overlays.regions;
        if let Some((key, result)) = p.rank_task.poll() {
            p.ranking = Some((key, result.map(Arc::new)));
        }
        if let Some((key, result)) = p.composition_task.poll() {
            p.composition = Some((key, result.map(Arc::new)));
        }
        let (Some(metric), Some(worse)) = (p.inputs.metric.clone(), p.worse()) else {
            return;
        };
        let key: RankKey = (regions.coords_version, metric.clone(), worse);
        let shown = p.ranking.as_ref().is_some_and(|(k, _)| *k == key);
        if !p.open || shown || p.rank_started.as_ref() == Some(&key) {
            return;
        }
        p.rank_started = Some(key.clone());
        p.rank_task
            .start(ctx, samples.len() <= INLINE_ROWS, move || {
                let result = rank(&samples, &regions, &metric, worse);
                (key, result)
            });
        if let Some((key, result)) = p.rank_task.poll() {
            p.ranking = Some((key, result.map(Arc::new)));
        }
    }

    /// A region's row was clicked: select its rows, zoom to it, and look at what is in it.
    pub(super) fn pick_region(&mut self, ctx: &egui::Context, id: u32) {
        let s = &mut self.state;
        let (Some(samples), Some(regions)) = (s.map.samples.clone(), s.current_regions().cloned())
        else {
            return;
        };
        let Some(region) = regions.regions.regions.regions.get(id as usize) else {
            return;
        };
        let label = format!("region {}", regions.regions.labels[id as usize]);
        let rows = region.rows.clone();
        let e = region.extent;
        s.view.fit(([e[0], e[1]], [e[2], e[3]]));
        s.view.auto_fit = false;
        let p = &mut s.overlays.regions;
        p.picked = Some(id);
        let key = (regions.coords_version, id);
        if p.composition.as_ref().is_none_or(|(k, _)| *k != key) {
            let inline = samples.len() <= INLINE_ROWS;
            let region_rows = rows.clone();
            p.composition_task.start(ctx, inline, move || {
                (key, composition(&samples, &region_rows))
            });
            if let Some((key, result)) = p.composition_task.poll() {
                p.composition = Some((key, result.map(Arc::new)));
            }
        }
        self.set_selection(ctx, label, rows);
    }

    /// Wait for the regions and the Regions window's work (tests and benches).
    pub fn wait_for_regions(&mut self, ctx: &egui::Context) {
        let s = &mut self.state;
        s.map.regions_task.finish();
        s.overlays.regions.rank_task.finish();
        s.overlays.regions.composition_task.finish();
        self.poll_tasks(ctx);
    }
}

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
    v.map_or("–".into(), |v| {
        if v < 1e-4 {
            format!("{v:.1e}")
        } else {
            format!("{v:.4}")
        }
    })
}

/// The Regions window.
pub fn window(ctx: &egui::Context, state: &AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let mut open = true;
    egui::Window::new("Regions")
        .open(&mut open)
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
        .max_height(ui.available_height() * 0.55)
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
    ui.label(RichText::new("Most central samples").weak());
    for &row in region.central.iter().take(5) {
        let text = samples.texts.get(row as usize).map_or("", String::as_str);
        let preview = truncate_chars(&text.replace('\n', " "), 140).to_string();
        if ui
            .selectable_label(false, format!("#{row}  {preview}"))
            .on_hover_text("Open this sample")
            .clicked()
        {
            out.push(AppCommand::Select(Some(row as usize)));
        }
    }
    ui.add_space(4.0);
    ui.label(
        RichText::new("What is in it (run columns inside vs outside, Fisher's exact test)").weak(),
    );
    let p = &state.overlays.regions;
    match &p.composition {
        Some(((v, r), Ok(shares))) if *v == regions.coords_version && *r == id => {
            if shares.is_empty() {
                ui.label("No run columns (model, temperature, prompt, …) in this file.");
            }
            for v in shares.iter().take(8) {
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
}
