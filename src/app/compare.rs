//! The compare view: a split column (`source`, model, temperature, any category or number
//! with few values) and two of its values A and B. The map then shows the density difference
//! (share of A − share of B, `render::difference`, rendered on the map's worker like the
//! points) or only A's, only B's or both groups' points; the Regions window adds each
//! region's counts and shares of A and B, their ratio and a test of the shift
//! (`analysis::region_shift`). **Side by side** splits the map into two panes sharing one
//! view, A's points on the left and B's on the right (each pane's render is a request of its
//! own on the map's worker, [`pane_classes`] hiding the other rows). Its state, its
//! side-panel section and its background work (the split columns' values, each row's group)
//! live here.

use std::sync::Arc;

use eframe::egui::{self, RichText};

use super::background::{INLINE_ROWS, Task};
use super::{AppCommand, AppState, AtlasApp};
use crate::render::PointClass;
use crate::render::colors::Legend;
use crate::render::difference::{DiffParams, GROUP_A, GROUP_B, row_groups};
use crate::render::difference::{SplitColumn, split_columns};
use crate::util::text::truncate_chars;

/// What the map shows of the two groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CompareShow {
    /// The density difference: share of A − share of B.
    #[default]
    Difference,
    /// Only A's points (the rest hidden).
    OnlyA,
    /// Only B's points.
    OnlyB,
    /// A's and B's points.
    Both,
}

/// What the compare section asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareInputs {
    /// The section is open: the map shows the comparison once a pair is chosen.
    pub on: bool,
    pub column: Option<String>,
    pub a: Option<String>,
    pub b: Option<String>,
    pub show: CompareShow,
    /// The difference's smoothing (Gaussian σ in points).
    pub sigma_px: f32,
    /// Two panes, A's points and B's, sharing one view (in place of `show`).
    pub side_by_side: bool,
}

impl Default for CompareInputs {
    fn default() -> Self {
        CompareInputs {
            on: false,
            column: None,
            a: None,
            b: None,
            show: CompareShow::Difference,
            sigma_px: DiffParams::default().sigma_px,
            side_by_side: false,
        }
    }
}

/// (split column, A, B).
pub type GroupKey = (String, String, String);

/// Each row's group ([`GROUP_A`], [`GROUP_B`] or [`GROUP_NONE`]) for one pair.
#[derive(Debug)]
pub struct Groups {
    pub key: GroupKey,
    pub of_row: Vec<u8>,
    pub n_a: usize,
    pub n_b: usize,
    /// Bumped for every new `Groups` (the renderer's and the regions' cache key).
    pub version: u64,
}

/// What the map needs to draw A's and B's points in two panes side by side.
#[derive(Clone)]
pub struct Panes {
    pub groups: Arc<Groups>,
    /// Each pane's title: "A · column = value · N rows", then B's.
    pub titles: [String; 2],
}

/// The classes of one pane: `base` with every row outside `group` hidden.
pub fn pane_classes(base: &[PointClass], of_row: &[u8], group: u8) -> Vec<PointClass> {
    base.iter()
        .enumerate()
        .map(|(i, &c)| {
            if of_row.get(i) == Some(&group) {
                c
            } else {
                PointClass::Hidden
            }
        })
        .collect()
}

/// What the map needs to draw the difference.
#[derive(Clone)]
pub struct DiffSpec {
    pub groups: Arc<Groups>,
    pub params: DiffParams,
    pub legend: Legend,
}

#[derive(Default)]
pub struct CompareState {
    pub inputs: CompareInputs,
    /// The split columns of the shown samples (and the samples they are for).
    pub columns: Option<(usize, Arc<Vec<SplitColumn>>)>,
    columns_task: Task<(usize, Vec<SplitColumn>)>,
    columns_started: Option<usize>,
    /// The rows' groups for the chosen pair, when they are for it.
    pub groups: Option<Arc<Groups>>,
    groups_task: Task<Groups>,
    groups_started: Option<GroupKey>,
    next_version: u64,
}

