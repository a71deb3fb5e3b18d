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

/// Names of score-like columns — a metric to colour by and analyse — in order of preference.
/// A column matches by its whole name, or by containing one as words (`reward_score`,
/// `gpt4_preference`, `isCorrect`); the earliest name in the list wins, a whole name before
/// one holding it.
pub const SCORE_NAMES: &[&str] = &[
    "score",
    "reward",
    "win_prob",
    "win_rate",
    "preference",
    "rating",
    "correct",
    "is_correct",
    "pass",
    "passed",
    "success",
    "accuracy",
    "label_confidence",
    "confidence",
    "toxicity",
    "jailbroken",
    "harmful",
    "quality",
    "helpfulness",
    "harmlessness",
    "grade",
    "judgement",
    "judgment",
    "elo",
];

/// Words that make a column an identifier, whatever else its name says (`score_id`,
/// `instruction_index`, `row`).
const IDENTIFIER_WORDS: &[&str] = &[
    "id",
    "ids",
    "idx",
    "index",
    "row",
    "rowid",
    "instruction",
    "uuid",
    "seed",
    "unnamed",
];

/// The words of a column name, lowercase: split at anything not a letter or digit, at a
/// lower-to-upper case change and between letters and digits (`gpt4_Preference` → gpt, 4,
/// preference).
fn name_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut prev: Option<char> = None;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            prev = None;
            continue;
        }
        let boundary = match prev {
            None => true,
            Some(p) => {
                (p.is_lowercase() && c.is_uppercase()) || (p.is_alphabetic() != c.is_alphabetic())
            }
        };
        if boundary {
            words.push(String::new());
        }
        if let Some(w) = words.last_mut() {
            w.extend(c.to_lowercase());
        }
        prev = Some(c);
    }
    words
}

/// Whether a column's name marks it as an identifier (see `IDENTIFIER_WORDS`).
pub fn is_identifier_name(name: &str) -> bool {
    name.trim().is_empty()
        || name_words(name)
            .iter()
            .any(|w| IDENTIFIER_WORDS.contains(&w.as_str()))
}

/// How well `name` fits [`SCORE_NAMES`]: (rank in the list, 0 whole name / 1 contained as
/// words); `None` when it does not.
fn score_name_rank(name: &str) -> Option<(usize, u8)> {
    let words = name_words(name);
    let joined = words.join("_");
    let fits = |want: &str| {
        let w = name_words(want);
        words.windows(w.len()).any(|run| {
            run.iter().zip(&w).enumerate().all(|(i, (have, want))| {
                have == want || (i + 1 == w.len() && *have == format!("{want}s"))
            })
        })
    };
    SCORE_NAMES.iter().enumerate().find_map(|(i, want)| {
        if joined == *want {
            Some((i, 0))
        } else {
            fits(want).then_some((i, 1))
        }
    })
}

/// Whole numbers that only go up (or only down) row after row, with at least 3 distinct
/// values: a row or instruction number, not a score.
fn is_monotone_integer(values: &[f32]) -> bool {
    let mut finite = values.iter().copied().filter(|v| v.is_finite());
    let Some(first) = finite.next() else {
        return false;
    };
    if first.fract() != 0.0 {
        return false;
    }
    let (mut up, mut down, mut changes, mut prev) = (true, true, 0usize, first);
    for v in finite {
        if v.fract() != 0.0 {
            return false;
        }
        up &= v >= prev;
        down &= v <= prev;
        changes += usize::from(v != prev);
        if !up && !down {
            return false;
        }
        prev = v;
    }
    changes >= 2
}

/// Whether a column can be a score: numbers (some finite, not a monotone integer sequence)
/// or true/false.
fn is_score_kind(c: &ColumnInfo) -> bool {
    match &c.kind {
        ColumnKind::Numeric {
            values, min, max, ..
        } => min <= max && !is_monotone_integer(values),
        ColumnKind::Category { .. } => c.dtype == "bool",
        ColumnKind::Text | ColumnKind::Other => false,
    }
}

/// The score-like column of `columns` (see [`SCORE_NAMES`]): numeric or true/false, never an
/// identifier, a monotone integer column or one `excluded` says is not a metric (the text
/// and prompt columns); the best-ranked name, then the first column.
pub fn score_like_column<'a>(
    columns: &'a [ColumnInfo],
    excluded: &dyn Fn(&str) -> bool,
) -> Option<&'a ColumnInfo> {
    columns
        .iter()
        .filter(|c| !excluded(&c.name) && !is_identifier_name(&c.name) && is_score_kind(c))
        .filter_map(|c| score_name_rank(&c.name).map(|rank| (rank, c)))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, c)| c)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_words_split_at_separators_case_and_digits() {
        assert_eq!(name_words("gpt4_Preference"), ["gpt", "4", "preference"]);
        assert_eq!(name_words("rewardScore"), ["reward", "score"]);
        assert_eq!(name_words("Unnamed: 0"), ["unnamed", "0"]);
        assert_eq!(name_words("pass@1"), ["pass", "1"]);
        assert!(name_words("__").is_empty());
    }

    #[test]
    fn score_names_match_whole_words_only() {
        assert_eq!(score_name_rank("score"), Some((0, 0)));
        // "correct" (6) comes before "is_correct" (7) in the list and is held in it.
        assert_eq!(score_name_rank("Is_Correct"), Some((6, 1)));
        assert_eq!(score_name_rank("reward_score"), Some((0, 1)));
        assert_eq!(score_name_rank("gpt4_win_prob"), Some((2, 1)));
        assert_eq!(score_name_rank("scores"), Some((0, 1)), "a plural");
        for no in [
            "label",
            "passage",
            "incorrect",
            "scorer_name",
            "win",
            "len_words",
        ] {
            assert_eq!(score_name_rank(no), None, "{no}");
        }
        for id in [
            "id",
            "instruction_index",
            "questionID",
            "row",
            "score_id",
            " ",
        ] {
            assert!(is_identifier_name(id), "{id}");
        }
        assert!(!is_identifier_name("is_correct") && !is_identifier_name("video_len"));
    }

    #[test]
    fn monotone_integers_are_counters() {
        assert!(is_monotone_integer(&[0.0, 1.0, 2.0, 3.0]));
        assert!(is_monotone_integer(&[5.0, 5.0, 4.0, f32::NAN, 1.0]));
        assert!(!is_monotone_integer(&[0.0, 1.0, 1.0]), "two values: a flag");
        assert!(!is_monotone_integer(&[0.0, 2.0, 1.0, 3.0]));
        assert!(!is_monotone_integer(&[0.5, 1.5, 2.5]), "not whole");
        assert!(!is_monotone_integer(&[f32::NAN]));
    }
}
