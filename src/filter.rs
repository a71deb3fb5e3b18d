//! Row filters for the map: numeric ranges, category choices and a text search (plain or
//! regex), combined with AND; plus the per-column histograms and category counts the filter
//! panel draws for the whole set and for the rows that pass.

use rayon::prelude::*;
use regex::Regex;

use crate::dataset::{ColumnKind, MISSING_CODE, Samples};

/// Bins of each numeric column's histogram.
pub const BINS: usize = 40;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterSpec {
    /// (column, low, high): keep rows whose value lies in `low..=high` (missing values fail).
    pub ranges: Vec<(String, f32, f32)>,
    /// (column, allowed level codes, missing allowed): keep rows whose level is allowed.
    pub categories: Vec<(String, Vec<bool>, bool)>,
    pub search: Option<Search>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    pub text: String,
    /// Treat `text` as a regular expression (else a plain substring).
    pub regex: bool,
    pub case_sensitive: bool,
}

impl FilterSpec {
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
            && self.categories.is_empty()
            && self.search.as_ref().is_none_or(|s| s.text.is_empty())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("search: {0}")]
    Regex(String),
    #[error("no column named '{0}'")]
    Column(String),
}

/// A numeric column's value counts in `BINS` equal bins over its whole range.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub column: String,
    pub min: f32,
    pub max: f32,
    pub counts: Vec<u32>,
}

/// What a filter lets through, with the panel's counts over the rows that pass.
#[derive(Clone, Debug)]
pub struct FilterResult {
    pub pass: Vec<bool>,
    pub count: usize,
    pub histograms: Vec<Histogram>,
    /// (column, count per level, missing count) over passing rows.
    pub category_counts: Vec<(String, Vec<usize>, usize)>,
    /// The search and the rows it matches on its own (other filters aside), to narrow the
    /// next search when it only adds to this one (typing).
    pub search_matches: Option<(Search, std::sync::Arc<Vec<bool>>)>,
}

impl Search {
    /// Whether every text matching `self` also matches `earlier`: both plain searches with
    /// the same case rule, and this needle contains the earlier one.
    pub fn narrows(&self, earlier: &Search) -> bool {
        if self.regex || earlier.regex || self.case_sensitive != earlier.case_sensitive {
            return false;
        }
        if self.case_sensitive {
            self.text.contains(&earlier.text)
        } else {
            // Plain case-insensitive searches fold ASCII only (non-ASCII ones go through regex).
            self.text.is_ascii()
                && earlier.text.is_ascii()
                && self
                    .text
                    .to_ascii_lowercase()
                    .contains(&earlier.text.to_ascii_lowercase())
        }
    }
}

/// Compile the search into a regex (a plain search is an escaped literal).
pub fn search_regex(search: &Search) -> Result<Option<Regex>, FilterError> {
    if search.text.is_empty() {
        return Ok(None);
    }
    let pattern = if search.regex {
        search.text.clone()
    } else {
        regex::escape(&search.text)
    };
    regex::RegexBuilder::new(&pattern)
        .case_insensitive(!search.case_sensitive)
        .size_limit(1 << 24)
        .build()
        .map(Some)
        .map_err(|e| FilterError::Regex(e.to_string()))
}

/// A compiled search: a plain ASCII substring through aho-corasick (several times faster than
/// a case-insensitive regex literal over a million texts), anything else through `regex`.
enum Matcher {
    Plain(aho_corasick::AhoCorasick),
    Regex(Regex),
}

impl Matcher {
    fn new(search: &Search) -> Result<Option<Matcher>, FilterError> {
        if search.text.is_empty() {
            return Ok(None);
        }
        if !search.regex && (search.case_sensitive || search.text.is_ascii()) {
            let ac = aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(!search.case_sensitive)
                .build([&search.text])
                .map_err(|e| FilterError::Regex(e.to_string()))?;
            return Ok(Some(Matcher::Plain(ac)));
        }
        Ok(search_regex(search)?.map(Matcher::Regex))
    }

    fn is_match(&self, text: &str) -> bool {
        match self {
            Matcher::Plain(ac) => ac.is_match(text),
            Matcher::Regex(r) => r.is_match(text),
        }
    }
}

/// Evaluate `spec` on every row (in parallel: call from a worker thread).
pub fn apply(samples: &Samples, spec: &FilterSpec) -> Result<FilterResult, FilterError> {
    apply_after(samples, spec, None)
}

