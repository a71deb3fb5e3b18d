//! Unit tests of the regions: ARI, blobs, nesting, determinism, stability, odd inputs.

use super::*;
use crate::progress::NoProgress;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

/// The truth label of background noise.
const NOISE: u32 = u32::MAX;

/// Seeded 2-D Gaussian blobs of unequal size and spread in a 100 × 100 box, plus 2 %
/// uniform background noise (truth [`NOISE`]).
fn blobs(n: usize, seed: u64) -> (Vec<[f32; 2]>, Vec<u32>) {
    // (centre x, centre y, σ, share of rows)
    let spec = [
        (20.0, 20.0, 4.0, 0.30),
        (70.0, 25.0, 2.0, 0.20),
        (25.0, 75.0, 6.0, 0.20),
        (75.0, 75.0, 1.0, 0.10),
        (50.0, 50.0, 1.5, 0.08),
        (88.0, 50.0, 3.0, 0.07),
        (50.0, 92.0, 0.8, 0.03),
    ];
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let unit = Normal::new(0.0f32, 1.0).unwrap();
    let (mut xy, mut truth) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (k, &(cx, cy, s, share)) in spec.iter().enumerate() {
        for _ in 0..(share * n as f64) as usize {
            xy.push([
                cx + s * unit.sample(&mut rng),
                cy + s * unit.sample(&mut rng),
            ]);
            truth.push(k as u32);
        }
    }
    while xy.len() < n {
        xy.push([rng.random_range(0.0..100.0), rng.random_range(0.0..100.0)]);
        truth.push(NOISE);
    }
    (xy, truth)
}

fn run(xy: &[[f32; 2]], p: &RegionParams) -> Regions {
    find_regions(xy, p, &NoProgress, &CancelToken::new()).unwrap()
}

#[test]
fn ari_matches_hand_computed_cases() {
    // sklearn's docs: adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]) = 4/7.
    assert!((adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 4.0 / 7.0).abs() < 1e-12);
    // Table [[2,1,0],[0,1,2]]: index 2, rows 3+3, columns 1+1+1, C(6,2) = 15:
    // E = 6·3/15 = 1.2, max = 4.5, ARI = 0.8 / 3.3 = 8/33.
    let got = adjusted_rand_index(&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 2, 2]);
    assert!((got - 8.0 / 33.0).abs() < 1e-12, "{got}");
    // Renaming labels changes nothing; identical partitions score 1.
    assert_eq!(adjusted_rand_index(&[0, 0, 1, 1, 2], &[7, 7, 3, 3, 9]), 1.0);
}

#[test]
fn blobs_of_unequal_size_and_density_are_found() {
    let (xy, truth) = blobs(30_000, 1);
    let r = run(&xy, &RegionParams::default());
    let coarse = adjusted_rand_index(&truth, &r.coarse_of_row);
    let fine = adjusted_rand_index(&truth, &r.fine_of_row);
    assert_eq!(r.count(Level::Coarse), 7, "{:?}", sizes(&r, Level::Coarse));
    assert!(coarse >= 0.9, "coarse ARI {coarse}");
    assert!(fine >= 0.9, "fine ARI {fine}");
    // Most background noise is unclustered, and most blob rows are not.
    let noise_kept = (0..xy.len())
        .filter(|&i| truth[i] == NOISE && r.coarse_of_row[i] == UNCLUSTERED)
        .count() as f64
        / truth.iter().filter(|&&t| t == NOISE).count() as f64;
    let blob_lost = (0..xy.len())
        .filter(|&i| truth[i] != NOISE && r.coarse_of_row[i] == UNCLUSTERED)
        .count() as f64
        / xy.len() as f64;
    assert!(noise_kept > 0.7, "noise unclustered: {noise_kept}");
    assert!(blob_lost < 0.05, "blob rows unclustered: {blob_lost}");
}

fn sizes(r: &Regions, level: Level) -> Vec<usize> {
    r.level(level).map(|g| g.rows.len()).collect()
}

#[test]
fn fine_regions_split_shallow_saddles_inside_coarse_ones() {
    // Two far groups, each two equal blobs 3 effective σ apart: the density between the
    // pair dips to ~0.64 of the peaks, below fine (0.8) but above coarse (0.5) merging.
    let mut rng = rand_pcg::Pcg64::seed_from_u64(5);
    let unit = Normal::new(0.0f32, 1.0).unwrap();
    let mut xy = Vec::new();
    for (cx, cy) in [(0.0, 0.0), (6.7, 0.0), (60.0, 10.0), (60.0, 16.7)] {
        for _ in 0..5_000 {
            xy.push([
                cx + 2.0 * unit.sample(&mut rng),
                cy + 2.0 * unit.sample(&mut rng),
            ]);
        }
    }
    let r = run(&xy, &RegionParams::default());
    assert_eq!(r.count(Level::Coarse), 2, "{:?}", sizes(&r, Level::Coarse));
    assert_eq!(r.count(Level::Fine), 4, "{:?}", sizes(&r, Level::Fine));
    // Each coarse region holds two fine ones, each mostly one blob.
    for c in r.level(Level::Coarse).filter(|g| !g.unclustered) {
        let kids = r
            .level(Level::Fine)
            .filter(|f| f.parent == Some(c.id))
            .count();
        assert_eq!(kids, 2);
    }
    let truth: Vec<u32> = (0..xy.len() as u32).map(|i| i / 5_000).collect();
    assert!(adjusted_rand_index(&truth, &r.fine_of_row) > 0.8);
}

