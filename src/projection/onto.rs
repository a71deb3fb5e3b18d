//! New points placed onto an existing layout (umap-learn's `transform`), the reference's
//! points never moving: each new point's neighbours are searched among the reference's
//! vectors ([`crate::neighbors::search`]), it starts at the weighted mean of their positions
//! and is then pulled by its edges to them and pushed by negative samples drawn from the
//! reference, for a fixed number of epochs. New points do not interact with each other, and
//! a point's random stream is seeded by its own vector: its place does not depend on which
//! other points come with it, in what order or batch, or on the thread count.
//!
//! A new point whose nearest reference neighbour is farther than almost every reference
//! point's nearest neighbour (above the 99th percentile) is flagged out of distribution: it
//! is still placed, but it belongs to nothing the reference has.

use std::hash::Hasher;

use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use rustc_hash::FxHasher;

use super::sgd::{Curves, due, negatives_for};
use super::{ProjectionError, UmapParams, curve, fuzzy};
use crate::neighbors::search::SearchIndex;
use crate::neighbors::{KnnGraph, NeighborsError};
use crate::progress::{CancelToken, Progress, Stage};
use crate::util::linalg::Rows;

/// Epochs for the new points (umap-learn's transform uses 100 up to 10,000 points, 30
/// above; a fixed number keeps a point's place independent of how many come with it).
pub const ONTO_EPOCHS: usize = 100;
/// The quantile of the reference's nearest-neighbour distances above which a new point is
/// out of distribution.
pub const OOD_QUANTILE: f64 = 0.99;
/// New points per parallel block (progress and cancellation granularity).
const BLOCK: usize = 1024;
/// Reference positions the negative samples are drawn from, at most: a fixed seeded sample
/// (each draw is still uniform over the reference) small enough to stay in the CPU's cache;
/// drawing from all of a 1M-point layout made the epochs three times slower.
const NEGATIVE_POOL: usize = 1 << 16;

/// Where the new points went.
#[derive(Clone, Debug)]
pub struct Placement {
    pub coords: Vec<[f32; 2]>,
    /// Out of distribution: nearest reference neighbour beyond `ood_threshold`.
    pub ood: Vec<bool>,
    /// Each new point's distance to its nearest reference point (the metric's distance).
    pub nearest: Vec<f32>,
    /// The reference's nearest-neighbour distance at [`OOD_QUANTILE`].
    pub ood_threshold: f32,
    /// Seconds spent indexing the reference (its part of `search_s`), searching neighbours
    /// (indexing included) and optimising.
    pub index_s: f64,
    pub search_s: f64,
    pub optimize_s: f64,
}

impl From<NeighborsError> for ProjectionError {
    fn from(e: NeighborsError) -> Self {
        match e {
            NeighborsError::Cancelled => ProjectionError::Cancelled,
            NeighborsError::Input(m) => ProjectionError::Params(m),
        }
    }
}

