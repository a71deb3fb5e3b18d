//! Column detection and description: which column is the text, which are numeric metrics
//! and which are categories.

use polars::prelude::*;
use rustc_hash::FxHashMap;

use super::chat;

/// Names that mark a string column as the sampled text, in order of preference.
const TEXT_NAMES: &[&str] = &[
    "text",
    "completion",
    "response",
    "output",
    "generation",
    "sample",
    "answer",
    "solution",
    "statement",
    "content",
    // Preference sets (hh-rlhf): the preferred transcript.
    "chosen",
];

/// Names of chat-transcript columns, in order of preference.
const CHAT_NAMES: &[&str] = &[
    "messages",
    "conversations",
    "conversation",
    "chat",
    "dialogue",
];

/// Names of a prompt column shown above a plain response, in order of preference.
const PROMPT_NAMES: &[&str] = &["prompt", "question", "instruction", "input", "query"];

/// A string column with at most this many distinct values (and few relative to its rows, see
/// `is_category`) is a category.
pub const MAX_CATEGORIES: usize = 256;

/// Whether `distinct` values over `rows` rows make a category rather than free text: at most
/// 20, or at most `MAX_CATEGORIES` and a quarter of the rows.
fn is_category(distinct: usize, rows: usize) -> bool {
    distinct <= 20 || (distinct <= MAX_CATEGORIES && distinct * 4 <= rows)
}

/// What a column can do on the map.
#[derive(Clone, Debug)]
pub enum ColumnKind {
    /// Numbers: colour with a continuous map, filter by range. Missing and non-finite
    /// values are NaN.
    Numeric {
        values: Vec<f32>,
        min: f32,
        max: f32,
        missing: usize,
    },
    /// Few distinct values: colour with a palette, filter by checkboxes. `codes[i]` indexes
    /// `levels`, or is `MISSING_CODE`.
    Category {
        levels: Vec<String>,
        codes: Vec<u32>,
        counts: Vec<usize>,
    },
    /// The text column, or a string column with many distinct values.
    Text,
    /// Anything else (lists, structs, dates): shown in the detail view only.
    Other,
}

pub const MISSING_CODE: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct ColumnInfo {
    pub name: String,
    pub dtype: String,
    pub kind: ColumnKind,
}

impl ColumnInfo {
    /// Whether the map can be coloured by this column.
    pub fn colorable(&self) -> bool {
        matches!(
            self.kind,
            ColumnKind::Numeric { .. } | ColumnKind::Category { .. }
        )
    }
}

/// Pick the text column: a string column with a conventional name, else a chat-messages
/// column, else the string column with the longest mean length.
pub fn detect_text_column(frame: &DataFrame) -> Option<String> {
    let cols = frame.columns();
    for name in TEXT_NAMES {
        if let Some(c) = cols
            .iter()
            .find(|c| c.name().eq_ignore_ascii_case(name) && c.dtype() == &DataType::String)
        {
            return Some(c.name().to_string());
        }
    }
    let chat: Vec<&Column> = cols
        .iter()
        .filter(|c| chat::is_chat_dtype(c.dtype()))
        .collect();
    for name in CHAT_NAMES {
        if let Some(c) = chat.iter().find(|c| c.name().eq_ignore_ascii_case(name)) {
            return Some(c.name().to_string());
        }
    }
    if let Some(c) = chat.first() {
        return Some(c.name().to_string());
    }
    cols.iter()
        .filter(|c| c.dtype() == &DataType::String)
        .map(|c| {
            let ca = c.as_materialized_series().str().expect("dtype checked");
            let (sum, count) = ca
                .iter()
                .flatten()
                .fold((0usize, 0usize), |(s, n), v| (s + v.len(), n + 1));
            let mean = if count == 0 {
                0.0
            } else {
                sum as f64 / count as f64
            };
            (c.name().to_string(), mean)
        })
        .filter(|(_, mean)| *mean > 0.0)
        // max_by keeps the last maximum; reverse so ties go to the first column.
        .rev()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(name, _)| name)
}

