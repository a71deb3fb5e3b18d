//! Layout quality: trustworthiness (Venna & Kaski), as scikit-learn computes it, exact and
//! O(n²) — for tests and benchmarks on a few thousand points.

use rayon::prelude::*;

use crate::neighbors::Metric;

fn distance(a: &[f32], b: &[f32], metric: Metric) -> f64 {
    match metric {
        Metric::Euclidean => a
            .iter()
            .zip(b)
            .map(|(x, y)| ((x - y) as f64).powi(2))
            .sum::<f64>(),
        Metric::Cosine => {
            let (mut d, mut na, mut nb) = (0f64, 0f64, 0f64);
            for (&x, &y) in a.iter().zip(b) {
                d += x as f64 * y as f64;
                na += x as f64 * x as f64;
                nb += y as f64 * y as f64;
            }
            if na == 0.0 || nb == 0.0 {
                1.0
            } else {
                1.0 - d / (na.sqrt() * nb.sqrt())
            }
        }
    }
}

/// Trustworthiness@k of `low` (2-D) against `high` (row-major `n × dims`), in [0, 1].
pub fn trustworthiness(
    high: &[f32],
    dims: usize,
    low: &[[f32; 2]],
    k: usize,
    metric: Metric,
) -> f64 {
    let n = low.len();
    assert_eq!(high.len(), n * dims, "one high-dimensional row per point");
    assert!(k < n / 2, "k must be below n/2");
    let penalty: f64 = (0..n)
        .into_par_iter()
        .map(|i| {
            let hi = &high[i * dims..(i + 1) * dims];
            // Rank of every point by high-dimensional distance from i (self excluded).
            let mut order: Vec<(f64, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (distance(hi, &high[j * dims..(j + 1) * dims], metric), j))
                .collect();
            order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut rank = vec![0usize; n];
            for (r, &(_, j)) in order.iter().enumerate() {
                rank[j] = r + 1;
            }
            let mut low_order: Vec<(f64, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let (dx, dy) = (
                        (low[i][0] - low[j][0]) as f64,
                        (low[i][1] - low[j][1]) as f64,
                    );
                    (dx * dx + dy * dy, j)
                })
                .collect();
            low_order.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            low_order[..k]
                .iter()
                .map(|&(_, j)| rank[j].saturating_sub(k) as f64)
                .sum::<f64>()
        })
        .sum();
    let (n, k) = (n as f64, k as f64);
    1.0 - 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)) * penalty
}

/// kNN label agreement: the mean, over points, of the share of a point's `k` nearest
/// neighbours in `graph` that carry the point's label. 1 = neighbourhoods are pure; a
/// random graph scores about Σ (class share)².
pub fn label_agreement(graph: &crate::neighbors::KnnGraph, labels: &[u32]) -> f64 {
    assert_eq!(labels.len(), graph.n, "one label per point");
    if graph.n == 0 || graph.k == 0 {
        return 0.0;
    }
    let total: f64 = (0..graph.n)
        .into_par_iter()
        .map(|i| {
            let same = graph.indices[i * graph.k..(i + 1) * graph.k]
                .iter()
                .filter(|&&j| labels[j as usize] == labels[i])
                .count();
            same as f64 / graph.k as f64
        })
        .sum();
    total / graph.n as f64
}

#[cfg(test)]
mod agreement_tests {
    use super::*;
    use crate::neighbors::KnnGraph;

    #[test]
    fn label_agreement_counts_same_label_neighbours() {
        // 4 points, k = 2.
        let g = KnnGraph {
            n: 4,
            k: 2,
            indices: vec![1, 2, 0, 3, 3, 0, 2, 1],
            distances: vec![0.0; 8],
        };
        let labels = [0, 0, 1, 1];
        // point 0: {1: same, 2: diff} = .5; 1: {0 same, 3 diff} = .5; 2: {3 same, 0 diff} = .5;
        // 3: {2 same, 1 diff} = .5
        assert!((label_agreement(&g, &labels) - 0.5).abs() < 1e-12);
        assert!((label_agreement(&g, &[7, 7, 7, 7]) - 1.0).abs() < 1e-12);
    }
}
