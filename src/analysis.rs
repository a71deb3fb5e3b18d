//! Sampling-run analysis: which columns describe the run (prompt id, sample index,
//! hyperparameters), a per-setting table of a metric, and best-of-N / pass@N curves with the
//! unbiased estimators from all k samples of a prompt.

use rustc_hash::FxHashMap;

use polars::prelude::DataType;

use crate::dataset::{ColumnKind, Samples};
use crate::embedding::Embeddings;

/// Names that usually hold the prompt id, most specific first.
const PROMPT_NAMES: &[&str] = &[
    "prompt_id",
    "prompt_idx",
    "prompt_index",
    "question_id",
    "question_index",
    "question_idx",
    "problem_id",
    "task_id",
    "example_id",
    "item_id",
    "instance_id",
    "prompt",
    "question",
    "problem",
    "instruction",
];
const SAMPLE_NAMES: &[&str] = &[
    "sample_idx",
    "sample_index",
    "sample_id",
    "sample",
    "completion_idx",
    "completion_index",
    "generation_idx",
    "attempt",
];
/// Hyperparameters of a sampling run.
const HYPER_NAMES: &[&str] = &[
    "model",
    "temperature",
    "temp",
    "top_p",
    "top_k",
    "min_p",
    "typical_p",
    "best_of",
    "n",
    "max_tokens",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "sampler",
    "decoding",
    "system_prompt_id",
    "params",
    "method",
];

/// A numeric column with at most this many distinct values can be a hyperparameter.
const MAX_SETTINGS: usize = 50;

/// The columns that describe a sampling run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RunSchema {
    pub prompt: Option<String>,
    pub sample_index: Option<String>,
    pub hyperparameters: Vec<String>,
}

/// Detect the run's columns by name (case-insensitive) and shape: a prompt column repeats
/// values; hyperparameters are columns with few distinct values.
pub fn detect_schema(samples: &Samples) -> RunSchema {
    let find = |names: &[&str], ok: &dyn Fn(&str) -> bool| {
        names.iter().find_map(|want| {
            samples
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(want) && ok(&c.name))
                .map(|c| c.name.clone())
        })
    };
    let n = samples.len();
    let repeats = |name: &str| distinct_count(samples, name).is_some_and(|d| d < n && d > 0);
    let prompt = find(PROMPT_NAMES, &|c| c != samples.text_column && repeats(c));
    let sample_index = find(SAMPLE_NAMES, &|c| c != samples.text_column);
    let hyperparameters = HYPER_NAMES
        .iter()
        .filter_map(|want| {
            samples
                .columns
                .iter()
                .find(|c| {
                    let few = match c.kind {
                        ColumnKind::Category { .. } => true,
                        ColumnKind::Numeric { .. } => {
                            distinct_count(samples, &c.name).is_some_and(|d| d <= MAX_SETTINGS)
                        }
                        _ => false,
                    };
                    c.name.eq_ignore_ascii_case(want) && few && Some(&c.name) != prompt.as_ref()
                })
                .map(|c| c.name.clone())
        })
        .collect();
    RunSchema {
        prompt,
        sample_index,
        hyperparameters,
    }
}

fn distinct_count(samples: &Samples, name: &str) -> Option<usize> {
    let col = samples.frame.column(name).ok()?;
    col.as_materialized_series().n_unique().ok()
}

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("{path}: no column named '{column}' (columns: {available})")]
    MissingColumn {
        path: String,
        column: String,
        available: String,
    },
    #[error("{path}: column '{column}' holds {dtype}; the metric must be numbers or true/false")]
    NotNumeric {
        path: String,
        column: String,
        dtype: String,
    },
    #[error(
        "{path}: no prompt column found (looked for {}); name one with --prompt",
        PROMPT_NAMES.join(", ")
    )]
    NoPromptColumn { path: String },
}

/// Each row's group key: the values of the `by` columns as text (missing → "null").
pub fn group_keys(samples: &Samples, by: &[String]) -> Result<Vec<Vec<String>>, AnalysisError> {
    let cols = by
        .iter()
        .map(|name| string_values(samples, name))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..samples.len())
        .map(|r| cols.iter().map(|c| c[r].clone()).collect())
        .collect())
}

