//! The Analysis window: pick a metric and the columns to group by, see the per-setting table
//! (click a row to select its samples on the map) and best-of-N / pass@N curves; define new
//! metrics with expressions. Tables and curves are computed on a background thread.

use std::sync::Arc;

use eframe::egui::{self, RichText};

use super::AppCommand;
use super::background::{INLINE_ROWS, Task};
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

/// Metric and group-by candidates of a set of samples (counting distinct values of every
/// numeric column is O(rows): computed when the samples change, not every frame).
#[derive(Clone, Debug, Default)]
pub struct Choices {
    pub metrics: Vec<String>,
    pub groups: Vec<String>,
}

impl Choices {
    pub fn of(samples: &Samples) -> Choices {
        Choices {
            metrics: metric_columns(samples),
            groups: group_columns(samples),
        }
    }
}

/// What new samples suggest: the candidates, the detected run schema, the default metric.
struct Detected {
    choices: Choices,
    schema: analysis::RunSchema,
    default_metric: Option<String>,
}

/// A metric column added from an expression, to the samples it was computed from.
pub struct NewMetric {
    pub base: Arc<Samples>,
    pub samples: Samples,
    pub name: String,
    pub choices: Choices,
}

#[derive(Default)]
pub struct AnalysisState {
    pub open: bool,
    pub inputs: Inputs,
    /// The inputs the shown (or pending) result belongs to.
    computed: Option<Inputs>,
    pub result: Option<Result<Arc<Outputs>, String>>,
    task: Task<(Inputs, Result<Outputs, String>)>,
    /// Schema detection for new samples.
    detect_task: Task<Detected>,
    /// A new metric column being computed.
    pub(super) metric_task: Task<Result<NewMetric, String>>,
    /// The new-metric editor.
    pub new_name: String,
    pub new_expr: String,
    pub new_error: Option<String>,
    choices: Choices,
}

impl AnalysisState {
    /// New samples: defaults from the detected run schema (hyperparameters, prompt, a
    /// score-like metric), detected in the background for large sets.
    pub fn reset_for(&mut self, ctx: &egui::Context, samples: &Arc<Samples>) {
        self.computed = None;
        self.result = None;
        let s = samples.clone();
        self.detect_task
            .start(ctx, s.len() <= INLINE_ROWS, move || Detected {
                choices: Choices::of(&s),
                schema: analysis::detect_schema(&s),
                default_metric: colors::default_color_column(&s),
            });
        self.take_detected();
    }

    fn take_detected(&mut self) {
        let Some(d) = self.detect_task.poll() else {
            return;
        };
        self.choices = d.choices;
        let metrics = &self.choices.metrics;
        let keep_metric = self
            .inputs
            .metric
            .as_ref()
            .is_some_and(|m| metrics.contains(m));
        if !keep_metric {
            self.inputs.metric = d
                .default_metric
                .filter(|c| metrics.contains(c))
                .or_else(|| metrics.first().cloned());
        }
        self.inputs.by = d.schema.hyperparameters;
        self.inputs.prompt = d.schema.prompt;
        self.computed = None;
        self.result = None;
    }

    /// The prompt column in use (detected or chosen), if any.
    pub fn prompt_column(&self) -> Option<String> {
        self.inputs.prompt.clone()
    }

    /// The metric and group-by candidates (when columns were added or replaced).
    pub fn set_choices(&mut self, choices: Choices) {
        self.choices = choices;
    }

    /// Whether a table / curves computation is running.
    pub fn running(&self) -> bool {
        self.task.busy()
    }

    /// Start a computation when the inputs changed; collect a finished one (a computation
    /// that panicked ends with its message as the result).
    pub fn poll(&mut self, ctx: &egui::Context, samples: Option<&Arc<Samples>>) {
        self.take_detected();
        match self.task.poll_outcome() {
            Some(Ok((inputs, result))) if inputs == self.inputs => {
                self.result = Some(result.map(Arc::new));
            }
            Some(Err(panic)) => self.result = Some(Err(panic)),
            _ => {}
        }
        let Some(samples) = samples else { return };
        let settled = self.computed.as_ref() == Some(&self.inputs);
        if !self.open || self.running() || self.detect_task.busy() || settled {
            return;
        }
        self.computed = Some(self.inputs.clone());
        let Some(metric) = self.inputs.metric.clone() else {
            self.result = Some(Err("choose a metric".into()));
            return;
        };
        let (inputs, samples) = (self.inputs.clone(), samples.clone());
        self.task.start(ctx, false, move || {
            let result = compute(&samples, &inputs, &metric);
            (inputs, result)
        });
    }
}