/// Place `new_rows` onto the layout `ref_coords` of `ref_rows`, whose kNN graph is
/// `ref_graph` (the one its layout was made from). `params` are the reference map's.
pub fn place_onto(
    ref_rows: Rows<'_>,
    ref_graph: &KnnGraph,
    ref_coords: &[[f32; 2]],
    new_rows: Rows<'_>,
    params: &UmapParams,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Placement, ProjectionError> {
    params.validate()?;
    let n_ref = ref_rows.len();
    if ref_coords.len() != n_ref {
        return Err(ProjectionError::Params(format!(
            "the reference layout has {} points but there are {n_ref} reference vectors",
            ref_coords.len()
        )));
    }
    if ref_coords
        .iter()
        .any(|c| !(c[0].is_finite() && c[1].is_finite()))
    {
        return Err(ProjectionError::Params(
            "the reference layout has missing or non-finite coordinates".into(),
        ));
    }
    let t = std::time::Instant::now();
    let index = SearchIndex::new(ref_rows, ref_graph, params.metric, params.seed)?;
    let index_s = t.elapsed().as_secs_f64();
    let k = (params.n_neighbors - 1).min(n_ref);
    let knn = index.query(new_rows, k, progress, cancel)?;
    let search_s = t.elapsed().as_secs_f64();

    let t = std::time::Instant::now();
    let ood_threshold = nearest_quantile(ref_graph, OOD_QUANTILE);
    let target = (params.n_neighbors.max(2) as f64).log2();
    let mean_all = if ref_graph.distances.is_empty() {
        0.0
    } else {
        ref_graph.distances.iter().map(|&d| d as f64).sum::<f64>()
            / ref_graph.distances.len() as f64
    };
    let (a, b) = curve::find_ab(params.spread as f64, params.min_dist as f64);
    let sgd = PointSgd {
        curves: Curves::new(a, b, params.repulsion_strength as f64),
        learning_rate: params.learning_rate,
        negative_sample_rate: params.negative_sample_rate,
        n_epochs: ONTO_EPOCHS,
        ref_coords,
        pool: negative_pool(ref_coords, params.seed),
    };
    let m = new_rows.len();
    let mut coords = vec![[0f32; 2]; m];
    let done = std::sync::atomic::AtomicU64::new(0);
    progress.report(Stage::Layout, 0, m as u64);
    coords
        .par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(block, out)| {
            if cancel.is_cancelled() {
                return;
            }
            for (o, c) in out.iter_mut().enumerate() {
                let i = block * BLOCK + o;
                let (idx, dists) = knn.neighbors(i);
                let (sigma, rho) = fuzzy::sigma_rho(dists, target, mean_all);
                let weights: Vec<f32> = dists
                    .iter()
                    .map(|&d| fuzzy::membership(d, sigma, rho))
                    .collect();
                let seed = vector_seed(params.seed, new_rows.row(i));
                *c = sgd.place(idx, &weights, seed);
            }
            let d = done.fetch_add(out.len() as u64, std::sync::atomic::Ordering::Relaxed);
            progress.report(Stage::Layout, d + out.len() as u64, m as u64);
        });
    if cancel.is_cancelled() {
        return Err(ProjectionError::Cancelled);
    }
    let nearest: Vec<f32> = (0..m)
        .map(|i| knn.neighbors(i).1.first().copied().unwrap_or(f32::INFINITY))
        .collect();
    let ood = nearest.iter().map(|&d| d > ood_threshold).collect();
    Ok(Placement {
        coords,
        ood,
        nearest,
        ood_threshold,
        index_s,
        search_s,
        optimize_s: t.elapsed().as_secs_f64(),
    })
}

/// The `q` quantile (nearest rank) of the reference points' distances to their nearest
/// neighbour; infinite when the graph has no edges.
pub fn nearest_quantile(graph: &KnnGraph, q: f64) -> f32 {
    if graph.k == 0 || graph.n == 0 {
        return f32::INFINITY;
    }
    let mut d: Vec<f32> = (0..graph.n).map(|i| graph.neighbors(i).1[0]).collect();
    d.sort_unstable_by(f32::total_cmp);
    let rank = ((q * d.len() as f64).ceil() as usize).clamp(1, d.len());
    d[rank - 1]
}

/// A point's random stream: the run's seed and the bits of its own vector.
fn vector_seed(seed: u64, v: &[f32]) -> u64 {
    let mut h = FxHasher::default();
    h.write_u64(seed);
    for x in v {
        h.write_u32(x.to_bits());
    }
    h.finish()
}

/// The epochs of one new point against the fixed reference layout.
struct PointSgd<'a> {
    curves: Curves,
    learning_rate: f32,
    negative_sample_rate: f32,
    n_epochs: usize,
    ref_coords: &'a [[f32; 2]],
    /// Where negative samples are drawn from: all of `ref_coords` or a sample of them.
    pool: std::borrow::Cow<'a, [[f32; 2]]>,
}

/// The positions negative samples are drawn from: the whole layout when it is small, else
/// [`NEGATIVE_POOL`] of its points chosen by `seed` (without repeats).
fn negative_pool(ref_coords: &[[f32; 2]], seed: u64) -> std::borrow::Cow<'_, [[f32; 2]]> {
    if ref_coords.len() <= NEGATIVE_POOL {
        return std::borrow::Cow::Borrowed(ref_coords);
    }
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed ^ 0x9E6A_7140);
    let mut chosen = rand::seq::index::sample(&mut rng, ref_coords.len(), NEGATIVE_POOL).into_vec();
    chosen.sort_unstable();
    std::borrow::Cow::Owned(chosen.into_iter().map(|i| ref_coords[i]).collect())
}

