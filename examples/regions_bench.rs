//! Development bench: regions of a 2-D layout (`analysis::regions`, density grid) on seeded
//! blobs of unequal size and density with 2 % background noise: seconds, peak memory, the
//! adjusted Rand index against the truth and region counts, at 100k and 1M points. With the
//! `cluster-bench` feature, also DBSCAN (`linfa-clustering`) and HDBSCAN (`petal-clustering`)
//! on the same points.
//!
//! `cargo run --release --example regions_bench [-- SIZES [CRATE_MAX]]`
//! `cargo run --release --features cluster-bench --example regions_bench -- 100000,1000000 100000`
//!
//! SIZES: comma-separated row counts (default 100000,1000000). The crates run only at sizes
//! ≤ CRATE_MAX (default 100000): both take minutes or more at 1M. Peak memory is VmHWM from
//! /proc/self/status, reset before each method (`5` → /proc/self/clear_refs), so it counts
//! the points themselves (≈ 8 B a row) plus what the method allocates. The noise rows are one
//! more truth class, and every method's noise one more predicted class.
//!
//! Measured (release, 2 rayon threads, machine shared: load average 5–6 on 2 cores):
//!
//! | method                        | rows | seconds | peak MiB | ARI    | regions |
//! |-------------------------------|------|---------|----------|--------|---------|
//! | density grid (ours)           | 100k | 0.016   | 10       | 0.9794 | 7 (fine 7) |
//! | density grid (ours)           | 1M   | 0.06–0.18 | 48     | 0.9788 | 7 (fine 7) |
//! | linfa DBSCAN ε 0.5, minPts 10 | 100k | 2.56    | 20       | 0.9471 | 48      |
//! | linfa DBSCAN ε 0.5, minPts 100| 1M   | 341.7   | 154      | 0.9420 | 7       |
//! | petal HDBSCAN minS 15, minCS 100 | 100k | 8.74 | 42       | 0.9888 | 7       |
//! | petal HDBSCAN minCS 1000      | 1M   | > 138 (stopped) | – | –  | –       |

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use sample_atlas::analysis::regions::{
    Level, RegionParams, UNCLUSTERED, adjusted_rand_index, find_regions,
};
use sample_atlas::progress::{CancelToken, NoProgress};

/// The truth label of background noise (and the predicted label of unclustered rows).
const NOISE: u32 = u32::MAX;

/// Seeded 2-D Gaussian blobs of unequal size and spread in a 100 × 100 box (the same spec as
/// the unit test), plus 2 % uniform background noise labelled [`NOISE`].
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
    let unit = Normal::new(0.0f32, 1.0).expect("σ = 1 is valid");
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

/// Peak resident memory since the last reset, in MiB (0 where /proc is missing).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn reset_peak_rss() {
    // Linux ≥ 4.0: writing 5 resets VmHWM to the current RSS. Ignored where unsupported.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

struct Row {
    method: String,
    n: usize,
    seconds: f64,
    rss_mib: f64,
    ari: f64,
    regions: String,
    noise_share: f64,
}

fn print_row(r: &Row) {
    println!(
        "| {:<34} | {:>9} | {:>8.3} | {:>8.0} | {:>6.4} | {:>13} | {:>6.1}% |",
        r.method,
        r.n,
        r.seconds,
        r.rss_mib,
        r.ari,
        r.regions,
        100.0 * r.noise_share
    );
}

fn noise_share(pred: &[u32]) -> f64 {
    pred.iter().filter(|&&p| p == NOISE).count() as f64 / pred.len().max(1) as f64
}

