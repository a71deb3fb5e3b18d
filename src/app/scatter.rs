//! The map: every point drawn as one egui mesh, pan and zoom, hover tooltip, click to select,
//! and the legend / colour bar drawn over the map.

use eframe::egui::{
    self, Align2, Color32, FontId, Id, Mesh, Pos2, Rect, Sense, Shape, Stroke, Vec2, pos2, vec2,
};

use super::colors::{self, Legend};
use crate::dataset::{ColumnKind, MISSING_CODE, Samples, truncate_chars};

/// The mapping between layout coordinates and the screen.
#[derive(Clone, Debug)]
pub struct MapView {
    /// Layout coordinates at the centre of the map.
    pub center: [f32; 2],
    pub px_per_unit: f32,
    /// Fit the whole layout into the window every frame (until the user pans or zooms).
    pub auto_fit: bool,
    /// User's point size multiplier.
    pub point_scale: f32,
    /// The map's rectangle in the last frame.
    pub rect: Rect,
}

impl Default for MapView {
    fn default() -> Self {
        MapView {
            center: [0.0, 0.0],
            px_per_unit: 1.0,
            auto_fit: true,
            point_scale: 1.0,
            rect: Rect::from_min_size(Pos2::ZERO, vec2(1.0, 1.0)),
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

    fn fit(&mut self, coords: &[[f32; 2]]) {
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for p in coords {
            for a in 0..2 {
                if p[a].is_finite() {
                    lo[a] = lo[a].min(p[a]);
                    hi[a] = hi[a].max(p[a]);
                }
            }
        }
        if !(lo[0].is_finite() && lo[1].is_finite()) {
            return;
        }
        self.center = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
        let margin = 24.0;
        let w = (self.rect.width() - 2.0 * margin).max(10.0);
        let h = (self.rect.height() - 2.0 * margin).max(10.0);
        let span_x = (hi[0] - lo[0]).max(1e-6);
        let span_y = (hi[1] - lo[1]).max(1e-6);
        self.px_per_unit = (w / span_x).min(h / span_y);
    }

    /// Point radius in pixels for `n` points.
    pub fn radius_px(&self, n: usize) -> f32 {
        let base = match n {
            0..=2_000 => 4.0,
            2_001..=20_000 => 3.0,
            20_001..=200_000 => 2.0,
            _ => 1.4,
        };
        base * self.point_scale
    }
}

/// What happened on the map this frame.
#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_compact() {
        use super::format_number as f;
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(0.848), "0.848");
        assert_eq!(f(22.0), "22");
        assert_eq!(f(0.123456), "0.1235");
        assert_eq!(f(1234.5678), "1235");
        assert_eq!(f(0.0001), "1.000e-4");
    }
}

#[derive(Default)]
pub struct MapOutput {
    pub hovered: Option<usize>,
    /// A click: on a point (`Some(Some(i))`) or on empty space (`Some(None)`).
    pub clicked: Option<Option<usize>>,
}

/// Unit octagon, for round-looking points from 8 triangles.
fn octagon() -> [Vec2; 8] {
    std::array::from_fn(|k| {
        let a = k as f32 * std::f32::consts::TAU / 8.0;
        vec2(a.cos(), a.sin())
    })
}

fn add_point(mesh: &mut Mesh, ring: &[Vec2; 8], center: Pos2, radius: f32, color: Color32) {
    let base = mesh.vertices.len() as u32;
    mesh.colored_vertex(center, color);
    for d in ring {
        mesh.colored_vertex(center + *d * radius, color);
    }
    for k in 0..8u32 {
        mesh.add_triangle(base, base + 1 + k, base + 1 + (k + 1) % 8);
    }
}