/// The per-setting table and (with a prompt column) the best-of-N curves.
fn compute(samples: &Samples, inputs: &Inputs, metric: &str) -> Result<Outputs, String> {
    let by = &inputs.by;
    let prompt = inputs.prompt.as_deref();
    let table =
        analysis::settings_table(samples, by, metric, prompt, None).map_err(|e| e.to_string())?;
    let curves = match prompt {
        Some(p) => Some(analysis::best_of_n(samples, by, metric, p).map_err(|e| e.to_string())?),
        None => None,
    };
    Ok(Outputs { table, curves })
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

pub fn window(ctx: &egui::Context, state: &AnalysisState, samples: &Samples) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let mut open = state.open;
    let mut inputs = state.inputs.clone();
    let (mut new_name, mut new_expr) = (state.new_name.clone(), state.new_expr.clone());
    egui::Window::new("Analysis")
        .open(&mut open)
        .default_size([640.0, 700.0])
        .vscroll(true)
        .show(ctx, |ui| {
            let metrics = &state.choices.metrics;
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
                        for m in metrics {
                            let on = inputs.metric.as_deref() == Some(m.as_str());
                            if ui.selectable_label(on, m).clicked() {
                                inputs.metric = Some(m.clone());
                            }
                        }
                    })
                    .response
                    .labelled_by(l.id);
                let l = ui.label("prompt");
                egui::ComboBox::from_id_salt("analysis-prompt")
                    .selected_text(inputs.prompt.clone().unwrap_or_else(|| "none".into()))
                    .show_ui(ui, |ui| {
                        if ui
                            .selectable_label(inputs.prompt.is_none(), "none")
                            .clicked()
                        {
                            inputs.prompt = None;
                        }
                        for c in &samples.columns {
                            if c.name == samples.text_column {
                                continue;
                            }
                            let on = inputs.prompt.as_deref() == Some(c.name.as_str());
                            if ui.selectable_label(on, &c.name).clicked() {
                                inputs.prompt = Some(c.name.clone());
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
                    egui::TextEdit::singleline(&mut new_name)
                        .desired_width(90.0)
                        .hint_text("adj_score"),
                )
                .labelled_by(l.id);
                let l = ui.label("=");
                ui.add(
                    egui::TextEdit::singleline(&mut new_expr)
                        .desired_width(260.0)
                        .code_editor()
                        .hint_text("score - 0.02 * len_words"),
                )
                .labelled_by(l.id);
                if ui.button("Add metric").clicked() {
                    out.push(AppCommand::AddMetric(
                        new_name.trim().to_string(),
                        new_expr.trim().to_string(),
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
                let prompt = inputs.prompt.clone();
                let mut choices: Vec<String> = state
                    .choices
                    .groups
                    .iter()
                    .filter(|c| Some(*c) != prompt.as_ref())
                    .cloned()
                    .collect();
                for c in &inputs.by {
                    if !choices.contains(c) {
                        choices.push(c.clone());
                    }
                }
                for c in choices {
                    let mut on = inputs.by.contains(&c);
                    if ui.checkbox(&mut on, &c).changed() {
                        if on {
                            inputs.by.push(c.clone());
                        } else {
                            inputs.by.retain(|b| b != &c);
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
                    if state.running() {
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
    if inputs != state.inputs {
        out.push(AppCommand::SetAnalysisInputs(inputs));
    }
    if (new_name.as_str(), new_expr.as_str()) != (state.new_name.as_str(), state.new_expr.as_str())
    {
        out.push(AppCommand::EditNewMetric(new_name, new_expr));
    }
    if !open {
        out.push(AppCommand::ToggleAnalysis);
    }
    out
}

fn table(ui: &mut egui::Ui, inputs: &Inputs, rows: &[SettingRow], out: &mut Vec<AppCommand>) {
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
                            out.push(AppCommand::Highlight(label, r.rows.clone()));
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
