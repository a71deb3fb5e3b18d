//! The map's regions: computed on a worker thread for every finished layout (a newer layout
//! cancels the older computation and its result is dropped), and their labels drawn over the
//! map as `render::labels` lays them out (the PNG export uses the same layout).

use std::sync::Arc;

use eframe::egui::{self, Color32, FontId, Pos2, Rect, pos2};

use super::AtlasApp;
use super::scatter::MapView;
use crate::analysis::regions::RegionParams;
use crate::pipeline::{MapRegions, compute_regions};
use crate::progress::{CancelToken, NoProgress};
use crate::render::labels::{self, RegionMark};

/// The regions of one layout and their label marks.
pub struct ShownRegions {
    pub regions: MapRegions,
    pub marks: Vec<RegionMark>,
    /// The coordinates version (`LoadedMap::coords_version`) they were computed for.
    pub coords_version: u64,
}

/// What the regions task ends with: the coordinates version and the regions, or why not.
pub type RegionsOutcome = (u64, Result<ShownRegions, String>);

impl AtlasApp {
    /// Take in finished regions; start computing them for a finished layout that has none.
    pub(super) fn take_regions(&mut self, ctx: &egui::Context) {
        let seed = self.state.config.params.umap.seed;
        let m = &mut self.state.map;
        if let Some((version, result)) = m.regions_task.poll() {
            m.regions_cancel = None;
            match result {
                Ok(r) if version == m.coords_version => m.regions = Some(Arc::new(r)),
                Ok(_) => {}
                Err(e) => m.warnings.push(format!("regions: {e}")),
            }
        }
        let current = m
            .regions
            .as_ref()
            .is_some_and(|r| r.coords_version == m.coords_version);
        if !m.layout_done || current || m.regions_started == Some(m.coords_version) {
            return;
        }
        let (Some(samples), Some(coords)) = (m.samples.clone(), m.coords.clone()) else {
            return;
        };
        if let Some(old) = m.regions_cancel.take() {
            old.cancel();
        }
        let cancel = CancelToken::new();
        m.regions_cancel = Some(cancel.clone());
        let version = m.coords_version;
        m.regions_started = Some(version);
        let params = RegionParams {
            seed,
            ..Default::default()
        };
        m.regions_task.start(ctx, false, move || {
            let result = compute_regions(&samples, &coords, &params, &NoProgress, &cancel)
                .map(|regions| ShownRegions {
                    marks: labels::region_marks(&regions),
                    regions,
                    coords_version: version,
                })
                .map_err(|e| e.to_string());
            (version, result)
        });
    }
}

/// How far the view is zoomed in from the fitted one (1 = fitted).
pub fn zoom_from_fit(view: &MapView, bounds: ([f32; 2], [f32; 2])) -> f32 {
    let fit = crate::render::Viewport::fit_bounds(
        bounds.0,
        bounds.1,
        view.rect.width() as u32,
        view.rect.height() as u32,
        24.0,
    );
    if fit.px_per_unit > 0.0 && fit.px_per_unit.is_finite() {
        view.px_per_unit / fit.px_per_unit
    } else {
        1.0
    }
}

/// Draw the region labels of `marks` over the map in `rect`: laid out by
/// [`labels::layout`], each on a dark box; none covers the hovered point at `avoid` or the
/// legend.
pub(super) fn draw(
    painter: &egui::Painter,
    view: &MapView,
    bounds: ([f32; 2], [f32; 2]),
    marks: &[RegionMark],
    legend: &crate::render::colors::Legend,
    avoid: Option<Pos2>,
) {
    let rect = view.rect;
    let text_color = Color32::from_gray(235);
    // The legend is drawn over the labels' top-right corner; they keep off it.
    let blocked = crate::render::legend::layout(legend, rect.right(), rect.top(), 1.0).panel();
    let frame = labels::Frame {
        screen: [rect.left(), rect.top(), rect.right(), rect.bottom()],
        blocked: blocked.into_iter().collect(),
        avoid: avoid.map(|p| [p.x, p.y]),
        scale: 1.0,
    };
    let to_px = |p| {
        let s = view.to_screen(p);
        [s.x, s.y]
    };
    let placed = labels::layout(
        marks,
        zoom_from_fit(view, bounds),
        to_px,
        &frame,
        |text, px| {
            painter
                .layout_no_wrap(text.to_string(), FontId::proportional(px), text_color)
                .size()
                .x
        },
    );
    for label in &placed {
        let r = label.rect;
        let box_rect = Rect::from_min_max(pos2(r[0], r[1]), pos2(r[2], r[3]));
        painter.rect_filled(box_rect, 3.0, Color32::from_black_alpha(150));
        let [x, y] = label.text_origin(1.0);
        painter.text(
            pos2(x, y),
            egui::Align2::LEFT_TOP,
            &label.text,
            FontId::proportional(label.font_px),
            text_color,
        );
    }
}
