//! Best-of-N and pass@N curves: the unbiased estimators from all k samples of a prompt,
//! averaged over prompts, with 95% bands.

use super::stats::mean_ci;
use super::{AnalysisError, group_keys, groups, metric_values, string_values};
use crate::dataset::Samples;
use rustc_hash::FxHashMap;

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
}
