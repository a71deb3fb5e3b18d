//! The Analysis window: pick a metric and the columns to group by, see the per-setting table
//! (click a row to select its samples on the map), the settings paired on their shared prompts
//! (every pair, or each against a baseline; click a row to select A's and B's samples on
//! their shared prompts) and best-of-N / pass@N curves; define new metrics
//! with expressions. Both tables sort by any column (click its header; again to reverse).
//! Tables and curves are computed on a background thread.

use std::cmp::Ordering;
use std::sync::Arc;

use eframe::egui::{self, RichText};
use egui_extras::{Column as TableColumn, TableBuilder};

use super::AppCommand;
use super::background::{INLINE_ROWS, Task};
use crate::analysis::region_stats::default_worse;
use crate::analysis::{self, Curve, PairRow, Paired, SettingRow};
use crate::dataset::{ColumnKind, Samples};
use crate::render::colors;
use crate::util::text::natural_cmp;

/// What the window computes from.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Inputs {
    pub metric: Option<String>,
    pub by: Vec<String>,
    pub prompt: Option<String>,
    /// The paired table's baseline (values of the `by` columns); `None`: every pair.
    pub baseline: Option<Vec<String>>,
}

pub struct Outputs {
    pub table: Vec<SettingRow>,
    pub curves: Option<Vec<Curve>>,
    /// The settings paired on shared prompts (with a prompt column), or why not.
    pub paired: Option<Result<Paired, String>>,
    /// Each row's prompt and the prompts each setting has a value on (with a prompt column):
    /// what a click on a paired row selects.
    pub prompts: Option<PromptIndex>,
}

/// Which prompt each row answers and which prompts each setting of the per-setting table
/// has a metric value on (as the paired table counts shared prompts).
pub struct PromptIndex {
    /// Prompt id of each row; `u32::MAX`: no prompt (a null).
    pub of_row: Vec<u32>,
    /// Per setting (in the order of `Outputs::table`): its prompt ids with a value, sorted.
    pub with_value: Vec<Vec<u32>>,
    pub n_prompts: usize,
}

impl PromptIndex {
    fn new(
        samples: &Samples,
        metric: &str,
        prompt: &str,
        table: &[SettingRow],
    ) -> Result<PromptIndex, String> {
        let text = analysis::string_values(samples, prompt).map_err(|e| e.to_string())?;
        let (values, _) = analysis::metric_values(samples, metric).map_err(|e| e.to_string())?;
        let has_prompt: Vec<bool> = match samples.frame.column(prompt) {
            Ok(c) => c
                .as_materialized_series()
                .is_not_null()
                .iter()
                .map(|v| v == Some(true))
                .collect(),
            Err(_) => vec![true; samples.len()],
        };
        let mut ids: rustc_hash::FxHashMap<&str, u32> = Default::default();
        let of_row: Vec<u32> = text
            .iter()
            .zip(&has_prompt)
            .map(|(t, &ok)| {
                if !ok {
                    return u32::MAX;
                }
                let next = ids.len() as u32;
                *ids.entry(t.as_str()).or_insert(next)
            })
            .collect();
        let with_value = table
            .iter()
            .map(|r| {
                let mut p: Vec<u32> = r
                    .rows
                    .iter()
                    .filter(|&&i| values.get(i as usize).is_some_and(|v| v.is_some()))
                    .map(|&i| of_row[i as usize])
                    .filter(|&p| p != u32::MAX)
                    .collect();
                p.sort_unstable();
                p.dedup();
                p
            })
            .collect();
        Ok(PromptIndex {
            of_row,
            with_value,
            n_prompts: ids.len(),
        })
    }
}

