//! What the user picks: the selected sample (with its detail and the other samples of its
//! prompt), a sample pinned beside it, the selection of many rows (box, lasso, analysis row),
//! stepping through them and zooming to them.

use eframe::egui;

use super::AtlasApp;
use super::background::INLINE_ROWS;
use super::paint::selection_mean;
use super::scatter::SelectOp;
use super::selection::{self, Selection};
use super::state::Detail;
use crate::dataset::{ColumnKind, Samples};
use crate::render;

/// A sample pinned in the detail panel: it stays while other samples are opened beside it.
pub struct Pin {
    pub row: usize,
    pub detail: Detail,
}

impl AtlasApp {
    /// Select `row` (or nothing) and look up what the detail panel shows.
    pub(super) fn select(&mut self, ctx: &egui::Context, row: Option<usize>) {
        let s = &mut self.state;
        let f = &mut s.focus;
        f.selected = row.filter(|&r| s.map.samples.as_ref().is_some_and(|x| r < x.len()));
        f.detail = match (&s.map.samples, f.selected) {
            (Some(samples), Some(r)) => Some(Detail::of(samples, r)),
            _ => None,
        };
        // The other samples of the same prompt, for next / previous.
        let keep = match (&f.same_prompt, f.selected) {
            (Some((_, rows)), Some(r)) => rows.binary_search(&(r as u32)).is_ok(),
            _ => false,
        };
        if keep {
            return;
        }
        f.same_prompt = None;
        if let (Some(samples), Some(r)) = (s.map.samples.clone(), f.selected)
            && let Some(col) = s.overlays.analysis.prompt_column()
            && let Some(i) = samples.column_index(&col)
            && matches!(samples.columns[i].kind, ColumnKind::Category { .. })
        {
            let inline = samples.len() <= INLINE_ROWS;
            f.prompt_task.start(ctx, inline, move || {
                let ColumnKind::Category { codes, .. } = &samples.columns[i].kind else {
                    unreachable!("checked above: a category column");
                };
                let code = codes[r];
                let rows: Vec<u32> = (0..codes.len() as u32)
                    .filter(|&k| codes[k as usize] == code)
                    .collect();
                (r, col, rows)
            });
            self.take_same_prompt();
        }
    }

    /// Pin the selected sample and open beside it the same prompt's sample of another setting
    /// (see [`companion`]) when there is one; `false` unpins.
    pub(super) fn pin(&mut self, ctx: &egui::Context, on: bool) {
        let s = &self.state;
        let (true, Some(samples), Some(row)) = (on, &s.map.samples, s.focus.selected) else {
            self.state.focus.pin = None;
            return;
        };
        let detail = Detail::of(samples, row);
        let beside =
            s.focus.same_prompt.as_ref().and_then(|(_, rows)| {
                companion(samples, row, rows, &s.overlays.analysis.inputs.by)
            });
        self.state.focus.pin = Some(Pin { row, detail });
        if beside.is_some() {
            self.select(ctx, beside);
        }
    }

    /// Take in the same-prompt rows of the selected sample.
    pub(super) fn take_same_prompt(&mut self) {
        let f = &mut self.state.focus;
        if let Some((row, col, rows)) = f.prompt_task.poll()
            && f.selected == Some(row)
        {
            f.same_prompt = Some((col, rows));
        }
    }

    pub(super) fn set_selection(&mut self, ctx: &egui::Context, label: String, rows: Vec<u32>) {
        let s = &mut self.state;
        let Some(samples) = &s.map.samples else {
            return;
        };
        if rows.is_empty() {
            s.focus.selection = None;
        } else {
            let mut sel = Selection::new(label, rows, samples.len());
            sel.mean = selection_mean(samples, s.paint.color_by.as_deref(), &sel.rows);
            s.focus.selection = Some(sel);
            s.overlays.table.version += 1;
        }
        self.reclass(ctx);
    }

    /// Select the points in a box / lasso (in the background for large sets).
    pub(super) fn select_region(
        &mut self,
        ctx: &egui::Context,
        polygon: Vec<[f32; 2]>,
        op: SelectOp,
        label: &'static str,
    ) {
        let s = &mut self.state;
        let (Some(coords), Some((v, index))) = (s.map.coords.clone(), s.map.index.clone()) else {
            return;
        };
        if v != s.map.coords_version {
            return;
        }
        let old = s
            .focus
            .selection
            .as_ref()
            .map(|x| x.rows.clone())
            .unwrap_or_default();
        let pass = s.overlays.filters.pass_result();
        let inline = coords.len() <= INLINE_ROWS;
        let label = match (op, &s.focus.selection) {
            (SelectOp::Replace, _) | (_, None) => label.to_string(),
            (_, Some(old)) => format!(
                "{} {} {label}",
                old.label,
                if op == SelectOp::Add { "+" } else { "-" }
            ),
        };
        s.focus.region_task.start(ctx, inline, move || {
            let pass = pass.as_ref().map(|p| p.pass.as_slice());
            let rows = selection::region_rows(&index, &coords, &polygon, pass, &old, op);
            (label, rows)
        });
    }

