//! How the points are painted: their colours (and legend) from the colour column, and their
//! classes (hidden, faded, normal, on top) from the filters and the selection. Both are
//! O(rows): they run as background tasks for large sets and inline for small ones, and the
//! newest request wins.

use std::sync::Arc;

use eframe::egui;

use super::AtlasApp;
use super::background::INLINE_ROWS;
use super::state::Colouring;
use crate::dataset::{ColumnKind, Samples};
use crate::render::{PointClass, colors};

/// " · mean COL x" of a numeric colour column over `rows`, for the status bar.
pub(super) fn selection_mean(
    samples: &Samples,
    color_by: Option<&str>,
    rows: &[u32],
) -> Option<String> {
    let c = color_by?;
    let i = samples.column_index(c)?;
    let ColumnKind::Numeric { values, .. } = &samples.columns[i].kind else {
        return None;
    };
    // Rows are in increasing order: the sum runs in row order.
    let v: Vec<f64> = rows
        .iter()
        .map(|&r| values[r as usize])
        .filter(|v| v.is_finite())
        .map(|v| v as f64)
        .collect();
    (!v.is_empty()).then(|| format!(" · mean {c} {:.3}", v.iter().sum::<f64>() / v.len() as f64))
}

impl AtlasApp {
    pub(super) fn set_color_by(&mut self, ctx: &egui::Context, col: Option<String>) {
        self.state.paint.color_by = col;
        self.recolor(ctx);
    }

    /// Colour by the next / previous colourable column (and "none").
    pub(super) fn cycle_color(&mut self, ctx: &egui::Context, step: i32) {
        let Some(samples) = &self.state.map.samples else {
            return;
        };
        let mut names: Vec<Option<String>> = vec![None];
        names.extend(
            samples
                .columns
                .iter()
                .filter(|c| c.colorable())
                .map(|c| Some(c.name.clone())),
        );
        let at = names
            .iter()
            .position(|n| *n == self.state.paint.color_by)
            .unwrap_or(0) as i64;
        let next = (at + step as i64).rem_euclid(names.len() as i64) as usize;
        self.set_color_by(ctx, names[next].clone());
    }

    /// Colour the points by the colour column (and refresh the selection's mean).
    pub(super) fn recolor(&mut self, ctx: &egui::Context) {
        let s = &mut self.state;
        let Some(samples) = s.map.samples.clone() else {
            return;
        };
        let color_by = s.paint.color_by.clone();
        let rows = s.focus.selection.as_ref().map(|h| h.rows.clone());
        let inline = samples.len() <= INLINE_ROWS;
        s.paint.color_task.start(ctx, inline, move || {
            let (mut colors, legend) = colors::point_colors(&samples, color_by.as_deref());
            // Samples `--onto` found unlike the reference: white (unless coloured by that).
            if color_by.as_deref() != Some(crate::render::ood::OOD_COLUMN)
                && let Some(flags) = crate::render::ood::ood_rows(&samples)
            {
                for (c, _) in colors.iter_mut().zip(&flags).filter(|(_, f)| **f) {
                    *c = crate::render::ood::OOD_COLOR;
                }
            }
            let mean = rows.map(|rows| {
                let mean = selection_mean(&samples, color_by.as_deref(), &rows);
                (rows, mean)
            });
            Colouring {
                colors,
                legend,
                mean,
            }
        });
        self.take_paint();
    }

    /// How each point is drawn, from the filter and the selection.
    pub(super) fn reclass(&mut self, ctx: &egui::Context) {
        let s = &mut self.state;
        let Some(samples) = &s.map.samples else {
            return;
        };
        let n = samples.len();
        let samples = samples.clone();
        let pass = s.overlays.filters.pass_result();
        let out_class = if s.view.hide_filtered {
            PointClass::Hidden
        } else {
            PointClass::Faded
        };
        let rows = s.focus.selection.as_ref().map(|h| h.rows.clone());
        // The compare view showing A's or B's points: the other rows are hidden.
        let visible = s.compare.visible();
        s.paint.class_task.start(ctx, n <= INLINE_ROWS, move || {
            let passes = |i: usize| pass.as_ref().is_none_or(|p| p.pass[i]);
            let others = if rows.is_some() {
                PointClass::Faded
            } else {
                PointClass::Normal
            };
            let mut classes: Vec<PointClass> = (0..n)
                .map(|i| if passes(i) { others } else { out_class })
                .collect();
            for &r in rows.iter().flat_map(|r| r.iter()) {
                if passes(r as usize) {
                    classes[r as usize] = PointClass::Top;
                }
            }
            // Out-of-distribution samples (`--onto`) on top of the others.
            if let Some(flags) = crate::render::ood::ood_rows(&samples) {
                for (c, _) in classes.iter_mut().zip(&flags).filter(|(_, f)| **f) {
                    if *c == PointClass::Normal {
                        *c = PointClass::Top;
                    }
                }
            }
            if let Some((groups, shown)) = &visible {
                for (c, &g) in classes.iter_mut().zip(&groups.of_row) {
                    if !shown.get(g as usize).copied().unwrap_or(false) {
                        *c = PointClass::Hidden;
                    }
                }
            }
            classes
        });
        self.take_paint();
    }

    /// Take in finished colours and classes.
    pub(super) fn take_paint(&mut self) {
        let s = &mut self.state;
        if let Some(c) = s.paint.color_task.poll() {
            s.paint.colors = Arc::new(c.colors);
            s.paint.legend = c.legend;
            if let (Some(sel), Some((rows, mean))) = (&mut s.focus.selection, c.mean)
                && Arc::ptr_eq(&sel.rows, &rows)
            {
                sel.mean = mean;
            }
            s.paint.version += 1;
        }
        if let Some(classes) = s.paint.class_task.poll() {
            s.paint.classes = Arc::new(classes);
            s.paint.version += 1;
        }
    }

    /// Wait for colours and classes being computed (tests and benches).
    pub(super) fn wait_for_paint(&mut self) {
        self.state.paint.color_task.finish();
        self.state.paint.class_task.finish();
        self.take_paint();
    }
}
