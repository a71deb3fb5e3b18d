//! Regions ranked by a metric, and what is in a region.
//!
//! [`rank_regions`]: per region, the metric inside vs outside (the mean, or for a true/false
//! metric the failure rate), the difference with its 95% interval, the lift (ratio), a
//! two-sided p-value — Fisher's exact test for true/false metrics (interval: Newcombe's hybrid
//! score), Welch's t-test for numbers (interval: Welch) — and Benjamini–Hochberg q-values across
//! all regions given (pass both levels together). Regions below the minimum support and the
//! unclustered groups are reported but not tested.
//!
//! [`region_composition`]: for one region, each value of each run column inside vs outside,
//! Fisher's exact test and q-values across all values of all columns given.

use std::cmp::Ordering;

use rustc_hash::FxHashMap;

use super::stats::{Moments, Table2x2, bh_qvalues, fisher_exact, fisher_rates, welch_t};
use crate::util::text::natural_cmp;

/// Regions (and the rest of the rows) with fewer values than this are not tested.
pub const DEFAULT_MIN_SUPPORT: usize = 20;
/// q-values at or below this are significant (for the ordering).
pub const SIGNIFICANCE: f64 = 0.05;

/// Which direction of a metric is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Worse {
    Higher,
    Lower,
}

/// Words in a metric's name that say higher is worse (checked first: "toxicity_score",
/// "incorrect") and that say lower is worse. A word of the name (lower-cased, split at anything
/// not a letter or digit) matches a stem when it starts with it.
const HIGHER_IS_WORSE: &[&str] = &[
    "refus",
    "jailbr",
    "toxic",
    "repetit",
    "repeat",
    "garbage",
    "len",
    "length",
    "incorrect",
    "wrong",
    "error",
    "fail",
    "loss",
    "perplexity",
    "harm",
    "unsafe",
    "halluc",
    "bias",
    "latency",
    "cost",
];
const LOWER_IS_WORSE: &[&str] = &[
    "correct", "score", "reward", "win", "pass", "accuracy", "acc", "success", "quality",
    "helpful", "rating", "grade", "solved", "match", "exact", "f1", "bleu", "rouge",
];

/// The direction of "worse" a metric's name says: higher when a word of the name starts with
/// one of [`HIGHER_IS_WORSE`] (refusal, jailbroken, toxicity, repetition, garbage, len_*,
/// error, ...), lower when one starts with one of [`LOWER_IS_WORSE`] (is_correct, score,
/// reward, win_prob, pass, accuracy, ...), `None` when the name says neither.
pub fn worse_from_name(metric_name: &str) -> Option<Worse> {
    let lower = metric_name.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |stems: &[&str]| words.iter().any(|w| stems.iter().any(|s| w.starts_with(s)));
    if has(HIGHER_IS_WORSE) {
        Some(Worse::Higher)
    } else if has(LOWER_IS_WORSE) {
        Some(Worse::Lower)
    } else {
        None
    }
}

/// The default direction of "worse" for a metric: [`worse_from_name`], and lower is worse for
/// a name it does not recognise (most metrics are scores).
pub fn default_worse(metric_name: &str) -> Worse {
    worse_from_name(metric_name).unwrap_or(Worse::Lower)
}

/// One region's statistics for a metric.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RegionStat {
    /// Index into the `regions` given.
    pub region: usize,
    /// Rows in the region.
    pub size: usize,
    /// `size` / all rows.
    pub share: f64,
    /// Rows with a value of the metric, inside and outside the region.
    pub n_inside: usize,
    pub n_outside: usize,
    /// The mean inside and outside; for a true/false metric, the failure rate (the share of
    /// false when lower is worse, of true when higher is worse).
    pub inside: f64,
    pub outside: f64,
    /// inside − outside.
    pub diff: f64,
    /// inside / outside (NaN when outside is 0).
    pub lift: f64,
    /// How much worse inside than outside, in the metric's units: `diff` for failure rates and
    /// when higher is worse, −`diff` when lower is worse. Positive = worse.
    pub excess: f64,
    /// 95% interval of `diff` (Newcombe for failure rates, Welch for means).
    pub ci_low: f64,
    pub ci_high: f64,
    /// Two-sided p-value and Benjamini–Hochberg q-value; `None` when not tested.
    pub p: Option<f64>,
    pub q: Option<f64>,
    /// "Fisher exact" or "Welch t".
    pub test: &'static str,
    /// Whether the region was tested: not unclustered, at least `min_support` values inside
    /// and outside, and a p-value defined.
    pub tested: bool,
    pub unclustered: bool,
}

