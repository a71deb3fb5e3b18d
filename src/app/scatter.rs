//! The map: every point drawn by the CPU renderer (`crate::render`) into a texture on a worker
//! thread (inline for small sets), pan and zoom (the last texture follows the view at once),
//! hover picking through the grid index, click to open a sample, box and lasso selection, and
//! the legend / colour bar drawn over the map.

use std::sync::Arc;

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Shape, Stroke, pos2, vec2};

use super::background::{INLINE_ROWS, Task};
use super::map_labels;
use crate::dataset::Samples;
use crate::render::colors::{self, Legend};
use crate::render::difference::{GROUP_A, GROUP_B};
use crate::render::{self, Rgba};
use crate::spatial::GridIndex;

pub fn c32(c: Rgba) -> Color32 {
    Color32::from_rgba_unmultiplied(c[0], c[1], c[2], c[3])
}

/// What a primary-button drag on the map does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Tool {
    #[default]
    Pan,
    Box,
    Lasso,
}

/// How a drawn region changes the selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectOp {
    Replace,
    Add,
    Subtract,
}

impl SelectOp {
    /// Shift adds, Ctrl / Cmd / Alt subtracts.
    pub fn from_modifiers(m: egui::Modifiers) -> SelectOp {
        if m.shift {
            SelectOp::Add
        } else if m.command || m.ctrl || m.alt {
            SelectOp::Subtract
        } else {
            SelectOp::Replace
        }
    }
}

/// The mapping between layout coordinates and the screen, and the drawing style.
#[derive(Clone, Debug)]
pub struct MapView {
    /// Layout coordinates at the centre of the map.
    pub center: [f32; 2],
    pub px_per_unit: f32,
    /// Fit the whole layout into the window every frame (until the user pans or zooms).
    pub auto_fit: bool,
    /// User's point size multiplier.
    pub point_scale: f32,
    /// Opacity of the points (0..=1).
    pub opacity: f32,
    /// Density mode: pixels show how many points fall on them.
    pub density: bool,
    /// Hide filtered-out points (else fade them).
    pub hide_filtered: bool,
    /// Draw the region labels over the map.
    pub region_labels: bool,
    pub tool: Tool,
    /// The map's rectangle in the last frame.
    pub rect: Rect,
    /// The box / lasso being drawn (screen positions).
    pub drawing: Vec<Pos2>,
    /// The legend's whole category list is unfolded ("+ N more" clicked).
    pub legend_expanded: bool,
}

impl Default for MapView {
    fn default() -> Self {
        MapView {
            center: [0.0, 0.0],
            px_per_unit: 1.0,
            auto_fit: true,
            point_scale: 1.0,
            opacity: 0.85,
            density: false,
            hide_filtered: false,
            region_labels: true,
            tool: Tool::Pan,
            rect: Rect::from_min_size(Pos2::ZERO, vec2(1.0, 1.0)),
            drawing: Vec::new(),
            legend_expanded: false,
        }
    }
}

impl MapView {
    pub fn to_screen(&self, p: [f32; 2]) -> Pos2 {
        let c = self.rect.center();
        pos2(
            c.x + (p[0] - self.center[0]) * self.px_per_unit,
            c.y - (p[1] - self.center[1]) * self.px_per_unit,
        )
    }

    pub fn to_layout(&self, pos: Pos2) -> [f32; 2] {
        let c = self.rect.center();
        [
            self.center[0] + (pos.x - c.x) / self.px_per_unit,
            self.center[1] - (pos.y - c.y) / self.px_per_unit,
        ]
    }

    /// Show the box `lo..hi` (layout coordinates).
    pub fn fit(&mut self, (lo, hi): ([f32; 2], [f32; 2])) {
        let v = render::Viewport::fit_bounds(
            lo,
            hi,
            self.rect.width() as u32,
            self.rect.height() as u32,
            24.0,
        );
        self.center = v.center;
        // A single point (or one spot) would zoom in without bound.
        self.px_per_unit = v.px_per_unit.min(1e5);
    }

    /// Point radius in pixels for `n` points.
    pub fn radius_px(&self, n: usize) -> f32 {
        render::Style::radius_for(n) * self.point_scale
    }

    /// The renderer's view of this map at `ppp` physical pixels per point.
    pub fn viewport(&self, ppp: f32) -> render::Viewport {
        render::Viewport {
            center: self.center,
            px_per_unit: self.px_per_unit * ppp,
            width: (self.rect.width() * ppp).round().max(1.0) as u32,
            height: (self.rect.height() * ppp).round().max(1.0) as u32,
        }
    }

