//! Small statistics: Student's t quantile, mean with a 95% confidence interval, median; and the
//! tests the regions panel uses — Fisher's exact test (two-sided, hypergeometric, in log space
//! so counts in the millions work), Welch's t-test (Student's t CDF from the regularised
//! incomplete beta, a textbook continued fraction), Benjamini–Hochberg q-values and 95%
//! intervals for a difference of proportions (Newcombe's hybrid score interval from two
//! Wilson intervals) and of means (Welch).

use std::f64::consts::PI;

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

/// The two-sided 95% normal quantile.
pub const Z975: f64 = 1.959_963_984_540_054;

/// ln Γ(x) for x > 0: Lanczos approximation (g = 7, 9 coefficients), relative error ~1e-15.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let mut a = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

fn ln_choose(n: u64, k: u64) -> f64 {
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// A 2×2 table of counts: `a` `b` in the first row (e.g. inside a region: failures, others),
/// `c` `d` in the second (outside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table2x2 {
    pub a: u64,
    pub b: u64,
    pub c: u64,
    pub d: u64,
}

/// Fisher's exact test, two-sided: the probability, under the hypergeometric distribution of
/// `a` given the table's margins, of all tables at most as probable as the observed one
/// (relative tolerance 1e-7, as R's `fisher.test`). Probabilities are computed in log space and
/// summed outward from the tail boundaries by the pmf's ratio recurrence, stopping once the rest
/// of a tail is provably below 1e-16 of the sum (the pmf is log-concave), so the cost grows with
/// the spread of the distribution, not with the counts.
pub fn fisher_exact(t: Table2x2) -> f64 {
    let r1 = t.a + t.b;
    let c1 = t.a + t.c;
    let n = r1 + t.c + t.d;
    let lo = (r1 + c1).saturating_sub(n);
    let hi = r1.min(c1);
    if lo == hi {
        return 1.0;
    }
    let ln_denominator = ln_choose(n, r1);
    let ln_pmf = |x: u64| ln_choose(c1, x) + ln_choose(n - c1, r1 - x) - ln_denominator;
    // P(x + 1) / P(x) and P(x − 1) / P(x).
    let (nf, c1f, r1f) = (n as f64, c1 as f64, r1 as f64);
    let up = |x: f64| (c1f - x) * (r1f - x) / ((x + 1.0) * (nf - c1f - r1f + x + 1.0));
    let down = |x: f64| x * (nf - c1f - r1f + x) / ((c1f - x + 1.0) * (r1f - x + 1.0));
    let mode = (((r1 as u128 + 1) * (c1 as u128 + 1)) / (n as u128 + 2)) as u64;
    let mode = mode.clamp(lo, hi);
    let ln_obs = ln_pmf(t.a);
    let threshold = ln_obs + 1e-7_f64.ln_1p();
    let at_most_obs = |x: u64| ln_pmf(x) <= threshold;
    if at_most_obs(mode) {
        return 1.0;
    }
    // The pmf rises up to the mode and falls after it: the tables at most as probable as the
    // observed one are [lo, left_end] and [right_start, hi].
    let left_end = {
        // Last x in [lo, mode) with P(x) <= P(obs), if any.
        let (mut l, mut h) = (lo, mode); // invariant: answer < h
        if !at_most_obs(lo) {
            None
        } else {
            while h - l > 1 {
                let m = l + (h - l) / 2;
                if at_most_obs(m) { l = m } else { h = m }
            }
            Some(l)
        }
    };
    let right_start = {
        // First x in (mode, hi] with P(x) <= P(obs), if any.
        let (mut l, mut h) = (mode, hi); // invariant: answer > l
        if !at_most_obs(hi) {
            None
        } else {
            while h - l > 1 {
                let m = l + (h - l) / 2;
                if at_most_obs(m) { h = m } else { l = m }
            }
            Some(h)
        }
    };
    // Sum of P(x) / P(obs) over one tail, from its inner end outward.
    let tail = |start: u64, end: u64, step: &dyn Fn(f64) -> f64, outward: i64| -> f64 {
        let mut term = (ln_pmf(start) - ln_obs).exp();
        let mut sum = term;
        let mut x = start as i64;
        while x != end as i64 {
            let r = step(x as f64);
            term *= r;
            sum += term;
            x += outward;
            if r < 1.0 && term * r / (1.0 - r) < 1e-16 * sum {
                break;
            }
        }
        sum
    };
    let mut relative = 0.0;
    if let Some(e) = left_end {
        relative += tail(e, lo, &down, -1);
    }
    if let Some(s) = right_start {
        relative += tail(s, hi, &up, 1);
    }
    (ln_obs.exp() * relative).min(1.0)
}

