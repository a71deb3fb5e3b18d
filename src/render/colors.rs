//! Point colours: a perceptual colour map for numeric columns, a qualitative palette for
//! categories, grey for missing values. Plain RGBA bytes: the app and the PNG export share them.

use super::Rgba;
use crate::dataset::{ColumnKind, MISSING_CODE, Samples};

pub const MISSING: Rgba = rgb(120, 120, 120);
pub const DEFAULT_POINT: Rgba = rgb(86, 156, 214);

pub const fn rgb(r: u8, g: u8, b: u8) -> Rgba {
    [r, g, b, 255]
}

/// What the legend shows for the current colouring.
#[derive(Clone, Debug)]
pub enum Legend {
    None,
    Continuous {
        column: String,
        min: f32,
        max: f32,
        missing: usize,
    },
    Categories {
        column: String,
        /// (label, colour, count), most frequent first.
        entries: Vec<(String, Rgba, usize)>,
        missing: usize,
    },
    /// The density difference of two groups (share of A − share of B) with its diverging
    /// colour bar: `column` is the split column, `a` and `b` its two values, with their rows.
    Difference {
        column: String,
        a: String,
        b: String,
        n_a: usize,
        n_b: usize,
    },
}

pub fn continuous(t: f32) -> Rgba {
    let c = colorous::VIRIDIS.eval_continuous(t.clamp(0.0, 1.0) as f64);
    rgb(c.r, c.g, c.b)
}

/// ColorBrewer's 11-class RdBu from red (+1) to blue (−1), the neutral #f7f7f7 in the middle.
const RED_BLUE: [[u8; 3]; 11] = [
    [0x67, 0x00, 0x1f],
    [0xb2, 0x18, 0x2b],
    [0xd6, 0x60, 0x4d],
    [0xf4, 0xa5, 0x82],
    [0xfd, 0xdb, 0xc7],
    [0xf7, 0xf7, 0xf7],
    [0xd1, 0xe5, 0xf0],
    [0x92, 0xc5, 0xde],
    [0x43, 0x93, 0xc3],
    [0x21, 0x66, 0xac],
    [0x05, 0x30, 0x61],
];

/// The diverging colour map of a difference `t` in −1..=1: blue (−1, more B) through white
/// (0, equal: exactly the neutral grey-white) to red (+1, more A) — ColorBrewer's RdBu, whose
/// lightness falls evenly from the middle to both ends, interpolated linearly between its
/// eleven classes.
pub fn diverging(t: f32) -> Rgba {
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    // Position along the table: 0 at red (+1), 10 at blue (−1).
    let x = (1.0 - t) * 5.0;
    let i = (x.floor() as usize).min(9);
    let f = x - i as f32;
    let (lo, hi) = (RED_BLUE[i], RED_BLUE[i + 1]);
    let mix = |c: usize| (lo[c] as f32 + (hi[c] as f32 - lo[c] as f32) * f).round() as u8;
    rgb(mix(0), mix(1), mix(2))
}

/// Colour of category `i`: Tableau 10 first, then hues spaced by the golden angle (so that
/// data sets with a hundred categories still get distinguishable neighbours).
pub fn category(i: usize) -> Rgba {
    if let Some(c) = colorous::TABLEAU10.get(i) {
        return rgb(c.r, c.g, c.b);
    }
    let hue = (i as f32 * 0.618_034).fract();
    let saturation = if (i / 7).is_multiple_of(2) { 0.75 } else { 0.5 };
    let value = if (i / 3).is_multiple_of(2) {
        0.95
    } else {
        0.75
    };
    hsv(hue, saturation, value)
}