/// The rows of settings `a` and `b` whose prompt both have a metric value on (increasing),
/// and how many such prompts there are; `None` when a setting is not in the table.
pub fn pair_rows(o: &Outputs, a: &[String], b: &[String]) -> Option<(Vec<u32>, usize)> {
    let index = o.prompts.as_ref()?;
    let find = |s: &[String]| o.table.iter().position(|r| r.setting == s);
    let (ia, ib) = (find(a)?, find(b)?);
    let mut shared = vec![false; index.n_prompts];
    let mut n_shared = 0;
    let mut in_b = vec![false; index.n_prompts];
    for &p in &index.with_value[ib] {
        in_b[p as usize] = true;
    }
    for &p in &index.with_value[ia] {
        if in_b[p as usize] {
            shared[p as usize] = true;
            n_shared += 1;
        }
    }
    let on_shared = |r: &u32| {
        let p = index.of_row[*r as usize];
        p != u32::MAX && shared[p as usize]
    };
    // The two settings' rows are disjoint and each increasing: merge them.
    let (mut ra, mut rb) = (
        o.table[ia]
            .rows
            .iter()
            .copied()
            .filter(on_shared)
            .peekable(),
        o.table[ib]
            .rows
            .iter()
            .copied()
            .filter(on_shared)
            .peekable(),
    );
    let mut rows = Vec::new();
    loop {
        let next = match (ra.peek(), rb.peek()) {
            (Some(x), Some(y)) if x <= y => ra.next(),
            (Some(_), Some(_)) => rb.next(),
            (Some(_), None) => ra.next(),
            (None, Some(_)) => rb.next(),
            (None, None) => break,
        };
        rows.extend(next);
    }
    Some((rows, n_shared))
}

/// The window's two tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnalysisTable {
    Settings,
    Paired,
}

/// A column of a table to sort by: a setting column (the i-th `by` column of the settings
/// table; A = 0, B = 1 in the paired table) or a statistic, by its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortColumn {
    Setting(usize),
    Stat(&'static str),
}

/// Curves beyond this many get a folded, scrolling list instead of a legend over the plot.
const MAX_LEGEND: usize = 12;

