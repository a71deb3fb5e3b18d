//! k-nearest-neighbour graphs: exact parallel brute force for small sets, NN-descent for
//! larger ones. Both are deterministic for a seed, whatever the thread count.

pub mod nndescent;
mod route;
pub mod search;
pub mod simd;

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::progress::{CancelToken, Progress, Stage};
use crate::util::linalg::{Rows, ShapeError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Cosine,
    Euclidean,
}

impl std::str::FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "cosine" => Ok(Metric::Cosine),
            "euclidean" => Ok(Metric::Euclidean),
            _ => Err(format!(
                "unknown metric '{s}' (expected cosine or euclidean)"
            )),
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Metric::Cosine => "cosine",
            Metric::Euclidean => "euclidean",
        })
    }
}

/// What to search: `k` neighbours per point under `metric`, by `method`, seeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnnParams {
    pub k: usize,
    pub metric: Metric,
    pub method: KnnMethod,
    pub seed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum NeighborsError {
    #[error("nearest-neighbour search cancelled")]
    Cancelled,
    #[error("invalid input: {0}")]
    Input(String),
}

/// For each point, its `k` nearest other points, nearest first (ties: lower index first).
#[derive(Clone, Debug)]
pub struct KnnGraph {
    pub n: usize,
    pub k: usize,
    /// Row-major `n × k`.
    pub indices: Vec<u32>,
    /// Row-major `n × k`, distances under the metric (cosine: `1 − cos`).
    pub distances: Vec<f32>,
}

impl KnnGraph {
    pub fn neighbors(&self, i: usize) -> (&[u32], &[f32]) {
        let r = i * self.k..(i + 1) * self.k;
        (&self.indices[r.clone()], &self.distances[r])
    }
}

/// Queries per parallel block (progress and cancellation granularity, cache blocking).
const QUERY_BLOCK: usize = 32;

pub(crate) use simd::{dot, sq_dist};

/// Up to this many rows, `knn` searches exactly; above, it uses NN-descent.
pub const EXACT_MAX_ROWS: usize = 4_096;

/// How to find neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KnnMethod {
    /// Exact up to `EXACT_MAX_ROWS` rows, NN-descent above.
    Auto,
    Exact,
    NnDescent,
}

impl KnnMethod {
    pub fn resolve(self, n: usize) -> KnnMethod {
        match self {
            KnnMethod::Auto if n <= EXACT_MAX_ROWS => KnnMethod::Exact,
            KnnMethod::Auto => KnnMethod::NnDescent,
            m => m,
        }
    }

    /// The method's name in cache keys: fixed strings, so renaming a variant cannot silently
    /// invalidate (or alias) cached graphs.
    pub fn cache_key(self) -> &'static str {
        match self {
            KnnMethod::Auto => "Auto",
            KnnMethod::Exact => "Exact",
            KnnMethod::NnDescent => "NnDescent",
        }
    }
}

impl From<ShapeError> for NeighborsError {
    fn from(e: ShapeError) -> Self {
        NeighborsError::Input(e.to_string())
    }
}

impl KnnGraph {
    /// The graph of `n` points with no neighbours (`k` = 0).
    pub fn empty(n: usize) -> KnnGraph {
        KnnGraph {
            n,
            k: 0,
            indices: Vec::new(),
            distances: Vec::new(),
        }
    }
}

/// `k` capped at `n − 1` (a point is not its own neighbour); 0 when there is nothing to find.
pub(crate) fn capped_k(n: usize, k: usize) -> usize {
    k.min(n.saturating_sub(1))
}

/// The vectors as the metric compares them: unit rows for cosine (so `1 − dot` is the
/// distance), unchanged for euclidean. Rows that are already unit length (most embedders
/// return them so) are used in place: no copy of a matrix that may be gigabytes.
pub(crate) fn prepare<'a>(rows: Rows<'a>, metric: Metric) -> std::borrow::Cow<'a, [f32]> {
    let (data, dims) = (rows.data(), rows.dims());
    let unit = |row: &[f32]| {
        let sq: f64 = row.iter().map(|&v| v as f64 * v as f64).sum();
        (sq - 1.0).abs() <= 1e-5
    };
    match metric {
        Metric::Cosine if data.par_chunks(dims).all(unit) => std::borrow::Cow::Borrowed(data),
        Metric::Cosine => {
            let mut copy = data.to_vec();
            crate::util::linalg::l2_normalize_rows(&mut copy, dims);
            std::borrow::Cow::Owned(copy)
        }
        Metric::Euclidean => std::borrow::Cow::Borrowed(data),
    }
}

#[cfg(test)]
mod prepare_tests {
    use super::*;