fn missing(samples: &Samples, column: &str) -> AnalysisError {
    AnalysisError::MissingColumn {
        path: samples.path.display().to_string(),
        column: column.to_string(),
        available: samples
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A column's values as display text, one per row.
pub fn string_values(samples: &Samples, name: &str) -> Result<Vec<String>, AnalysisError> {
    let col = samples
        .frame
        .column(name)
        .map_err(|_| missing(samples, name))?;
    let s = col
        .as_materialized_series()
        .cast(&DataType::String)
        .map_err(|_| missing(samples, name))?;
    let ca = s.str().map_err(|_| missing(samples, name))?;
    Ok(ca.iter().map(|v| v.unwrap_or("null").to_string()).collect())
}

/// A metric column as numbers (true = 1, false = 0; missing and non-finite → `None`), and
/// whether it is boolean.
pub fn metric_values(
    samples: &Samples,
    name: &str,
) -> Result<(Vec<Option<f64>>, bool), AnalysisError> {
    let col = samples
        .frame
        .column(name)
        .map_err(|_| missing(samples, name))?;
    let s = col.as_materialized_series();
    let is_bool = s.dtype() == &DataType::Boolean;
    if !(is_bool || s.dtype().is_primitive_numeric()) {
        return Err(AnalysisError::NotNumeric {
            path: samples.path.display().to_string(),
            column: name.to_string(),
            dtype: s.dtype().to_string(),
        });
    }
    let f = s
        .cast(&DataType::Float64)
        .map_err(|_| missing(samples, name))?;
    let ca = f.f64().map_err(|_| missing(samples, name))?;
    Ok((
        ca.iter().map(|v| v.filter(|x| x.is_finite())).collect(),
        is_bool,
    ))
}

/// Two-sided 95% quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        31..=40 => 2.042 + (2.021 - 2.042) * (df - 30) as f64 / 10.0,
        41..=60 => 2.021 + (2.000 - 2.021) * (df - 40) as f64 / 20.0,
        61..=120 => 2.000 + (1.980 - 2.000) * (df - 60) as f64 / 60.0,
        _ => 1.960,
    }
}

/// Mean and 95% confidence interval (t) of `v`; the interval is NaN with fewer than 2 values.
pub fn mean_ci(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, f64::NAN, f64::NAN);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t975(n - 1) * (var / n as f64).sqrt();
    (mean, mean - half, mean + half)
}

pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// One row of the per-setting table.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SettingRow {
    /// Values of the `by` columns.
    pub setting: Vec<String>,
    /// Rows in the setting.
    pub count: usize,
    /// Rows with a value of the metric.
    pub n: usize,
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub median: f64,
    /// Share of rows whose boolean metric is false (boolean metrics only).
    pub failure_rate: Option<f64>,
    /// Mean pairwise cosine distance of a prompt's samples in embedding space, averaged over
    /// prompts with at least two samples (when embeddings and a prompt column are given).
    pub diversity: Option<f64>,
    /// Distinct prompts in the setting (with a prompt column).
    pub prompts: Option<usize>,
    /// Row indices of the setting (for selecting them on the map).
    #[serde(skip)]
    pub rows: Vec<u32>,
}

