//! Point colours: a perceptual colour map for numeric columns, a qualitative palette for
//! categories, grey for missing values.

use eframe::egui::Color32;

use crate::dataset::{ColumnKind, MISSING_CODE, Samples};

pub const MISSING: Color32 = Color32::from_rgb(120, 120, 120);
pub const DEFAULT_POINT: Color32 = Color32::from_rgb(86, 156, 214);

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
        entries: Vec<(String, Color32, usize)>,
        missing: usize,
    },
}

pub fn continuous(t: f32) -> Color32 {
    let c = colorous::VIRIDIS.eval_continuous(t.clamp(0.0, 1.0) as f64);
    Color32::from_rgb(c.r, c.g, c.b)
}

/// Colour of category `i`: Tableau 10 first, then hues spaced by the golden angle (so that
/// data sets with a hundred categories still get distinguishable neighbours).
pub fn category(i: usize) -> Color32 {
    if let Some(c) = colorous::TABLEAU10.get(i) {
        return Color32::from_rgb(c.r, c.g, c.b);
    }
    let hue = (i as f32 * 0.618_034).fract();
    let saturation = if (i / 7).is_multiple_of(2) { 0.75 } else { 0.5 };
    let value = if (i / 3).is_multiple_of(2) {
        0.95
    } else {
        0.75
    };
    eframe::egui::ecolor::Hsva::new(hue, saturation, value, 1.0).into()
}

/// Colours of every point when colouring by `column` (or the default colour).
pub fn point_colors(samples: &Samples, column: Option<&str>) -> (Vec<Color32>, Legend) {
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
            let mut entries: Vec<(String, Color32, usize)> = levels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), category(i), counts[i]))
                .collect();
            if levels.len() > 12 {
                entries.sort_by(|a, b| b.2.cmp(&a.2));
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

/// The column to colour by when a file opens: a score-like number, else a small category.
pub fn default_color_column(samples: &Samples) -> Option<String> {
    const SCORE_NAMES: &[&str] = &[
        "score",
        "reward",
        "rating",
        "label_confidence",
        "is_correct",
    ];
    for name in SCORE_NAMES {
        if let Some(c) = samples
            .columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name) && c.colorable())
        {
            return Some(c.name.clone());
        }
    }
    samples
        .columns
        .iter()
        .find(|c| matches!(&c.kind, ColumnKind::Category { levels, .. } if (2..=12).contains(&levels.len())))
        .map(|c| c.name.clone())
}
