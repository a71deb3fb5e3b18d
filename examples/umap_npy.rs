//! Development bench: UMAP (exact kNN) on a float32 `.npy` matrix, writing the 2-D layout as
//! `.npy` for `../shared/bench/quality.py`, and printing per-stage seconds.
//!
//! `cargo run --release --example umap_npy -- IN.npy OUT.npy [cosine|euclidean] [seed] [auto|exact|nndescent] [norecall]`
//!
//! Also prints the kNN graph's recall@k against exact neighbours of 1,000 seeded queries, and
//! trustworthiness@15 on a seeded 5,000-row subsample (as `../shared/bench/quality.py` does).

use std::time::Instant;

use sample_atlas::embedding::vectors::read_npy;
use sample_atlas::neighbors::{KnnGraph, KnnMethod, KnnParams, Metric, knn};
use sample_atlas::progress::{CancelToken, NoProgress};
use sample_atlas::projection::{UmapParams, umap_layout_timed};
use sample_atlas::util::linalg::Rows;
use sample_atlas::util::npy::npy_bytes;

#[path = "common/recall.rs"]
mod common_recall;

fn graph_bytes(g: &KnnGraph) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend((g.n as u64).to_le_bytes());
    out.extend((g.k as u64).to_le_bytes());
    out.extend(g.indices.iter().flat_map(|v| v.to_le_bytes()));
    out.extend(g.distances.iter().flat_map(|v| v.to_le_bytes()));
    out
}

fn graph_from_bytes(b: &[u8]) -> KnnGraph {
    let word = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap()) as usize;
    let (n, k) = (word(0), word(1));
    let four = |i: usize| <[u8; 4]>::try_from(&b[16 + i * 4..20 + i * 4]).unwrap();
    KnnGraph {
        n,
        k,
        indices: (0..n * k).map(|i| u32::from_le_bytes(four(i))).collect(),
        distances: (n * k..2 * n * k)
            .map(|i| f32::from_le_bytes(four(i)))
            .collect(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let metric: Metric = args
        .get(3)
        .map(|s| s.parse().expect("metric"))
        .unwrap_or(Metric::Cosine);
    let seed: u64 = args.get(4).map(|s| s.parse().expect("seed")).unwrap_or(42);
    let vectors = read_npy(std::path::Path::new(&args[1])).unwrap_or_else(|e| panic!("{e}"));
    let (n, d) = (vectors.len(), vectors.dims);
    let data = vectors.data;
    let method = match args.get(5).map(String::as_str) {
        None | Some("auto") => KnnMethod::Auto,
        Some("exact") => KnnMethod::Exact,
        Some("nndescent") => KnnMethod::NnDescent,
        Some(m) => panic!("unknown kNN method {m}"),
    };
    let params = UmapParams {
        metric,
        seed,
        ..Default::default()
    };
    let t = Instant::now();
    // Development aid: `UMAP_NPY_KNN=FILE` reads the kNN graph from FILE if it exists, else
    // computes it and writes it there (to iterate on the layout without rerunning the kNN).
    let knn_file = std::env::var_os("UMAP_NPY_KNN").map(std::path::PathBuf::from);
    let knn = match knn_file.as_deref().and_then(|p| std::fs::read(p).ok()) {
        Some(bytes) => graph_from_bytes(&bytes),
        None => {
            let g = knn(
                Rows::new(&data, d).unwrap(),
                &KnnParams {
                    k: params.n_neighbors - 1,
                    metric,
                    method,
                    seed,
                },
                &NoProgress,
                &CancelToken::new(),
            )
            .expect("knn");
            if let Some(p) = &knn_file {
                std::fs::write(p, graph_bytes(&g)).expect("writable kNN file");
            }
            g
        }
    };
    let knn_s = t.elapsed().as_secs_f64();
    // A sixth argument `norecall` skips the (slow, brute-force) recall check.
    let recall = if args.get(6).map(String::as_str) == Some("norecall") {
        f64::NAN
    } else {
        common_recall::recall(&data, d, metric, knn.k, 1000, &|q| {
            knn.neighbors(q).0.to_vec()
        })
    };
    let t = Instant::now();
    let (coords, parts) = umap_layout_timed(
        Rows::new(&data, d).unwrap(),
        &knn,
        &params,
        &NoProgress,
        &CancelToken::new(),
    )
    .expect("layout");
    let layout_s = t.elapsed().as_secs_f64();
    // Peak resident memory of the whole run (Linux).
    let peak_mb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN);
    let input_mb = (n * d * 4) as f64 / (1024.0 * 1024.0);
    // Trustworthiness@15 as quality.py computes it: on a seeded random subsample of 5,000
    // rows, neighbourhoods taken inside the subsample.
    let t = Instant::now();
    let trust = {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let mut rows: Vec<usize> = (0..n).collect();
        rows.shuffle(&mut rand_pcg::Pcg64::seed_from_u64(0));
        rows.truncate(5_000.min(n));
        rows.sort_unstable();
        let high: Vec<f32> = rows
            .iter()
            .flat_map(|&r| data[r * d..(r + 1) * d].iter().copied())
            .collect();
        let low: Vec<[f32; 2]> = rows.iter().map(|&r| coords[r]).collect();
        if rows.len() > 31 {
            sample_atlas::projection::quality::trustworthiness(&high, d, &low, 15, metric)
        } else {
            f64::NAN
        }
    };
    let trust_s = t.elapsed().as_secs_f64();
    let flat: Vec<f32> = coords.iter().flat_map(|c| [c[0], c[1]]).collect();
    assert!(flat.iter().all(|v| v.is_finite()), "non-finite coordinate");
    std::fs::write(&args[2], npy_bytes(&flat, n, 2)).expect("writable output");
    println!(
        "{{\"n\": {n}, \"d\": {d}, \"knn\": \"{:?}\", \"avx2\": {}, \"knn_s\": {knn_s:.3}, \"knn_recall\": {recall:.4}, \"graph_s\": {:.3}, \"init_s\": {:.3}, \"sgd_s\": {:.3}, \"layout_s\": {layout_s:.3}, \"total_s\": {:.3}, \"peak_rss_mb\": {peak_mb:.0}, \"input_mb\": {input_mb:.0}, \"trust15_sample5000\": {trust:.4}, \"trust_s\": {trust_s:.1}}}",
        method.resolve(n),
        sample_atlas::neighbors::simd::uses_avx2(),
        parts.graph_s,
        parts.init_s,
        parts.sgd_s,
        knn_s + layout_s
    );
}
