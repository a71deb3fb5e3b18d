//! The legend / colour bar in the map's top-right corner, laid out once: a list of plain
//! shapes (panel, texts, swatches, colour bar) in pixels. The app's egui painter and the PNG
//! canvas ([`super::image`]) each draw that list; neither knows the offsets.

use super::Rgba;
use super::colors::{self, Legend};
use super::image::format_number;
use crate::util::text::truncate_chars;

/// Category rows a legend lists before "+ N more" (the largest categories).
pub const LEGEND_MAX_ROWS: usize = 12;
/// Characters of a category label a legend shows.
pub const LEGEND_LABEL_CHARS: usize = 28;

/// Font size of every legend text, in points (multiplied by the layout's scale).
pub const FONT_SIZE: f32 = 12.0;

/// A rectangle in pixels: left, top, right, bottom.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Box2 {
    pub min: [f32; 2],
    pub max: [f32; 2],
}

impl Box2 {
    pub fn width(&self) -> f32 {
        self.max[0] - self.min[0]
    }
}

/// Which edge of a text its anchor is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// Left edge, top line.
    LeftTop,
    /// Right edge, top line.
    RightTop,
    /// Left edge, vertical centre.
    LeftCenter,
    /// Right edge, vertical centre.
    RightCenter,
    /// Horizontal centre, top line.
    CenterTop,
}

/// What a text is (each painter picks its colour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextRole {
    /// The column name.
    Title,
    /// A category label, a bar end value, "missing (n)".
    Label,
    /// A category's count.
    Count,
    /// "+ N more" (the app makes it a button that unfolds the whole list).
    More,
}

/// One thing to draw.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// The translucent panel behind the legend.
    Panel(Box2),
    Text {
        at: [f32; 2],
        anchor: Anchor,
        text: String,
        role: TextRole,
    },
    /// A colour disc next to a label.
    Swatch {
        center: [f32; 2],
        radius: f32,
        color: Rgba,
    },
    /// The continuous colour map from its low (left) to its high (right) end.
    ColourBar(Box2),
    /// The diverging colour map ([`colors::diverging`]) from −1 (left) to +1 (right).
    DivergingBar(Box2),
}

/// The legend's shapes, in drawing order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LegendLayout {
    pub shapes: Vec<Shape>,
    /// Text size in pixels.
    pub font_px: f32,
}

impl LegendLayout {
    /// The legend's panel (min x, min y, max x, max y), if it has one: labels keep off it.
    pub fn panel(&self) -> Option<[f32; 4]> {
        self.shapes.iter().find_map(|s| match s {
            Shape::Panel(b) => Some([b.min[0], b.min[1], b.max[0], b.max[1]]),
            _ => None,
        })
    }
}

/// The legend box's size in points: (width, height, category rows shown).
fn box_size(legend: &Legend) -> (f32, f32, usize) {
    match legend {
        Legend::None => (0.0, 0.0, 0),
        Legend::Continuous { missing, .. } => {
            (220.0, 58.0 + if *missing > 0 { 16.0 } else { 0.0 }, 0)
        }
        Legend::Difference { column, a, b, .. } => {
            let longest = (a.chars().count() + b.chars().count()).min(2 * LEGEND_LABEL_CHARS);
            let title = column.chars().count().min(LEGEND_LABEL_CHARS) + 28;
            let width = ((longest.max(title)) as f32 * 7.0 + 90.0).clamp(240.0, 420.0);
            (width, 92.0, 0)
        }
        Legend::Categories {
            column,
            entries,
            missing,
        } => {
            let shown = entries.len().min(LEGEND_MAX_ROWS);
            let extra = usize::from(entries.len() > LEGEND_MAX_ROWS) + usize::from(*missing > 0);
            let longest = entries
                .iter()
                .take(shown)
                .map(|e| e.0.chars().count().min(LEGEND_LABEL_CHARS))
                .max()
                .unwrap_or(0)
                .max(column.chars().count());
            let width = (longest as f32 * 7.0 + 80.0).clamp(140.0, 300.0);
            (width, 30.0 + 16.0 * (shown + extra) as f32, shown)
        }
    }
}

