//! The per-setting table: a metric's mean (with a 95% CI), median, failure rate and
//! within-prompt diversity for each combination of the grouping columns.

use super::stats::{mean_ci, median};
use super::{AnalysisError, group_keys, groups, metric_values, string_values};
use crate::dataset::Samples;
use crate::embedding::Embeddings;
use rustc_hash::FxHashMap;

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

#[cfg(test)]
mod tests {
    use super::*;

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
