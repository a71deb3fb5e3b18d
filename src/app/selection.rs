//! The selection: rows chosen by box, lasso or an analysis row; how a new region combines with
//! it; and the table of selected rows (sortable, chosen columns, export).

use std::sync::Arc;

use eframe::egui::{self, RichText};
use egui_extras::{Column as TableColumn, TableBuilder};

use super::background::{INLINE_ROWS, Task};
use super::scatter::{self, SelectOp};
use super::{AppCommand, AppState};
use crate::dataset::{ColumnKind, MISSING_CODE, Samples};
use crate::spatial::GridIndex;
use crate::util::text::truncate_chars;

/// A set of selected rows: drawn on top, everything else faded.
pub struct Selection {
    pub label: String,
    /// Selected rows in increasing order.
    pub rows: Arc<Vec<u32>>,
    /// " · mean COL x" of the colour column over the selection (kept up to date by
    /// `recolor`, not recomputed every frame).
    pub mean: Option<String>,
}

impl Selection {
    pub fn new(label: String, rows: Vec<u32>, n: usize) -> Selection {
        let mut rows = rows;
        rows.retain(|&r| (r as usize) < n);
        rows.sort_unstable();
        rows.dedup();
        Selection {
            label,
            rows: Arc::new(rows),
            mean: None,
        }
    }

    pub fn count(&self) -> usize {
        self.rows.len()
    }
}

/// Combine sorted `old` and sorted `new` rows.
pub fn combine(old: &[u32], new: &[u32], op: SelectOp) -> Vec<u32> {
    match op {
        SelectOp::Replace => new.to_vec(),
        SelectOp::Add => {
            let mut out = Vec::with_capacity(old.len() + new.len());
            let (mut i, mut j) = (0, 0);
            while i < old.len() || j < new.len() {
                let take_old = j >= new.len() || (i < old.len() && old[i] <= new[j]);
                let v = if take_old { old[i] } else { new[j] };
                if take_old {
                    i += 1;
                } else {
                    j += 1;
                }
                if out.last() != Some(&v) {
                    out.push(v);
                }
            }
            out
        }
        SelectOp::Subtract => {
            let mut j = 0;
            old.iter()
                .copied()
                .filter(|&v| {
                    while j < new.len() && new[j] < v {
                        j += 1;
                    }
                    !(j < new.len() && new[j] == v)
                })
                .collect()
        }
    }
}

/// The rows of `polygon` that pass the filter, combined with the old selection.
pub fn region_rows(
    index: &GridIndex,
    coords: &[[f32; 2]],
    polygon: &[[f32; 2]],
    pass: Option<&[bool]>,
    old: &[u32],
    op: SelectOp,
) -> Vec<u32> {
    let mut rows = index.in_polygon(coords, polygon);
    if let Some(pass) = pass {
        rows.retain(|&r| pass[r as usize]);
    }
    combine(old, &rows, op)
}

/// The selection table's state: which columns it shows and how it is sorted.
#[derive(Default)]
pub struct TableState {
    pub open: bool,
    /// Extra columns (besides row and text); `None` until a file opens.
    pub columns: Option<Vec<String>>,
    /// (column, ascending); `None` keeps row order.
    pub sort: Option<(String, bool)>,
    /// The selection's rows in display order, and which selection/sort it was made for.
    pub order: Option<(usize, Arc<Vec<u32>>)>,
    pub task: Task<(usize, Vec<u32>)>,
    /// Bumped when the selection or sort changes.
    pub version: usize,
}

impl TableState {
    pub fn reset_for(&mut self, samples: &Samples, color_by: Option<&str>) {
        let mut cols: Vec<String> = color_by.map(|c| vec![c.to_string()]).unwrap_or_default();
        for c in samples.columns.iter().filter(|c| c.colorable()) {
            if cols.len() >= 4 {
                break;
            }
            if !cols.contains(&c.name) && c.name != samples.text_column {
                cols.push(c.name.clone());
            }
        }
        self.columns = Some(cols);
        self.sort = None;
        self.order = None;
        self.version += 1;
    }