/// The regularised incomplete beta function I_x(a, b), given x and 1 − x (passed separately so
/// that 1 − x keeps its precision when x is close to 1).
pub fn incomplete_beta(a: f64, b: f64, x: f64, one_minus_x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if one_minus_x <= 0.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * one_minus_x.ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_continued_fraction(b, a, one_minus_x) / b
    }
}

/// The continued fraction of the incomplete beta (modified Lentz; Numerical Recipes §6.4). It
/// needs O(√max(a, b)) terms, so Welch degrees of freedom in the millions are fine.
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const MAX_TERMS: usize = 200_000;
    const EPS: f64 = 1e-15;
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=MAX_TERMS {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// Two-sided p-value of Student's t statistic `t` with `df` (real, > 0) degrees of freedom:
/// P(|T| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2).
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    let t2 = t * t;
    incomplete_beta(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2)).clamp(0.0, 1.0)
}

/// Student's t cumulative distribution function.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let half_tail = 0.5 * t_two_sided_p(t, df);
    if t > 0.0 { 1.0 - half_tail } else { half_tail }
}

/// The t with two-sided p-value `alpha` (e.g. 0.05 → the 97.5% quantile) for real `df`, by
/// bisection on [`t_two_sided_p`].
pub fn t_critical(alpha: f64, df: f64) -> f64 {
    if !(alpha > 0.0 && alpha < 1.0 && df > 0.0) {
        return f64::NAN;
    }
    let mut hi = 2.0;
    while t_two_sided_p(hi, df) > alpha {
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_two_sided_p(mid, df) > alpha {
            lo = mid
        } else {
            hi = mid
        }
        if hi - lo <= 1e-13 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Count, mean and sample variance of a set of numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    pub n: usize,
    pub mean: f64,
    /// Sample variance (n − 1 in the denominator); NaN below 2 values.
    pub var: f64,
}

impl Moments {
    pub fn of(v: &[f64]) -> Moments {
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = if n < 2 {
            f64::NAN
        } else {
            v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        };
        Moments { n, mean, var }
    }
}

/// A two-sample test of `inside` against `outside`: the difference inside − outside, its 95%
/// interval, the statistic and the two-sided p-value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TwoSample {
    pub diff: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p: f64,
}

/// Welch's unequal-variance t-test of the means, with the Welch–Satterthwaite degrees of freedom
/// and the matching 95% interval of the difference. Needs 2 values on each side (NaN otherwise).
/// With both variances zero the p-value is 1 for equal means and 0 otherwise.
pub fn welch_t(inside: Moments, outside: Moments) -> TwoSample {
    let diff = inside.mean - outside.mean;
    if inside.n < 2 || outside.n < 2 {
        return TwoSample {
            diff,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            p: f64::NAN,
        };
    }
    let (v1, v2) = (inside.var / inside.n as f64, outside.var / outside.n as f64);
    let se2 = v1 + v2;
    if se2 <= 0.0 {
        return TwoSample {
            diff,
            ci_low: diff,
            ci_high: diff,
            p: if diff == 0.0 { 1.0 } else { 0.0 },
        };
    }
    let se = se2.sqrt();
    let df = se2 * se2 / (v1 * v1 / (inside.n - 1) as f64 + v2 * v2 / (outside.n - 1) as f64);
    let half = t_critical(0.05, df) * se;
    TwoSample {
        diff,
        ci_low: diff - half,
        ci_high: diff + half,
        p: t_two_sided_p(diff / se, df),
    }
}

/// Wilson score 95% interval of a proportion `k / n`.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = Z975 * Z975;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z975 / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Newcombe's hybrid score 95% interval (his method 10, 1998) of the difference of proportions
/// `k1 / n1 − k2 / n2`, built from the two Wilson intervals.
pub fn newcombe_diff(k1: u64, n1: u64, k2: u64, n2: u64) -> (f64, f64) {
    if n1 == 0 || n2 == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (p1, p2) = (k1 as f64 / n1 as f64, k2 as f64 / n2 as f64);
    let (l1, u1) = wilson(k1, n1);
    let (l2, u2) = wilson(k2, n2);
    let d = p1 - p2;
    (
        d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
        d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
    )
}

