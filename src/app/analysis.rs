//! The Analysis window: pick a metric and the columns to group by, see the per-setting table
//! (click a row to select its samples on the map) and best-of-N / pass@N curves; define new
//! metrics with expressions. Tables and curves are computed on a background thread.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use eframe::egui::{self, RichText};

use super::Command;
use crate::analysis::{self, Curve, SettingRow};
use crate::dataset::{ColumnKind, Samples};
use crate::render::colors;

/// What the window computes from.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Inputs {
    pub metric: Option<String>,
    pub by: Vec<String>,
    pub prompt: Option<String>,
}

pub struct Outputs {
    pub table: Vec<SettingRow>,
    pub curves: Option<Vec<Curve>>,
}

#[derive(Default)]
pub struct AnalysisState {
    pub open: bool,
    pub inputs: Inputs,
    /// The inputs the shown (or pending) result belongs to.
    computed: Option<Inputs>,
    pub result: Option<Result<Arc<Outputs>, String>>,
    pub running: bool,
    rx: Option<Receiver<(Inputs, Result<Outputs, String>)>>,
    /// The new-metric editor.
    pub new_name: String,
    pub new_expr: String,
    pub new_error: Option<String>,
    /// Metric and group-by candidates of the current samples (counting distinct values of
    /// every numeric column is O(rows): done when the samples change, not every frame).
    metric_choices: Vec<String>,
    group_choices: Vec<String>,
}

impl AnalysisState {
    /// Defaults from the detected run schema (hyperparameters, prompt, a score-like metric).
    pub fn reset_for(&mut self, samples: &Samples) {
        self.refresh_choices(samples);
        let schema = analysis::detect_schema(samples);
        let metrics = &self.metric_choices;
        let keep_metric = self
            .inputs
            .metric
            .as_ref()
            .is_some_and(|m| metrics.contains(m));
        if !keep_metric {
            self.inputs.metric = colors::default_color_column(samples)
                .filter(|c| metrics.contains(c))
                .or_else(|| metrics.first().cloned());
        }
        self.inputs.by = schema.hyperparameters;
        self.inputs.prompt = schema.prompt;
        self.computed = None;
        self.result = None;
    }

    /// Recompute the metric and group-by candidates (when columns were added or replaced).
    /// The prompt column in use (detected or chosen), if any.
    pub fn prompt_column(&self) -> Option<String> {
        self.inputs.prompt.clone()
    }

    pub fn refresh_choices(&mut self, samples: &Samples) {
        self.metric_choices = metric_columns(samples);
        self.group_choices = group_columns(samples);
    }

    /// Start a computation when the inputs changed; collect a finished one.
    pub fn poll(&mut self, ctx: &egui::Context, samples: Option<&Arc<Samples>>) {
        if let Some(rx) = &self.rx
            && let Ok((inputs, result)) = rx.try_recv()
        {
            self.rx = None;
            self.running = false;
            if inputs == self.inputs {
                self.result = Some(result.map(Arc::new));
            }
        }
        let Some(samples) = samples else { return };
        if !self.open || self.running || self.computed.as_ref() == Some(&self.inputs) {
            return;
        }
        self.computed = Some(self.inputs.clone());
        let Some(metric) = self.inputs.metric.clone() else {
            self.result = Some(Err("choose a metric".into()));
            return;
        };
        let (tx, rx) = channel();
        let (inputs, samples, ctx) = (self.inputs.clone(), samples.clone(), ctx.clone());
        self.running = true;
        self.rx = Some(rx);
        std::thread::spawn(move || {
            let by = &inputs.by;
            let result = (|| {
                let table = analysis::settings_table(
                    &samples,
                    &by,
                    &metric,
                    inputs.prompt.as_deref(),
                    None,
                )
                .map_err(|e| e.to_string())?;
                let curves = match &inputs.prompt {
                    Some(p) => Some(
                        analysis::best_of_n(&samples, &by, &metric, p)
                            .map_err(|e| e.to_string())?,
                    ),
                    None => None,
                };
                Ok(Outputs { table, curves })
            })();
            let _ = tx.send((inputs, result));
            ctx.request_repaint();
        });
    }
}

/// Columns usable as a metric: numbers and true/false.
pub fn metric_columns(samples: &Samples) -> Vec<String> {
    samples
        .frame
        .columns()
        .iter()
        .filter(|c| {
            c.dtype().is_primitive_numeric() || c.dtype() == &polars::prelude::DataType::Boolean
        })
        .map(|c| c.name().to_string())
        .collect()
}