impl RegionStat {
    /// Tested, significant after correction, and worse inside.
    pub fn is_significantly_worse(&self) -> bool {
        self.tested && self.q.is_some_and(|q| q <= SIGNIFICANCE) && self.excess > 0.0
    }
}

/// The regions' statistics for one metric, worst first: tested regions significantly worse
/// than the rest (q ≤ 0.05, worse inside), by q then by `excess`; then the other tested
/// regions by `excess`; then the untested ones by size. `values` holds the metric per row
/// (`None` = missing; 0/1 for true/false metrics); `regions` are row indices (rows past the
/// values count as missing); `unclustered` indexes the noise groups among them.
pub fn rank_regions(
    values: &[Option<f64>],
    is_bool: bool,
    worse: Worse,
    regions: &[&[u32]],
    unclustered: &[usize],
    min_support: usize,
) -> Vec<RegionStat> {
    let n_rows = values.len();
    let value = |r: u32| values.get(r as usize).copied().flatten();
    let failure = |v: f64| match worse {
        Worse::Lower => v < 0.5,
        Worse::Higher => v >= 0.5,
    };
    // Counts over all rows: values present and failures (true/false metrics).
    let counts = |it: &mut dyn Iterator<Item = f64>| {
        let (mut n, mut k) = (0u64, 0u64);
        for v in it {
            n += 1;
            k += failure(v) as u64;
        }
        (n, k)
    };
    let all = counts(&mut values.iter().flatten().copied());

    let mut stats: Vec<RegionStat> = regions
        .iter()
        .enumerate()
        .map(|(ri, rows)| {
            let inside = counts(&mut rows.iter().filter_map(|&r| value(r)));
            let (n_in, k_in) = (inside.0, inside.1);
            let (n_out, k_out) = (all.0 - n_in, all.1 - k_in);
            let (test, result, inside_value, outside_value) = if is_bool {
                let result = fisher_rates(k_in, n_in, k_out, n_out);
                let rates = (k_in as f64 / n_in as f64, k_out as f64 / n_out as f64);
                ("Fisher exact", result, rates.0, rates.1)
            } else {
                // Two passes over the rows, inside and outside apart: a mean of zeros is exactly
                // zero (totals minus the region's sums leave rounding residue instead).
                let (m_in, m_out) = split_moments(values, rows);
                ("Welch t", welch_t(m_in, m_out), m_in.mean, m_out.mean)
            };
            let is_unclustered = unclustered.contains(&ri);
            let tested = !is_unclustered
                && n_in as usize >= min_support.max(1)
                && n_out as usize >= min_support.max(1)
                && result.p.is_finite();
            let diff = inside_value - outside_value;
            RegionStat {
                region: ri,
                size: rows.len(),
                share: rows.len() as f64 / n_rows.max(1) as f64,
                n_inside: n_in as usize,
                n_outside: n_out as usize,
                inside: inside_value,
                outside: outside_value,
                diff,
                lift: if outside_value == 0.0 {
                    f64::NAN
                } else {
                    inside_value / outside_value
                },
                excess: if is_bool || worse == Worse::Higher {
                    diff
                } else {
                    -diff
                },
                ci_low: result.ci_low,
                ci_high: result.ci_high,
                p: tested.then_some(result.p),
                q: None,
                test,
                tested,
                unclustered: is_unclustered,
            }
        })
        .collect();
    let p: Vec<Option<f64>> = stats.iter().map(|s| s.p).collect();
    for (s, q) in stats.iter_mut().zip(bh_qvalues(&p)) {
        s.q = q;
    }
    stats.sort_by(rank_order);
    stats
}

fn rank_order(a: &RegionStat, b: &RegionStat) -> Ordering {
    let tier = |s: &RegionStat| match (s.is_significantly_worse(), s.tested) {
        (true, _) => 0,
        (false, true) => 1,
        (false, false) => 2,
    };
    let by_excess = |a: &RegionStat, b: &RegionStat| b.excess.total_cmp(&a.excess);
    tier(a)
        .cmp(&tier(b))
        .then_with(|| match tier(a) {
            0 => {
                a.q.unwrap_or(1.0)
                    .total_cmp(&b.q.unwrap_or(1.0))
                    .then_with(|| by_excess(a, b))
            }
            1 => by_excess(a, b),
            _ => b.size.cmp(&a.size),
        })
        .then(a.region.cmp(&b.region))
}

