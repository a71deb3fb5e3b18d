//! Proxy metrics computed for every sample, added to the table as columns the map can colour,
//! filter and sort by, and the analysis can group: lengths, a refusal detector, repetition,
//! garbage ratio, distinct-2, matches of a user pattern, and user expressions over columns.

pub mod expr;

use polars::prelude::{NamedFrom, Series};
use rayon::prelude::*;
use regex::{Regex, RegexBuilder};

use crate::dataset::Samples;

/// The refusal detector looks at this many leading characters of a text.
pub const REFUSAL_WINDOW_CHARS: usize = 400;

/// Default refusal phrases (case-insensitive regular expressions). A text is a refusal when
/// one matches within its first [`REFUSAL_WINDOW_CHARS`] characters. Replace the list with
/// `--refusal-patterns FILE` (one regex per line, `#` comments) or in the app.
pub const DEFAULT_REFUSAL_PATTERNS: &[&str] = &[
    r"\bI(?:'m| am) (?:sorry|afraid),? but\b",
    r"\bI(?:'m| am) (?:unable|not able) to\b",
    r"\bI (?:can(?:'|’)?t|cannot|won(?:'|’)t|will not|must decline to|am not going to) (?:help|assist|provide|comply|do that|fulfil|fulfill|create|write|share|support|give|generate|engage)",
    r"\bI must (?:refuse|decline)\b",
    r"\bAs an AI(?: language model)?\b",
    r"\bI apologi[sz]e,? but\b",
    r"\bI(?:'m| am) not comfortable\b",
    r"\b(?:against|violates?) (?:my|our|the) (?:guidelines|policy|policies|usage policies)\b",
    r"\bI(?:'d| would) (?:prefer not|rather not)\b",
];

/// Which metrics to compute.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricOptions {
    /// Lengths, refusal, repetition, garbage, distinct-2.
    pub builtin: bool,
    /// Refusal regexes (case-insensitive); the defaults when `None`.
    pub refusal_patterns: Option<Vec<String>>,
    /// Count the matches of this regex per text (column `pattern_matches`).
    pub pattern: Option<String>,
    /// User expressions: (column name, expression), evaluated in order (later ones may use
    /// earlier ones).
    pub exprs: Vec<(String, String)>,
}

impl Default for MetricOptions {
    fn default() -> Self {
        MetricOptions {
            builtin: true,
            refusal_patterns: None,
            pattern: None,
            exprs: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    #[error("refusal pattern {index} '{pattern}': {problem}")]
    RefusalPattern {
        index: usize,
        pattern: String,
        problem: String,
    },
    #[error("count pattern '{pattern}': {problem}")]
    Pattern { pattern: String, problem: String },
    #[error("metric expression {name}={expr}: {rendered}")]
    Expr {
        name: String,
        expr: String,
        rendered: String,
    },
    #[error("{0}")]
    Column(String),
}

/// Parse `NAME=EXPR`.
pub fn parse_metric_expr(s: &str) -> Result<(String, String), String> {
    let (name, expr) = s
        .split_once('=')
        .filter(|(n, e)| !n.trim().is_empty() && !e.trim().is_empty() && !e.starts_with('='))
        .ok_or_else(|| format!("expected NAME=EXPR, got '{s}'"))?;
    let name = name.trim();
    if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(format!(
            "metric name '{name}' may hold only letters, digits and '_'"
        ));
    }
    Ok((name.to_string(), expr.trim().to_string()))
}

/// Read a refusal-pattern file: one regex per line; blank lines and `#` comments skipped.
pub fn read_patterns(path: &std::path::Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if v.is_empty() {
        return Err(format!("{}: no patterns in the file", path.display()));
    }
    Ok(v)
}

/// Compile refusal patterns, naming the bad one.
pub fn refusal_regexes(patterns: &[String]) -> Result<Vec<Regex>, MetricError> {
    patterns
        .iter()
        .enumerate()
        .map(|(i, p)| {
            RegexBuilder::new(p)
                .case_insensitive(true)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| MetricError::RefusalPattern {
                    index: i + 1,
                    pattern: p.clone(),
                    problem: e.to_string(),
                })
        })
        .collect()
}

/// Per-text measurements (everything but the pattern count).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextStats {
    pub len_chars: u32,
    pub len_words: u32,
    pub refusal: bool,
    /// Share of word 3-grams that repeat an earlier 3-gram of the same text (0 with < 2).
    pub repetition: f32,
    /// Share of non-space characters that are neither letters, digits nor punctuation.
    pub garbage: f32,
    /// Distinct word bigrams / all word bigrams; `None` with fewer than 2 words.
    pub distinct_2: Option<f32>,
}