impl CompareState {
    /// A new file: its columns are found again; the section stays open or closed.
    pub fn reset(&mut self) {
        let inputs = CompareInputs {
            on: self.inputs.on,
            sigma_px: self.inputs.sigma_px,
            show: self.inputs.show,
            side_by_side: self.inputs.side_by_side,
            ..CompareInputs::default()
        };
        *self = CompareState {
            inputs,
            next_version: self.next_version,
            ..CompareState::default()
        };
    }

    /// The chosen pair, when the section is open and two different values are chosen.
    pub fn key(&self) -> Option<GroupKey> {
        let i = &self.inputs;
        if !i.on || i.a == i.b {
            return None;
        }
        Some((i.column.clone()?, i.a.clone()?, i.b.clone()?))
    }

    /// The groups when they are for the chosen pair.
    pub fn current(&self) -> Option<&Arc<Groups>> {
        let key = self.key()?;
        self.groups.as_ref().filter(|g| g.key == key)
    }

    /// The split column chosen, with its values.
    pub fn column(&self) -> Option<&SplitColumn> {
        let name = self.inputs.column.as_ref()?;
        self.columns.as_ref()?.1.iter().find(|c| &c.name == name)
    }

    /// What the map draws as the difference, when it shows it (σ in points: the map
    /// scales it to pixels).
    pub fn difference(&self) -> Option<DiffSpec> {
        if self.inputs.show != CompareShow::Difference || self.inputs.side_by_side {
            return None;
        }
        let g = self.current()?.clone();
        let (column, a, b) = g.key.clone();
        Some(DiffSpec {
            legend: Legend::Difference {
                column,
                a,
                b,
                n_a: g.n_a,
                n_b: g.n_b,
            },
            params: DiffParams {
                sigma_px: self.inputs.sigma_px,
            },
            groups: g,
        })
    }

    /// The groups whose points are shown (the rest hidden), when the map shows points of
    /// the pair: which groups are visible.
    pub fn visible(&self) -> Option<(Arc<Groups>, [bool; 3])> {
        if self.inputs.side_by_side {
            return None;
        }
        let g = self.current()?.clone();
        let show = match self.inputs.show {
            CompareShow::Difference => return None,
            CompareShow::OnlyA => [false, true, false],
            CompareShow::OnlyB => [false, false, true],
            CompareShow::Both => [false, true, true],
        };
        Some((g, show))
    }

    /// The two panes, when the map shows the pair side by side.
    pub fn panes(&self) -> Option<Panes> {
        if !self.inputs.side_by_side {
            return None;
        }
        let g = self.current()?.clone();
        let (column, a, b) = &g.key;
        let title = |name: &str, value: &str, n: usize| {
            format!(
                "{name} · {column} = {} · {} rows",
                truncate_chars(value, 40),
                crate::util::format::thousands(n)
            )
        };
        Some(Panes {
            titles: [title("A", a, g.n_a), title("B", b, g.n_b)],
            groups: g,
        })
    }

    /// Whether its background work is running (tests wait for it).
    pub fn busy(&self) -> bool {
        self.columns_task.busy() || self.groups_task.busy()
    }
}

impl AtlasApp {
    /// New compare inputs from the side panel: a new column picks its first and last values
    /// as A and B; what the map shows follows.
    pub(super) fn set_compare(&mut self, ctx: &egui::Context, mut inputs: CompareInputs) {
        let c = &mut self.state.compare;
        if inputs.column != c.inputs.column {
            let values = inputs.column.as_ref().and_then(|name| {
                c.columns
                    .as_ref()
                    .and_then(|(_, cols)| cols.iter().find(|s| &s.name == name))
                    .map(|s| s.values.clone())
            });
            inputs.a = values
                .as_ref()
                .and_then(|v| v.first())
                .map(|v| v.label.clone());
            inputs.b = values
                .as_ref()
                .and_then(|v| v.last())
                .map(|v| v.label.clone());
        }
        c.inputs = inputs;
        self.poll_compare(ctx);
        self.reclass(ctx);
    }