    /// A click on the header of `column`: sort by it, reverse the sort, or ("#") row order.
    pub fn sort_by(&mut self, column: String) {
        self.sort = match (&self.sort, column.as_str()) {
            (_, "#") => None,
            (Some((old, asc)), _) if *old == column => Some((column, !asc)),
            _ => Some((column, true)),
        };
        self.version += 1;
    }

    /// Sort the selection (in the background when large) after it or the sort changed.
    pub fn refresh(&mut self, ctx: &egui::Context, samples: &Arc<Samples>, rows: &Arc<Vec<u32>>) {
        if let Some((version, order)) = self.task.poll()
            && version == self.version
        {
            self.order = Some((version, Arc::new(order)));
        }
        if self.order.as_ref().is_some_and(|o| o.0 == self.version) || self.task.busy() {
            return;
        }
        let Some((column, ascending)) = self.sort.clone() else {
            self.order = Some((self.version, rows.clone()));
            return;
        };
        let (samples, rows, version) = (samples.clone(), rows.clone(), self.version);
        self.task.start(ctx, rows.len() <= INLINE_ROWS, move || {
            (version, sorted(&samples, &rows, &column, ascending))
        });
        if let Some((version, order)) = self.task.poll() {
            self.order = Some((version, Arc::new(order)));
        }
    }
}

/// `rows` ordered by `column` (missing values last in either direction; ties by row).
pub fn sorted(samples: &Samples, rows: &[u32], column: &str, ascending: bool) -> Vec<u32> {
    let mut out = rows.to_vec();
    let dir = |o: std::cmp::Ordering| if ascending { o } else { o.reverse() };
    if column == samples.text_column {
        let t = &samples.texts;
        out.sort_by(|&a, &b| dir(t[a as usize].cmp(&t[b as usize])).then(a.cmp(&b)));
        return out;
    }
    let Some(i) = samples.column_index(column) else {
        return out;
    };
    match &samples.columns[i].kind {
        ColumnKind::Numeric { values, .. } => {
            out.sort_by(|&a, &b| {
                let (x, y) = (values[a as usize], values[b as usize]);
                match (x.is_finite(), y.is_finite()) {
                    (true, true) => dir(x.total_cmp(&y)),
                    (a_ok, b_ok) => b_ok.cmp(&a_ok),
                }
                .then(a.cmp(&b))
            });
        }
        ColumnKind::Category { levels, codes, .. } => {
            // Rank levels once in natural order.
            let mut by_name: Vec<usize> = (0..levels.len()).collect();
            by_name.sort_by(|&a, &b| crate::util::text::natural_cmp(&levels[a], &levels[b]));
            let mut rank = vec![0u32; levels.len()];
            for (r, &l) in by_name.iter().enumerate() {
                rank[l] = r as u32;
            }
            let key = |row: u32| {
                let c = codes[row as usize];
                (
                    c == MISSING_CODE,
                    if c == MISSING_CODE {
                        0
                    } else {
                        rank[c as usize]
                    },
                )
            };
            out.sort_by(|&a, &b| {
                let (ka, kb) = (key(a), key(b));
                ka.0.cmp(&kb.0).then(dir(ka.1.cmp(&kb.1))).then(a.cmp(&b))
            });
        }
        _ => {}
    }
    out
}

