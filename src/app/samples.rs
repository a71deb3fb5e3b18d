//! Samples and coordinates arriving (from a job, or set directly by tests and benches), and
//! new metric columns from expressions. Everything O(rows) here (schema detection,
//! colouring, evaluating an expression) runs as a background task for large sets.

use std::sync::Arc;

use eframe::egui;

use super::AtlasApp;
use super::analysis::{Choices, NewMetric};
use super::background::INLINE_ROWS;
use super::persist::path_key;
use crate::dataset::Samples;
use crate::render::{self, colors};

impl AtlasApp {
    /// Show a map computed elsewhere (tests, precomputed layouts).
    pub fn set_map(&mut self, samples: Arc<Samples>, coords: Vec<[f32; 2]>) {
        let ctx = egui::Context::default();
        self.set_samples(&ctx, samples);
        self.set_coords(coords);
        self.state.map.layout_done = true;
    }

    pub(super) fn set_coords(&mut self, coords: Vec<[f32; 2]>) {
        let s = &mut self.state;
        s.map.bounds = render::bounds(&coords);
        s.map.coords = Some(Arc::new(coords));
        s.map.coords_version += 1;
        s.paint.version += 1;
    }

    /// New samples: a new file's state, its remembered view, default colouring, filters,
    /// table and analysis inputs.
    pub(super) fn set_samples(&mut self, ctx: &egui::Context, samples: Arc<Samples>) {
        self.remember_view();
        let s = &mut self.state;
        s.reset_for_file(samples.path.clone());
        s.map.warnings = samples.warnings.clone();
        let saved = self.persisted.files.get(&path_key(&samples.path));
        if let Some(c) = self.requested_color_by.take() {
            s.paint.color_by = Some(c);
        } else if let Some(c) = saved.and_then(|v| v.color_by.clone()) {
            s.paint.color_by = Some(c);
        }
        if let Some(v) = saved {
            v.restore(s);
        }
        let keep = s.paint.color_by.as_ref().is_some_and(|c| {
            samples
                .column_index(c)
                .is_some_and(|i| samples.columns[i].colorable())
        });
        if !keep {
            s.paint.color_by = colors::default_color_column(&samples);
        }
        s.overlays.analysis.reset_for(ctx, &samples);
        s.overlays.filters.reset_for();
        s.overlays
            .table
            .reset_for(&samples, s.paint.color_by.as_deref());
        // The previous file's colours and classes do not belong to these rows.
        s.paint.colors = Arc::new(Vec::new());
        s.paint.legend = colors::Legend::None;
        s.paint.classes = Arc::new(Vec::new());
        s.map.samples = Some(samples);
        s.view.auto_fit = true;
        self.recolor(ctx);
        self.reclass(ctx);
    }

    /// Add a metric column from an expression (a cheap copy of the samples gains a column),
    /// then colour the map by it and make it the analysis metric.
    pub(super) fn add_metric(&mut self, ctx: &egui::Context, name: &str, expr: &str) {
        let Some(samples) = self.state.map.samples.clone() else {
            return;
        };
        let definition = format!("{name}={expr}");
        let inline = samples.len() <= INLINE_ROWS;
        let a = &mut self.state.overlays.analysis;
        a.metric_task.start(ctx, inline, move || {
            let (name, expr) = crate::metrics::parse_metric_expr(&definition)?;
            let mut copy = (*samples).clone();
            crate::metrics::add_expr(&mut copy, &name, &expr).map_err(|e| match e {
                crate::metrics::MetricError::Expr { rendered, .. } => rendered,
                other => other.to_string(),
            })?;
            let choices = Choices::of(&copy);
            Ok(NewMetric {
                base: samples,
                samples: copy,
                name,
                choices,
            })
        });
        self.take_metric(ctx);
    }

    /// Take in a new metric column (or its error).
    pub(super) fn take_metric(&mut self, ctx: &egui::Context) {
        let Some(outcome) = self.state.overlays.analysis.metric_task.poll_outcome() else {
            return;
        };
        let s = &mut self.state;
        let a = &mut s.overlays.analysis;
        match outcome.and_then(|r| r) {
            Ok(m) => {
                // Computed for samples that are no longer shown: nothing to add.
                if !s
                    .map
                    .samples
                    .as_ref()
                    .is_some_and(|x| Arc::ptr_eq(x, &m.base))
                {
                    return;
                }
                a.new_error = None;
                a.set_choices(m.choices);
                a.inputs.metric = Some(m.name.clone());
                s.map.samples = Some(Arc::new(m.samples));
                s.paint.color_by = Some(m.name);
                self.recolor(ctx);
            }
            Err(e) => a.new_error = Some(e),
        }
    }
}