pub fn show_map(
    ui: &mut egui::Ui,
    view: &mut MapView,
    samples: &Samples,
    coords: &[[f32; 2]],
    colors: &[Color32],
    legend: &Legend,
    selected: Option<usize>,
    highlight: Option<&[bool]>,
) -> MapOutput {
    let rect = ui.available_rect_before_wrap();
    let response = ui.allocate_rect(rect, Sense::click_and_drag());
    view.rect = rect;
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);

    // Pan and zoom.
    if response.dragged_by(egui::PointerButton::Primary)
        || response.dragged_by(egui::PointerButton::Middle)
    {
        let d = response.drag_delta();
        view.center[0] -= d.x / view.px_per_unit;
        view.center[1] += d.y / view.px_per_unit;
        view.auto_fit = false;
    }
    if response.hovered() {
        let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = zoom * (scroll * 0.0015).exp();
        if (factor - 1.0).abs() > 1e-4
            && let Some(pointer) = response.hover_pos()
        {
            let anchor = view.to_layout(pointer);
            view.px_per_unit = (view.px_per_unit * factor).clamp(1e-4, 1e7);
            let c = rect.center();
            view.center = [
                anchor[0] - (pointer.x - c.x) / view.px_per_unit,
                anchor[1] + (pointer.y - c.y) / view.px_per_unit,
            ];
            view.auto_fit = false;
        }
    }
    if response.double_clicked() {
        view.auto_fit = true;
    }
    if view.auto_fit {
        view.fit(coords);
    }

    // Points.
    let radius = view.radius_px(coords.len());
    let ring = octagon();
    let mut mesh = Mesh::default();
    let visible = rect.expand(radius);
    let pointer = response.hover_pos();
    let pick_radius = radius + 3.0;
    let mut hovered: Option<(usize, f32)> = None;
    // Highlighted points go into a second mesh drawn on top; the rest fade.
    let mut top = Mesh::default();
    for (i, p) in coords.iter().enumerate() {
        let s = view.to_screen(*p);
        if !visible.contains(s) {
            continue;
        }
        let color = colors.get(i).copied().unwrap_or(colors::DEFAULT_POINT);
        match highlight.map(|h| h.get(i).copied().unwrap_or(false)) {
            None => add_point(&mut mesh, &ring, s, radius, color.gamma_multiply(0.85)),
            Some(true) => add_point(&mut top, &ring, s, radius * 1.15, color),
            Some(false) => add_point(&mut mesh, &ring, s, radius, color.gamma_multiply(0.12)),
        }
        if let Some(ptr) = pointer {
            let d2 = (s - ptr).length_sq();
            if d2 <= pick_radius * pick_radius && hovered.is_none_or(|(_, best)| d2 <= best) {
                hovered = Some((i, d2));
            }
        }
    }
    painter.add(Shape::mesh(mesh));
    if !top.is_empty() {
        painter.add(Shape::mesh(top));
    }

    // Highlights on top.
    let outline = ui.visuals().strong_text_color();
    if let Some(i) = selected
        && let Some(p) = coords.get(i)
    {
        let s = view.to_screen(*p);
        painter.circle_filled(
            s,
            radius + 2.0,
            colors.get(i).copied().unwrap_or(colors::DEFAULT_POINT),
        );
        painter.circle_stroke(s, radius + 4.0, Stroke::new(2.0, outline));
    }
    let hovered = hovered.map(|(i, _)| i);
    if let Some(i) = hovered {
        let s = view.to_screen(coords[i]);
        painter.circle_stroke(s, radius + 3.0, Stroke::new(1.5, outline));
        show_tooltip(ui.ctx(), samples, i, s, rect);
    }
    draw_legend(ui, &painter, rect, legend);

    MapOutput {
        hovered,
        clicked: response.clicked().then_some(hovered),
    }
}

/// A compact display of one metadata value.
pub fn format_value(kind: &ColumnKind, row: usize) -> Option<String> {
    match kind {
        ColumnKind::Numeric { values, .. } => {
            let v = values[row];
            Some(if v.is_finite() {
                format_number(v)
            } else {
                "missing".into()
            })
        }
        ColumnKind::Category { levels, codes, .. } => Some(if codes[row] == MISSING_CODE {
            "missing".into()
        } else {
            levels[codes[row] as usize].clone()
        }),
        _ => None,
    }
}

pub fn format_number(v: f32) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else if v.abs() >= 1e5 || v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        // Four significant digits, without trailing zeros.
        let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

fn show_tooltip(ctx: &egui::Context, samples: &Samples, row: usize, at: Pos2, map: Rect) {
    let flip_x = at.x > map.right() - 440.0;
    let pos = if flip_x {
        at + vec2(-16.0, 16.0)
    } else {
        at + vec2(16.0, 16.0)
    };
    let pivot = if flip_x {
        Align2::RIGHT_TOP
    } else {
        Align2::LEFT_TOP
    };
    egui::Area::new(Id::unique("atlas-map-tooltip"))
        .order(egui::Order::Tooltip)
        .fixed_pos(pos)
        .pivot(pivot)
        .interactable(false)
        .constrain(true)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_max_width(420.0);
                ui.label(
                    egui::RichText::new(format!("#{row} · {}", samples.locate(row)))
                        .small()
                        .weak(),
                );
                let text = &samples.texts[row];
                let preview = truncate_chars(text, 280);
                let ellipsis = if preview.len() < text.len() {
                    " …"
                } else {
                    ""
                };
                ui.label(format!("{preview}{ellipsis}"));
                ui.separator();
                for col in samples.columns.iter().filter(|c| c.colorable()).take(10) {
                    if let Some(v) = format_value(&col.kind, row) {
                        ui.horizontal(|ui| {
                            ui.label(egui::RichText::new(&col.name).weak());
                            ui.add(egui::Label::new(truncate_chars(&v, 120)).truncate());
                        });
                    }
                }
            });
        });
}