/// The selection table at the bottom of the window.
pub fn table_panel(ui: &mut egui::Ui, state: &AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let (Some(samples), Some(sel)) = (state.map.samples.clone(), state.focus.selection.as_ref())
    else {
        return out;
    };
    let rows = sel.rows.clone();
    let table = &state.overlays.table;
    egui::Panel::bottom("atlas-selection")
        .resizable(true)
        .default_size(240.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong(format!(
                    "Selection: {} rows ({}){}",
                    super::panels::thousands(rows.len()),
                    sel.label,
                    sel.mean.as_deref().unwrap_or_default()
                ));
                ui.separator();
                ui.menu_button("Columns", |ui| {
                    let mut cols = table.columns.clone().unwrap_or_default();
                    let mut edited = false;
                    for c in samples
                        .columns
                        .iter()
                        .filter(|c| c.name != samples.text_column)
                    {
                        let mut on = cols.contains(&c.name);
                        if ui.checkbox(&mut on, &c.name).changed() {
                            edited = true;
                            if on {
                                cols.push(c.name.clone());
                            } else {
                                cols.retain(|x| x != &c.name);
                            }
                        }
                    }
                    if edited {
                        out.push(AppCommand::SetTableColumns(cols));
                    }
                });
                if ui
                    .button("Export…")
                    .on_hover_text("Save the selected rows as JSONL, CSV or Parquet (Ctrl+E)")
                    .clicked()
                {
                    out.push(AppCommand::ExportSelectionDialog);
                }
                if ui.button("Zoom to").on_hover_text("Z").clicked() {
                    out.push(AppCommand::ZoomToSelection);
                }
                if ui.button("Clear").on_hover_text("Esc").clicked() {
                    out.push(AppCommand::ClearSelection);
                }
            });
            let Some((_, order)) = table.order.clone() else {
                ui.label(RichText::new("sorting…").weak());
                return;
            };
            let columns = table.columns.clone().unwrap_or_default();
            let mut clicked_header: Option<String> = None;
            let header_label = |name: &str, sort: &Option<(String, bool)>| match sort {
                Some((c, asc)) if c == name => {
                    format!("{name} ({})", if *asc { "asc" } else { "desc" })
                }
                _ => name.to_string(),
            };
            TableBuilder::new(ui)
                .id_salt("selection-table")
                .striped(true)
                .resizable(true)
                .sense(egui::Sense::click())
                .column(TableColumn::initial(64.0).at_least(40.0))
                .column(TableColumn::initial(420.0).at_least(80.0).clip(true))
                .columns(
                    TableColumn::initial(110.0).at_least(40.0).clip(true),
                    columns.len(),
                )
                .header(20.0, |mut header| {
                    header.col(|ui| {
                        if ui.button(header_label("#", &table.sort)).clicked() {
                            clicked_header = Some("#".into());
                        }
                    });
                    header.col(|ui| {
                        let name = samples.text_column.clone();
                        if ui.button(header_label(&name, &table.sort)).clicked() {
                            clicked_header = Some(name);
                        }
                    });
                    for c in &columns {
                        header.col(|ui| {
                            if ui.button(header_label(c, &table.sort)).clicked() {
                                clicked_header = Some(c.clone());
                            }
                        });
                    }
                })
                .body(|body| {
                    body.rows(18.0, order.len(), |mut row| {
                        let r = order[row.index()] as usize;
                        row.set_selected(state.focus.selected == Some(r));
                        row.col(|ui| {
                            ui.label(r.to_string());
                        });
                        row.col(|ui| {
                            let t = &samples.texts[r];
                            let line = t.lines().next().unwrap_or_default();
                            ui.add(egui::Label::new(truncate_chars(line, 200)).truncate());
                        });
                        for c in &columns {
                            row.col(|ui| {
                                let v = samples
                                    .column_index(c)
                                    .and_then(|i| {
                                        scatter::format_value(&samples.columns[i].kind, r)
                                    })
                                    .unwrap_or_default();
                                ui.add(egui::Label::new(v).truncate());
                            });
                        }
                        if row.response().clicked() {
                            out.push(AppCommand::Select(Some(r)));
                        }
                    });
                });
            if let Some(c) = clicked_header {
                out.push(AppCommand::SortTable(c));
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_combine_by_operation() {
        let old = [1, 3, 5, 7];
        let new = [2, 3, 8];
        assert_eq!(combine(&old, &new, SelectOp::Replace), vec![2, 3, 8]);
        assert_eq!(combine(&old, &new, SelectOp::Add), vec![1, 2, 3, 5, 7, 8]);
        assert_eq!(combine(&old, &new, SelectOp::Subtract), vec![1, 5, 7]);
        assert_eq!(combine(&[], &new, SelectOp::Subtract), Vec::<u32>::new());
    }
}
