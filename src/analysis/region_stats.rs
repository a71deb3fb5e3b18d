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

use super::stats::{Moments, Table2x2, TwoSample, bh_qvalues, fisher_exact, fisher_rates, welch_t};
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
    // Totals over all rows: failures (true/false) or sums shifted by the mean (numbers).
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let shift = if present.is_empty() {
        0.0
    } else {
        present.iter().sum::<f64>() / present.len() as f64
    };
    let sums = |it: &mut dyn Iterator<Item = f64>| {
        let (mut n, mut k, mut s1, mut s2) = (0u64, 0u64, 0.0, 0.0);
        for v in it {
            n += 1;
            k += failure(v) as u64;
            s1 += v - shift;
            s2 += (v - shift) * (v - shift);
        }
        (n, k, s1, s2)
    };
    let all = sums(&mut present.iter().copied());
    let moments = |n: u64, s1: f64, s2: f64| Moments {
        n: n as usize,
        mean: shift + s1 / n as f64,
        var: if n < 2 {
            f64::NAN
        } else {
            ((s2 - s1 * s1 / n as f64) / (n - 1) as f64).max(0.0)
        },
    };

    let mut stats: Vec<RegionStat> = regions
        .iter()
        .enumerate()
        .map(|(ri, rows)| {
            let inside = sums(&mut rows.iter().filter_map(|&r| value(r)));
            let (n_in, k_in) = (inside.0, inside.1);
            let (n_out, k_out) = (all.0 - n_in, all.1 - k_in);
            let (test, result): (&'static str, TwoSample) = if is_bool {
                ("Fisher exact", fisher_rates(k_in, n_in, k_out, n_out))
            } else {
                let m_in = moments(n_in, inside.2, inside.3);
                let m_out = moments(n_out, all.2 - inside.2, all.3 - inside.3);
                ("Welch t", welch_t(m_in, m_out))
            };
            let (inside_value, outside_value) = if is_bool {
                (k_in as f64 / n_in as f64, k_out as f64 / n_out as f64)
            } else {
                (
                    moments(n_in, inside.2, inside.3).mean,
                    moments(n_out, all.2 - inside.2, all.3 - inside.3).mean,
                )
            };
            let is_unclustered = unclustered.contains(&ri);
            let tested = !is_unclustered
                && n_in as usize >= min_support
                && n_out as usize >= min_support
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