    /// Take in the split columns and the rows' groups; start what the inputs now need.
    pub(super) fn poll_compare(&mut self, ctx: &egui::Context) {
        let Some(samples) = self.state.map.samples.clone() else {
            return;
        };
        let mut regroup = false;
        let c = &mut self.state.compare;
        let id = Arc::as_ptr(&samples) as usize;
        if let Some((for_id, cols)) = c.columns_task.poll() {
            c.columns = Some((for_id, Arc::new(cols)));
        }
        if !c.inputs.on {
            return;
        }
        let have = c.columns.as_ref().is_some_and(|(i, _)| *i == id);
        if !have && c.columns_started != Some(id) {
            c.columns_started = Some(id);
            let s = samples.clone();
            c.columns_task
                .start(ctx, samples.len() <= INLINE_ROWS, move || {
                    (id, split_columns(&s))
                });
            if let Some((for_id, cols)) = c.columns_task.poll() {
                c.columns = Some((for_id, Arc::new(cols)));
            }
        }
        if let Some(mut g) = c.groups_task.poll() {
            c.next_version += 1;
            g.version = c.next_version;
            c.groups = Some(Arc::new(g));
            regroup = true;
        }
        if let Some(key) = c.key()
            && c.groups.as_ref().is_none_or(|g| g.key != key)
            && c.groups_started.as_ref() != Some(&key)
            && let Some(column) = c.column().cloned()
        {
            let find = |label: &str| column.values.iter().find(|v| v.label == label).cloned();
            if let (Some(a), Some(b)) = (find(&key.1), find(&key.2)) {
                c.groups_started = Some(key.clone());
                let s = samples.clone();
                c.groups_task
                    .start(ctx, samples.len() <= INLINE_ROWS, move || {
                        let of_row = row_groups(&s, &column, &a, &b);
                        let n_a = of_row.iter().filter(|&&g| g == GROUP_A).count();
                        let n_b = of_row.iter().filter(|&&g| g == GROUP_B).count();
                        Groups {
                            key,
                            of_row,
                            n_a,
                            n_b,
                            version: 0,
                        }
                    });
                if let Some(mut g) = c.groups_task.poll() {
                    c.next_version += 1;
                    g.version = c.next_version;
                    c.groups = Some(Arc::new(g));
                    regroup = true;
                }
            }
        }
        if regroup && self.state.compare.visible().is_some() {
            self.reclass(ctx);
        }
    }

    /// Wait for the compare view's background work (tests and benches).
    pub fn wait_for_compare(&mut self, ctx: &egui::Context) {
        for _ in 0..3 {
            self.state.compare.columns_task.finish();
            self.state.compare.groups_task.finish();
            self.poll_compare(ctx);
        }
        self.wait_for_paint();
    }
}

/// The side panel's "Compare" section (open = compare on).
pub fn section(ui: &mut egui::Ui, state: &AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let c = &state.compare;
    let header = egui::CollapsingHeader::new(RichText::new("Compare").heading())
        .id_salt("compare-section")
        .open(Some(c.inputs.on))
        .show(ui, |ui| body(ui, c, &mut out));
    if header.header_response.clicked() {
        out.push(AppCommand::SetCompare(CompareInputs {
            on: !c.inputs.on,
            ..c.inputs.clone()
        }));
    }
    out
}