/// Lay out `legend` in the top-right corner of a map whose right edge is at `right` and top
/// at `top` (pixels), at `scale` pixels per point.
pub fn layout(legend: &Legend, right: f32, top: f32, scale: f32) -> LegendLayout {
    let s = scale;
    let (w, h, shown) = box_size(legend);
    let (w, h) = (w * s, h * s);
    let frame = Box2 {
        min: [right - 12.0 * s - w, top + 12.0 * s],
        max: [right - 12.0 * s - w + w, top + 12.0 * s + h],
    };
    let mut shapes = Vec::new();
    let title = |shapes: &mut Vec<Shape>, column: &str| {
        shapes.push(Shape::Panel(frame));
        let at = [frame.min[0] + 10.0 * s, frame.min[1] + 6.0 * s];
        shapes.push(text(
            at,
            Anchor::LeftTop,
            column.to_string(),
            TextRole::Title,
        ));
    };
    match legend {
        Legend::None => {}
        Legend::Continuous {
            column,
            min,
            max,
            missing,
        } => {
            title(&mut shapes, column);
            continuous(&mut shapes, frame.min, w, s, (*min, *max), *missing);
        }
        Legend::Difference {
            column,
            a,
            b,
            n_a,
            n_b,
        } => {
            let column = truncate_chars(column, LEGEND_LABEL_CHARS);
            title(&mut shapes, &format!("{column}: share of A vs share of B"));
            difference(&mut shapes, frame.min, w, s, (a, *n_a), (b, *n_b));
        }
        Legend::Categories {
            column,
            entries,
            missing,
        } => {
            title(&mut shapes, column);
            categories(
                &mut shapes,
                frame.min,
                w,
                s,
                &entries[..shown],
                entries.len(),
                *missing,
            );
        }
    }
    LegendLayout {
        shapes,
        font_px: FONT_SIZE * s,
    }
}

fn text(at: [f32; 2], anchor: Anchor, text: String, role: TextRole) -> Shape {
    Shape::Text {
        at,
        anchor,
        text,
        role,
    }
}

/// The colour bar under the title, its end values, and "missing (n)".
fn continuous(
    shapes: &mut Vec<Shape>,
    [x0, y0]: [f32; 2],
    w: f32,
    s: f32,
    (min, max): (f32, f32),
    missing: usize,
) {
    let bar = Box2 {
        min: [x0 + 10.0 * s, y0 + 24.0 * s],
        max: [x0 + 10.0 * s + (w - 20.0 * s), y0 + 24.0 * s + 12.0 * s],
    };
    shapes.push(Shape::ColourBar(bar));
    let y = bar.max[1] + 3.0 * s;
    let (lo, hi) = (format_number(min), format_number(max));
    shapes.push(text([bar.min[0], y], Anchor::LeftTop, lo, TextRole::Label));
    shapes.push(text([bar.max[0], y], Anchor::RightTop, hi, TextRole::Label));
    if missing > 0 {
        let cy = y + 22.0 * s;
        shapes.push(Shape::Swatch {
            center: [bar.min[0] + 4.0 * s, cy],
            radius: 4.0 * s,
            color: colors::MISSING,
        });
        let label = format!("missing ({missing})");
        shapes.push(text(
            [bar.min[0] + 14.0 * s, cy],
            Anchor::LeftCenter,
            label,
            TextRole::Label,
        ));
    }
}

/// Ticks under the diverging bar: (position −1..=1, label). The colour is
/// (A − B) / (A + B) of the two groups' shares: ±0.5 is one group with 3× the other's share.
pub const DIFFERENCE_TICKS: [(f32, &str); 5] = [
    (-1.0, "only B"),
    (-0.5, "3× B"),
    (0.0, "equal"),
    (0.5, "3× A"),
    (1.0, "only A"),
];

/// The diverging bar, its ticks ("only B" … "equal" … "only A") under it, and the two
/// values with their rows (B under the blue end, A under the red one).
fn difference(
    shapes: &mut Vec<Shape>,
    [x0, y0]: [f32; 2],
    w: f32,
    s: f32,
    (a, n_a): (&str, usize),
    (b, n_b): (&str, usize),
) {
    let bar = Box2 {
        min: [x0 + 10.0 * s, y0 + 24.0 * s],
        max: [x0 + 10.0 * s + (w - 20.0 * s), y0 + 24.0 * s + 12.0 * s],
    };
    shapes.push(Shape::DivergingBar(bar));
    let y = bar.max[1] + 3.0 * s;
    for (t, label) in DIFFERENCE_TICKS {
        let x = bar.min[0] + (t + 1.0) / 2.0 * bar.width();
        let anchor = match t {
            -1.0 => Anchor::LeftTop,
            1.0 => Anchor::RightTop,
            _ => Anchor::CenterTop,
        };
        shapes.push(text([x, y], anchor, label.into(), TextRole::Count));
    }
    let y = y + 18.0 * s;
    let name = |v: &str| truncate_chars(v, LEGEND_LABEL_CHARS).to_string();
    let thousands = crate::util::format::thousands;
    shapes.push(text(
        [bar.min[0], y],
        Anchor::LeftTop,
        format!("B = {} ({})", name(b), thousands(n_b)),
        TextRole::Label,
    ));
    shapes.push(text(
        [bar.max[0], y],
        Anchor::RightTop,
        format!("A = {} ({})", name(a), thousands(n_a)),
        TextRole::Label,
    ));
}

