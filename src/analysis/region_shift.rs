//! Where two groups of rows (A and B: two temperatures, two models, two files) sit
//! differently on a map: per region, A's and B's rows in it, their shares of their own group,
//! the ratio of the shares (B / A: "B has 3× the samples of A here"), a two-sided test of
//! "the region holds the same share of A as of B", and Benjamini–Hochberg q-values over the
//! regions tested.
//!
//! The test is the two-proportion z-test with the pooled variance — the same as Pearson's χ²
//! of the 2×2 table (in the region or not) × (A or B) without continuity correction, z² = χ² —
//! and Fisher's exact test when an expected count of that table is below 5.

use super::stats::{Table2x2, bh_qvalues, fisher_exact};

/// Expected counts below this make the z-test's normal approximation poor: Fisher instead.
pub const MIN_EXPECTED: f64 = 5.0;

/// One region's A / B statistics.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RegionShift {
    /// Index into the regions given.
    pub region: usize,
    /// A's and B's rows in the region.
    pub n_a: usize,
    pub n_b: usize,
    /// `n_a / N_A` and `n_b / N_B` (N: the group's rows).
    pub share_a: f64,
    pub share_b: f64,
    /// `share_b / share_a` (∞ when only B is there, NaN when neither is).
    pub ratio: f64,
    /// The z statistic (positive: more of A), NaN when Fisher's test was used or none.
    pub z: f64,
    /// Two-sided p-value and q-value; `None` when not tested (a group is empty).
    pub p: Option<f64>,
    pub q: Option<f64>,
    /// "z test" or "Fisher exact".
    pub test: &'static str,
}

/// `erfc(x)`, the complementary error function, by the Chebyshev fit of Numerical Recipes
/// (`erfcc`, §6.2): relative error below 1.2e-7 everywhere, no underflow before e^{−x²} does.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|).
pub fn normal_two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// The pooled two-proportion z statistic of `k1 / n1` against `k2 / n2`.
pub fn two_proportion_z(k1: u64, n1: u64, k2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return f64::NAN;
    }
    let (p1, p2) = (k1 as f64 / n1 as f64, k2 as f64 / n2 as f64);
    let pooled = (k1 + k2) as f64 / (n1 + n2) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se > 0.0 {
        (p1 - p2) / se
    } else if p1 == p2 {
        0.0
    } else {
        f64::NAN
    }
}

/// The A / B statistics of each region (row indices; rows past `groups` are in neither
/// group). `groups[row]` is `a` for A, `b` for B, anything else for neither. q-values are
/// over all regions given: pass each distinct region once.
pub fn region_shifts(regions: &[&[u32]], groups: &[u8], a: u8, b: u8) -> Vec<RegionShift> {
    let total_a = groups.iter().filter(|&&g| g == a).count();
    let total_b = groups.iter().filter(|&&g| g == b).count();
    let mut out: Vec<RegionShift> = regions
        .iter()
        .enumerate()
        .map(|(region, rows)| {
            let (mut n_a, mut n_b) = (0usize, 0usize);
            for &r in rows.iter() {
                match groups.get(r as usize) {
                    Some(&g) if g == a => n_a += 1,
                    Some(&g) if g == b => n_b += 1,
                    _ => {}
                }
            }
            shift(region, (n_a, total_a), (n_b, total_b))
        })
        .collect();
    let q = bh_qvalues(&out.iter().map(|s| s.p).collect::<Vec<_>>());
    for (s, q) in out.iter_mut().zip(q) {
        s.q = q;
    }
    out
}