/// The prompt column shown above a plain (non-chat) text: a string column with a prompt
/// name, not the text column.
pub(super) fn detect_prompt_column(frame: &DataFrame, text_column: &str) -> Option<String> {
    PROMPT_NAMES.iter().find_map(|name| {
        frame
            .columns()
            .iter()
            .find(|c| {
                c.name().eq_ignore_ascii_case(name)
                    && c.name().as_str() != text_column
                    && c.dtype() == &DataType::String
            })
            .map(|c| c.name().to_string())
    })
}

/// Describe one column. `warn` receives problems worth telling the user (missing and
/// non-finite numbers); `locate` names a row.
pub(super) fn describe(
    series: &Series,
    is_text: bool,
    warn: &mut dyn FnMut(String),
    locate: &dyn Fn(usize) -> String,
) -> ColumnInfo {
    let name = series.name().to_string();
    let dtype = series.dtype().clone();
    let kind = if is_text {
        ColumnKind::Text
    } else if dtype.is_primitive_numeric() {
        numeric(series, &name, warn, locate)
    } else if dtype == DataType::Boolean {
        let ca = series.bool().expect("dtype checked");
        let levels = vec!["false".to_string(), "true".to_string()];
        let codes: Vec<u32> = ca
            .iter()
            .map(|v| v.map(|b| b as u32).unwrap_or(MISSING_CODE))
            .collect();
        category(levels, codes)
    } else if dtype == DataType::String {
        let ca = series.str().expect("dtype checked");
        let mut distinct: FxHashMap<&str, u32> = FxHashMap::default();
        let mut too_many = false;
        for v in ca.iter().flatten() {
            let next = distinct.len() as u32;
            distinct.entry(v).or_insert(next);
            if distinct.len() > MAX_CATEGORIES {
                too_many = true;
                break;
            }
        }
        if too_many || !is_category(distinct.len(), ca.len()) {
            ColumnKind::Text
        } else {
            let mut levels: Vec<&str> = distinct.keys().copied().collect();
            levels.sort_by(|a, b| crate::util::text::natural_cmp(a, b));
            let code_of: FxHashMap<&str, u32> = levels
                .iter()
                .enumerate()
                .map(|(i, l)| (*l, i as u32))
                .collect();
            let codes = ca
                .iter()
                .map(|v| v.map(|s| code_of[s]).unwrap_or(MISSING_CODE))
                .collect();
            category(levels.iter().map(|s| s.to_string()).collect(), codes)
        }
    } else {
        ColumnKind::Other
    };
    ColumnInfo {
        name,
        dtype: dtype.to_string(),
        kind,
    }
}

fn category(levels: Vec<String>, codes: Vec<u32>) -> ColumnKind {
    let mut counts = vec![0usize; levels.len()];
    for &c in &codes {
        if c != MISSING_CODE {
            counts[c as usize] += 1;
        }
    }
    ColumnKind::Category {
        levels,
        codes,
        counts,
    }
}

fn numeric(
    series: &Series,
    name: &str,
    warn: &mut dyn FnMut(String),
    locate: &dyn Fn(usize) -> String,
) -> ColumnKind {
    let values: Vec<f32> = match series.cast(&DataType::Float64) {
        Ok(s) => s
            .f64()
            .expect("cast to f64")
            .iter()
            .map(|v| v.map(|x| x as f32).unwrap_or(f32::NAN))
            .collect(),
        Err(_) => return ColumnKind::Other,
    };
    let nulls = series.null_count();
    let non_finite = values.iter().filter(|v| !v.is_finite()).count() - nulls;
    let missing = nulls + non_finite;
    if missing > 0 {
        let first = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
        warn(format!(
            "column '{name}': {nulls} missing and {non_finite} NaN/infinite values (first at {}); shown grey and left out of its range",
            locate(first)
        ));
    }
    let (min, max) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    ColumnKind::Numeric {
        values,
        min,
        max,
        missing,
    }
}