/// Columns worth grouping by: categories, and numbers with few distinct values.
fn group_columns(samples: &Samples) -> Vec<String> {
    samples
        .columns
        .iter()
        .filter(|c| match &c.kind {
            ColumnKind::Category { levels, .. } => levels.len() <= 64,
            ColumnKind::Numeric { .. } => samples
                .frame
                .column(&c.name)
                .ok()
                .and_then(|col| col.as_materialized_series().n_unique().ok())
                .is_some_and(|d| d <= 50),
            _ => false,
        })
        .map(|c| c.name.clone())
        .collect()
}

fn num(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.3}")
    }
}

pub fn window(ctx: &egui::Context, state: &mut AnalysisState, samples: &Samples) -> Vec<Command> {
    let mut out = Vec::new();
    let mut open = state.open;
    egui::Window::new("Analysis")
        .open(&mut open)
        .default_size([640.0, 700.0])
        .vscroll(true)
        .show(ctx, |ui| {
            let metrics = state.metric_choices.clone();
            ui.horizontal(|ui| {
                let l = ui.label("metric");
                egui::ComboBox::from_id_salt("analysis-metric")
                    .selected_text(
                        state
                            .inputs
                            .metric
                            .clone()
                            .unwrap_or_else(|| "choose".into()),
                    )
                    .show_ui(ui, |ui| {
                        for m in &metrics {
                            let on = state.inputs.metric.as_deref() == Some(m.as_str());
                            if ui.selectable_label(on, m).clicked() {
                                state.inputs.metric = Some(m.clone());
                            }
                        }
                    })
                    .response
                    .labelled_by(l.id);
                let l = ui.label("prompt");
                egui::ComboBox::from_id_salt("analysis-prompt")
                    .selected_text(state.inputs.prompt.clone().unwrap_or_else(|| "none".into()))
                    .show_ui(ui, |ui| {
                        if ui
                            .selectable_label(state.inputs.prompt.is_none(), "none")
                            .clicked()
                        {
                            state.inputs.prompt = None;
                        }
                        for c in &samples.columns {
                            if c.name == samples.text_column {
                                continue;
                            }
                            let on = state.inputs.prompt.as_deref() == Some(c.name.as_str());
                            if ui.selectable_label(on, &c.name).clicked() {
                                state.inputs.prompt = Some(c.name.clone());
                            }
                        }
                    })
                    .response
                    .labelled_by(l.id);
            });
            ui.horizontal(|ui| {
                ui.label(RichText::new("new metric").strong());
                let l = ui.label("name");
                ui.add(
                    egui::TextEdit::singleline(&mut state.new_name)
                        .desired_width(90.0)
                        .hint_text("adj_score"),
                )
                .labelled_by(l.id);
                let l = ui.label("=");
                ui.add(
                    egui::TextEdit::singleline(&mut state.new_expr)
                        .desired_width(260.0)
                        .code_editor()
                        .hint_text("score - 0.02 * len_words"),
                )
                .labelled_by(l.id);
                if ui.button("Add metric").clicked() {
                    out.push(Command::AddMetric(
                        state.new_name.trim().to_string(),
                        state.new_expr.trim().to_string(),
                    ));
                }
            });
            if let Some(e) = &state.new_error {
                ui.label(
                    RichText::new(e)
                        .monospace()
                        .color(ui.visuals().error_fg_color),
                );
            }
            ui.label(
                RichText::new(
                    "Columns by name (\"quoted\" if they have spaces), numbers, 'text', + - * / %, \
                     comparisons, AND OR NOT, abs sqrt ln log10 exp round floor ceil least \
                     greatest coalesce if(c, a, b).",
                )
                .weak()
                .small(),
            );
            ui.horizontal_wrapped(|ui| {
                ui.label("group by");
                // The candidates (not the prompt column), then any chosen column that is not one.
                let prompt = state.inputs.prompt.clone();
                let mut choices: Vec<String> = state
                    .group_choices
                    .iter()
                    .filter(|c| Some(*c) != prompt.as_ref())
                    .cloned()
                    .collect();
                for c in &state.inputs.by {
                    if !choices.contains(c) {
                        choices.push(c.clone());
                    }
                }
                for c in choices {
                    let mut on = state.inputs.by.contains(&c);
                    if ui.checkbox(&mut on, &c).changed() {
                        if on {
                            state.inputs.by.push(c.clone());
                        } else {
                            state.inputs.by.retain(|b| b != &c);
                        }
                    }
                }
            });
            ui.separator();

            match &state.result {
                None => {
                    ui.spinner();
                }
                Some(Err(e)) => {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
                Some(Ok(o)) => {
                    let o = o.clone();
                    if state.running {
                        ui.spinner();
                    }
                    table(ui, &state.inputs, &o.table, &mut out);
                    if let Some(curves) = &o.curves {
                        ui.separator();
                        plot(ui, curves);
                    } else {
                        ui.label(
                            RichText::new("Choose a prompt column for best-of-N curves.").weak(),
                        );
                    }
                }
            }
        });
    state.open = open;
    out
}

fn table(ui: &mut egui::Ui, inputs: &Inputs, rows: &[SettingRow], out: &mut Vec<Command>) {
    let boolean = rows.iter().any(|r| r.failure_rate.is_some());
    ui.label(
        RichText::new("Click a row to select its samples on the map.")
            .weak()
            .small(),
    );
    egui::ScrollArea::vertical()
        .id_salt("analysis-table")
        .max_height(260.0)
        .show(ui, |ui| {
            egui::Grid::new("analysis-grid")
                .striped(true)
                .num_columns(inputs.by.len() + 6)
                .show(ui, |ui| {
                    for b in &inputs.by {
                        ui.strong(b);
                    }
                    ui.strong("count");
                    ui.strong("mean");
                    ui.strong("95% CI");
                    ui.strong("median");
                    ui.strong(if boolean { "failure rate" } else { "" });
                    ui.strong("prompts");
                    ui.end_row();
                    for r in rows {
                        let label = if inputs.by.is_empty() {
                            "all".to_string()
                        } else {
                            inputs
                                .by
                                .iter()
                                .zip(&r.setting)
                                .map(|(b, v)| format!("{b} = {v}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        };
                        let mut clicked = false;
                        for v in &r.setting {
                            clicked |= ui.selectable_label(false, v).clicked();
                        }
                        if inputs.by.is_empty() {
                            clicked |= ui.selectable_label(false, "all").clicked();
                        }
                        ui.label(r.count.to_string());
                        ui.label(num(r.mean));
                        ui.label(format!("{} – {}", num(r.ci_low), num(r.ci_high)));
                        ui.label(num(r.median));
                        ui.label(r.failure_rate.map(num).unwrap_or_default());
                        ui.label(r.prompts.map(|p| p.to_string()).unwrap_or_default());
                        ui.end_row();
                        if clicked {
                            out.push(Command::Highlight(label, r.rows.clone()));
                        }
                    }
                });
        });
}

fn plot(ui: &mut egui::Ui, curves: &[Curve]) {
    use egui_plot::{FilledArea, Legend, Line, Plot, PlotPoints};
    let kind = curves.first().map(|c| c.kind).unwrap_or("best_of_n");
    ui.label(
        RichText::new(if kind == "pass_at_n" {
            "pass@N per setting (unbiased estimator from all k samples of a prompt; band: 95% CI over prompts)"
        } else {
            "Expected best-of-N per setting (unbiased, from all k samples of a prompt; band: 95% CI over prompts)"
        })
        .small(),
    );
    Plot::new("bon-plot")
        .height(260.0)
        .legend(Legend::default())
        .x_axis_label("N")
        .y_axis_label(if kind == "pass_at_n" {
            "pass@N"
        } else {
            "E[max of N]"
        })
        .allow_scroll(false)
        .show(ui, |p| {
            // Bands only while they can be told apart.
            let bands = curves.len() <= 6;
            for (i, c) in curves.iter().enumerate() {
                let name = c.setting.join(", ");
                let color = super::scatter::c32(colors::category(i));
                let xs: Vec<f64> = c.points.iter().map(|q| q.n as f64).collect();
                let lo: Vec<f64> = c
                    .points
                    .iter()
                    .map(|q| if q.ci_low.is_nan() { q.mean } else { q.ci_low })
                    .collect();
                let hi: Vec<f64> = c
                    .points
                    .iter()
                    .map(|q| {
                        if q.ci_high.is_nan() {
                            q.mean
                        } else {
                            q.ci_high
                        }
                    })
                    .collect();
                // Bands have no name: the legend shows the lines.
                let pts: Vec<[f64; 2]> = c.points.iter().map(|q| [q.n as f64, q.mean]).collect();
                p.line(
                    Line::new(name.clone(), PlotPoints::from(pts))
                        .color(color)
                        .width(2.0),
                );
                if bands {
                    p.add(
                        FilledArea::new("", &xs, &lo, &hi).fill_color(color.gamma_multiply(0.15)),
                    );
                }
            }
        });
}