/// The moments of the values inside `rows` (sorted row indices) and outside them, each by a
/// two-pass mean and variance over its own values.
fn split_moments(values: &[Option<f64>], rows: &[u32]) -> (Moments, Moments) {
    let mut inside_mask = vec![false; values.len()];
    for &r in rows {
        if let Some(m) = inside_mask.get_mut(r as usize) {
            *m = true;
        }
    }
    let side = |want: bool| {
        let present = || {
            values
                .iter()
                .zip(&inside_mask)
                .filter(move |(_, m)| **m == want)
                .filter_map(|(v, _)| *v)
        };
        let n = present().count();
        let mean = present().sum::<f64>() / n as f64;
        let var = if n < 2 {
            f64::NAN
        } else {
            present().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64
        };
        Moments { n, mean, var }
    };
    (side(true), side(false))
}

/// One value of a run column inside a region vs outside it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ValueShare {
    pub column: String,
    pub value: String,
    /// Rows with this value inside the region, and their share of the region's rows.
    pub inside: usize,
    pub inside_share: f64,
    /// The same outside the region.
    pub outside: usize,
    pub outside_share: f64,
    /// inside_share / outside_share (infinite when the value occurs only inside).
    pub lift: f64,
    /// Fisher's exact test (two-sided) of the value's share inside vs outside, and the
    /// Benjamini–Hochberg q-value across all values of all columns given.
    pub p: f64,
    pub q: f64,
}

impl ValueShare {
    pub fn is_significantly_over(&self) -> bool {
        self.q <= SIGNIFICANCE && self.inside_share > self.outside_share
    }
}

