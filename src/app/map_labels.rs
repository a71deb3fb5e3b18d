//! What is drawn over the map besides the points: the hover tooltip (text preview and
//! metadata) and the legend / colour bar (laid out by `render::legend`).

use eframe::egui::{self, Align2, Color32, FontId, Id, Mesh, Pos2, Rect, Shape, pos2, vec2};

use super::scatter::c32;
use crate::dataset::{ColumnKind, MISSING_CODE, Samples};
use crate::render::colors::{self, Legend};
use crate::render::image::format_number;
use crate::util::text::truncate_chars;

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

pub(super) fn show_tooltip(
    ctx: &egui::Context,
    samples: &Samples,
    row: usize,
    at: Pos2,
    map: Rect,
) {
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

/// Draw the legend laid out by `render::legend` (the PNG export draws the same layout). Its
/// texts are labels (screen readers and tests find them); a folded category list's "+ N more"
/// is a button that unfolds the whole list (`expanded`) into a scrollable panel.
pub(super) fn draw_legend(
    ui: &mut egui::Ui,
    painter: &egui::Painter,
    map: Rect,
    legend: &Legend,
    expanded: &mut bool,
) {
    use crate::render::legend::{self, Anchor, Shape as L, TextRole};
    if *expanded && let Legend::Categories { .. } = legend {
        full_legend(ui.ctx(), map, legend, expanded);
        return;
    }
    let layout = legend::layout(legend, map.right(), map.top(), 1.0);
    let font = FontId::proportional(layout.font_px);
    let rect =
        |b: &legend::Box2| Rect::from_min_max(pos2(b.min[0], b.min[1]), pos2(b.max[0], b.max[1]));
    let bar = |painter: &egui::Painter, b: &legend::Box2, colour: &dyn Fn(f32) -> Color32| {
        let bar = rect(b);
        let mut mesh = Mesh::default();
        let steps = 64;
        for k in 0..steps {
            let t0 = k as f32 / steps as f32;
            let t1 = (k + 1) as f32 / steps as f32;
            let r = Rect::from_x_y_ranges(
                bar.left() + t0 * bar.width()..=bar.left() + t1 * bar.width(),
                bar.y_range(),
            );
            mesh.add_colored_rect(r, colour((t0 + t1) / 2.0));
        }
        painter.add(Shape::mesh(mesh));
    };
    for shape in &layout.shapes {
        match shape {
            L::Panel(b) => {
                painter.rect_filled(rect(b), 4.0, ui.visuals().window_fill().gamma_multiply(0.9));
            }
            L::ColourBar(b) => bar(painter, b, &|t| c32(colors::continuous(t))),
            L::DivergingBar(b) => bar(painter, b, &|t| c32(colors::diverging(2.0 * t - 1.0))),
            L::Swatch {
                center,
                radius,
                color,
            } => {
                painter.circle_filled(pos2(center[0], center[1]), *radius, c32(*color));
            }
            L::Text {
                at,
                anchor,
                text,
                role,
            } => {
                let align = match anchor {
                    Anchor::LeftTop => Align2::LEFT_TOP,
                    Anchor::RightTop => Align2::RIGHT_TOP,
                    Anchor::LeftCenter => Align2::LEFT_CENTER,
                    Anchor::RightCenter => Align2::RIGHT_CENTER,
                    Anchor::CenterTop => Align2::CENTER_TOP,
                };
                let color = match role {
                    TextRole::Count => ui.visuals().weak_text_color(),
                    TextRole::More => ui.visuals().hyperlink_color,
                    TextRole::Title | TextRole::Label => ui.visuals().text_color(),
                };
                let galley = painter.layout_no_wrap(text.clone(), font.clone(), color);
                let at = align.anchor_size(pos2(at[0], at[1]), galley.size());
                let rich = egui::RichText::new(text).font(font.clone()).color(color);
                if *role == TextRole::More {
                    let more = egui::Button::new(rich).frame(false);
                    if ui
                        .put(at.expand(1.0), more)
                        .on_hover_text("Show every category")
                        .clicked()
                    {
                        *expanded = true;
                    }
                } else {
                    ui.put(at, egui::Label::new(rich).selectable(false).extend());
                }
            }
        }
    }
}

/// Every category of the legend in a scrollable panel over the map's top-right corner.
fn full_legend(ctx: &egui::Context, map: Rect, legend: &Legend, expanded: &mut bool) {
    let Legend::Categories {
        column,
        entries,
        missing,
    } = legend
    else {
        return;
    };
    egui::Area::new(Id::unique("atlas-legend-full"))
        .order(egui::Order::Foreground)
        .fixed_pos(pos2(map.right() - 12.0, map.top() + 12.0))
        .pivot(Align2::RIGHT_TOP)
        .constrain_to(map)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_max_width(320.0);
                ui.horizontal(|ui| {
                    ui.strong(column);
                    ui.label(egui::RichText::new(format!("{} values", entries.len())).weak());
                    if ui.small_button("show fewer").clicked() {
                        *expanded = false;
                    }
                });
                egui::ScrollArea::vertical()
                    .id_salt("atlas-legend-scroll")
                    .max_height((map.height() - 80.0).max(80.0))
                    .show(ui, |ui| {
                        let row = |ui: &mut egui::Ui, color, label: &str, count: usize| {
                            ui.horizontal(|ui| {
                                let (r, _) =
                                    ui.allocate_exact_size(vec2(12.0, 12.0), egui::Sense::hover());
                                ui.painter().circle_filled(r.center(), 4.5, c32(color));
                                ui.label(truncate_chars(label, 40)).on_hover_text(label);
                                ui.label(egui::RichText::new(count.to_string()).weak());
                            });
                        };
                        for (label, color, count) in entries {
                            row(ui, *color, label, *count);
                        }
                        if *missing > 0 {
                            row(ui, colors::MISSING, "missing", *missing);
                        }
                    });
            });
        });
}
