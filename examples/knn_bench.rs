//! Development bench: this crate's NN-descent against an HNSW crate (`hnsw_rs`) on the same
//! `.npy` matrix, 2 threads, cosine: build + query seconds and recall@k against exact
//! neighbours of 1,000 evenly spaced rows.
//!
//! `cargo run --release --features hnsw-bench --example knn_bench -- IN.npy [k] [ef_c,ef_s ...]`
//!
//! The kNN graph UMAP needs is every point's k nearest others: NN-descent builds it
//! directly; HNSW builds an index, then searches it once per point (k + 1, dropping the point
//! itself).

use std::time::Instant;

use hnsw_rs::prelude::*;
use rayon::prelude::*;
use sample_atlas::embedding::vectors::read_npy;
use sample_atlas::neighbors::nndescent::{NnDescentParams, nn_descent};
use sample_atlas::neighbors::{KnnGraph, Metric};
use sample_atlas::progress::{CancelToken, NoProgress};
use sample_atlas::util::linalg::Rows;

/// `1 − a·b` on unit rows with this crate's own SIMD dot product (so the comparison is of
/// the graph algorithms, not of the kernels), never below 0 (hnsw_rs's `DistDot` asserts
/// that and panics on rounding).
#[derive(Clone, Copy, Default)]
struct UnitCosine;

impl Distance<f32> for UnitCosine {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - sample_atlas::neighbors::simd::dot(a, b)).max(0.0)
    }
}

#[path = "common/recall.rs"]
mod common_recall;
use common_recall::recall;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let v = read_npy(std::path::Path::new(&args[1])).unwrap_or_else(|e| panic!("{e}"));
    let (n, d) = (v.len(), v.dims);
    let mut unit = v.data;
    sample_atlas::util::linalg::l2_normalize_rows(&mut unit, d);
    let k: usize = args.get(2).map(|s| s.parse().expect("k")).unwrap_or(14);
    let settings: Vec<(usize, usize)> = if args.len() > 3 {
        args[3..]
            .iter()
            .map(|s| {
                let (c, q) = s.split_once(',').expect("ef_c,ef_s");
                (c.parse().expect("ef_c"), q.parse().expect("ef_s"))
            })
            .collect()
    } else {
        vec![(100, 30), (200, 60)]
    };

    let t = Instant::now();
    let g: KnnGraph = nn_descent(
        Rows::new(&unit, d).unwrap(),
        k,
        Metric::Cosine,
        &NnDescentParams::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .expect("nn-descent");
    let secs = t.elapsed().as_secs_f64();
    let r = recall(&unit, d, Metric::Cosine, k, 1000, &|q| {
        g.neighbors(q).0.to_vec()
    });
    println!(
        "{{\"n\": {n}, \"d\": {d}, \"k\": {k}, \"method\": \"nn-descent (sample-atlas)\", \"total_s\": {secs:.2}, \"recall\": {r:.4}}}"
    );
    drop(g);

    for (ef_c, ef_s) in settings {
        let t = Instant::now();
        let layers = 16.min((n as f32).ln().trunc() as usize);
        let index = Hnsw::<f32, UnitCosine>::new(16, n, layers, ef_c, UnitCosine);
        let rows: Vec<(&[f32], usize)> = unit
            .chunks_exact(d)
            .enumerate()
            .map(|(i, r)| (r, i))
            .collect();
        index.parallel_insert_slice(&rows);
        let build_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let lists: Vec<Vec<u32>> = rows
            .par_iter()
            .map(|&(row, i)| {
                index
                    .search(row, k + 1, ef_s.max(k + 1))
                    .into_iter()
                    .map(|nb| nb.d_id as u32)
                    .filter(|&j| j as usize != i)
                    .take(k)
                    .collect()
            })
            .collect();
        let query_s = t.elapsed().as_secs_f64();
        let r = recall(&unit, d, Metric::Cosine, k, 1000, &|q| lists[q].clone());
        println!(
            "{{\"n\": {n}, \"d\": {d}, \"k\": {k}, \"method\": \"hnsw_rs M=16 ef_c={ef_c} ef_s={ef_s}\", \"build_s\": {build_s:.2}, \"query_s\": {query_s:.2}, \"total_s\": {:.2}, \"recall\": {r:.4}}}",
            build_s + query_s
        );
    }
}