/// HSV (all in 0..=1) to RGB.
fn hsv(h: f32, s: f32, v: f32) -> Rgba {
    let h6 = (h.fract() * 6.0).max(0.0);
    let i = h6.floor() as u32 % 6;
    let f = h6 - h6.floor();
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    let (r, g, b) = match i {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    let byte = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
    rgb(byte(r), byte(g), byte(b))
}

/// Colours of every point when colouring by `column` (or the default colour).
pub fn point_colors(samples: &Samples, column: Option<&str>) -> (Vec<Rgba>, Legend) {
    let n = samples.len();
    let Some(info) = column.and_then(|c| samples.columns.iter().find(|i| i.name == c)) else {
        return (vec![DEFAULT_POINT; n], Legend::None);
    };
    match &info.kind {
        ColumnKind::Numeric {
            values,
            min,
            max,
            missing,
        } => {
            let span = if max > min { max - min } else { 1.0 };
            let colors = values
                .iter()
                .map(|&v| {
                    if v.is_finite() {
                        continuous((v - min) / span)
                    } else {
                        MISSING
                    }
                })
                .collect();
            (
                colors,
                Legend::Continuous {
                    column: info.name.clone(),
                    min: *min,
                    max: *max,
                    missing: *missing,
                },
            )
        }
        ColumnKind::Category {
            levels,
            codes,
            counts,
        } => {
            let colors = codes
                .iter()
                .map(|&c| {
                    if c == MISSING_CODE {
                        MISSING
                    } else {
                        category(c as usize)
                    }
                })
                .collect();
            let mut entries: Vec<(String, Rgba, usize)> = levels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), category(i), counts[i]))
                .collect();
            if levels.len() > 12 {
                entries.sort_by_key(|e| std::cmp::Reverse(e.2));
            }
            let missing = codes.iter().filter(|&&c| c == MISSING_CODE).count();
            (
                colors,
                Legend::Categories {
                    column: info.name.clone(),
                    entries,
                    missing,
                },
            )
        }
        ColumnKind::Text | ColumnKind::Other => (vec![DEFAULT_POINT; n], Legend::None),
    }
}

/// The column to colour by when a file opens: the score-like column
/// ([`Samples::score_like_column`], the choice `analysis::schema::score_like_column` makes),
/// else a small category that is not an identifier.
pub fn default_color_column(samples: &Samples) -> Option<String> {
    samples.score_like_column(&[]).or_else(|| {
        samples
            .columns
            .iter()
            .find(|c| {
                matches!(&c.kind, ColumnKind::Category { levels, .. } if (2..=12).contains(&levels.len()))
                    && !crate::dataset::is_identifier_name(&c.name)
                    && samples.prompt_column.as_deref() != Some(c.name.as_str())
            })
            .map(|c| c.name.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palettes_are_opaque_and_distinct() {
        assert_eq!(continuous(0.0), rgb(68, 1, 84));
        assert_eq!(continuous(2.0), continuous(1.0));
        let cats: Vec<Rgba> = (0..40).map(category).collect();
        for (i, a) in cats.iter().enumerate() {
            assert_eq!(a[3], 255);
            for b in &cats[..i] {
                assert_ne!(a, b, "category {i}");
            }
        }
        assert_eq!(hsv(0.0, 1.0, 1.0), rgb(255, 0, 0));
        assert_eq!(hsv(1.0 / 3.0, 1.0, 1.0), rgb(0, 255, 0));
    }

    #[test]
    fn the_diverging_map_is_red_white_blue() {
        let (red, white, blue) = (diverging(1.0), diverging(0.0), diverging(-1.0));
        assert!(red[0] > 90 && red[2] < 40, "{red:?}");
        assert!(blue[2] > 90 && blue[0] < 40, "{blue:?}");
        assert_eq!(white, rgb(247, 247, 247));
        assert_eq!(diverging(0.2), rgb(0xfd, 0xdb, 0xc7));
        assert_eq!(diverging(-0.2), rgb(0xd1, 0xe5, 0xf0));
        // Lightness falls evenly on both sides: the two halves mirror each other in sum.
        let light = |c: Rgba| c[0] as i32 + c[1] as i32 + c[2] as i32;
        for t in [0.25, 0.5, 0.75] {
            assert!(
                (light(diverging(t)) - light(diverging(-t))).abs() < 60,
                "{t}"
            );
            assert!(light(diverging(t)) < light(diverging(t - 0.2)));
        }
        assert_eq!(diverging(f32::NAN), white);
        assert_eq!(diverging(5.0), red);
    }
}