    pub fn style(&self, n: usize, ppp: f32, background: Color32) -> render::Style {
        render::Style {
            radius_px: self.radius_px(n) * ppp,
            opacity: self.opacity,
            faded_opacity: 0.12,
            mode: if self.density {
                render::Mode::Density
            } else {
                render::Mode::Points
            },
            background: [background.r(), background.g(), background.b(), 255],
        }
    }
}

/// What the renderer drew: the view, the style, the data version, for the compare view's
/// density difference the groups' version and the kernel's σ in pixels, and for a
/// side-by-side pane the groups' version and its group.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderKey {
    pub view: render::Viewport,
    pub style: render::Style,
    pub version: u64,
    pub difference: Option<(u64, f32)>,
    /// A side-by-side pane: the groups' version and the group it shows.
    pub pane: Option<(u64, u8)>,
}

/// The map texture and the render that will replace it.
#[derive(Default)]
pub struct MapCanvas {
    texture: Option<egui::TextureHandle>,
    pub drawn: Option<RenderKey>,
    /// The key of the render on its way. Not derivable from `task.busy()`: a render whose
    /// worker died stays marked here, so the same render is not restarted every frame.
    running: Option<RenderKey>,
    task: Task<(RenderKey, egui::ColorImage)>,
    /// The right (B) pane's texture and render when the compare view is side by side (this
    /// one draws the left, A): its own request on the worker, at the pane's size.
    pub right: Option<Box<MapCanvas>>,
}

impl MapCanvas {
    /// Upload a finished render, if there is one.
    fn take_finished(&mut self, ctx: &egui::Context) {
        if let Some((key, image)) = self.task.poll() {
            self.running = None;
            match &mut self.texture {
                Some(t) => t.set(image, egui::TextureOptions::LINEAR),
                None => {
                    self.texture =
                        Some(ctx.load_texture("atlas-map", image, egui::TextureOptions::LINEAR))
                }
            }
            self.drawn = Some(key);
        }
    }

    /// Take in a finished render; start one for `want` unless it is drawn or running.
    fn update(&mut self, ctx: &egui::Context, want: RenderKey, data: &MapData<'_>) {
        self.take_finished(ctx);
        if self.drawn == Some(want) || self.running == Some(want) || self.task.busy() {
            return;
        }
        let coords = data.coords.clone();
        let colors = data.colors.clone();
        let classes = data.classes.clone();
        let inline = coords.len() <= INLINE_ROWS;
        self.running = Some(want);
        if let (Some(diff), Some((_, sigma_px))) = (&data.difference, want.difference) {
            let groups = diff.groups.clone();
            self.task.start(ctx, inline, move || {
                let params = render::difference::DiffParams { sigma_px };
                let background = want.style.background;
                let pixels = render::difference::render(
                    &coords,
                    &groups.of_row,
                    &want.view,
                    &params,
                    background,
                    !inline,
                );
                (want, to_color_image(&want.view, &pixels))
            });
            self.take_finished(ctx);
            return;
        }
        // A side-by-side pane: only its group's rows (O(rows), on the worker with the render).
        let pane = want
            .pane
            .and_then(|(_, g)| data.panes.as_ref().map(|p| (p.groups.clone(), g)));
        self.task.start(ctx, inline, move || {
            let pane_classes =
                pane.map(|(groups, g)| super::compare::pane_classes(&classes, &groups.of_row, g));
            let pixels = render::rasterize(
                &coords,
                &colors,
                Some(pane_classes.as_deref().unwrap_or(&classes)),
                &want.view,
                &want.style,
                !inline,
            );
            (want, to_color_image(&want.view, &pixels))
        });
        // An inline render is already done.
        self.take_finished(ctx);
    }

    /// Whether a render is on its way, of either pane (tests wait for it).
    pub fn busy(&self) -> bool {
        self.task.busy() || self.right.as_ref().is_some_and(|r| r.busy())
    }
}

/// The renderer's pixels as an egui image (opaque, so straight = premultiplied).
pub fn to_color_image(view: &render::Viewport, pixels: &[Rgba]) -> egui::ColorImage {
    egui::ColorImage::new(
        [view.width as usize, view.height as usize],
        pixels
            .iter()
            .map(|p| Color32::from_rgba_premultiplied(p[0], p[1], p[2], 255))
            .collect(),
    )
}