/// What is in a region: each value of each column (`(name, value per row)`, e.g. from
/// [`super::string_values`]) inside vs outside, most over-represented first — the
/// significantly over-represented values (q ≤ 0.05) by the excess of their share inside over
/// their share outside, then all others by the same excess. Rows past a column's length are
/// ignored for that column.
pub fn region_composition(region: &[u32], columns: &[(&str, &[String])]) -> Vec<ValueShare> {
    let mut out = Vec::new();
    let mut order_key: Vec<usize> = Vec::new();
    for (ci, &(name, vals)) in columns.iter().enumerate() {
        let mut inside_mask = vec![false; vals.len()];
        for &r in region {
            if let Some(m) = inside_mask.get_mut(r as usize) {
                *m = true;
            }
        }
        let n_in = inside_mask.iter().filter(|&&m| m).count();
        let n_out = vals.len() - n_in;
        // value → (rows inside, rows in all)
        let mut counts: FxHashMap<&str, (u64, u64)> = FxHashMap::default();
        for (v, &m) in vals.iter().zip(&inside_mask) {
            let e = counts.entry(v.as_str()).or_insert((0, 0));
            e.0 += m as u64;
            e.1 += 1;
        }
        for (value, (k_in, k_all)) in counts {
            let k_out = k_all - k_in;
            let share = |k: u64, n: usize| {
                if n == 0 {
                    f64::NAN
                } else {
                    k as f64 / n as f64
                }
            };
            let (inside_share, outside_share) = (share(k_in, n_in), share(k_out, n_out));
            out.push(ValueShare {
                column: name.to_string(),
                value: value.to_string(),
                inside: k_in as usize,
                inside_share,
                outside: k_out as usize,
                outside_share,
                lift: inside_share / outside_share,
                p: fisher_exact(Table2x2 {
                    a: k_in,
                    b: n_in as u64 - k_in,
                    c: k_out,
                    d: n_out as u64 - k_out,
                }),
                q: f64::NAN,
            });
            order_key.push(ci);
        }
    }
    let p: Vec<Option<f64>> = out.iter().map(|v| Some(v.p)).collect();
    for (v, q) in out.iter_mut().zip(bh_qvalues(&p)) {
        v.q = q.unwrap_or(f64::NAN);
    }
    let mut rows: Vec<(usize, ValueShare)> = order_key.into_iter().zip(out).collect();
    rows.sort_by(|(ca, a), (cb, b)| {
        let excess = |v: &ValueShare| v.inside_share - v.outside_share;
        b.is_significantly_over()
            .cmp(&a.is_significantly_over())
            .then(excess(b).total_cmp(&excess(a)))
            .then(ca.cmp(cb))
            .then_with(|| natural_cmp(&a.value, &b.value))
    });
    rows.into_iter().map(|(_, v)| v).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_of_worse_from_the_name() {
        for name in [
            "is_correct",
            "score",
            "reward",
            "win_prob",
            "pass",
            "accuracy",
            "judge.score",
        ] {
            assert_eq!(default_worse(name), Worse::Lower, "{name}");
            assert_eq!(worse_from_name(name), Some(Worse::Lower), "{name}");
        }
        for name in [
            "refusal",
            "jailbroken",
            "toxicity",
            "repetition",
            "garbage",
            "len_chars",
            "len_tokens",
            "toxicity_score",
            "is_incorrect",
            "Refused",
        ] {
            assert_eq!(default_worse(name), Worse::Higher, "{name}");
        }
        assert_eq!(worse_from_name("temperature"), None);
        assert_eq!(default_worse("temperature"), Worse::Lower);
    }

    /// 1,000 rows: region 0 (rows 0..100) fails 50%, region 1 (100..200) 10%, region 2
    /// (200..205) 100% but too small to test, region 3 (900..1000) unclustered and 100%
    /// failing; everything else 10%. Returns (values for "refusal" = 1 on failure).
    fn refusal_values() -> Vec<Option<f64>> {
        (0..1000)
            .map(|r| {
                let fail = match r {
                    0..100 => r % 2 == 0,
                    200..205 | 900..1000 => true,
                    _ => r % 10 == 0,
                };
                if r == 150 {
                    None
                } else {
                    Some(fail as u8 as f64)
                }
            })
            .collect()
    }

    #[test]
    fn failure_regions_ranked_by_fisher_with_q_values() {
        let values = refusal_values();
        let rows: Vec<Vec<u32>> = vec![
            (0..100).collect(),
            (100..200).collect(),
            (200..205).collect(),
            (900..1000).collect(),
        ];
        let refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
        let stats = rank_regions(&values, true, Worse::Higher, &refs, &[3], 20);
        let order: Vec<usize> = stats.iter().map(|s| s.region).collect();
        assert_eq!(order, vec![0, 1, 3, 2]);
        let s0 = &stats[0];
        // Outside region 0: 899 values (row 150 is missing); its failures counted directly.
        let outside_failures = (100..1000)
            .filter(|&r| r != 150)
            .filter(|&r| values[r] == Some(1.0))
            .count();
        assert_eq!(s0.n_inside, 100);
        assert_eq!(s0.n_outside, 899);
        assert_eq!(s0.test, "Fisher exact");
        assert!((s0.inside - 0.5).abs() < 1e-12);
        assert!((s0.outside - outside_failures as f64 / 899.0).abs() < 1e-12);
        assert!((s0.lift - s0.inside / s0.outside).abs() < 1e-12);
        assert!(s0.excess > 0.0 && s0.ci_low > 0.0 && s0.ci_low < s0.diff && s0.diff < s0.ci_high);
        let p0 = fisher_exact(Table2x2 {
            a: 50,
            b: 50,
            c: outside_failures as u64,
            d: (899 - outside_failures) as u64,
        });
        assert_eq!(s0.p, Some(p0));
        assert!(s0.is_significantly_worse());
        // BH over the two tested regions: q0 = min(p0 · 2 / 1, p1 · 2 / 2) as p0 < p1.
        let p1 = stats[1].p.unwrap();
        assert!(p0 < p1);
        assert!((s0.q.unwrap() - (2.0 * p0).min(p1)).abs() < 1e-15);
        assert!((stats[1].q.unwrap() - p1.min(1.0)).abs() < 1e-15);
        // Not tested: the unclustered group and the small region; they are still reported.
        for s in &stats[2..] {
            assert!(!s.tested && s.p.is_none() && s.q.is_none());
        }
        assert!(stats[2].unclustered && (stats[2].inside - 1.0).abs() < 1e-12);
        assert_eq!(stats[3].size, 5);
        assert!((stats[3].share - 0.005).abs() < 1e-12);
    }

    #[test]
    fn failure_of_a_lower_is_worse_flag_is_false() {
        // is_correct: region 0 is mostly wrong.
        let values: Vec<Option<f64>> = (0..400)
            .map(|r| {
                Some(if r < 50 {
                    (r % 5 == 0) as u8
                } else {
                    (r % 5 != 0) as u8
                } as f64)
            })
            .collect();
        let region: Vec<u32> = (0..50).collect();
        let stats = rank_regions(&values, true, Worse::Lower, &[&region], &[], 20);
        assert!((stats[0].inside - 0.8).abs() < 1e-12, "{}", stats[0].inside);
        assert!((stats[0].outside - 0.2).abs() < 1e-12);
        assert!(stats[0].is_significantly_worse());
    }

    #[test]
    fn continuous_metric_uses_welch_in_the_worse_direction() {
        // Score (lower is worse): region 0 scores 0.2 lower, region 1 0.2 higher, region 2 as
        // the rest; noise from a fixed pattern.
        let noise = |r: usize| ((r * 37) % 11) as f64 / 10.0 - 0.5;
        let values: Vec<Option<f64>> = (0..600)
            .map(|r| {
                let shift = match r {
                    0..60 => -0.2,
                    60..120 => 0.2,
                    _ => 0.0,
                };
                Some(1.0 + shift + 0.3 * noise(r))
            })
            .collect();
        let rows: Vec<Vec<u32>> =
            vec![(0..60).collect(), (60..120).collect(), (120..180).collect()];
        let refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
        let stats = rank_regions(&values, false, Worse::Lower, &refs, &[], 20);
        assert_eq!(stats[0].region, 0);
        assert_eq!(stats[0].test, "Welch t");
        assert!(stats[0].is_significantly_worse());
        assert_eq!(
            stats.last().unwrap().region,
            1,
            "the better region comes last"
        );
        assert!(stats.last().unwrap().excess < 0.0);
        // Against the Welch test on the two samples directly (two-pass moments).
        let inside: Vec<f64> = (0..60).map(|r| values[r].unwrap()).collect();
        let outside: Vec<f64> = (60..600).map(|r| values[r].unwrap()).collect();
        let direct = welch_t(Moments::of(&inside), Moments::of(&outside));
        let s = &stats[0];
        assert!((s.p.unwrap() - direct.p).abs() <= 1e-9 * direct.p);
        assert!(
            (s.ci_low - direct.ci_low).abs() < 1e-9 && (s.ci_high - direct.ci_high).abs() < 1e-9
        );
        assert!((s.diff - direct.diff).abs() < 1e-12);
    }

    #[test]
    fn composition_shows_the_over_represented_settings_first() {
        // 1,000 rows; region = rows 0..100. model: chat-8b is 81 of the region's 100 rows and
        // 180 of the 900 outside; temperature is independent of the region.
        let model: Vec<String> = (0..1000)
            .map(|r| {
                let chat = if r < 100 { r < 81 } else { r % 5 == 0 };
                if chat { "chat-8b" } else { "base-8b" }.to_string()
            })
            .collect();
        let temperature: Vec<String> = (0..1000)
            .map(|r| ["0.2", "1.0"][r % 2].to_string())
            .collect();
        let region: Vec<u32> = (0..100).collect();
        let rows = region_composition(&region, &[("model", &model), ("temperature", &temperature)]);
        assert_eq!(rows.len(), 4);
        let top = &rows[0];
        assert_eq!(
            (top.column.as_str(), top.value.as_str()),
            ("model", "chat-8b")
        );
        assert_eq!((top.inside, top.outside), (81, 180));
        assert!((top.inside_share - 0.81).abs() < 1e-12 && (top.outside_share - 0.2).abs() < 1e-12);
        assert!(top.is_significantly_over());
        assert_eq!(
            top.p,
            fisher_exact(Table2x2 {
                a: 81,
                b: 19,
                c: 180,
                d: 720
            })
        );
        // Temperature: 50% inside and outside, p = 1, not significant.
        for r in rows.iter().filter(|r| r.column == "temperature") {
            assert!((r.inside_share - 0.5).abs() < 1e-12 && !r.is_significantly_over());
            assert!(r.q >= r.p);
        }
        assert_eq!(rows.last().unwrap().value, "base-8b");
    }
}