/// [`apply`], given the previous search and its matches: when the new search narrows it, only
/// the rows that matched before are searched.
pub fn apply_after(
    samples: &Samples,
    spec: &FilterSpec,
    previous: Option<&(Search, std::sync::Arc<Vec<bool>>)>,
) -> Result<FilterResult, FilterError> {
    let n = samples.len();
    let column = |name: &str| {
        samples
            .column_index(name)
            .map(|i| &samples.columns[i].kind)
            .ok_or_else(|| FilterError::Column(name.to_string()))
    };
    let mut ranges = Vec::new();
    for (name, lo, hi) in &spec.ranges {
        if let ColumnKind::Numeric { values, .. } = column(name)? {
            ranges.push((values, *lo, *hi));
        }
    }
    let mut cats = Vec::new();
    for (name, allowed, missing) in &spec.categories {
        if let ColumnKind::Category { codes, .. } = column(name)? {
            cats.push((codes, allowed, *missing));
        }
    }
    let matcher = match &spec.search {
        Some(s) => Matcher::new(s)?,
        None => None,
    };
    let search_matches = match (&spec.search, &matcher) {
        (Some(search), Some(m)) => {
            let candidates = previous
                .filter(|(earlier, mask)| search.narrows(earlier) && mask.len() == n)
                .map(|(_, mask)| mask.as_slice());
            let mask: Vec<bool> = (0..n)
                .into_par_iter()
                .with_min_len(4096)
                .map(|i| candidates.is_none_or(|c| c[i]) && m.is_match(&samples.texts[i]))
                .collect();
            Some((search.clone(), std::sync::Arc::new(mask)))
        }
        _ => None,
    };
    let pass: Vec<bool> = (0..n)
        .into_par_iter()
        .with_min_len(4096)
        .map(|i| {
            ranges.iter().all(|(v, lo, hi)| v[i] >= *lo && v[i] <= *hi)
                && cats.iter().all(|(codes, allowed, missing)| {
                    let c = codes[i];
                    if c == MISSING_CODE {
                        *missing
                    } else {
                        allowed.get(c as usize).copied().unwrap_or(true)
                    }
                })
                && search_matches.as_ref().is_none_or(|(_, m)| m[i])
        })
        .collect();
    let count = pass.iter().filter(|&&p| p).count();
    let histograms = histograms(samples, Some(&pass));
    let category_counts = category_counts(samples, Some(&pass));
    Ok(FilterResult {
        pass,
        count,
        histograms,
        category_counts,
        search_matches,
    })
}

/// Histograms of every numeric column over the rows in `mask` (all rows when `None`).
pub fn histograms(samples: &Samples, mask: Option<&[bool]>) -> Vec<Histogram> {
    samples
        .columns
        .par_iter()
        .filter_map(|c| match &c.kind {
            ColumnKind::Numeric {
                values, min, max, ..
            } => {
                let mut counts = vec![0u32; BINS];
                let span = if max > min { max - min } else { 1.0 };
                for (i, &v) in values.iter().enumerate() {
                    if v.is_finite() && mask.is_none_or(|m| m[i]) {
                        let b = (((v - min) / span) * BINS as f32) as usize;
                        counts[b.min(BINS - 1)] += 1;
                    }
                }
                Some(Histogram {
                    column: c.name.clone(),
                    min: *min,
                    max: *max,
                    counts,
                })
            }
            _ => None,
        })
        .collect()
}