/// What the map draws.
pub struct MapData<'a> {
    pub samples: &'a Samples,
    pub coords: &'a Arc<Vec<[f32; 2]>>,
    pub colors: &'a Arc<Vec<Rgba>>,
    /// How each point is drawn.
    pub classes: &'a Arc<Vec<render::PointClass>>,
    /// Changes whenever coords, colours or classes change.
    pub version: u64,
    pub legend: &'a Legend,
    pub selected: Option<usize>,
    /// The picking index, when it matches `coords`.
    pub index: Option<&'a GridIndex>,
    /// The box around the points (computed once per layout, not per frame).
    pub bounds: ([f32; 2], [f32; 2]),
    /// The rows that pass the filters, when a filter is on.
    pub pass: Option<&'a [bool]>,
    /// Region labels to draw (none when they are off or not computed yet).
    pub labels: Option<&'a [crate::render::labels::RegionMark]>,
    /// The compare view's density difference, drawn instead of the points (with its legend).
    pub difference: Option<super::compare::DiffSpec>,
    /// The compare view side by side: A's points in a left pane, B's in a right one.
    pub panes: Option<super::compare::Panes>,
}

/// What happened on the map this frame.
#[derive(Default)]
pub struct MapOutput {
    pub hovered: Option<usize>,
    /// A click: on a point (`Some(Some(i))`) or on empty space (`Some(None)`).
    pub clicked: Option<Option<usize>>,
    /// A finished box or lasso: the region (layout coordinates) and what to do with it.
    pub region: Option<(Vec<[f32; 2]>, SelectOp, &'static str)>,
}

/// One pane of the map: the whole map, or A's or B's side of the side-by-side view.
struct Pane<'a> {
    rect: Rect,
    response: egui::Response,
    /// The group whose points it shows and its title (side by side only).
    group: Option<(u8, &'a str)>,
}

pub fn show_map(
    ui: &mut egui::Ui,
    view: &mut MapView,
    canvas: &mut MapCanvas,
    data: &MapData<'_>,
) -> MapOutput {
    let full = ui.available_rect_before_wrap();
    // Side by side: two panes of the same size, A's left and B's right, sharing `view`
    // (one centre and zoom: each pane shows the same layout box around its own centre).
    let rects: Vec<(Rect, Option<(u8, &str)>)> = match &data.panes {
        None => vec![(full, None)],
        Some(p) => {
            let gap = 4.0;
            let mid = full.center().x;
            vec![
                (
                    Rect::from_min_max(full.min, pos2(mid - gap / 2.0, full.max.y)),
                    Some((GROUP_A, p.titles[0].as_str())),
                ),
                (
                    Rect::from_min_max(pos2(mid + gap / 2.0, full.min.y), full.max),
                    Some((GROUP_B, p.titles[1].as_str())),
                ),
            ]
        }
    };
    let background = ui.visuals().extreme_bg_color;
    let panes: Vec<Pane<'_>> = rects
        .into_iter()
        .map(|(rect, group)| Pane {
            rect,
            response: ui.allocate_rect(rect, Sense::click_and_drag()),
            group,
        })
        .collect();
    for pane in &panes {
        ui.painter_at(pane.rect)
            .rect_filled(pane.rect, 0.0, background);
    }
    let mut out = MapOutput::default();

    // Pan, zoom and region drawing in whichever pane has the pointer, before any is drawn:
    // both panes draw this frame's view.
    let modifiers = ui.input(|i| i.modifiers);
    let region_tool = match view.tool {
        Tool::Pan if modifiers.shift || modifiers.command || modifiers.ctrl => Some(Tool::Box),
        Tool::Pan => None,
        t => Some(t),
    };
    for pane in &panes {
        view.rect = pane.rect;
        if let Some(region) = interact(ui, view, &pane.response, region_tool, modifiers) {
            out.region = Some(region);
        }
    }
    if panes.iter().any(|p| p.response.double_clicked()) {
        view.auto_fit = true;
    }
    if view.auto_fit {
        view.rect = panes[0].rect;
        view.fit(data.bounds);
    }

    let last = panes.len() - 1;
    for (k, pane) in panes.iter().enumerate() {
        view.rect = pane.rect;
        let layer = if k == 0 {
            &mut *canvas
        } else {
            canvas.right.get_or_insert_with(Box::default).as_mut()
        };
        let hovered = draw_pane(ui, view, layer, data, pane, region_tool, k == last);
        if hovered.is_some() {
            out.hovered = hovered;
        }
        if pane.response.clicked() {
            out.clicked = Some(hovered);
        }
    }
    if data.panes.is_none() {
        // Back to one map: the right pane's texture is let go.
        canvas.right = None;
    }
    out
}

/// Drag (pan, or draw a box / lasso: the Box and Lasso tools, or Shift / Ctrl with Pan),
/// scroll / pinch zoom around the pointer, on `view` as the pane `view.rect` shows it. A
/// finished box or lasso is returned.
fn interact(
    ui: &egui::Ui,
    view: &mut MapView,
    response: &egui::Response,
    region_tool: Option<Tool>,
    modifiers: egui::Modifiers,
) -> Option<(Vec<[f32; 2]>, SelectOp, &'static str)> {
    let mut region = None;
    let primary = response.dragged_by(egui::PointerButton::Primary);
    if response.drag_started_by(egui::PointerButton::Primary) {
        view.drawing.clear();
    }
    let origin = ui.input(|i| i.pointer.press_origin());
    if primary && let (Some(tool), Some(pos)) = (region_tool, response.interact_pointer_pos()) {
        match tool {
            Tool::Box => {
                if view.drawing.is_empty() {
                    view.drawing.push(origin.unwrap_or(pos));
                }
                view.drawing.truncate(1);
                view.drawing.push(pos);
            }
            _ => {
                if view.drawing.is_empty() {
                    view.drawing.push(origin.unwrap_or(pos));
                }
                if view.drawing.last().is_none_or(|l| l.distance(pos) >= 2.0) {
                    view.drawing.push(pos);
                }
            }
        }
    } else if primary
        || response.dragged_by(egui::PointerButton::Middle)
        || response.dragged_by(egui::PointerButton::Secondary)
    {
        let d = response.drag_delta();
        view.center[0] -= d.x / view.px_per_unit;
        view.center[1] += d.y / view.px_per_unit;
        view.auto_fit = false;
    }
    if response.drag_stopped() && !view.drawing.is_empty() {
        let drawn = std::mem::take(&mut view.drawing);
        let is_box = drawn.len() == 2 && region_tool == Some(Tool::Box);
        let polygon: Vec<[f32; 2]> = if is_box {
            let (a, b) = (view.to_layout(drawn[0]), view.to_layout(drawn[1]));
            vec![a, [b[0], a[1]], b, [a[0], b[1]]]
        } else {
            // A long lasso is thinned to at most ~256 vertices: each point-in-polygon test
            // costs one step per vertex.
            let step = drawn.len().div_ceil(256).max(1);
            drawn
                .iter()
                .step_by(step)
                .map(|p| view.to_layout(*p))
                .collect()
        };
        if polygon.len() >= 3 {
            let label = if is_box { "box" } else { "lasso" };
            region = Some((polygon, SelectOp::from_modifiers(modifiers), label));
        }
    }
    if response.hovered() {
        let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = zoom * (scroll * 0.0015).exp();
        if (factor - 1.0).abs() > 1e-4
            && let Some(pointer) = response.hover_pos()
        {
            let anchor = view.to_layout(pointer);
            view.px_per_unit = (view.px_per_unit * factor).clamp(1e-4, 1e7);
            let c = view.rect.center();
            view.center = [
                anchor[0] - (pointer.x - c.x) / view.px_per_unit,
                anchor[1] + (pointer.y - c.y) / view.px_per_unit,
            ];
            view.auto_fit = false;
        }
    }
    region
}

/// Draw one pane (`view.rect` is its rectangle): its texture, region labels, the selected
/// and hovered points, the region being drawn, its title, and the legend when `legend`.
/// Returns the hovered point.
fn draw_pane(
    ui: &mut egui::Ui,
    view: &mut MapView,
    canvas: &mut MapCanvas,
    data: &MapData<'_>,
    pane: &Pane<'_>,
    region_tool: Option<Tool>,
    legend: bool,
) -> Option<usize> {
    let rect = pane.rect;
    let response = &pane.response;
    let painter = ui.painter_at(rect);
    let background = ui.visuals().extreme_bg_color;
    let coords: &[[f32; 2]] = data.coords;
    // In a side-by-side pane only its group's rows are drawn and picked.
    let in_pane = |r: usize| match (pane.group, &data.panes) {
        (Some((g, _)), Some(p)) => p.groups.of_row.get(r) == Some(&g),
        _ => true,
    };

    // The points: the last texture placed where its view puts it in the current one, and a
    // new render requested when the view, style or data changed.
    let ppp = ui.ctx().pixels_per_point();
    let want = RenderKey {
        view: view.viewport(ppp),
        style: view.style(coords.len(), ppp, background),
        version: data.version,
        difference: data
            .difference
            .as_ref()
            .map(|d| (d.groups.version, d.params.sigma_px * ppp)),
        pane: pane
            .group
            .zip(data.panes.as_ref())
            .map(|((g, _), p)| (p.groups.version, g)),
    };
    canvas.update(ui.ctx(), want, data);
    if let (Some(tex), Some(key)) = (&canvas.texture, canvas.drawn) {
        let kv = key.view;
        let half = [
            kv.width as f32 / 2.0 / kv.px_per_unit,
            kv.height as f32 / 2.0 / kv.px_per_unit,
        ];
        let top_left = view.to_screen([kv.center[0] - half[0], kv.center[1] + half[1]]);
        let bottom_right = view.to_screen([kv.center[0] + half[0], kv.center[1] - half[1]]);
        painter.image(
            tex.id(),
            Rect::from_min_max(top_left, bottom_right),
            Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
            Color32::WHITE,
        );
    }

    // Hover: the nearest drawn point within a few pixels of the cursor.
    let radius = view.radius_px(coords.len());
    let dragging_region = !view.drawing.is_empty();
    let hovered = match (response.hover_pos(), data.index) {
        (Some(ptr), Some(index)) if !dragging_region => {
            let max = (radius + 3.0) / view.px_per_unit;
            // Points filtered out are not picked, faded or hidden.
            index.nearest(coords, view.to_layout(ptr), max, |r| {
                data.classes
                    .get(r)
                    .is_none_or(|&c| c != render::PointClass::Hidden)
                    && data.pass.is_none_or(|p| p[r])
                    && in_pane(r)
            })
        }
        _ => None,
    };

    let legend_shown = data.difference.as_ref().map_or(data.legend, |d| &d.legend);
    let no_legend = Legend::None;
    let legend_here = if legend { legend_shown } else { &no_legend };
    if let Some(marks) = data.labels {
        let avoid = hovered.map(|i| view.to_screen(coords[i]));
        super::region_labels::draw(&painter, view, data.bounds, marks, legend_here, avoid);
    }
    let outline = ui.visuals().strong_text_color();
    if let Some(i) = data.selected
        && let Some(p) = coords.get(i)
        && in_pane(i)
    {
        let s = view.to_screen(*p);
        let color = data.colors.get(i).copied().unwrap_or(colors::DEFAULT_POINT);
        painter.circle_filled(s, radius + 2.0, c32(color));
        painter.circle_stroke(s, radius + 4.0, Stroke::new(2.0, outline));
    }
    if let Some(i) = hovered {
        let s = view.to_screen(coords[i]);
        painter.circle_stroke(s, radius + 3.0, Stroke::new(1.5, outline));
        map_labels::show_tooltip(ui.ctx(), data.samples, i, s, rect);
    }
    // The region being drawn (screen positions: only the pane it is drawn in shows it).
    let accent = ui.visuals().selection.stroke.color;
    match (region_tool, view.drawing.as_slice()) {
        (Some(Tool::Box), [a, b]) => {
            let r = Rect::from_two_pos(*a, *b);
            painter.rect_filled(r, 0.0, accent.gamma_multiply(0.12));
            painter.rect_stroke(r, 0.0, Stroke::new(1.5, accent), egui::StrokeKind::Middle);
        }
        (Some(_), pts) if pts.len() >= 2 => {
            let mut closed = pts.to_vec();
            closed.push(pts[0]);
            painter.add(Shape::line(closed, Stroke::new(1.5, accent)));
        }
        _ => {}
    }
    if let Some((_, title)) = pane.group {
        // In the pane's top-left corner (the legend has the right pane's top-right one).
        let font = egui::FontId::proportional(14.0);
        let color = ui.visuals().strong_text_color();
        let size = painter
            .layout_no_wrap(title.to_string(), font.clone(), color)
            .size();
        let at = Rect::from_min_size(rect.min + vec2(8.0, 6.0), size);
        painter.rect_filled(
            at.expand(3.0),
            3.0,
            ui.visuals().window_fill().gamma_multiply(0.85),
        );
        let text = egui::RichText::new(title).font(font).color(color);
        ui.put(at, egui::Label::new(text).selectable(false).extend());
    }
    if legend {
        map_labels::draw_legend(ui, &painter, rect, legend_shown, &mut view.legend_expanded);
    }
    hovered
}

pub use super::map_labels::format_value;
pub use crate::render::image::format_number;

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_compact() {
        use super::format_number as f;
        assert_eq!(f(0.848), "0.848");
    }
}