    /// Zoom to the selection, or centre the selected sample.
    pub(super) fn zoom_to_selection(&mut self) {
        let s = &mut self.state;
        if let (Some(coords), Some(sel)) = (&s.map.coords, &s.focus.selection) {
            let pts: Vec<[f32; 2]> = sel.rows.iter().map(|&r| coords[r as usize]).collect();
            s.view.fit(render::bounds(&pts));
            s.view.auto_fit = false;
        } else if let (Some(coords), Some(r)) = (&s.map.coords, s.focus.selected) {
            s.view.center = coords[r];
            s.view.auto_fit = false;
        }
    }

    /// Select the next / previous point: in the selection if there is one, else in row order.
    pub(super) fn step(&mut self, ctx: &egui::Context, step: i32) {
        let s = &self.state;
        let Some(samples) = &s.map.samples else {
            return;
        };
        let next = match &s.focus.selection {
            Some(sel) => {
                let rows = &sel.rows;
                let at = s
                    .focus
                    .selected
                    .and_then(|r| rows.binary_search(&(r as u32)).ok());
                let i = match at {
                    Some(i) => (i as i64 + step as i64).rem_euclid(rows.len() as i64),
                    None if step >= 0 => 0,
                    None => rows.len() as i64 - 1,
                };
                rows[i as usize] as usize
            }
            None => {
                let n = samples.len() as i64;
                match s.focus.selected {
                    Some(r) => (r as i64 + step as i64).rem_euclid(n) as usize,
                    None => 0,
                }
            }
        };
        self.select(ctx, Some(next));
    }

    /// Select the next / previous sample of the same prompt.
    pub(super) fn step_prompt(&mut self, ctx: &egui::Context, step: i32) {
        let f = &self.state.focus;
        if let (Some((_, rows)), Some(r)) = (&f.same_prompt, f.selected)
            && let Ok(i) = rows.binary_search(&(r as u32))
        {
            let j = (i as i64 + step as i64).rem_euclid(rows.len() as i64) as usize;
            let next = rows[j] as usize;
            self.select(ctx, Some(next));
        }
    }
}

/// The sample opened beside a pinned `row`, among its prompt's `rows` (ascending), taken in
/// row order after it (wrapping): the first whose setting differs only in the first run
/// column (the next model's answer at the same temperature, ...); else the first whose setting
/// differs at all; else (no run columns) the next sample of the prompt. `None` when the
/// prompt has no other sample.
pub(super) fn companion(
    samples: &Samples,
    row: usize,
    rows: &[u32],
    run_columns: &[String],
) -> Option<usize> {
    let columns: Vec<&polars::prelude::Column> = run_columns
        .iter()
        .filter_map(|c| samples.frame.column(c).ok())
        .collect();
    let at = rows.partition_point(|&r| (r as usize) <= row);
    let after = rows[at..].iter().chain(&rows[..at]).map(|&r| r as usize);
    let others: Vec<usize> = after.filter(|&r| r != row).collect();
    fn differs(c: &polars::prelude::Column, a: usize, b: usize) -> bool {
        c.get(a).ok() != c.get(b).ok()
    }
    let differs = |r: usize, c: &&polars::prelude::Column| differs(c, r, row);
    let first_only = |r: &usize| {
        columns
            .split_first()
            .is_some_and(|(first, rest)| differs(*r, first) && !rest.iter().any(|c| differs(*r, c)))
    };
    others
        .iter()
        .copied()
        .find(first_only)
        .or_else(|| {
            others
                .iter()
                .copied()
                .find(|&r| columns.iter().any(|c| differs(r, c)))
        })
        .or_else(|| {
            columns
                .is_empty()
                .then(|| others.first().copied())
                .flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{LoadOptions, load};
    use crate::progress::{CancelToken, NoProgress};

    #[test]
    fn the_companion_is_the_next_models_answer_to_the_same_prompt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        // One prompt: rows 0..8 as (model, temperature).
        let settings = [
            ("a", 0.0),
            ("a", 0.0),
            ("a", 1.0),
            ("b", 1.0),
            ("b", 0.0),
            ("c", 0.0),
            ("a", 0.0),
            ("c", 1.0),
        ];
        let body: String = settings
            .iter()
            .enumerate()
            .map(|(i, (m, t))| {
                format!("{{\"text\": \"s{i}\", \"model\": \"{m}\", \"temperature\": {t}}}\n")
            })
            .collect();
        std::fs::write(&path, body).unwrap();
        let s = load(
            &path,
            &LoadOptions::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        let rows: Vec<u32> = (0..8).collect();
        let by = ["model".to_string(), "temperature".to_string()];
        // From (a, 0): the next (other model, 0) is row 4 (b, 0), not row 2 (a, 1) or 3 (b, 1).
        assert_eq!(companion(&s, 0, &rows, &by), Some(4));
        // From (c, 1) at the end: wrap around to row 2 (a, 1).
        assert_eq!(companion(&s, 7, &rows, &by), Some(2));
        // No other model at this temperature: the next other setting.
        assert_eq!(
            companion(&s, 0, &[0, 1, 2], &by),
            Some(2),
            "only the temperature differs"
        );
        assert_eq!(
            companion(&s, 0, &[0, 1, 6], &by),
            None,
            "every sample has the same setting"
        );
        assert_eq!(
            companion(&s, 5, &[1, 5, 6], &[]),
            Some(6),
            "no run columns: the next"
        );
        assert_eq!(companion(&s, 5, &[5], &by), None);
    }
}