#[test]
fn levels_nest_and_the_tables_agree() {
    let (xy, _) = blobs(20_000, 2);
    let r = run(&xy, &RegionParams::default());
    assert_eq!(r.coarse_of_row.len(), xy.len());
    assert_eq!(r.fine_of_row.len(), xy.len());
    let mut seen = vec![0u8; xy.len()];
    for (i, g) in r.regions.iter().enumerate() {
        assert_eq!(g.id as usize, i);
        assert!(!g.rows.is_empty());
        assert!(g.rows.windows(2).all(|w| w[0] < w[1]), "rows sorted");
        assert!(g.central.len() <= 5 && g.central.iter().all(|c| g.rows.binary_search(c).is_ok()));
        let [x0, y0, x1, y1] = g.extent;
        assert!(
            x0 <= g.centroid[0]
                && g.centroid[0] <= x1
                && y0 <= g.centroid[1]
                && g.centroid[1] <= y1
        );
        let per_row = match g.level {
            Level::Coarse => &r.coarse_of_row,
            Level::Fine => &r.fine_of_row,
        };
        let want = if g.unclustered { UNCLUSTERED } else { g.id };
        assert!(g.rows.iter().all(|&row| per_row[row as usize] == want));
        if g.level == Level::Fine {
            let parent = &r.regions[g.parent.unwrap() as usize];
            assert_eq!(parent.level, Level::Coarse);
            assert_eq!(parent.unclustered, g.unclustered);
            assert!(
                g.rows
                    .iter()
                    .all(|row| parent.rows.binary_search(row).is_ok())
            );
        } else {
            assert_eq!(g.parent, None);
        }
        for &row in &g.rows {
            seen[row as usize] += 1;
        }
    }
    assert!(seen.iter().all(|&s| s == 2), "every row once per level");
    // A row unclustered at one level is unclustered at the other.
    assert!(
        (0..xy.len())
            .all(|i| (r.coarse_of_row[i] == UNCLUSTERED) == (r.fine_of_row[i] == UNCLUSTERED))
    );
    assert_eq!(r.level(Level::Coarse).filter(|g| g.unclustered).count(), 1);
}

#[test]
fn central_rows_are_the_nearest_to_the_peak() {
    let (xy, _) = blobs(5_000, 3);
    let r = run(&xy, &RegionParams::default());
    for g in r.regions.iter().filter(|g| !g.unclustered) {
        let d = |row: u32| {
            let p = xy[row as usize];
            (p[0] - g.peak[0]).powi(2) + (p[1] - g.peak[1]).powi(2)
        };
        let mut all: Vec<u32> = g.rows.clone();
        all.sort_by(|&a, &b| d(a).total_cmp(&d(b)).then(a.cmp(&b)));
        assert_eq!(g.central, all[..5.min(all.len())]);
    }
}

#[test]
fn bit_identical_on_one_thread_and_many() {
    let (xy, _) = blobs(40_000, 4);
    let p = RegionParams::default();
    let many = run(&xy, &p);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| run(&xy, &p));
    assert!(many == one, "same input, same regions on 1 thread");
    assert!(many == run(&xy, &p), "same input, same regions twice");
}

