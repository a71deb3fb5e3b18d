//! Shared by the kNN benches (`umap_npy`, `knn_bench`): recall of a kNN graph against exact
//! neighbours found by brute force.

use rayon::prelude::*;
use sample_atlas::neighbors::Metric;

/// Recall@k of `neighbors(q)` (a point's k neighbour ids) against brute-force neighbours of
/// `queries` evenly spaced rows of `data` (row-major, `d` wide) under `metric`.
pub fn recall(
    data: &[f32],
    d: usize,
    metric: Metric,
    k: usize,
    queries: usize,
    neighbors: &(dyn Fn(usize) -> Vec<u32> + Sync),
) -> f64 {
    let n = data.len() / d;
    let mut unit = data.to_vec();
    if metric == Metric::Cosine {
        sample_atlas::util::linalg::l2_normalize_rows(&mut unit, d);
    }
    let dist = |a: &[f32], b: &[f32]| -> f32 {
        match metric {
            Metric::Cosine => 1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>(),
            Metric::Euclidean => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
        }
    };
    let step = (n / queries.min(n)).max(1);
    let qs: Vec<usize> = (0..n).step_by(step).collect();
    let hits: usize = qs
        .par_iter()
        .map(|&q| {
            let row = &unit[q * d..(q + 1) * d];
            let mut all: Vec<(f32, usize)> = (0..n)
                .filter(|&j| j != q)
                .map(|j| (dist(row, &unit[j * d..(j + 1) * d]), j))
                .collect();
            all.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
            let truth: Vec<u32> = all[..k].iter().map(|x| x.1 as u32).collect();
            neighbors(q).iter().filter(|j| truth.contains(j)).count()
        })
        .sum();
    hits as f64 / (qs.len() * k) as f64
}
