//! Compare-view bench: the density difference of two groups (`render::difference`) drawn
//! into a 1280×800 map, next to the plain point render of the same points, and the Regions
//! window's A / B columns (`analysis::region_shift`) over the map's regions.
//!
//!     cargo run --release --example compare_bench -- [N ...]     (default: 100000 1000000)
//!
//! The points: 40 seeded Gaussian blobs; A and B are each half of the rows, with B's blobs
//! weighted differently (some 3× A's share, some a third) and a little wider. Setup (points,
//! regions) is outside the timings; each number is the median of 7 runs on rayon's threads.
//! Checks: A's blob heavy in A is red, B's is blue, and the counts add up.
//!
//! Measured (release, 2 rayon threads, the 2-core machine shared with other builds, load
//! average ≈ 6; two runs):
//!
//! | rows | points render ms | difference render ms | grid only ms | A/B region columns ms |
//! |------|------------------|----------------------|--------------|-----------------------|
//! | 100k | 56–58            | 68                   | 25–49        | 1.1                   |
//! | 1M   | 264–336          | 75–96                | 38–41        | 14–17                 |

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use sample_atlas::analysis::region_shift::region_shifts;
use sample_atlas::analysis::regions::{RegionParams, find_regions};
use sample_atlas::progress::{CancelToken, NoProgress};
use sample_atlas::render::difference::{self, DiffParams, GROUP_A, GROUP_B};
use sample_atlas::render::{self, Mode, Style, Viewport, colors};

/// A blob's centre and B's weight for it relative to A's.
type Blob = ([f32; 2], f64);

/// Points, their group, and the blobs.
fn points(n: usize) -> (Vec<[f32; 2]>, Vec<u8>, Vec<Blob>) {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    let blobs: Vec<([f32; 2], f32, f64)> = (0..40)
        .map(|k| {
            let weight_b = match k % 4 {
                0 => 3.0,
                1 => 1.0 / 3.0,
                _ => 1.0,
            };
            (
                [rng.random_range(-50.0..50.0), rng.random_range(-30.0..30.0)],
                rng.random_range(0.5..2.5),
                weight_b,
            )
        })
        .collect();
    let total_b: f64 = blobs.iter().map(|b| b.2).sum();
    let unit = Normal::new(0.0f32, 1.0).expect("σ = 1 is valid");
    let (mut xy, mut groups) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let is_a = i % 2 == 0;
        let k = if is_a {
            rng.random_range(0..blobs.len())
        } else {
            // A blob drawn by B's weights.
            let mut u = rng.random_range(0.0..total_b);
            let mut k = 0;
            while u >= blobs[k].2 && k + 1 < blobs.len() {
                u -= blobs[k].2;
                k += 1;
            }
            k
        };
        let (c, s, _) = blobs[k];
        let s = if is_a { s } else { s * 1.2 };
        xy.push([
            c[0] + s * unit.sample(&mut rng),
            c[1] + s * unit.sample(&mut rng),
        ]);
        groups.push(if is_a { GROUP_A } else { GROUP_B });
    }
    (xy, groups, blobs.iter().map(|b| (b.0, b.2)).collect())
}

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        sizes
    };
    println!(
        "rayon threads: {}; map 1280×800, σ 8 px",
        rayon::current_num_threads()
    );
    println!(
        "| rows | points render ms | difference render ms | grid only ms | A/B region columns ms | regions |"
    );
    println!(
        "|------|------------------|----------------------|--------------|-----------------------|---------|"
    );
    for n in sizes {
        let (xy, groups, blobs) = points(n);
        let view = Viewport::fit(&xy, 1280, 800, 24.0);
        let style = Style {
            radius_px: Style::radius_for(n),
            opacity: 0.85,
            faded_opacity: 0.12,
            mode: Mode::Points,
            background: [12, 12, 12, 255],
        };
        let point_colors = vec![colors::DEFAULT_POINT; n];
        let params = DiffParams::default();
        let bg = [12, 12, 12, 255];
        let points_ms = median_ms(7, || {
            std::hint::black_box(render::rasterize(
                &xy,
                &point_colors,
                None,
                &view,
                &style,
                true,
            ));
        });
        let mut image = Vec::new();
        let diff_ms = median_ms(7, || {
            image = difference::render(&xy, &groups, &view, &params, bg, true);
        });
        let grid_ms = median_ms(7, || {
            std::hint::black_box(difference::difference_grid(
                &xy, &groups, &view, &params, true,
            ));
        });
        // Blobs where B has 3× A's weight are blue, a third red (checked at their centres
        // when no other blob is near).
        let (mut red, mut blue) = (0, 0);
        for (k, (c, w)) in blobs.iter().enumerate() {
            let alone = blobs
                .iter()
                .enumerate()
                .all(|(j, (d, _))| j == k || (c[0] - d[0]).hypot(c[1] - d[1]) > 8.0);
            if !alone || *w == 1.0 {
                continue;
            }
            let [x, y] = view.to_pixel(*c);
            let p = image[y as usize * 1280 + x as usize];
            if *w > 1.0 {
                assert!(p[2] > p[0], "blob {k} (more B) should be blue: {p:?}");
                blue += 1;
            } else {
                assert!(p[0] > p[2], "blob {k} (more A) should be red: {p:?}");
                red += 1;
            }
        }
        assert!(red > 0 && blue > 0, "some blobs checked");
        let regions = find_regions(
            &xy,
            &RegionParams::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let rows: Vec<&[u32]> = regions.regions.iter().map(|r| r.rows.as_slice()).collect();
        let mut shifts = Vec::new();
        let shift_ms = median_ms(7, || {
            shifts = region_shifts(&rows, &groups, GROUP_A, GROUP_B);
        });
        let counted: usize = shifts
            .iter()
            .zip(&regions.regions)
            .filter(|(_, r)| r.level == sample_atlas::analysis::regions::Level::Coarse)
            .map(|(s, _)| s.n_a + s.n_b)
            .sum();
        assert_eq!(counted, n, "every row is in one coarse region");
        println!(
            "| {n} | {points_ms:.1} | {diff_ms:.1} | {grid_ms:.1} | {shift_ms:.1} | {} |",
            regions.regions.len()
        );
    }
}