    #[test]
    fn unit_rows_are_not_copied_for_cosine() {
        let unit = [0.6f32, 0.8, 1.0, 0.0];
        assert!(matches!(
            prepare(Rows::new(&unit, 2).unwrap(), Metric::Cosine),
            std::borrow::Cow::Borrowed(_)
        ));
        let long = [3.0f32, 4.0, 1.0, 0.0];
        match prepare(Rows::new(&long, 2).unwrap(), Metric::Cosine) {
            std::borrow::Cow::Owned(v) => assert_eq!(v, [0.6, 0.8, 1.0, 0.0]),
            _ => panic!("a row of length 5 must be normalised"),
        }
        assert!(matches!(
            prepare(Rows::new(&long, 2).unwrap(), Metric::Euclidean),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}

/// The kNN graph of `rows` by `params.method`.
pub fn knn(
    rows: Rows<'_>,
    params: &KnnParams,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<KnnGraph, NeighborsError> {
    match params.method.resolve(rows.len()) {
        KnnMethod::NnDescent => nndescent::nn_descent(
            rows,
            params.k,
            params.metric,
            &nndescent::NnDescentParams {
                seed: params.seed,
                ..Default::default()
            },
            progress,
            cancel,
        ),
        _ => exact_knn(rows, params.k, params.metric, progress, cancel),
    }
}

/// Exact kNN by parallel brute force. `k` is capped at `n − 1`.
pub fn exact_knn(
    rows: Rows<'_>,
    k: usize,
    metric: Metric,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<KnnGraph, NeighborsError> {
    let (n, dims) = (rows.len(), rows.dims());
    let k = capped_k(n, k);
    if k == 0 {
        return Ok(KnnGraph::empty(n));
    }
    let data = prepare(rows, metric);
    let data = &data[..];
    let mut indices = vec![0u32; n * k];
    let mut distances = vec![0f32; n * k];
    let done = AtomicU64::new(0);
    progress.report(Stage::Neighbors, 0, n as u64);
    indices
        .par_chunks_mut(QUERY_BLOCK * k)
        .zip(distances.par_chunks_mut(QUERY_BLOCK * k))
        .enumerate()
        .for_each(|(block, (idx_out, dist_out))| {
            if cancel.is_cancelled() {
                return;
            }
            let q0 = block * QUERY_BLOCK;
            let nq = idx_out.len() / k;
            // Per query: sorted (distance, index) lists of the best k so far.
            let mut best: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(k + 1); nq];
            for j in 0..n {
                let row_j = &data[j * dims..(j + 1) * dims];
                for (qi, list) in best.iter_mut().enumerate() {
                    let q = q0 + qi;
                    if q == j {
                        continue;
                    }
                    let row_q = &data[q * dims..(q + 1) * dims];
                    let d = match metric {
                        Metric::Cosine => (1.0 - dot(row_q, row_j)).max(0.0),
                        Metric::Euclidean => sq_dist(row_q, row_j),
                    };
                    if list.len() < k || d < list[k - 1].0 {
                        // j ascends, so a tie never displaces an earlier index.
                        let pos = list.partition_point(|&(bd, _)| bd <= d);
                        list.insert(pos, (d, j as u32));
                        list.truncate(k);
                    }
                }
            }
            for (qi, list) in best.iter().enumerate() {
                for (slot, &(d, j)) in list.iter().enumerate() {
                    idx_out[qi * k + slot] = j;
                    dist_out[qi * k + slot] = match metric {
                        Metric::Cosine => d,
                        Metric::Euclidean => d.sqrt(),
                    };
                }
            }
            let d = done.fetch_add(nq as u64, Ordering::Relaxed) + nq as u64;
            progress.report(Stage::Neighbors, d, n as u64);
        });
    if cancel.is_cancelled() {
        return Err(NeighborsError::Cancelled);
    }
    Ok(KnnGraph {
        n,
        k,
        indices,
        distances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn finds_the_true_neighbours_on_a_line() {
        // Points 0, 1, 2, ..., 9 on a line (2-D, y = 0).
        let data: Vec<f32> = (0..10).flat_map(|i| [i as f32, 0.0]).collect();
        let g = exact_knn(
            Rows::new(&data, 2).unwrap(),
            2,
            Metric::Euclidean,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(g.neighbors(0).0, &[1, 2]);
        assert_eq!(
            g.neighbors(5).0,
            &[4, 6],
            "tie broken towards the lower index"
        );
        assert_eq!(g.neighbors(5).1, &[1.0, 1.0]);
        assert_eq!(g.neighbors(9).0, &[8, 7]);
    }

    #[test]
    fn cosine_ignores_length() {
        let data = vec![1.0, 0.0, 10.0, 0.1, 0.0, 1.0, 0.0, 3.0];
        let g = exact_knn(
            Rows::new(&data, 2).unwrap(),
            1,
            Metric::Cosine,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(g.neighbors(0).0, &[1]);
        assert_eq!(g.neighbors(2).0, &[3]);
        assert!(g.neighbors(2).1[0].abs() < 1e-6);
    }

    #[test]
    fn k_is_capped_for_tiny_sets() {
        let g = exact_knn(
            Rows::new(&[1.0, 2.0], 1).unwrap(),
            15,
            Metric::Euclidean,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(g.k, 1);
        let g = exact_knn(
            Rows::new(&[1.0], 1).unwrap(),
            15,
            Metric::Euclidean,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(g.k, 0);
    }
}
