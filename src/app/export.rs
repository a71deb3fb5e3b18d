//! Exports: the current view as a PNG (with its region labels and legend; the compare
//! view's density difference with its colour bar when it shows one, its two panes side by
//! side in one picture when it shows A and B side by side) and the selected rows as
//! JSONL / CSV / Parquet. Both are written on a worker thread; the status bar shows where they went.

use std::path::{Path, PathBuf};

use eframe::egui;

use super::AtlasApp;
use super::jobs::SaveKind;
use crate::render;

/// Writes a picture to a path; says where it went.
pub type PngJob = Box<dyn FnOnce(&Path) -> Result<String, String> + Send>;

impl AtlasApp {
    pub(super) fn export_selection_dialog(&mut self, ctx: &egui::Context) {
        let s = &mut self.state;
        if s.focus.selection.is_some() {
            s.job.jobs.save_dialog(ctx, SaveKind::Selection);
        } else {
            s.job.notice = Some("Select some points first (box: B, lasso: L)".into());
        }
    }

    pub(super) fn save_png_dialog(&mut self, ctx: &egui::Context) {
        if self.state.map.coords.is_some() {
            self.state.job.jobs.save_dialog(ctx, SaveKind::Png);
        }
    }

    /// Write the selected rows (with their coordinates) to `path`.
    pub(super) fn export_selection(&mut self, ctx: &egui::Context, path: PathBuf) {
        let s = &mut self.state;
        let (Some(samples), Some(coords), Some(sel)) = (
            s.map.samples.clone(),
            s.map.coords.clone(),
            s.focus.selection.as_ref(),
        ) else {
            return;
        };
        let rows = sel.rows.clone();
        s.job.notice = Some(format!("exporting {} rows…", rows.len()));
        s.job.export_task.start(ctx, false, move || {
            crate::dataset::write_rows(&samples.frame, &rows, &coords, &samples.files(), &path)
                .map(|n| format!("saved {n} rows to {}", path.display()))
                .map_err(|e| e.to_string())
        });
    }

    /// Draw the current view into a PNG at `path`.
    pub(super) fn save_png(&mut self, ctx: &egui::Context, path: PathBuf) {
        if let Some(job) = self.png_job(ctx.pixels_per_point()) {
            self.state.job.notice = Some("saving the map…".into());
            self.state
                .job
                .export_task
                .start(ctx, false, move || job(&path));
        }
    }

    /// A closure that draws the current view (with legend) into a PNG file, or `None` when
    /// there is no map.
    pub fn png_job(&self, ppp: f32) -> Option<PngJob> {
        let s = &self.state;
        let (samples, coords) = (s.map.samples.clone()?, s.map.coords.clone()?);
        let p = &s.paint;
        let (colors, classes, legend) = (p.colors.clone(), p.classes.clone(), p.legend.clone());
        let view = s.view.viewport(ppp);
        let mut style = s
            .view
            .style(coords.len(), ppp, egui::Color32::from_gray(12));
        style.background = render::image::BACKGROUND;
        let marks = s
            .current_regions()
            .filter(|_| s.view.region_labels)
            .cloned();
        let zoom = super::region_labels::zoom_from_fit(&s.view, s.map.bounds);
        let mut caption = render::image::caption(
            &samples.display_name(),
            samples.len(),
            p.color_by.as_deref(),
        );
        // The compare view's density difference, as the map shows it (σ in pixels).
        let difference = s.compare.difference();
        if let Some(d) = &difference {
            let (column, a, b) = &d.groups.key;
            caption = format!(
                "{} · {column}: A = {a} ({}) vs B = {b} ({})",
                render::image::caption(&samples.display_name(), samples.len(), None),
                crate::util::format::thousands(d.groups.n_a),
                crate::util::format::thousands(d.groups.n_b)
            );
        }
        if let Some(panes) = s.compare.panes() {
            return Some(side_by_side_png(
                panes, coords, colors, classes, legend, view, style, ppp, marks, zoom,
            ));
        }
        Some(Box::new(move |path: &Path| {
            let pic = render::image::Picture {
                coords: &coords,
                colors: &colors,
                classes: Some(&classes),
                legend: difference.as_ref().map_or(&legend, |d| &d.legend),
                caption: Some(caption),
                view,
                style,
                scale: ppp,
                labels: marks.as_ref().map(|r| (r.marks.as_slice(), zoom)),
            };
            let canvas = match &difference {
                Some(d) => {
                    let params = render::difference::DiffParams {
                        sigma_px: d.params.sigma_px * ppp,
                    };
                    render::image::render_difference(&pic, &d.groups.of_row, &params)
                }
                None => render::image::render(&pic),
            };
            canvas
                .and_then(|c| c.write_png(path))
                .map(|_| format!("saved the map to {}", path.display()))
                .map_err(|e| e.to_string())
        }))
    }

    /// Take in a finished export: its notice, or its error.
    pub(super) fn take_export(&mut self) {
        let job = &mut self.state.job;
        match job.export_task.poll_outcome() {
            Some(Ok(Ok(msg))) => job.notice = Some(msg),
            Some(Ok(Err(e)) | Err(e)) => job.error = Some(e),
            None => {}
        }
    }
}

/// The side-by-side compare view as one PNG: A's pane (its points only, titled in its
/// caption) left of B's (with the legend), a 4-pixel gap between them, each at the pane's
/// size and the shared view.
#[allow(clippy::too_many_arguments)]
fn side_by_side_png(
    panes: super::compare::Panes,
    coords: std::sync::Arc<Vec<[f32; 2]>>,
    colors: std::sync::Arc<Vec<render::Rgba>>,
    classes: std::sync::Arc<Vec<render::PointClass>>,
    legend: render::colors::Legend,
    view: render::Viewport,
    style: render::Style,
    ppp: f32,
    marks: Option<std::sync::Arc<super::region_labels::ShownRegions>>,
    zoom: f32,
) -> PngJob {
    use render::difference::{GROUP_A, GROUP_B};
    Box::new(move |path: &Path| {
        let none = render::colors::Legend::None;
        let mut sides = Vec::with_capacity(2);
        for (k, group) in [GROUP_A, GROUP_B].into_iter().enumerate() {
            let shown = super::compare::pane_classes(&classes, &panes.groups.of_row, group);
            let pic = render::image::Picture {
                coords: &coords,
                colors: &colors,
                classes: Some(&shown),
                legend: if k == 1 { &legend } else { &none },
                caption: Some(panes.titles[k].clone()),
                view,
                style,
                scale: ppp,
                labels: marks.as_ref().map(|r| (r.marks.as_slice(), zoom)),
            };
            sides.push(render::image::render(&pic).map_err(|e| e.to_string())?);
        }
        let gap = (4.0 * ppp).round() as u32;
        let (width, height) = (view.width * 2 + gap, view.height);
        let mut pixels = vec![[60, 60, 60, 255]; (width * height) as usize];
        for (k, side) in sides.iter().enumerate() {
            let x0 = k as u32 * (view.width + gap);
            for y in 0..height {
                let from = (y * side.width) as usize;
                let to = (y * width + x0) as usize;
                pixels[to..to + side.width as usize]
                    .copy_from_slice(&side.pixels[from..from + side.width as usize]);
            }
        }
        let canvas = render::image::Canvas {
            width,
            height,
            pixels,
            scale: ppp,
        };
        canvas
            .write_png(path)
            .map(|_| format!("saved the two panes side by side to {}", path.display()))
            .map_err(|e| e.to_string())
    })
}