/// Measure one text.
pub fn text_stats(text: &str, refusal: &[Regex]) -> TextStats {
    let len_chars = text.chars().count() as u32;
    let words: Vec<&str> = text.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let window = crate::util::text::truncate_chars(text, REFUSAL_WINDOW_CHARS);
    let is_refusal = refusal.iter().any(|r| r.is_match(window));

    let repetition = {
        let grams: Vec<[&str; 3]> = lower
            .windows(3)
            .map(|w| [w[0].as_str(), w[1].as_str(), w[2].as_str()])
            .collect();
        if grams.len() < 2 {
            0.0
        } else {
            let distinct: rustc_hash::FxHashSet<&[&str; 3]> = grams.iter().collect();
            1.0 - distinct.len() as f32 / grams.len() as f32
        }
    };
    let distinct_2 = (lower.len() >= 2).then(|| {
        let pairs: Vec<(&str, &str)> = lower
            .windows(2)
            .map(|w| (w[0].as_str(), w[1].as_str()))
            .collect();
        let distinct: rustc_hash::FxHashSet<&(&str, &str)> = pairs.iter().collect();
        distinct.len() as f32 / pairs.len() as f32
    });
    let (mut visible, mut junk) = (0u32, 0u32);
    for c in text.chars() {
        if c.is_whitespace() {
            continue;
        }
        visible += 1;
        let ok = c.is_alphanumeric()
            || c.is_ascii_punctuation()
            || matches!(
                c,
                '‘' | '’'
                    | '“'
                    | '”'
                    | '–'
                    | '—'
                    | '…'
                    | '«'
                    | '»'
                    | '·'
                    | '°'
                    | '€'
                    | '£'
                    | '×'
                    | '÷'
                    | '−'
                    | '≤'
                    | '≥'
                    | '±'
            );
        if !ok || c == '\u{FFFD}' {
            junk += 1;
        }
    }
    TextStats {
        len_chars,
        len_words: words.len() as u32,
        refusal: is_refusal,
        repetition,
        garbage: if visible == 0 {
            0.0
        } else {
            junk as f32 / visible as f32
        },
        distinct_2,
    }
}

/// The columns `apply` adds, in order (before renaming around input columns).
pub const BUILTIN_COLUMNS: &[&str] = &[
    "len_chars",
    "len_words",
    "refusal",
    "repetition",
    "garbage",
    "distinct_2",
];

