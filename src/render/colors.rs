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
}

pub fn continuous(t: f32) -> Rgba {
    let c = colorous::VIRIDIS.eval_continuous(t.clamp(0.0, 1.0) as f64);
    rgb(c.r, c.g, c.b)
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
}