/// What the best-of-N section says when there is no curve to draw.
pub const ONE_SAMPLE_NOTE: &str =
    "one sample per prompt and setting: best-of-N needs several; this is the mean";

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
    /// (column, ascending) of each table; `None` keeps the computed order.
    pub settings_sort: Option<(SortColumn, bool)>,
    pub paired_sort: Option<(SortColumn, bool)>,
    /// The rows of each table in display order (indices into the result's rows).
    settings_order: Vec<usize>,
    paired_order: Vec<usize>,
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
                default_metric: default_metric(&s),
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
        self.inputs.baseline = None;
        self.computed = None;
        self.result = None;
        self.resort();
    }

    /// A click on a header of `table`: sort by the column, or reverse its sort.
    pub fn sort_by(&mut self, table: AnalysisTable, column: SortColumn) {
        let sort = match table {
            AnalysisTable::Settings => &mut self.settings_sort,
            AnalysisTable::Paired => &mut self.paired_sort,
        };
        *sort = match sort.take() {
            Some((old, ascending)) if old == column => Some((column, !ascending)),
            _ => Some((column, true)),
        };
        self.resort();
    }

    /// The rows of a table in display order.
    pub fn order(&self, table: AnalysisTable) -> &[usize] {
        match table {
            AnalysisTable::Settings => &self.settings_order,
            AnalysisTable::Paired => &self.paired_order,
        }
    }

    /// The per-setting table's rows as shown (sorted), when there is a result.
    pub fn settings_in_order(&self) -> Vec<&SettingRow> {
        match &self.result {
            Some(Ok(o)) => self
                .settings_order
                .iter()
                .filter_map(|&i| o.table.get(i))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The paired table's rows as shown (sorted), when there is one.
    pub fn pairs_in_order(&self) -> Vec<&PairRow> {
        match &self.result {
            Some(Ok(o)) => match &o.paired {
                Some(Ok(p)) => self
                    .paired_order
                    .iter()
                    .filter_map(|&i| p.rows.get(i))
                    .collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// Put both tables in their sort order (when the result or a sort changed; O(n log n) in
    /// the rows of a table, which are settings or pairs of settings, not samples).
    fn resort(&mut self) {
        let Some(Ok(o)) = &self.result else {
            self.settings_order.clear();
            self.paired_order.clear();
            return;
        };
        self.settings_order = sorted(&o.table, &self.settings_sort, compare_settings);
        self.paired_order = match &o.paired {
            Some(Ok(p)) => sorted(&p.rows, &self.paired_sort, compare_pairs),
            _ => Vec::new(),
        };
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
                self.resort();
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

/// The per-setting table and (with a prompt column) the paired table and best-of-N curves.
fn compute(samples: &Samples, inputs: &Inputs, metric: &str) -> Result<Outputs, String> {
    let by = &inputs.by;
    let prompt = inputs.prompt.as_deref();
    let table =
        analysis::settings_table(samples, by, metric, prompt, None).map_err(|e| e.to_string())?;
    let curves = match prompt {
        Some(p) => Some(analysis::best_of_n(samples, by, metric, p).map_err(|e| e.to_string())?),
        None => None,
    };
    let paired = prompt.map(|p| {
        analysis::paired_table(
            samples,
            by,
            metric,
            Some(p),
            inputs.baseline.as_deref(),
            default_worse(metric),
        )
        .map_err(|e| e.to_string())
    });
    let prompts = match prompt {
        // Without it a click on a paired row selects nothing; the tables still show.
        Some(p) => PromptIndex::new(samples, metric, p, &table).ok(),
        None => None,
    };
    Ok(Outputs {
        table,
        curves,
        paired,
        prompts,
    })
}

/// Row indices of `rows` sorted by `sort` (stable: equal rows keep their order).
fn sorted<T>(
    rows: &[T],
    sort: &Option<(SortColumn, bool)>,
    compare: fn(&T, &T, &SortColumn, bool) -> Ordering,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    if let Some((column, ascending)) = sort {
        order.sort_by(|&a, &b| compare(&rows[a], &rows[b], column, *ascending));
    }
    order
}

/// Numbers in the direction asked, missing (NaN) last either way.
fn by_number(a: f64, b: f64, ascending: bool) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if ascending => a.total_cmp(&b),
        _ => b.total_cmp(&a),
    }
}

fn by_text(a: &[String], b: &[String], ascending: bool) -> Ordering {
    let o = a
        .iter()
        .zip(b)
        .map(|(x, y)| natural_cmp(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal);
    if ascending { o } else { o.reverse() }
}

fn opt(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

fn compare_settings(
    a: &SettingRow,
    b: &SettingRow,
    column: &SortColumn,
    ascending: bool,
) -> Ordering {
    let num = |f: fn(&SettingRow) -> f64| by_number(f(a), f(b), ascending);
    match column {
        SortColumn::Setting(i) => by_text(
            a.setting.get(*i..*i + 1).unwrap_or_default(),
            b.setting.get(*i..*i + 1).unwrap_or_default(),
            ascending,
        ),
        SortColumn::Stat("count") => num(|r| r.count as f64),
        SortColumn::Stat("mean") => num(|r| r.mean),
        SortColumn::Stat("95% CI") => num(|r| r.ci_low).then(num(|r| r.ci_high)),
        SortColumn::Stat("median") => num(|r| r.median),
        SortColumn::Stat("failure rate") => num(|r| opt(r.failure_rate)),
        SortColumn::Stat("prompts") => num(|r| r.prompts.map_or(f64::NAN, |p| p as f64)),
        SortColumn::Stat(_) => Ordering::Equal,
    }
}

fn compare_pairs(a: &PairRow, b: &PairRow, column: &SortColumn, ascending: bool) -> Ordering {
    let num = |f: fn(&PairRow) -> f64| by_number(f(a), f(b), ascending);
    match column {
        SortColumn::Setting(0) => by_text(&a.a, &b.a, ascending),
        SortColumn::Setting(_) => by_text(&a.b, &b.b, ascending),
        SortColumn::Stat("shared") => num(|r| r.shared as f64),
        SortColumn::Stat("mean A") => num(|r| r.mean_a),
        SortColumn::Stat("mean B") => num(|r| r.mean_b),
        SortColumn::Stat("B − A") => num(|r| r.diff),
        SortColumn::Stat("95% CI") => num(|r| r.ci_low).then(num(|r| r.ci_high)),
        SortColumn::Stat("p") => num(|r| opt(r.p)),
        SortColumn::Stat("q") => num(|r| opt(r.q)),
        SortColumn::Stat("wins") => num(|r| r.wins as f64),
        SortColumn::Stat("ties") => num(|r| r.ties as f64),
        SortColumn::Stat("losses") => num(|r| r.losses as f64),
        SortColumn::Stat("win rate") => num(|r| r.win_rate),
        SortColumn::Stat(_) => Ordering::Equal,
    }
}

/// A header's text: the column's name, and its direction when the table is sorted by it.
fn header_text(name: &str, column: &SortColumn, sort: &Option<(SortColumn, bool)>) -> String {
    match sort {
        Some((c, ascending)) if c == column => {
            format!("{name} ({})", if *ascending { "asc" } else { "desc" })
        }
        _ => name.to_string(),
    }
}

/// Whether a metric candidate is really an identifier: the prompt or sample-index column, a
/// hyperparameter, a name like `id` / `*_index` / `row`, or integers that never decrease down
/// the rows (a row or instruction counter).
fn identifier_like(samples: &Samples, schema: &analysis::RunSchema, name: &str) -> bool {
    let run_column = schema.prompt.as_deref() == Some(name)
        || schema.sample_index.as_deref() == Some(name)
        || schema.hyperparameters.iter().any(|h| h == name);
    let monotone = samples
        .column_index(name)
        .is_some_and(|i| match &samples.columns[i].kind {
            ColumnKind::Numeric {
                values, min, max, ..
            } => {
                min < max
                    && values.iter().all(|v| v.fract() == 0.0)
                    && values.windows(2).all(|w| w[0] <= w[1])
            }
            _ => false,
        });
    crate::dataset::is_identifier_name(name) || run_column || monotone
}

/// The metric chosen on opening: the score-like column (the one the map colours by, see
/// `Samples::score_like_column`), else the first metric that is not an identifier.
fn default_metric(samples: &Samples) -> Option<String> {
    let metrics = metric_columns(samples);
    let schema = analysis::detect_schema(samples);
    let run_columns: Vec<&str> = schema
        .prompt
        .iter()
        .chain(&schema.sample_index)
        .chain(&schema.hyperparameters)
        .map(String::as_str)
        .collect();
    samples
        .score_like_column(&run_columns)
        .filter(|c| metrics.contains(c))
        .or_else(|| {
            metrics
                .iter()
                .find(|m| !identifier_like(samples, &schema, m))
                .cloned()
        })
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
        .default_size([860.0, 720.0])
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
                    table(ui, state, &o.table, &mut out);
                    ui.separator();
                    paired_section(ui, state, &o, &mut inputs, &mut out);
                    if let Some(curves) = &o.curves {
                        ui.separator();
                        if curves.iter().all(|c| c.points.len() <= 1) {
                            ui.label(format!("Best-of-N: {ONE_SAMPLE_NOTE}."));
                        } else {
                            plot(ui, curves);
                        }
                    } else {
                        ui.label(
                            RichText::new("Choose a prompt column for best-of-N curves.").weak(),
                        );
                    }
                }
            }
        });
    if inputs.by != state.inputs.by {
        // The baseline was a setting of the old columns.
        inputs.baseline = None;
    }
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

/// A setting as words: "model = chat-8b, temperature = 0.5" ("all" without columns).
fn setting_name(by: &[String], setting: &[String]) -> String {
    if by.is_empty() {
        return "all".to_string();
    }
    by.iter()
        .zip(setting)
        .map(|(b, v)| format!("{b} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A header button that sorts `table` by `column`.
fn sort_header(
    ui: &mut egui::Ui,
    name: &str,
    column: SortColumn,
    sort: &Option<(SortColumn, bool)>,
    clicked: &mut Option<SortColumn>,
) {
    let text = header_text(name, &column, sort);
    let button =
        egui::Button::new(RichText::new(text).strong()).wrap_mode(egui::TextWrapMode::Extend);
    if ui.add(button).clicked() {
        *clicked = Some(column);
    }
}

fn table(ui: &mut egui::Ui, state: &AnalysisState, rows: &[SettingRow], out: &mut Vec<AppCommand>) {
    let inputs = &state.inputs;
    let sort = &state.settings_sort;
    let boolean = rows.iter().any(|r| r.failure_rate.is_some());
    ui.label(
        RichText::new("Click a row to select its samples on the map; a header to sort by it.")
            .weak()
            .small(),
    );
    let order = state.order(AnalysisTable::Settings);
    let order: Vec<usize> = if order.len() == rows.len() {
        order.to_vec()
    } else {
        (0..rows.len()).collect()
    };
    let mut clicked_header = None;
    egui::ScrollArea::vertical()
        .id_salt("analysis-table")
        .max_height(260.0)
        .show(ui, |ui| {
            egui::Grid::new("analysis-grid")
                .striped(true)
                .num_columns(inputs.by.len() + 6)
                .show(ui, |ui| {
                    let h = &mut clicked_header;
                    for (i, b) in inputs.by.iter().enumerate() {
                        sort_header(ui, b, SortColumn::Setting(i), sort, h);
                    }
                    for name in ["count", "mean", "95% CI", "median"] {
                        sort_header(ui, name, SortColumn::Stat(name), sort, h);
                    }
                    if boolean {
                        sort_header(
                            ui,
                            "failure rate",
                            SortColumn::Stat("failure rate"),
                            sort,
                            h,
                        );
                    } else {
                        ui.label("");
                    }
                    sort_header(ui, "prompts", SortColumn::Stat("prompts"), sort, h);
                    ui.end_row();
                    for &i in &order {
                        let r = &rows[i];
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
                            out.push(AppCommand::Highlight(
                                setting_name(&inputs.by, &r.setting),
                                r.rows.clone(),
                            ));
                        }
                    }
                });
        });
    if let Some(c) = clicked_header {
        out.push(AppCommand::SortAnalysis(AnalysisTable::Settings, c));
    }
}

/// The paired comparison: the baseline choice, what the numbers mean, the table.
fn paired_section(
    ui: &mut egui::Ui,
    state: &AnalysisState,
    o: &Outputs,
    inputs: &mut Inputs,
    out: &mut Vec<AppCommand>,
) {
    let by = &state.inputs.by;
    ui.horizontal(|ui| {
        ui.strong("Paired on shared prompts");
        let l = ui.label("baseline");
        egui::ComboBox::from_id_salt("analysis-baseline")
            .selected_text(
                inputs
                    .baseline
                    .as_deref()
                    .map(|b| setting_name(by, b))
                    .unwrap_or_else(|| "every pair".into()),
            )
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(inputs.baseline.is_none(), "every pair")
                    .clicked()
                {
                    inputs.baseline = None;
                }
                for r in &o.table {
                    let on = inputs.baseline.as_ref() == Some(&r.setting);
                    if ui
                        .selectable_label(on, setting_name(by, &r.setting))
                        .clicked()
                    {
                        inputs.baseline = Some(r.setting.clone());
                    }
                }
            })
            .response
            .labelled_by(l.id);
    });
    let p = match &o.paired {
        None => {
            ui.label(
                RichText::new(
                    "Choose a prompt column to compare settings on the prompts they share.",
                )
                .weak(),
            );
            return;
        }
        Some(Err(e)) => {
            ui.label(RichText::new(e).weak());
            return;
        }
        Some(Ok(p)) => p,
    };
    let better = if p.higher_is_better {
        "higher"
    } else {
        "lower"
    };
    let pairs = match &p.baseline {
        Some(b) => format!("A is the baseline ({})", setting_name(by, b)),
        None => "every pair, A before B".to_string(),
    };
    ui.label(
        RichText::new(format!(
            "{pairs}. B − A: mean over the prompts both answered of the difference of their \
             per-prompt means, with a paired 95% t interval; p: paired t-test; q: \
             Benjamini–Hochberg over the rows. A win is a prompt where B is {better}; ties \
             count half in the win rate."
        ))
        .weak()
        .small(),
    );
    ui.label(
        RichText::new("Click a row to select A's and B's samples on their shared prompts.")
            .weak()
            .small(),
    );
    paired_table(ui, state, o, p, out);
}

fn paired_table(
    ui: &mut egui::Ui,
    state: &AnalysisState,
    o: &Outputs,
    p: &Paired,
    out: &mut Vec<AppCommand>,
) {
    let order = state.order(AnalysisTable::Paired);
    let order: Vec<usize> = if order.len() == p.rows.len() {
        order.to_vec()
    } else {
        (0..p.rows.len()).collect()
    };
    let sort = &state.paired_sort;
    let stats = [
        "shared", "mean A", "mean B", "B − A", "95% CI", "p", "q", "wins", "ties", "losses",
        "win rate",
    ];
    let sci = |v: Option<f64>| match v {
        None => "–".to_string(),
        Some(v) if v >= 1e-3 => format!("{v:.3}"),
        Some(v) => format!("{v:.1e}"),
    };
    let mut clicked_header = None;
    let mut clicked_row = None;
    egui::ScrollArea::horizontal()
        .id_salt("analysis-paired-scroll")
        .show(ui, |ui| {
            TableBuilder::new(ui)
                .id_salt("analysis-paired")
                .striped(true)
                .resizable(true)
                .max_scroll_height(240.0)
                .sense(egui::Sense::click())
                .columns(TableColumn::auto().at_least(60.0).clip(true), 2)
                .columns(TableColumn::auto().at_least(36.0), stats.len())
                .header(22.0, |mut header| {
                    let h = &mut clicked_header;
                    header.col(|ui| sort_header(ui, "A", SortColumn::Setting(0), sort, h));
                    header.col(|ui| sort_header(ui, "B", SortColumn::Setting(1), sort, h));
                    for name in stats {
                        header.col(|ui| sort_header(ui, name, SortColumn::Stat(name), sort, h));
                    }
                })
                .body(|body| {
                    body.rows(18.0, order.len(), |mut row| {
                        let k = order[row.index()];
                        let r = &p.rows[k];
                        let cells = [
                            r.a.join(", "),
                            r.b.join(", "),
                            r.shared.to_string(),
                            num(r.mean_a),
                            num(r.mean_b),
                            if r.diff.is_nan() {
                                "–".into()
                            } else {
                                format!("{:+.3}", r.diff)
                            },
                            format!("{} – {}", num(r.ci_low), num(r.ci_high)),
                            sci(r.p),
                            sci(r.q),
                            r.wins.to_string(),
                            r.ties.to_string(),
                            r.losses.to_string(),
                            num(r.win_rate),
                        ];
                        for c in cells {
                            row.col(|ui| {
                                ui.add(egui::Label::new(c).truncate().selectable(false));
                            });
                        }
                        // The table senses clicks: a click anywhere on the row.
                        if row.response().clicked() {
                            clicked_row = Some(k);
                        }
                    });
                });
        });
    if let Some(c) = clicked_header {
        out.push(AppCommand::SortAnalysis(AnalysisTable::Paired, c));
    }
    if let Some(k) = clicked_row
        && let Some(r) = p.rows.get(k)
        && let Some((rows, shared)) = pair_rows(o, &r.a, &r.b)
    {
        let by = &state.inputs.by;
        let label = format!(
            "{} and {} on {shared} shared prompts",
            setting_name(by, &r.a),
            setting_name(by, &r.b)
        );
        out.push(AppCommand::Highlight(label, rows));
    }
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
    // A legend over many curves would cover the plot: past MAX_LEGEND they are listed below.
    let legend = curves.len() <= MAX_LEGEND;
    let mut plot = Plot::new("bon-plot");
    if legend {
        plot = plot.legend(Legend::default());
    }
    plot.height(260.0)
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
    if !legend {
        egui::CollapsingHeader::new(format!("{} curves", curves.len()))
            .id_salt("bon-curves")
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("bon-curve-list")
                    .max_height(140.0)
                    .show(ui, |ui| {
                        for (i, c) in curves.iter().enumerate() {
                            ui.horizontal(|ui| {
                                let color = super::scatter::c32(colors::category(i));
                                let (rect, _) = ui.allocate_exact_size(
                                    egui::vec2(10.0, 10.0),
                                    egui::Sense::hover(),
                                );
                                ui.painter().rect_filled(rect, 2.0, color);
                                ui.label(c.setting.join(", "));
                            });
                        }
                    });
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples_of(lines: &[serde_json::Value]) -> (tempfile::TempDir, Samples) {
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        crate::testing::samples_from_jsonl(&body)
    }

    #[test]
    fn the_default_metric_is_score_like_never_an_identifier() {
        // An instruction counter, a prompt index and a row number come first; win_prob is the
        // score.
        let rows: Vec<serde_json::Value> = (0..40)
            .map(|i| {
                serde_json::json!({
                    "row": i, "instruction_index": i / 4, "model": format!("m{}", i % 4),
                    "n_tokens": 100 + (i * 37) % 50, "win_prob": (i % 7) as f64 / 7.0,
                    "output": format!("answer number {i}"),
                })
            })
            .collect();
        let (_d, s) = samples_of(&rows);
        assert_eq!(metric_columns(&s)[0], "row");
        assert_eq!(default_metric(&s).as_deref(), Some("win_prob"));
        // Without a score-like name: the first metric that is not an identifier.
        let rows: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|mut r| {
                r.as_object_mut().unwrap().remove("win_prob");
                r
            })
            .collect();
        let (_d, s) = samples_of(&rows);
        assert_eq!(default_metric(&s).as_deref(), Some("n_tokens"));
    }
}