/// Compute the metrics in `opts` for every sample (in parallel) and add them as columns.
/// Returns the names of the added columns (an input column of the same name is kept, and
/// the metric becomes `atlas_NAME`).
pub fn apply(samples: &mut Samples, opts: &MetricOptions) -> Result<Vec<String>, MetricError> {
    let mut added = Vec::new();
    let texts = samples.texts.clone();
    if opts.builtin {
        let patterns: Vec<String> = match &opts.refusal_patterns {
            Some(p) => p.clone(),
            None => DEFAULT_REFUSAL_PATTERNS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let regexes = refusal_regexes(&patterns)?;
        let stats: Vec<TextStats> = texts.par_iter().map(|t| text_stats(t, &regexes)).collect();
        let mut put = |name: &str, s: Series| -> Result<(), MetricError> {
            let name = samples.free_name(name);
            samples
                .set_column(s.with_name(name.as_str().into()))
                .map_err(MetricError::Column)?;
            added.push(name);
            Ok(())
        };
        let col = |f: &dyn Fn(&TextStats) -> f32| -> Vec<f32> { stats.iter().map(f).collect() };
        put(
            "len_chars",
            Series::new(
                "".into(),
                stats.iter().map(|s| s.len_chars).collect::<Vec<u32>>(),
            ),
        )?;
        put(
            "len_words",
            Series::new(
                "".into(),
                stats.iter().map(|s| s.len_words).collect::<Vec<u32>>(),
            ),
        )?;
        put(
            "refusal",
            Series::new(
                "".into(),
                stats.iter().map(|s| s.refusal).collect::<Vec<bool>>(),
            ),
        )?;
        put("repetition", Series::new("".into(), col(&|s| s.repetition)))?;
        put("garbage", Series::new("".into(), col(&|s| s.garbage)))?;
        put(
            "distinct_2",
            Series::new(
                "".into(),
                stats
                    .iter()
                    .map(|s| s.distinct_2)
                    .collect::<Vec<Option<f32>>>(),
            ),
        )?;
    }
    if let Some(p) = &opts.pattern {
        let re = RegexBuilder::new(p)
            .size_limit(1 << 22)
            .build()
            .map_err(|e| MetricError::Pattern {
                pattern: p.clone(),
                problem: e.to_string(),
            })?;
        let counts: Vec<u32> = texts
            .par_iter()
            .map(|t| re.find_iter(t).count() as u32)
            .collect();
        let name = samples.free_name("pattern_matches");
        samples
            .set_column(Series::new(name.as_str().into(), counts))
            .map_err(MetricError::Column)?;
        added.push(name);
    }
    for (name, src) in &opts.exprs {
        add_expr(samples, name, src)?;
        added.push(name.clone());
    }
    Ok(added)
}

/// Evaluate `src` and add (or replace) the column `name`.
pub fn add_expr(samples: &mut Samples, name: &str, src: &str) -> Result<(), MetricError> {
    let fail = |e: expr::ExprError| MetricError::Expr {
        name: name.to_string(),
        expr: src.to_string(),
        rendered: e.render(src),
    };
    if name == samples.text_column {
        return Err(MetricError::Column(format!(
            "a metric cannot replace the text column '{name}'"
        )));
    }
    let e = expr::Expr::parse(src).map_err(fail)?;
    let s = e.eval(&samples.frame, name).map_err(fail)?;
    samples.set_column(s).map_err(MetricError::Column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<Regex> {
        refusal_regexes(
            &DEFAULT_REFUSAL_PATTERNS
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn lengths_repetition_and_distinct() {
        let r = defaults();
        let s = text_stats("the cat sat on the cat sat on the mat", &r);
        assert_eq!((s.len_chars, s.len_words), (37, 10));
        // 3-grams: 8, distinct: the cat sat, cat sat on, sat on the, on the cat, on the mat = 5
        assert!(
            (s.repetition - (1.0 - 5.0 / 8.0)).abs() < 1e-6,
            "{}",
            s.repetition
        );
        // bigrams: 9; distinct: the cat, cat sat, sat on, on the, the mat = 5
        assert!((s.distinct_2.unwrap() - 5.0 / 9.0).abs() < 1e-6);
        let one = text_stats("word", &r);
        assert_eq!((one.repetition, one.distinct_2), (0.0, None));
        let empty = text_stats("", &r);
        assert_eq!(
            (empty.len_chars, empty.len_words, empty.garbage),
            (0, 0, 0.0)
        );
    }

    #[test]
    fn refusals_are_found_at_the_start_only() {
        let r = defaults();
        for t in [
            "I'm sorry, but I can't help with that.",
            "I cannot assist with creating malware.",
            "As an AI language model, I do not have opinions.",
            "i won't provide instructions for that",
            "I apologize, but that request violates our usage policies.",
        ] {
            assert!(text_stats(t, &r).refusal, "{t}");
        }
        for t in [
            "Sure! Here is the recipe.",
            "The answer is 42. I can't stress enough how simple it is.",
            "Step 1: heat the pan.",
        ] {
            assert!(!text_stats(t, &r).refusal, "{t}");
        }
        let late = format!("{} I cannot help with that.", "word ".repeat(100));
        assert!(!text_stats(&late, &r).refusal);
    }

    #[test]
    fn garbage_ratio_counts_symbols_and_replacement_chars() {
        let r = defaults();
        assert_eq!(text_stats("Hello, world! 42.", &r).garbage, 0.0);
        assert_eq!(text_stats("Grüße – ça va?", &r).garbage, 0.0);
        let g = text_stats("ab ☃☃ \u{FFFD}\u{FFFD}", &r).garbage;
        assert!((g - 4.0 / 6.0).abs() < 1e-6, "{g}");
    }

    #[test]
    fn bad_patterns_and_expr_flags_are_named() {
        let e = refusal_regexes(&["ok".into(), "(unclosed".into()]).unwrap_err();
        assert!(
            e.to_string().starts_with("refusal pattern 2 '(unclosed'"),
            "{e}"
        );
        assert_eq!(
            parse_metric_expr("adj = score - 1").unwrap(),
            ("adj".to_string(), "score - 1".to_string())
        );
        assert!(parse_metric_expr("score").is_err());
        assert!(parse_metric_expr("a b=1").is_err());
        assert!(parse_metric_expr("x==1").is_err());
    }
}