/// Rows grouped by key, groups in natural order of their key.
pub fn groups(keys: &[Vec<String>]) -> Vec<(Vec<String>, Vec<u32>)> {
    let mut map: FxHashMap<&[String], Vec<u32>> = FxHashMap::default();
    for (r, k) in keys.iter().enumerate() {
        map.entry(k.as_slice()).or_default().push(r as u32);
    }
    let mut out: Vec<(Vec<String>, Vec<u32>)> =
        map.into_iter().map(|(k, v)| (k.to_vec(), v)).collect();
    out.sort_by(|a, b| {
        a.0.iter()
            .zip(&b.0)
            .map(|(x, y)| crate::dataset::natural_cmp(x, y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}

/// Mean pairwise cosine distance among `rows` (O(rows · dims)): for unit vectors,
/// Σ_{i≠j} cos = |Σ v|² − Σ |v|².
fn mean_pairwise_cosine_distance(e: &Embeddings, rows: &[u32]) -> Option<f64> {
    let m = rows.len();
    if m < 2 {
        return None;
    }
    let mut sum = vec![0f64; e.dims];
    let mut self_dots = 0f64;
    for &r in rows {
        let v = e.row(r as usize);
        let norm = v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue;
        }
        for (s, x) in sum.iter_mut().zip(v) {
            *s += *x as f64 / norm;
        }
        self_dots += 1.0;
    }
    let total = sum.iter().map(|s| s * s).sum::<f64>();
    let mean_cos = (total - self_dots) / (m * (m - 1)) as f64;
    // Identical samples give 0 up to rounding; keep it from printing as -0.0000.
    Some((1.0 - mean_cos).max(0.0))
}

/// The per-setting table of `metric` grouped by the `by` columns.
pub fn settings_table(
    samples: &Samples,
    by: &[String],
    metric: &str,
    prompt: Option<&str>,
    embeddings: Option<&Embeddings>,
) -> Result<Vec<SettingRow>, AnalysisError> {
    let keys = group_keys(samples, by)?;
    let (values, is_bool) = metric_values(samples, metric)?;
    let prompts = prompt.map(|p| string_values(samples, p)).transpose()?;
    Ok(groups(&keys)
        .into_iter()
        .map(|(setting, rows)| {
            let mut v: Vec<f64> = rows.iter().filter_map(|&r| values[r as usize]).collect();
            let (mean, ci_low, ci_high) = mean_ci(&v);
            let failure_rate =
                (is_bool && !v.is_empty()).then(|| 1.0 - v.iter().sum::<f64>() / v.len() as f64);
            let n = v.len();
            let med = median(&mut v);
            let (diversity, n_prompts) = match &prompts {
                Some(p) => {
                    let mut by_prompt: FxHashMap<&str, Vec<u32>> = FxHashMap::default();
                    for &r in &rows {
                        by_prompt.entry(&p[r as usize]).or_default().push(r);
                    }
                    let div = embeddings.and_then(|e| {
                        let d: Vec<f64> = by_prompt
                            .values()
                            .filter_map(|rs| mean_pairwise_cosine_distance(e, rs))
                            .collect();
                        (!d.is_empty()).then(|| d.iter().sum::<f64>() / d.len() as f64)
                    });
                    (div, Some(by_prompt.len()))
                }
                None => (None, None),
            };
            SettingRow {
                setting,
                count: rows.len(),
                n,
                mean,
                ci_low,
                ci_high,
                median: med,
                failure_rate,
                diversity,
                prompts: n_prompts,
                rows,
            }
        })
        .collect())
}

/// Unbiased estimate of E[max of N samples drawn without replacement] from all k values,
/// for N = 1..=k: with x sorted ascending, E_N = Σ_{i=N..k} C(i−1, N−1) / C(k, N) · x_i.
pub fn expected_max(values: &[f64]) -> Vec<f64> {
    let mut x = values.to_vec();
    x.sort_by(|a, b| a.total_cmp(b));
    let k = x.len();
    (1..=k)
        .map(|n| {
            // w_k = N / k; w_{i−1} = w_i · (i − N) / (i − 1).
            let mut w = n as f64 / k as f64;
            let mut sum = 0.0;
            let mut i = k;
            while i >= n {
                sum += w * x[i - 1];
                if i == n || i == 1 {
                    break;
                }
                w *= (i - n) as f64 / (i - 1) as f64;
                i -= 1;
            }
            sum
        })
        .collect()
}

/// The unbiased pass@N estimator (Chen et al. 2021) from k samples with c successes, for
/// N = 1..=k: 1 − C(k − c, N) / C(k, N).
pub fn pass_at(k: usize, c: usize) -> Vec<f64> {
    (1..=k)
        .map(|n| {
            if k - c < n {
                return 1.0;
            }
            let mut fail = 1.0;
            for j in 0..n {
                fail *= (k - c - j) as f64 / (k - j) as f64;
            }
            1.0 - fail
        })
        .collect()
}

/// One point of a best-of-N curve.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CurvePoint {
    pub n: usize,
    /// Mean over prompts with at least `n` samples.
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub prompts: usize,
}

/// A setting's best-of-N (or pass@N) curve.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Curve {
    pub setting: Vec<String>,
    /// "best_of_n" (expected max) or "pass_at_n" (boolean metric).
    pub kind: &'static str,
    pub points: Vec<CurvePoint>,
}

/// Best-of-N curves per setting: for each prompt, the estimator over its k samples (rows with
/// a metric value); at each N, averaged over the prompts with at least N samples, with a 95%
/// t interval across prompts. Boolean metrics give pass@N.
pub fn best_of_n(
    samples: &Samples,
    by: &[String],
    metric: &str,
    prompt: &str,
) -> Result<Vec<Curve>, AnalysisError> {
    let keys = group_keys(samples, by)?;
    let (values, is_bool) = metric_values(samples, metric)?;
    let prompts = string_values(samples, prompt)?;
    Ok(groups(&keys)
        .into_iter()
        .map(|(setting, rows)| {
            let mut by_prompt: FxHashMap<&str, Vec<f64>> = FxHashMap::default();
            for &r in &rows {
                if let Some(v) = values[r as usize] {
                    by_prompt.entry(&prompts[r as usize]).or_default().push(v);
                }
            }
            let per_prompt: Vec<Vec<f64>> = by_prompt
                .into_values()
                .map(|v| {
                    if is_bool {
                        let c = v.iter().filter(|x| **x > 0.5).count();
                        pass_at(v.len(), c)
                    } else {
                        expected_max(&v)
                    }
                })
                .collect();
            let kmax = per_prompt.iter().map(Vec::len).max().unwrap_or(0);
            let points = (1..=kmax)
                .map(|n| {
                    let at: Vec<f64> = per_prompt
                        .iter()
                        .filter_map(|c| c.get(n - 1).copied())
                        .collect();
                    let (mean, ci_low, ci_high) = mean_ci(&at);
                    CurvePoint {
                        n,
                        mean,
                        ci_low,
                        ci_high,
                        prompts: at.len(),
                    }
                })
                .collect();
            Curve {
                setting,
                kind: if is_bool { "pass_at_n" } else { "best_of_n" },
                points,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subset of size n of `x`: the mean of its maximum.
    fn brute_expected_max(x: &[f64], n: usize) -> f64 {
        let k = x.len();
        let (mut sum, mut count) = (0.0, 0usize);
        for mask in 0u32..(1 << k) {
            if mask.count_ones() as usize != n {
                continue;
            }
            let m = (0..k)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| x[i])
                .fold(f64::NEG_INFINITY, f64::max);
            sum += m;
            count += 1;
        }
        sum / count as f64
    }

    #[test]
    fn expected_max_matches_enumeration_over_all_subsets() {
        let mut state = 12345u64;
        let mut rand = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64) * 10.0 - 3.0
        };
        for k in 1..=12 {
            let mut x: Vec<f64> = (0..k).map(|_| rand()).collect();
            if k > 3 {
                x[1] = x[0]; // ties
            }
            let est = expected_max(&x);
            assert_eq!(est.len(), k);
            for n in 1..=k {
                let b = brute_expected_max(&x, n);
                assert!(
                    (est[n - 1] - b).abs() < 1e-9,
                    "k={k} n={n}: {} vs {b}",
                    est[n - 1]
                );
            }
            // N = 1 is the mean, N = k the maximum.
            let mean = x.iter().sum::<f64>() / k as f64;
            assert!((est[0] - mean).abs() < 1e-9);
            assert!(
                (est[k - 1] - x.iter().cloned().fold(f64::NEG_INFINITY, f64::max)).abs() < 1e-9
            );
        }
    }

    #[test]
    fn pass_at_matches_enumeration_and_expected_max_of_booleans() {
        for k in 1..=10 {
            for c in 0..=k {
                let x: Vec<f64> = (0..k).map(|i| if i < c { 1.0 } else { 0.0 }).collect();
                let p = pass_at(k, c);
                for n in 1..=k {
                    let b = brute_expected_max(&x, n);
                    assert!((p[n - 1] - b).abs() < 1e-9, "k={k} c={c} n={n}");
                }
            }
        }
        // The classic example: n=10 samples, c=3 correct → pass@1 = 0.3.
        assert!((pass_at(10, 3)[0] - 0.3).abs() < 1e-12);
    }

    #[test]
    fn confidence_intervals_and_medians() {
        let (m, lo, hi) = mean_ci(&[1.0, 2.0, 3.0, 4.0]);
        assert!((m - 2.5).abs() < 1e-12);
        // sd = 1.29099, se = 0.645497, t(3) = 3.182
        assert!((hi - m - 3.182 * 0.645_497_224).abs() < 1e-6);
        assert!((m - lo - (hi - m)).abs() < 1e-12);
        assert!(mean_ci(&[5.0]).1.is_nan());
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(t975(1000) == 1.96 && t975(1) == 12.706);
    }

    #[test]
    fn pairwise_distance_shortcut_matches_direct() {
        let e = Embeddings {
            dims: 2,
            data: vec![1.0, 0.0, 0.0, 2.0, 3.0, 3.0],
            warnings: Vec::new(),
        };
        let cos = |a: &[f32], b: &[f32]| {
            let d: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
            let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
            (d / (na * nb)) as f64
        };
        let direct = (0..3)
            .flat_map(|i| (0..3).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| 1.0 - cos(e.row(i), e.row(j)))
            .sum::<f64>()
            / 6.0;
        let fast = mean_pairwise_cosine_distance(&e, &[0, 1, 2]).unwrap();
        assert!((direct - fast).abs() < 1e-6, "{direct} {fast}");
        assert!(mean_pairwise_cosine_distance(&e, &[0]).is_none());
    }
}
