//! The fuzzy simplicial set of umap-learn: per-point bandwidths from the kNN distances
//! (`smooth_knn_dist`), membership strengths, and the fuzzy union of the directed graph
//! with its transpose.

use rayon::prelude::*;

use crate::neighbors::KnnGraph;

/// A symmetric weighted graph in CSR form (heads ascending, tails ascending per head).
#[derive(Clone, Debug, Default)]
pub struct FuzzyGraph {
    pub n: usize,
    pub indptr: Vec<usize>,
    pub tails: Vec<u32>,
    pub weights: Vec<f32>,
}

impl FuzzyGraph {
    pub fn n_edges(&self) -> usize {
        self.tails.len()
    }
}

const SMOOTH_K_TOLERANCE: f64 = 1e-5;
const MIN_K_DIST_SCALE: f64 = 1e-3;

/// (sigma, rho) per point. `n_neighbors` counts the point itself, as in umap-learn, so the
/// kNN graph holds `n_neighbors − 1` other points.
pub fn smooth_knn_dist(knn: &KnnGraph, n_neighbors: usize) -> (Vec<f32>, Vec<f32>) {
    let target = (n_neighbors.max(2) as f64).log2();
    let mean_all = if knn.distances.is_empty() {
        0.0
    } else {
        knn.distances.iter().map(|&d| d as f64).sum::<f64>() / knn.distances.len() as f64
    };
    (0..knn.n)
        .into_par_iter()
        .map(|i| sigma_rho(knn.neighbors(i).1, target, mean_all))
        .unzip()
}

/// (sigma, rho) of one point from its neighbour distances: `target` is log2 of the
/// neighbourhood size, `mean_all` the mean distance over the whole graph (the floor of a
/// point whose neighbours are all at distance 0).
pub(super) fn sigma_rho(dists: &[f32], target: f64, mean_all: f64) -> (f32, f32) {
    let rho = dists.iter().copied().find(|&d| d > 0.0).unwrap_or(0.0) as f64;
    let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
    for _ in 0..64 {
        let psum: f64 = dists
            .iter()
            .map(|&d| {
                let d = d as f64 - rho;
                if d > 0.0 { (-d / mid).exp() } else { 1.0 }
            })
            .sum();
        if (psum - target).abs() < SMOOTH_K_TOLERANCE {
            break;
        }
        if psum > target {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            if hi == f64::INFINITY {
                mid *= 2.0;
            } else {
                mid = (lo + hi) / 2.0;
            }
        }
    }
    let floor = if rho > 0.0 {
        let mean_i = dists.iter().map(|&d| d as f64).sum::<f64>() / dists.len() as f64;
        MIN_K_DIST_SCALE * mean_i
    } else {
        MIN_K_DIST_SCALE * mean_all
    };
    (mid.max(floor) as f32, rho as f32)
}

/// The membership strength of an edge at distance `d` from a point with `sigma`, `rho`.
pub(super) fn membership(d: f32, sigma: f32, rho: f32) -> f32 {
    let gap = d - rho;
    if gap <= 0.0 || sigma == 0.0 {
        1.0
    } else {
        (-gap / sigma).exp()
    }
}

/// Build the symmetric fuzzy graph (fuzzy union, `set_op_mix_ratio = 1`).
pub fn fuzzy_graph(knn: &KnnGraph, n_neighbors: usize) -> FuzzyGraph {
    let n = knn.n;
    let (sigmas, rhos) = smooth_knn_dist(knn, n_neighbors);
    // Directed edges i -> j with membership strength, and their transposes, tagged.
    let mut edges: Vec<(u32, u32, f32, bool)> = Vec::with_capacity(2 * n * knn.k);
    for i in 0..n {
        let (idx, dists) = knn.neighbors(i);
        for (&j, &d) in idx.iter().zip(dists) {
            let w = membership(d, sigmas[i], rhos[i]);
            if w > 0.0 && j as usize != i {
                edges.push((i as u32, j, w, false));
                edges.push((j, i as u32, w, true));
            }
        }
    }
    edges.par_sort_unstable_by(|a, b| (a.0, a.1, a.3).cmp(&(b.0, b.1, b.3)));
    let mut indptr = vec![0usize; n + 1];
    let mut tails = Vec::with_capacity(edges.len() / 2);
    let mut weights = Vec::with_capacity(edges.len() / 2);
    let mut k = 0;
    while k < edges.len() {
        let (i, j) = (edges[k].0, edges[k].1);
        let (mut fwd, mut back) = (0.0f32, 0.0f32);
        while k < edges.len() && edges[k].0 == i && edges[k].1 == j {
            if edges[k].3 {
                back = edges[k].2;
            } else {
                fwd = edges[k].2;
            }
            k += 1;
        }
        let w = fwd + back - fwd * back;
        if w > 0.0 {
            tails.push(j);
            weights.push(w);
            indptr[i as usize + 1] += 1;
        }
    }
    for i in 0..n {
        indptr[i + 1] += indptr[i];
    }
    FuzzyGraph {
        n,
        indptr,
        tails,
        weights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbors::{Metric, exact_knn};
    use crate::progress::{CancelToken, NoProgress};
    use crate::util::linalg::Rows;

    #[test]
    fn graph_is_symmetric_with_unit_nearest_weights() {
        let data: Vec<f32> = (0..40)
            .flat_map(|i| [(i % 10) as f32 + 0.01 * i as f32, (i / 10) as f32 * 5.0])
            .collect();
        let knn = exact_knn(
            Rows::new(&data, 2).unwrap(),
            5,
            Metric::Euclidean,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        let g = fuzzy_graph(&knn, 6);
        let weight = |i: usize, j: u32| {
            let r = g.indptr[i]..g.indptr[i + 1];
            g.tails[r.clone()]
                .iter()
                .position(|&t| t == j)
                .map(|p| g.weights[r.start + p])
        };
        for i in 0..g.n {
            for e in g.indptr[i]..g.indptr[i + 1] {
                let j = g.tails[e];
                assert_eq!(weight(j as usize, i as u32), Some(g.weights[e]));
                assert!(g.weights[e] > 0.0 && g.weights[e] <= 1.0);
            }
            // The nearest neighbour is at distance rho: membership 1.
            let nearest = knn.neighbors(i).0[0];
            let w = weight(i, nearest).unwrap();
            assert!((w - 1.0).abs() < 1e-6, "nearest weight {w}");
        }
    }

    #[test]
    fn bandwidth_hits_the_target_sum() {
        let data: Vec<f32> = (0..30).map(|i| (i as f32).powf(1.3)).collect();
        let knn = exact_knn(
            Rows::new(&data, 1).unwrap(),
            7,
            Metric::Euclidean,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        let (sigmas, rhos) = smooth_knn_dist(&knn, 8);
        for i in 0..30 {
            let s: f64 = knn
                .neighbors(i)
                .1
                .iter()
                .map(|&d| {
                    let g = (d - rhos[i]) as f64;
                    if g > 0.0 {
                        (-g / sigmas[i] as f64).exp()
                    } else {
                        1.0
                    }
                })
                .sum();
            assert!((s - 3.0).abs() < 1e-3, "point {i}: sum {s}");
        }
    }
}