fn ours(xy: &[[f32; 2]], truth: &[u32]) -> Vec<Row> {
    let params = RegionParams::default();
    reset_peak_rss();
    let t = Instant::now();
    let r = find_regions(xy, &params, &NoProgress, &CancelToken::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let seconds = t.elapsed().as_secs_f64();
    let rss_mib = peak_rss_mib();
    assert_eq!(r.coarse_of_row.len(), xy.len(), "one coarse label per row");
    assert!(r.count(Level::Coarse) > 0, "some regions found");
    debug_assert_eq!(UNCLUSTERED, NOISE);
    let (coarse, fine) = (r.count(Level::Coarse), r.count(Level::Fine));
    let (ari_c, ari_f) = (
        adjusted_rand_index(truth, &r.coarse_of_row),
        adjusted_rand_index(truth, &r.fine_of_row),
    );
    for (level, ari) in [("coarse", ari_c), ("fine", ari_f)] {
        if ari < 0.9 {
            println!("WARNING: {level} ARI {ari:.4} < 0.9 at n = {}", xy.len());
        }
    }
    if xy.len() >= 1_000_000 && seconds > 5.0 {
        println!("WARNING: {seconds:.2} s > 5 s at n = {}", xy.len());
    }
    vec![
        Row {
            method: "density grid (ours), coarse".into(),
            n: xy.len(),
            seconds,
            rss_mib,
            ari: ari_c,
            regions: format!("{coarse}"),
            noise_share: noise_share(&r.coarse_of_row),
        },
        Row {
            method: "density grid (ours), fine".into(),
            n: xy.len(),
            seconds,
            rss_mib,
            ari: ari_f,
            regions: format!("{fine}"),
            noise_share: noise_share(&r.fine_of_row),
        },
    ]
}

#[cfg(feature = "cluster-bench")]
mod crates {
    use super::*;
    use linfa::ParamGuard;
    use linfa::traits::Transformer;

    /// linfa-clustering DBSCAN (k-d tree range queries). ε and min_points are fixed in the
    /// box's units: ε = 0.5 (a tenth of the densest blob's σ·6), min_points scaled with n.
    pub fn dbscan(xy: &[[f32; 2]], truth: &[u32]) -> Row {
        let n = xy.len();
        let min_points = (10 * n / 100_000).max(5);
        let (eps, min_points) = (0.5f32, min_points);
        reset_peak_rss();
        let t = Instant::now();
        let data = ndarray16::Array2::from_shape_fn((n, 2), |(i, j)| xy[i][j]);
        let labels = linfa_clustering::Dbscan::params(min_points)
            .tolerance(eps)
            .check()
            .expect("valid DBSCAN parameters")
            .transform(&data);
        let seconds = t.elapsed().as_secs_f64();
        let rss_mib = peak_rss_mib();
        let pred: Vec<u32> = labels
            .iter()
            .map(|l| l.map_or(NOISE, |c| c as u32))
            .collect();
        let clusters = pred
            .iter()
            .filter(|&&p| p != NOISE)
            .max()
            .map_or(0, |&m| m + 1);
        Row {
            method: format!("linfa DBSCAN eps={eps} minPts={min_points}"),
            n,
            seconds,
            rss_mib,
            ari: adjusted_rand_index(truth, &pred),
            regions: format!("{clusters}"),
            noise_share: noise_share(&pred),
        }
    }

    /// petal-clustering HDBSCAN (Borůvka MST on a ball tree), min_samples 15 and a minimum
    /// cluster size of 0.1 % of the rows (a third of the smallest blob).
    pub fn hdbscan(xy: &[[f32; 2]], truth: &[u32]) -> Row {
        use petal_clustering::Fit;
        let n = xy.len();
        let min_cluster_size = (n / 1000).max(15);
        reset_peak_rss();
        let t = Instant::now();
        let data = ndarray17::Array2::from_shape_fn((n, 2), |(i, j)| xy[i][j]);
        let mut model = petal_clustering::HDbscan {
            min_samples: 15,
            min_cluster_size,
            ..Default::default()
        };
        let (clusters, _outliers, _scores) = model.fit(&data, None);
        let seconds = t.elapsed().as_secs_f64();
        let rss_mib = peak_rss_mib();
        let mut pred = vec![NOISE; n];
        let mut ids: Vec<usize> = clusters.keys().copied().collect();
        ids.sort_unstable();
        for (k, id) in ids.iter().enumerate() {
            for &row in &clusters[id] {
                pred[row] = k as u32;
            }
        }
        Row {
            method: format!("petal HDBSCAN minS=15 minCS={min_cluster_size}"),
            n,
            seconds,
            rss_mib,
            ari: adjusted_rand_index(truth, &pred),
            regions: format!("{}", clusters.len()),
            noise_share: noise_share(&pred),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<usize> = args
        .get(1)
        .map(|s| {
            s.split(',')
                .map(|v| v.parse().expect("SIZES: numbers"))
                .collect()
        })
        .unwrap_or_else(|| vec![100_000, 1_000_000]);
    let crate_max: usize = args
        .get(2)
        .map(|s| s.parse().expect("CRATE_MAX: a number"))
        .unwrap_or(100_000);
    println!(
        "regions bench: {} rayon threads, 7 blobs + 2 % noise",
        rayon::current_num_threads()
    );
    let _ = crate_max;
    #[cfg(not(feature = "cluster-bench"))]
    println!("(crates not measured: build with --features cluster-bench)");
    println!(
        "| {:<34} | {:>9} | {:>8} | {:>8} | {:>6} | {:>13} | {:>7} |",
        "method", "rows", "seconds", "peak MiB", "ARI", "regions", "noise"
    );
    println!(
        "|{:-<36}|{:-<11}|{:-<10}|{:-<10}|{:-<8}|{:-<15}|{:-<9}|",
        "", "", "", "", "", "", ""
    );
    for &n in &sizes {
        let (xy, truth) = blobs(n, 1);
        // Warm-up (page in the code and the allocator), not timed.
        let _ = find_regions(
            &xy[..n.min(10_000)],
            &RegionParams::default(),
            &NoProgress,
            &CancelToken::new(),
        );
        for row in ours(&xy, &truth) {
            print_row(&row);
        }
        #[cfg(feature = "cluster-bench")]
        if n <= crate_max {
            print_row(&crates::dbscan(&xy, &truth));
            print_row(&crates::hdbscan(&xy, &truth));
        }
    }
}