#[test]
fn nudging_a_parameter_by_5_percent_changes_the_count_little() {
    // Many blobs of mixed spread and some bridging noise: plenty of saddles near any threshold.
    let mut rng = rand_pcg::Pcg64::seed_from_u64(6);
    let unit = Normal::new(0.0f32, 1.0).unwrap();
    let mut xy = Vec::new();
    for k in 0..40 {
        let (cx, cy) = (
            rng.random_range(0.0..100.0f32),
            rng.random_range(0.0..100.0f32),
        );
        let s = 0.5 + (k % 5) as f32;
        for _ in 0..rng.random_range(200..2_000) {
            xy.push([
                cx + s * unit.sample(&mut rng),
                cy + s * unit.sample(&mut rng),
            ]);
        }
    }
    for _ in 0..2_000 {
        xy.push([rng.random_range(0.0..100.0), rng.random_range(0.0..100.0)]);
    }
    let base = RegionParams::default();
    let counts = |p: &RegionParams| {
        let r = run(&xy, p);
        (r.count(Level::Coarse) as i64, r.count(Level::Fine) as i64)
    };
    let (c0, f0) = counts(&base);
    assert!(c0 >= 10 && f0 >= c0, "coarse {c0}, fine {f0}");
    // Persistence and noise_ratio: within one region or 10 %. The bandwidth moves every
    // density value at once (and its grid alignment), so it gets 15 %.
    let close = |a: i64, b: i64| (a - b).abs() <= 1.max(b / 10);
    let near = |a: i64, b: i64| (a - b).abs() <= 2.max(b * 15 / 100);
    for factor in [0.95f32, 1.05] {
        let bw = RegionParams {
            bandwidth: base.bandwidth * factor,
            ..base.clone()
        };
        let (c, f) = counts(&bw);
        assert!(
            near(c, c0) && near(f, f0),
            "{bw:?}: coarse {c0} → {c}, fine {f0} → {f}"
        );
        let nudged = [
            RegionParams {
                coarse_persistence: base.coarse_persistence * factor,
                ..base.clone()
            },
            RegionParams {
                fine_persistence: base.fine_persistence * factor,
                ..base.clone()
            },
            RegionParams {
                noise_ratio: base.noise_ratio * factor,
                ..base.clone()
            },
        ];
        for p in &nudged {
            let (c, f) = counts(p);
            assert!(
                close(c, c0) && close(f, f0),
                "{p:?}: coarse {c0} → {c}, fine {f0} → {f}"
            );
        }
    }
}

#[test]
fn odd_inputs_do_not_panic() {
    let p = RegionParams::default();
    let empty = run(&[], &p);
    assert!(empty.regions.is_empty() && empty.coarse_of_row.is_empty());
    // One point, and many identical points: too few rows / one region.
    let one = run(&[[1.0, 2.0]], &p);
    assert_eq!(one.coarse_of_row, vec![UNCLUSTERED]);
    assert!(one.regions.iter().all(|g| g.unclustered));
    let same = run(&vec![[3.0, 3.0]; 500], &p);
    assert_eq!(same.count(Level::Coarse), 1);
    assert!(same.coarse_of_row.iter().all(|&c| c == 0));
    // Non-finite coordinates are unclustered, the rest clustered as usual.
    let (mut xy, _) = blobs(5_000, 7);
    xy[10] = [f32::NAN, 1.0];
    xy[20] = [f32::INFINITY, 0.0];
    let r = run(&xy, &p);
    assert_eq!(r.coarse_of_row[10], UNCLUSTERED);
    assert_eq!(r.fine_of_row[20], UNCLUSTERED);
    assert!(r.count(Level::Coarse) >= 5);
    assert!(
        r.regions
            .iter()
            .all(|g| g.centroid.iter().chain(&g.extent).all(|v| v.is_finite()))
    );
}

#[test]
fn bad_parameters_and_cancellation_are_errors() {
    let xy = vec![[0.0, 0.0]; 10];
    let bad = RegionParams {
        fine_persistence: 0.9,
        ..RegionParams::default()
    };
    let err = find_regions(&xy, &bad, &NoProgress, &CancelToken::new()).unwrap_err();
    assert!(err.to_string().contains("fine_persistence"), "{err}");
    let bad = RegionParams {
        bandwidth: f32::NAN,
        ..RegionParams::default()
    };
    assert!(find_regions(&xy, &bad, &NoProgress, &CancelToken::new()).is_err());
    let cancel = CancelToken::new();
    cancel.cancel();
    let got = find_regions(&xy, &RegionParams::default(), &NoProgress, &cancel);
    assert!(matches!(got, Err(RegionError::Cancelled)));
}

#[test]
fn progress_reaches_its_total_and_coarse_regions_come_largest_first() {
    struct Last(std::sync::Mutex<Vec<(Stage, u64, u64)>>);
    impl Progress for Last {
        fn report(&self, stage: Stage, done: u64, total: u64) {
            self.0.lock().unwrap().push((stage, done, total));
        }
    }
    let sink = Last(Default::default());
    let (xy, _) = blobs(5_000, 8);
    let r = find_regions(&xy, &RegionParams::default(), &sink, &CancelToken::new()).unwrap();
    let seen = sink.0.into_inner().unwrap();
    assert!(seen.iter().all(|s| s.0 == Stage::Regions));
    assert_eq!(seen.last().map(|s| s.1 == s.2), Some(true));
    let coarse: Vec<usize> = r
        .level(Level::Coarse)
        .filter(|g| !g.unclustered)
        .map(|g| g.rows.len())
        .collect();
    assert!(coarse.windows(2).all(|w| w[0] >= w[1]), "{coarse:?}");
}

#[test]
fn params_round_trip_through_serde_with_defaults() {
    let p: RegionParams = serde_json::from_str(r#"{"seed": 7, "bandwidth": 0.02}"#).unwrap();
    assert_eq!(
        p,
        RegionParams {
            seed: 7,
            bandwidth: 0.02,
            ..RegionParams::default()
        }
    );
    let back: RegionParams = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
}