impl PointSgd<'_> {
    /// The position of a point joined to reference points `idx` with membership `weights`
    /// (the nearest has weight 1, so a weight is also its sampling rate).
    fn place(&self, idx: &[u32], weights: &[f32], seed: u64) -> [f32; 2] {
        let sum: f32 = weights.iter().sum();
        let mut cur = [0f32; 2];
        if sum > 0.0 {
            for (&j, &w) in idx.iter().zip(weights) {
                let p = self.ref_coords[j as usize];
                cur[0] += w / sum * p[0];
                cur[1] += w / sum * p[1];
            }
        } else if let Some(&j) = idx.first() {
            cur = self.ref_coords[j as usize];
        }
        let n_pool = self.pool.len() as u32;
        let min_rate = 1.0 / self.n_epochs as f32;
        let mut rng = rand_pcg::Pcg32::seed_from_u64(seed);
        for e in 1..self.n_epochs {
            let alpha = self.learning_rate * (1.0 - e as f32 / self.n_epochs as f32);
            for (&j, &w) in idx.iter().zip(weights) {
                let rate = if w >= min_rate { w.min(1.0) } else { 0.0 };
                let Some(m) = due(e, rate) else {
                    continue;
                };
                self.curves
                    .attract(&mut cur, self.ref_coords[j as usize], alpha);
                let (mut gx, mut gy) = (0f32, 0f32);
                for _ in 0..negatives_for(m, self.negative_sample_rate) {
                    let other = self.pool[rng.random_range(0..n_pool) as usize];
                    let [px, py] = self.curves.push(cur, other);
                    gx += px;
                    gy += py;
                }
                cur[0] += gx * alpha;
                cur[1] += gy * alpha;
            }
        }
        cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbors::{Metric, exact_knn};
    use crate::progress::NoProgress;

    /// `per` points around each of `centres` (seeded) in `dims` dimensions, and their labels.
    fn blobs(per: usize, centres: &[Vec<f32>], seed: u64) -> (Vec<f32>, Vec<u32>) {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        let mut data = Vec::new();
        let mut labels = Vec::new();
        for i in 0..per * centres.len() {
            let b = i % centres.len();
            for &c in &centres[b] {
                data.push(c + rng.random_range(-1.0f32..1.0));
            }
            labels.push(b as u32);
        }
        (data, labels)
    }

    fn centres(n: usize, dims: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        (0..n)
            .map(|_| (0..dims).map(|_| rng.random_range(-6.0..6.0)).collect())
            .collect()
    }

    struct Reference {
        data: Vec<f32>,
        labels: Vec<u32>,
        graph: KnnGraph,
        coords: Vec<[f32; 2]>,
        params: UmapParams,
    }

    fn reference(c: &[Vec<f32>], dims: usize) -> Reference {
        let (data, labels) = blobs(300, c, 1);
        let params = UmapParams {
            metric: Metric::Euclidean,
            n_epochs: Some(200),
            ..Default::default()
        };
        let rows = Rows::new(&data, dims).unwrap();
        let graph = exact_knn(rows, 14, params.metric, &NoProgress, &CancelToken::new()).unwrap();
        let coords =
            super::super::umap_layout(rows, &graph, &params, &NoProgress, &CancelToken::new())
                .unwrap();
        Reference {
            data,
            labels,
            graph,
            coords,
            params,
        }
    }

    /// The most common label among the `k` reference points nearest to `p` in the layout.
    fn layout_label(r: &Reference, p: [f32; 2], k: usize) -> u32 {
        let mut d: Vec<(f32, u32)> = r
            .coords
            .iter()
            .zip(&r.labels)
            .map(|(c, &l)| ((c[0] - p[0]).powi(2) + (c[1] - p[1]).powi(2), l))
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut votes = [0usize; 16];
        for &(_, l) in d.iter().take(k) {
            votes[l as usize] += 1;
        }
        (0..16).max_by_key(|&l| votes[l]).unwrap() as u32
    }

    #[test]
    fn new_points_land_among_their_own_kind_and_far_ones_are_flagged() {
        let dims = 12;
        let mut c = centres(6, dims, 11);
        let r = reference(&c[..5], dims);
        // New points from the same five blobs, and 40 from a sixth the reference never saw,
        // far from everything.
        c[5].iter_mut().for_each(|v| *v += 40.0);
        let (new, new_labels) = blobs(60, &c[..5], 2);
        let (far, _) = blobs(40, &c[5..], 3);
        let mut all = new.clone();
        all.extend_from_slice(&far);
        let placed = place_onto(
            Rows::new(&r.data, dims).unwrap(),
            &r.graph,
            &r.coords,
            Rows::new(&all, dims).unwrap(),
            &r.params,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(placed.coords.len(), 340);
        assert!(
            placed
                .coords
                .iter()
                .all(|c| c[0].is_finite() && c[1].is_finite())
        );
        let right = (0..300)
            .filter(|&i| layout_label(&r, placed.coords[i], 10) == new_labels[i])
            .count();
        assert!(right as f64 >= 0.95 * 300.0, "{right} of 300 in their blob");
        let in_ood = placed.ood[..300].iter().filter(|&&o| o).count();
        assert!(in_ood <= 9, "{in_ood} in-distribution points flagged");
        assert!(
            placed.ood[300..].iter().all(|&o| o),
            "every far point flagged"
        );
    }

    #[test]
    fn a_place_does_not_depend_on_order_or_batch() {
        let dims = 8;
        let c = centres(4, dims, 5);
        let r = reference(&c, dims);
        let (new, _) = blobs(25, &c, 9);
        let place = |data: &[f32]| {
            place_onto(
                Rows::new(&r.data, dims).unwrap(),
                &r.graph,
                &r.coords,
                Rows::new(data, dims).unwrap(),
                &r.params,
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap()
            .coords
        };
        let forward = place(&new);
        let reversed: Vec<f32> = new.chunks(dims).rev().flatten().copied().collect();
        let backward = place(&reversed);
        let alone = place(&new[..dims * 3]);
        for i in 0..100 {
            assert_eq!(forward[i], backward[99 - i], "point {i}");
        }
        assert_eq!(&forward[..3], &alone[..]);
    }

    #[test]
    fn mismatched_inputs_are_errors() {
        let dims = 4;
        let c = centres(2, dims, 1);
        let r = reference(&c, dims);
        let q = vec![0f32; 3 * 5];
        let err = place_onto(
            Rows::new(&r.data, dims).unwrap(),
            &r.graph,
            &r.coords,
            Rows::new(&q, 5).unwrap(),
            &r.params,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("dimensions"), "{err}");
        let err = place_onto(
            Rows::new(&r.data, dims).unwrap(),
            &r.graph,
            &r.coords[1..],
            Rows::new(&r.data[..dims], dims).unwrap(),
            &r.params,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("layout"), "{err}");
    }

    #[test]
    fn negatives_come_from_distinct_points_of_a_large_layout() {
        let small: Vec<[f32; 2]> = (0..1000).map(|i| [i as f32, 0.0]).collect();
        assert_eq!(&*negative_pool(&small, 1), &small[..]);
        let n = NEGATIVE_POOL * 3;
        let large: Vec<[f32; 2]> = (0..n).map(|i| [i as f32, -(i as f32)]).collect();
        let pool = negative_pool(&large, 1);
        assert_eq!(pool.len(), NEGATIVE_POOL);
        let mut xs: Vec<u32> = pool.iter().map(|p| p[0] as u32).collect();
        assert!(pool.iter().all(|p| p[1] == -p[0]));
        xs.dedup();
        assert_eq!(xs.len(), NEGATIVE_POOL, "sorted and without repeats");
        // Spread over the whole layout: each third holds about a third of the pool.
        for third in 0..3u32 {
            let lo = third * NEGATIVE_POOL as u32;
            let c = xs
                .iter()
                .filter(|&&x| (lo..lo + NEGATIVE_POOL as u32).contains(&x))
                .count();
            let share = c as f64 / NEGATIVE_POOL as f64;
            assert!((share - 1.0 / 3.0).abs() < 0.02, "third {third}: {share}");
        }
        assert_eq!(negative_pool(&large, 1), pool, "seeded");
    }

    #[test]
    fn quantile_is_the_nearest_rank() {
        let g = KnnGraph {
            n: 4,
            k: 1,
            indices: vec![1, 0, 3, 2],
            distances: vec![0.4, 0.1, 0.3, 0.2],
        };
        assert_eq!(nearest_quantile(&g, 0.5), 0.2);
        assert_eq!(nearest_quantile(&g, 0.99), 0.4);
        assert_eq!(nearest_quantile(&KnnGraph::empty(3), 0.99), f32::INFINITY);
    }
}