fn draw_legend(ui: &egui::Ui, painter: &egui::Painter, map: Rect, legend: &Legend) {
    let font = FontId::proportional(12.0);
    let text_color = ui.visuals().text_color();
    let bg = ui.visuals().window_fill().gamma_multiply(0.9);
    match legend {
        Legend::None => {}
        Legend::Continuous {
            column,
            min,
            max,
            missing,
        } => {
            let size = vec2(220.0, 58.0 + if *missing > 0 { 16.0 } else { 0.0 });
            let frame = Rect::from_min_size(map.right_top() + vec2(-size.x - 12.0, 12.0), size);
            painter.rect_filled(frame, 4.0, bg);
            painter.text(
                frame.left_top() + vec2(10.0, 6.0),
                Align2::LEFT_TOP,
                column,
                font.clone(),
                text_color,
            );
            let bar = Rect::from_min_size(
                frame.left_top() + vec2(10.0, 24.0),
                vec2(size.x - 20.0, 12.0),
            );
            let mut mesh = Mesh::default();
            let steps = 64;
            for k in 0..steps {
                let t0 = k as f32 / steps as f32;
                let t1 = (k + 1) as f32 / steps as f32;
                let r = Rect::from_x_y_ranges(
                    bar.left() + t0 * bar.width()..=bar.left() + t1 * bar.width(),
                    bar.y_range(),
                );
                mesh.add_colored_rect(r, colors::continuous((t0 + t1) / 2.0));
            }
            painter.add(Shape::mesh(mesh));
            let y = bar.bottom() + 3.0;
            painter.text(
                pos2(bar.left(), y),
                Align2::LEFT_TOP,
                format_number(*min),
                font.clone(),
                text_color,
            );
            painter.text(
                pos2(bar.right(), y),
                Align2::RIGHT_TOP,
                format_number(*max),
                font.clone(),
                text_color,
            );
            if *missing > 0 {
                painter.circle_filled(pos2(bar.left() + 4.0, y + 22.0), 4.0, colors::MISSING);
                painter.text(
                    pos2(bar.left() + 14.0, y + 22.0),
                    Align2::LEFT_CENTER,
                    format!("missing ({missing})"),
                    font,
                    text_color,
                );
            }
        }
        Legend::Categories {
            column,
            entries,
            missing,
        } => {
            const MAX_ROWS: usize = 12;
            let shown = entries.len().min(MAX_ROWS);
            let extra_rows = usize::from(entries.len() > MAX_ROWS) + usize::from(*missing > 0);
            let longest = entries
                .iter()
                .take(shown)
                .map(|e| e.0.chars().count().min(28))
                .max()
                .unwrap_or(0)
                .max(column.chars().count());
            let width = (longest as f32 * 7.0 + 80.0).clamp(140.0, 300.0);
            let height = 30.0 + 16.0 * (shown + extra_rows) as f32;
            let frame = Rect::from_min_size(
                map.right_top() + vec2(-width - 12.0, 12.0),
                vec2(width, height),
            );
            painter.rect_filled(frame, 4.0, bg);
            painter.text(
                frame.left_top() + vec2(10.0, 6.0),
                Align2::LEFT_TOP,
                column,
                font.clone(),
                text_color,
            );
            let mut y = frame.top() + 30.0;
            for (label, color, count) in entries.iter().take(shown) {
                painter.circle_filled(pos2(frame.left() + 14.0, y), 4.5, *color);
                let label = truncate_chars(label, 28);
                painter.text(
                    pos2(frame.left() + 24.0, y),
                    Align2::LEFT_CENTER,
                    label,
                    font.clone(),
                    text_color,
                );
                painter.text(
                    pos2(frame.right() - 10.0, y),
                    Align2::RIGHT_CENTER,
                    count.to_string(),
                    font.clone(),
                    ui.visuals().weak_text_color(),
                );
                y += 16.0;
            }
            if entries.len() > MAX_ROWS {
                painter.text(
                    pos2(frame.left() + 24.0, y),
                    Align2::LEFT_CENTER,
                    format!("… {} more", entries.len() - MAX_ROWS),
                    font.clone(),
                    ui.visuals().weak_text_color(),
                );
                y += 16.0;
            }
            if *missing > 0 {
                painter.circle_filled(pos2(frame.left() + 14.0, y), 4.5, colors::MISSING);
                painter.text(
                    pos2(frame.left() + 24.0, y),
                    Align2::LEFT_CENTER,
                    format!("missing ({missing})"),
                    font,
                    text_color,
                );
            }
        }
    }
}