/// One region's statistics from (in the region, in the group) for A and for B.
fn shift(
    region: usize,
    (n_a, total_a): (usize, usize),
    (n_b, total_b): (usize, usize),
) -> RegionShift {
    let share = |k: usize, n: usize| if n > 0 { k as f64 / n as f64 } else { f64::NAN };
    let (share_a, share_b) = (share(n_a, total_a), share(n_b, total_b));
    let ratio = if share_a > 0.0 {
        share_b / share_a
    } else if share_b > 0.0 {
        f64::INFINITY
    } else {
        f64::NAN
    };
    let mut s = RegionShift {
        region,
        n_a,
        n_b,
        share_a,
        share_b,
        ratio,
        z: f64::NAN,
        p: None,
        q: None,
        test: "z test",
    };
    if total_a == 0 || total_b == 0 {
        return s;
    }
    // Expected counts of the 2×2 table under "the same share in both groups".
    let n = (total_a + total_b) as f64;
    let inside = (n_a + n_b) as f64;
    let outside = n - inside;
    let min_expected = [inside, outside]
        .iter()
        .flat_map(|m| [m * total_a as f64 / n, m * total_b as f64 / n])
        .fold(f64::INFINITY, f64::min);
    let (ka, na, kb, nb) = (n_a as u64, total_a as u64, n_b as u64, total_b as u64);
    if min_expected < MIN_EXPECTED {
        s.test = "Fisher exact";
        s.p = Some(fisher_exact(Table2x2 {
            a: ka,
            b: na - ka,
            c: kb,
            d: nb - kb,
        }));
    } else {
        s.z = two_proportion_z(ka, na, kb, nb);
        s.p = Some(normal_two_sided_p(s.z)).filter(|p| !p.is_nan());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: u8 = 1;
    const B: u8 = 2;

    /// Rows 0.. in group A (`na` of them), then B (`nb`), then `none` in neither; a region
    /// takes `ka` of A's and `kb` of B's rows.
    fn setup(na: usize, nb: usize, regions: &[(usize, usize)]) -> (Vec<u8>, Vec<Vec<u32>>) {
        let mut groups = vec![A; na];
        groups.extend(std::iter::repeat_n(B, nb));
        groups.extend([0, 0, 7]);
        let rows = regions
            .iter()
            .map(|&(ka, kb)| {
                let mut r: Vec<u32> = (0..ka as u32).collect();
                r.extend((na as u32..(na + kb) as u32).rev());
                // Rows in neither group and rows past the groups count nowhere.
                r.extend([(na + nb) as u32, (na + nb + 2) as u32, 10_000]);
                r
            })
            .collect();
        (groups, rows)
    }

    #[test]
    fn the_normal_tail_matches_tabulated_values() {
        // erfc(1) and P(|Z| ≥ 3) from tables; z = 1.959964 is the two-sided 5% point.
        assert!((erfc(1.0) - 0.157_299_207_050_285_1).abs() < 1e-7);
        assert!((normal_two_sided_p(3.0) - 0.002_699_796_063_260_2).abs() < 1e-9);
        assert!((normal_two_sided_p(-1.959_963_985) - 0.05).abs() < 1e-8);
        assert!((erfc(-1.0) - (2.0 - 0.157_299_207_050_285_1)).abs() < 1e-7);
        assert_eq!(normal_two_sided_p(0.0), 1.0);
        assert!(normal_two_sided_p(40.0) < 1e-300);
    }

    #[test]
    fn the_z_test_is_the_hand_computed_one_and_its_square_is_chi_square() {
        // A: 30 of 100 in the region, B: 60 of 150. By hand: pooled 90/250 = 0.36,
        // se = √(0.36·0.64·(1/100 + 1/150)) = 0.0619677, z = −0.1/se = −1.613743.
        // Pearson's χ² of [[30, 70], [60, 90]]: expected 36, 64, 54, 96, so
        // χ² = 36/36 + 36/64 + 36/54 + 36/96 = 2.604167 = z².
        let (groups, rows) = setup(100, 150, &[(30, 60)]);
        let refs: Vec<&[u32]> = rows.iter().map(|r| r.as_slice()).collect();
        let s = &region_shifts(&refs, &groups, A, B)[0];
        assert_eq!((s.n_a, s.n_b), (30, 60));
        assert_eq!(s.test, "z test");
        assert!((s.z + 1.613_743_06).abs() < 1e-7, "{}", s.z);
        assert!((s.z * s.z - 2.604_166_667).abs() < 1e-8);
        assert!((s.p.unwrap() - 0.106_583_169_6).abs() < 1e-7);
        assert!((s.share_a - 0.3).abs() < 1e-12 && (s.share_b - 0.4).abs() < 1e-12);
        assert!((s.ratio - 4.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_ratio_of_three_and_q_values_by_hand() {
        // N_A = 200, N_B = 300. Region 0: A 20 (10%), B 60 (20%); region 1: A 50, B 60;
        // region 2: A 30, B 40. By hand, z = −2.98807, 1.32221, 0.52617 and
        // p = 0.0028074, 0.1860967, 0.5987701; BH with m = 3: q3 = 0.5987701,
        // q2 = min(0.1860967·3/2, q3) = 0.2791450, q1 = min(0.0028074·3, q2) = 0.0084223.
        let (groups, rows) = setup(200, 300, &[(20, 60), (50, 60), (30, 40)]);
        let refs: Vec<&[u32]> = rows.iter().map(|r| r.as_slice()).collect();
        let s = region_shifts(&refs, &groups, A, B);
        let z = [-2.988_071_52, 1.322_214_71, 0.526_170_06];
        let p = [0.002_807_438_5, 0.186_096_663, 0.598_770_057];
        let q = [0.008_422_315, 0.279_144_994, 0.598_770_057];
        for i in 0..3 {
            assert!((s[i].z - z[i]).abs() < 1e-6, "z {i}: {}", s[i].z);
            assert!((s[i].p.unwrap() - p[i]).abs() < 1e-7, "p {i}");
            assert!((s[i].q.unwrap() - q[i]).abs() < 1e-7, "q {i}");
        }
        // Region 0: 10% of A, 20% of B: B has twice A's share.
        assert!((s[0].ratio - 2.0).abs() < 1e-12);
        let (groups, rows) = setup(100, 100, &[(10, 30)]);
        let refs: Vec<&[u32]> = rows.iter().map(|r| r.as_slice()).collect();
        assert!((region_shifts(&refs, &groups, A, B)[0].ratio - 3.0).abs() < 1e-12);
    }

    #[test]
    fn small_tables_use_fisher_and_empty_groups_are_not_tested() {
        // A: 1 of 10 in the region, B: 4 of 12 (expected counts 2.27 … ). Fisher's two-sided
        // p enumerated by hand over the hypergeometric tables with margins 5 / 22, 10 / 22:
        // 0.3233083.
        let (groups, rows) = setup(10, 12, &[(1, 4)]);
        let refs: Vec<&[u32]> = rows.iter().map(|r| r.as_slice()).collect();
        let s = &region_shifts(&refs, &groups, A, B)[0];
        assert_eq!(s.test, "Fisher exact");
        assert!(s.z.is_nan());
        assert!((s.p.unwrap() - 0.323_308_270_7).abs() < 1e-7, "{:?}", s.p);
        // No B at all: shares of A only, no test, no q.
        let groups = vec![A; 50];
        let rows: Vec<u32> = (0..20).collect();
        let s = &region_shifts(&[rows.as_slice()], &groups, A, B)[0];
        assert_eq!((s.n_a, s.n_b, s.p, s.q), (20, 0, None, None));
        assert!(s.share_b.is_nan() && s.ratio.is_nan());
        // Only B in a region: the ratio is infinite.
        let (groups, rows) = setup(100, 100, &[(0, 30)]);
        let refs: Vec<&[u32]> = rows.iter().map(|r| r.as_slice()).collect();
        let s = &region_shifts(&refs, &groups, A, B)[0];
        assert!(s.ratio.is_infinite() && s.p.unwrap() < 1e-6);
    }
}