fn body(ui: &mut egui::Ui, c: &CompareState, out: &mut Vec<AppCommand>) {
    let Some((_, columns)) = &c.columns else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Finding the columns to split by…");
        });
        return;
    };
    if columns.is_empty() {
        ui.label("No column with 2 to 64 values to split the rows by.");
        return;
    }
    let mut inputs = c.inputs.clone();
    let shown = |v: &Option<String>| {
        v.as_deref().map_or_else(
            || "choose".to_string(),
            |s| truncate_chars(s, 20).to_string(),
        )
    };
    egui::Grid::new("compare-inputs")
        .num_columns(2)
        .show(ui, |ui| {
            let l = ui.label("split by");
            egui::ComboBox::from_id_salt("compare-column")
                .width(140.0)
                .selected_text(shown(&inputs.column))
                .show_ui(ui, |ui| {
                    for col in columns.iter() {
                        let on = inputs.column.as_deref() == Some(col.name.as_str());
                        if ui.selectable_label(on, &col.name).clicked() {
                            inputs.column = Some(col.name.clone());
                        }
                    }
                })
                .response
                .labelled_by(l.id);
            ui.end_row();
            if let Some(column) = c.column() {
                for (name, value) in [("A (red)", &mut inputs.a), ("B (blue)", &mut inputs.b)] {
                    let l = ui.label(name);
                    egui::ComboBox::from_id_salt(("compare-value", name))
                        .width(140.0)
                        .selected_text(shown(value))
                        .show_ui(ui, |ui| {
                            for v in &column.values {
                                let on = value.as_deref() == Some(v.label.as_str());
                                let text =
                                    format!("{} ({})", truncate_chars(&v.label, 40), v.count);
                                if ui.selectable_label(on, text).clicked() {
                                    *value = Some(v.label.clone());
                                }
                            }
                        })
                        .response
                        .labelled_by(l.id);
                    ui.end_row();
                }
            }
        });
    if c.column().is_some() {
        ui.horizontal(|ui| {
            if ui
                .small_button("swap A and B")
                .on_hover_text("A becomes B and B becomes A")
                .clicked()
            {
                std::mem::swap(&mut inputs.a, &mut inputs.b);
            }
            if inputs.a.is_some() && inputs.a == inputs.b {
                ui.colored_label(ui.visuals().warn_fg_color, "A = B: pick two values");
            }
        });
        ui.checkbox(&mut inputs.side_by_side, "Side by side")
            .on_hover_text(
                "Two panes sharing one view: A's points on the left, B's on the right, in the \
             current colouring (each group's density in density mode)",
            );
        ui.add_enabled_ui(!inputs.side_by_side, |ui| ui.horizontal_wrapped(|ui| {
            ui.label("show");
            for (show, label, tip) in [
                (
                    CompareShow::Difference,
                    "difference",
                    "Per pixel: smoothed share of A vs share of B, (A − B) / (A + B): red more A, blue more B, ±0.5 = 3×",
                ),
                (CompareShow::OnlyA, "A", "Only A's points"),
                (CompareShow::OnlyB, "B", "Only B's points"),
                (CompareShow::Both, "A and B", "A's and B's points, the rest hidden"),
            ] {
                ui.radio_value(&mut inputs.show, show, label).on_hover_text(tip);
            }
        }));
        if inputs.show == CompareShow::Difference && !inputs.side_by_side {
            ui.add(
                egui::Slider::new(&mut inputs.sigma_px, 2.0..=40.0)
                    .text("smoothing")
                    .suffix(" px"),
            )
            .on_hover_text("The Gaussian kernel's σ, in screen points");
        }
        match c.current() {
            Some(g) => {
                let note = if inputs.side_by_side {
                    ""
                } else {
                    "; each group's density is divided by its size"
                };
                ui.label(
                    RichText::new(format!(
                        "A {} rows · B {} rows{note}",
                        crate::util::format::thousands(g.n_a),
                        crate::util::format::thousands(g.n_b)
                    ))
                    .small()
                    .weak(),
                );
            }
            None if c.key().is_some() => {
                ui.spinner();
            }
            None => {}
        }
    }
    if inputs != c.inputs {
        out.push(AppCommand::SetCompare(inputs));
    }
}