/// One row per shown category (swatch, label, count), "… N more", "missing (n)".
fn categories(
    shapes: &mut Vec<Shape>,
    [x0, y0]: [f32; 2],
    w: f32,
    s: f32,
    shown: &[(String, Rgba, usize)],
    total: usize,
    missing: usize,
) {
    let mut y = y0 + 30.0 * s;
    let swatch = |shapes: &mut Vec<Shape>, y: f32, color: Rgba| {
        shapes.push(Shape::Swatch {
            center: [x0 + 14.0 * s, y],
            radius: 4.5 * s,
            color,
        });
    };
    let label_x = x0 + 24.0 * s;
    for (name, color, count) in shown {
        swatch(shapes, y, *color);
        let name = truncate_chars(name, LEGEND_LABEL_CHARS).to_string();
        shapes.push(text(
            [label_x, y],
            Anchor::LeftCenter,
            name,
            TextRole::Label,
        ));
        let count = count.to_string();
        shapes.push(text(
            [x0 + w - 10.0 * s, y],
            Anchor::RightCenter,
            count,
            TextRole::Count,
        ));
        y += 16.0 * s;
    }
    if total > LEGEND_MAX_ROWS {
        let more = format!("+ {} more", total - LEGEND_MAX_ROWS);
        shapes.push(text([label_x, y], Anchor::LeftCenter, more, TextRole::More));
        y += 16.0 * s;
    }
    if missing > 0 {
        swatch(shapes, y, colors::MISSING);
        let label = format!("missing ({missing})");
        shapes.push(text(
            [label_x, y],
            Anchor::LeftCenter,
            label,
            TextRole::Label,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colour_bar_sits_under_the_title_in_the_top_right_corner() {
        let legend = Legend::Continuous {
            column: "score".into(),
            min: 0.0,
            max: 1.0,
            missing: 0,
        };
        let l = layout(&legend, 400.0, 0.0, 1.0);
        assert_eq!(
            l.shapes[0],
            Shape::Panel(Box2 {
                min: [168.0, 12.0],
                max: [388.0, 70.0]
            })
        );
        assert!(l.shapes.contains(&Shape::ColourBar(Box2 {
            min: [178.0, 36.0],
            max: [378.0, 48.0]
        })));
        assert!(layout(&Legend::None, 400.0, 0.0, 1.0).shapes.is_empty());
    }

    #[test]
    fn long_category_lists_end_in_more() {
        let entries = (0..20)
            .map(|i| (format!("c{i}"), colors::category(i), 20 - i))
            .collect();
        let legend = Legend::Categories {
            column: "model".into(),
            entries,
            missing: 1,
        };
        let l = layout(&legend, 300.0, 0.0, 2.0);
        let swatches = l
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Swatch { .. }))
            .count();
        assert_eq!(swatches, LEGEND_MAX_ROWS + 1);
        assert!(l.shapes.iter().any(|s| matches!(
            s,
            Shape::Text { text, role: TextRole::More, .. } if text == "+ 8 more"
        )));
        assert_eq!(l.font_px, 24.0);
        // The panel ends under the last row: 12 shown, "+ 8 more", "missing (1)".
        let panel = l.panel().unwrap();
        assert_eq!(panel[3] - panel[1], 2.0 * (30.0 + 16.0 * 14.0));
    }

    #[test]
    fn a_difference_legend_names_both_values_under_their_ends() {
        let legend = Legend::Difference {
            column: "temperature".into(),
            a: "1.5".into(),
            b: "0.5".into(),
            n_a: 768,
            n_b: 1200,
        };
        let l = layout(&legend, 500.0, 0.0, 1.0);
        let bar = l
            .shapes
            .iter()
            .find_map(|s| match s {
                Shape::DivergingBar(b) => Some(*b),
                _ => None,
            })
            .expect("a diverging bar");
        let find = |want: &str| {
            l.shapes.iter().find_map(|s| match s {
                Shape::Text {
                    at, anchor, text, ..
                } if text == want => Some((*at, *anchor)),
                _ => None,
            })
        };
        assert_eq!(
            find("temperature: share of A vs share of B").map(|t| t.1),
            Some(Anchor::LeftTop)
        );
        // B (blue, negative) under the left end, A (red, positive) under the right end.
        let (b_at, b_anchor) = find("B = 0.5 (1,200)").expect("B's label");
        let (a_at, a_anchor) = find("A = 1.5 (768)").expect("A's label");
        assert_eq!((b_at[0], b_anchor), (bar.min[0], Anchor::LeftTop));
        assert_eq!((a_at[0], a_anchor), (bar.max[0], Anchor::RightTop));
        // The ticks: "equal" in the middle, "3× B" a quarter of the way from the blue end.
        let mid = (bar.min[0] + bar.max[0]) / 2.0;
        assert_eq!(
            find("equal"),
            Some(([mid, bar.max[1] + 3.0], Anchor::CenterTop))
        );
        let quarter = bar.min[0] + bar.width() / 4.0;
        assert_eq!(find("3× B").map(|t| t.0[0]), Some(quarter));
        assert!(find("only B").unwrap().0[0] < find("only A").unwrap().0[0]);
        let panel = l.panel().unwrap();
        assert!(a_at[1] + 14.0 < panel[3], "inside the panel");
    }
}