/// Fisher's exact test of the failure rate `k1 / n1` against `k2 / n2`, with Newcombe's
/// interval of the difference.
pub fn fisher_rates(k1: u64, n1: u64, k2: u64, n2: u64) -> TwoSample {
    let (ci_low, ci_high) = newcombe_diff(k1, n1, k2, n2);
    TwoSample {
        diff: k1 as f64 / n1 as f64 - k2 as f64 / n2 as f64,
        ci_low,
        ci_high,
        p: fisher_exact(Table2x2 {
            a: k1,
            b: n1 - k1,
            c: k2,
            d: n2 - k2,
        }),
    }
}

/// Benjamini–Hochberg q-values: for the i-th smallest of m p-values, min over j ≥ i of
/// p_(j) · m / j, capped at 1 (so q is monotone in p). Missing (and NaN) p-values are skipped:
/// they get no q-value and do not count in m.
pub fn bh_qvalues(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut order: Vec<usize> = (0..p.len())
        .filter(|&i| p[i].is_some_and(|v| !v.is_nan()))
        .collect();
    // Every index in `order` holds a number (filtered just above).
    let value = |i: usize| p[i].unwrap_or(f64::NAN);
    order.sort_by(|&i, &j| value(i).total_cmp(&value(j)).then(i.cmp(&j)));
    let m = order.len() as f64;
    let mut q = vec![None; p.len()];
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(value(i) * m / (rank + 1) as f64);
        q[i] = Some(running);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Exact two-sided Fisher p by enumerating every table with the same margins, in integers.
    fn fisher_by_enumeration(a: u64, b: u64, c: u64, d: u64) -> f64 {
        fn choose(n: u64, k: u64) -> u128 {
            (0..k).fold(1u128, |acc, i| acc * (n - i) as u128 / (i + 1) as u128)
        }
        let (r1, c1, n) = (a + b, a + c, a + b + c + d);
        let weight = |x: u64| choose(c1, x) * choose(n - c1, r1 - x);
        let obs = weight(a);
        let lo = (r1 + c1).saturating_sub(n);
        let hi = r1.min(c1);
        let at_most: u128 = (lo..=hi).map(weight).filter(|&w| w <= obs).sum();
        at_most as f64 / choose(n, r1) as f64
    }

    #[test]
    fn fisher_matches_exact_enumeration_on_all_small_tables() {
        let mut checked = 0;
        for a in 0..9 {
            for b in 0..9 {
                for c in 0..9 {
                    for d in 0..9 {
                        let want = fisher_by_enumeration(a, b, c, d);
                        let got = fisher_exact(Table2x2 { a, b, c, d });
                        assert!(
                            (got - want).abs() <= 1e-12 + 1e-9 * want,
                            "{a} {b} {c} {d}: {got} vs {want}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 9usize.pow(4));
        // Larger margins, still exact in u128.
        for &(a, b, c, d) in &[
            (20, 5, 3, 22),
            (1, 30, 12, 17),
            (15, 15, 14, 16),
            (0, 40, 9, 1),
        ] {
            let want = fisher_by_enumeration(a, b, c, d);
            let got = fisher_exact(Table2x2 { a, b, c, d });
            assert!(
                (got - want).abs() <= 1e-9 * want.max(1e-300),
                "{got} vs {want}"
            );
        }
    }

    #[test]
    fn fisher_textbook_values() {
        // Fisher's lady tasting tea: 3 of 4 cups right each way, p = 34/70.
        let p = fisher_exact(Table2x2 {
            a: 3,
            b: 1,
            c: 1,
            d: 3,
        });
        assert!((p - 0.4857).abs() < 1e-4 && (p - 34.0 / 70.0).abs() < 1e-12);
        // All 4 right: 2/70.
        let p = fisher_exact(Table2x2 {
            a: 4,
            b: 0,
            c: 0,
            d: 4,
        });
        assert!((p - 2.0 / 70.0).abs() < 1e-12);
        // Degenerate margins.
        assert_eq!(
            fisher_exact(Table2x2 {
                a: 0,
                b: 0,
                c: 3,
                d: 4
            }),
            1.0
        );
        assert_eq!(
            fisher_exact(Table2x2 {
                a: 5,
                b: 0,
                c: 7,
                d: 0
            }),
            1.0
        );
    }

    #[test]
    fn fisher_with_counts_in_the_millions() {
        // Against a plain sum over the whole support of the log-space pmf (no tail shortcuts).
        let brute = |t: Table2x2| {
            let (r1, c1) = (t.a + t.b, t.a + t.c);
            let n = r1 + t.c + t.d;
            let lp = |x: u64| ln_choose(c1, x) + ln_choose(n - c1, r1 - x) - ln_choose(n, r1);
            let obs = lp(t.a);
            let lo = (r1 + c1).saturating_sub(n);
            ((lo..=r1.min(c1))
                .map(lp)
                .filter(|&l| l <= obs + 1e-7)
                .map(|l| (l - obs).exp())
                .sum::<f64>()
                * obs.exp())
            .min(1.0)
        };
        for t in [
            Table2x2 {
                a: 1_050,
                b: 8_950,
                c: 100_000,
                d: 900_000,
            },
            Table2x2 {
                a: 10_300,
                b: 89_700,
                c: 100_000,
                d: 900_000,
            },
            Table2x2 {
                a: 30_000,
                b: 70_000,
                c: 270_000,
                d: 630_000,
            },
            Table2x2 {
                a: 5,
                b: 2_000_000,
                c: 40,
                d: 3_000_000,
            },
        ] {
            let (got, want) = (fisher_exact(t), brute(t));
            assert!(
                (got - want).abs() <= 1e-6 * want + 1e-300,
                "{t:?}: {got} vs {want}"
            );
            // The test does not depend on which margin is the row.
            let tr = fisher_exact(Table2x2 {
                a: t.a,
                b: t.c,
                c: t.b,
                d: t.d,
            });
            assert!((got - tr).abs() <= 1e-6 * got + 1e-300);
        }
        // A strong effect at a million rows.
        let p = fisher_exact(Table2x2 {
            a: 5_000,
            b: 5_000,
            c: 100_000,
            d: 890_000,
        });
        // (About 1e-2000: it underflows to 0, never to NaN.)
        assert!(p < 1e-300 && !p.is_nan(), "{p}");
    }

    /// Student's t density integrated by Simpson's rule from 0 to |t|: an independent route to
    /// the CDF (no continued fraction).
    fn t_cdf_by_integration(t: f64, df: f64) -> f64 {
        let c = (ln_gamma((df + 1.0) / 2.0) - ln_gamma(df / 2.0)).exp() / (df * PI).sqrt();
        let pdf = |x: f64| c * (1.0 + x * x / df).powf(-(df + 1.0) / 2.0);
        let steps = 20_000;
        let h = t.abs() / steps as f64;
        let mut s = pdf(0.0) + pdf(t.abs());
        for i in 1..steps {
            s += if i % 2 == 1 { 4.0 } else { 2.0 } * pdf(i as f64 * h);
        }
        let half = s * h / 3.0;
        if t >= 0.0 { 0.5 + half } else { 0.5 - half }
    }

    #[test]
    fn t_distribution_against_closed_forms_integration_and_the_table() {
        for t in [-7.0_f64, -1.5, -0.2, 0.0, 0.3, 1.0, 2.5, 12.706] {
            // df = 1 is Cauchy, df = 2 has a closed form.
            let cauchy = 0.5 + t.atan() / PI;
            assert!((t_cdf(t, 1.0) - cauchy).abs() < 1e-12, "df 1, t {t}");
            let two = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
            assert!((t_cdf(t, 2.0) - two).abs() < 1e-12, "df 2, t {t}");
        }
        for &(t, df) in &[
            (1.3, 3.7),
            (-2.2, 10.94),
            (0.8, 57.5),
            (2.0, 1234.0),
            (3.1, 5.0),
        ] {
            let (got, want) = (t_cdf(t, df), t_cdf_by_integration(t, df));
            assert!((got - want).abs() < 1e-9, "t {t} df {df}: {got} vs {want}");
        }
        for df in 1..=30 {
            // The table is rounded to 3 decimals.
            let t = t_critical(0.05, df as f64);
            assert!((t - t975(df)).abs() < 6e-4, "df {df}: {t} vs {}", t975(df));
        }
        assert!((t_critical(0.05, 1e7) - Z975).abs() < 1e-5);
        // Large df: close to the normal, p of 1.96 about 0.05.
        assert!((t_two_sided_p(Z975, 2e6) - 0.05).abs() < 1e-6);
        assert!(t_two_sided_p(40.0, 5e5) < 1e-300);
    }

    #[test]
    fn welch_on_a_hand_computed_case() {
        // A = 1..5: mean 3, variance 2.5; B = 6..13: mean 9.5, variance 6.
        // se² = 2.5/5 + 6/8 = 1.25; t = −6.5 / √1.25 = −5.813 777;
        // df = 1.25² / (0.5²/4 + 0.75²/7) = 1.5625 / 0.142 857 = 10.9375.
        let a: Vec<f64> = (1..=5).map(f64::from).collect();
        let b: Vec<f64> = (6..=13).map(f64::from).collect();
        let r = welch_t(Moments::of(&a), Moments::of(&b));
        assert!((r.diff + 6.5).abs() < 1e-12);
        let (t, df) = (-6.5 / 1.25_f64.sqrt(), 10.9375);
        let p = 2.0 * t_cdf_by_integration(t, df);
        assert!((r.p - p).abs() < 1e-9, "{} vs {p}", r.p);
        assert!(r.p > 5e-5 && r.p < 2e-4);
        // Interval: diff ± t(0.975, 10.9375) · se, with t(10.9375) between t975(11) and t975(10).
        let half = (r.ci_high - r.ci_low) / 2.0 / 1.25_f64.sqrt();
        assert!(half > t975(11) && half < t975(10), "{half}");
        assert!(((r.ci_high + r.ci_low) / 2.0 + 6.5).abs() < 1e-12);
        // Too few values, and no variance at all.
        assert!(welch_t(Moments::of(&[1.0]), Moments::of(&b)).p.is_nan());
        let same = welch_t(Moments::of(&[2.0, 2.0]), Moments::of(&[2.0, 2.0, 2.0]));
        assert_eq!(same.p, 1.0);
    }

    #[test]
    fn intervals_of_proportions_against_published_values() {
        // Newcombe (1998), Statistics in Medicine 17:873, Table II, example (a): 56/70 − 48/80,
        // method 10 (hybrid score): 0.0524 to 0.3339.
        let (lo, hi) = newcombe_diff(56, 70, 48, 80);
        assert!(
            (lo - 0.0524).abs() < 1e-4 && (hi - 0.3339).abs() < 1e-4,
            "{lo} {hi}"
        );
        // Wilson 0/10: upper z²/(n + z²) = 0.2775 by hand.
        let (lo, hi) = wilson(0, 10);
        assert!(lo == 0.0 && (hi - Z975 * Z975 / (10.0 + Z975 * Z975)).abs() < 1e-12);
        assert!(newcombe_diff(1, 0, 1, 2).0.is_nan());
    }

    #[test]
    fn benjamini_hochberg_by_hand() {
        // m = 5 (the missing one is skipped). Sorted: 0.005, 0.01, 0.03, 0.04, 0.5 →
        // p·m/rank = 0.025, 0.025, 0.05, 0.05, 0.5; running minimum from the top: the same.
        let p = [
            Some(0.01),
            Some(0.04),
            Some(0.03),
            Some(0.005),
            None,
            Some(0.5),
        ];
        let q = bh_qvalues(&p);
        let want = [
            Some(0.025),
            Some(0.05),
            Some(0.05),
            Some(0.025),
            None,
            Some(0.5),
        ];
        for (g, w) in q.iter().zip(&want) {
            match (g, w) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{q:?}"),
                (None, None) => {}
                _ => panic!("{q:?}"),
            }
        }
        // Monotonicity: 0.02·2/1 = 0.04 > 0.021·2/2 = 0.021, so both get 0.021.
        let q = bh_qvalues(&[Some(0.02), Some(0.021)]);
        assert!((q[0].unwrap() - 0.021).abs() < 1e-12 && (q[1].unwrap() - 0.021).abs() < 1e-12);
        // Capped at 1; NaN is missing.
        let q = bh_qvalues(&[Some(0.9), Some(0.8), Some(f64::NAN)]);
        assert_eq!(q, vec![Some(0.9), Some(0.9), None]);
    }
}