/// Per category column: count per level and missing count over the rows in `mask`.
pub fn category_counts(
    samples: &Samples,
    mask: Option<&[bool]>,
) -> Vec<(String, Vec<usize>, usize)> {
    samples
        .columns
        .iter()
        .filter_map(|c| match &c.kind {
            ColumnKind::Category { levels, codes, .. } => {
                let mut counts = vec![0usize; levels.len()];
                let mut missing = 0;
                for (i, &code) in codes.iter().enumerate() {
                    if mask.is_none_or(|m| m[i]) {
                        match counts.get_mut(code as usize) {
                            Some(k) if code != MISSING_CODE => *k += 1,
                            _ => missing += 1,
                        }
                    }
                }
                Some((c.name.clone(), counts, missing))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{LoadOptions, load};
    use crate::progress::{CancelToken, NoProgress};

    fn sweep() -> Samples {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/sweep.jsonl");
        load(
            &path,
            &LoadOptions::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap()
    }

    fn numbers(s: &Samples, name: &str) -> Vec<f32> {
        match &s.columns[s.column_index(name).unwrap()].kind {
            ColumnKind::Numeric { values, .. } => values.clone(),
            _ => panic!("{name} is not numeric"),
        }
    }

    #[test]
    fn filters_combine_and_match_a_direct_evaluation() {
        let s = sweep();
        let temp = numbers(&s, "temperature");
        let score = numbers(&s, "score");
        let model = s.column_index("model").unwrap();
        let ColumnKind::Category { levels, codes, .. } = &s.columns[model].kind else {
            panic!("model is a category")
        };
        let keep = levels.iter().position(|l| l.contains("chat")).unwrap();
        let allowed: Vec<bool> = (0..levels.len()).map(|i| i == keep).collect();
        let spec = FilterSpec {
            ranges: vec![
                ("temperature".into(), 0.4, 1.0),
                ("score".into(), 0.5, 10.0),
            ],
            categories: vec![("model".into(), allowed, false)],
            search: Some(Search {
                text: "THE".into(),
                regex: false,
                case_sensitive: false,
            }),
        };
        let r = apply(&s, &spec).unwrap();
        let expected: Vec<bool> = (0..s.len())
            .map(|i| {
                (0.4..=1.0).contains(&temp[i])
                    && (0.5..=10.0).contains(&score[i])
                    && codes[i] as usize == keep
                    && s.texts[i].to_lowercase().contains("the")
            })
            .collect();
        assert_eq!(r.pass, expected);
        assert!(r.count > 10 && r.count < s.len() / 2, "{}", r.count);
        // The histograms count exactly the passing rows' values.
        let h = r.histograms.iter().find(|h| h.column == "score").unwrap();
        assert_eq!(h.counts.iter().sum::<u32>() as usize, r.count);
        let (_, counts, missing) = r.category_counts.iter().find(|c| c.0 == "model").unwrap();
        assert_eq!(
            (counts[keep], counts.iter().sum::<usize>(), *missing),
            (r.count, r.count, 0)
        );
    }

    #[test]
    fn a_narrowing_search_gives_the_same_rows_as_a_fresh_one() {
        let s = sweep();
        let a = |t: &str, c: bool| Search {
            text: t.into(),
            regex: false,
            case_sensitive: c,
        };
        let spec = |text: &str, case_sensitive: bool| FilterSpec {
            search: Some(a(text, case_sensitive)),
            ..Default::default()
        };
        let mut previous = None;
        for typed in ["s", "su", "sur", "sure", "SURE!"] {
            let fresh = apply(&s, &spec(typed, false)).unwrap();
            let narrowed = apply_after(&s, &spec(typed, false), previous.as_ref()).unwrap();
            assert_eq!(fresh.pass, narrowed.pass, "{typed}");
            previous = narrowed.search_matches.clone();
        }
        assert!(a("sure", false).narrows(&a("SU", false)));
        assert!(!a("sure", true).narrows(&a("SU", true)));
        assert!(!a("sure", true).narrows(&a("su", false)));
        assert!(!a("ure", false).narrows(&a("sur", false)));
        let mut regex = a("sure", false);
        regex.regex = true;
        assert!(!regex.narrows(&a("su", false)));
    }

    #[test]
    fn regex_search_and_its_errors() {
        let s = sweep();
        let search = |text: &str, regex: bool| FilterSpec {
            search: Some(Search {
                text: text.into(),
                regex,
                case_sensitive: true,
            }),
            ..Default::default()
        };
        let r = apply(&s, &search(r"\d+", true)).unwrap();
        let expected = s
            .texts
            .iter()
            .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
            .count();
        assert_eq!(r.count, expected);
        // A plain search takes the text literally.
        assert_eq!(apply(&s, &search(r"\d+", false)).unwrap().count, 0);
        let err = apply(&s, &search("(unclosed", true)).unwrap_err();
        assert!(err.to_string().contains("unclosed"), "{err}");
        let empty = apply(&s, &FilterSpec::default()).unwrap();
        assert_eq!(empty.count, s.len());
        assert!(FilterSpec::default().is_empty());
        let missing = FilterSpec {
            ranges: vec![("nope".into(), 0.0, 1.0)],
            ..Default::default()
        };
        assert!(matches!(apply(&s, &missing), Err(FilterError::Column(_))));
    }
}
