//! Development bench: UMAP (exact kNN) on a float32 `.npy` matrix, writing the 2-D layout as
//! `.npy` for `../shared/bench/quality.py`, and printing per-stage seconds.
//!
//! `cargo run --release --example umap_npy -- IN.npy OUT.npy [cosine|euclidean] [seed] [auto|exact|nndescent] [norecall]`
//!
//! Also prints the kNN graph's recall@k against exact neighbours of 1,000 seeded queries.

use std::time::Instant;

use sample_atlas::neighbors::{KnnGraph, KnnMethod, Metric, knn};
use sample_atlas::progress::{CancelToken, NoProgress};
use sample_atlas::projection::{UmapParams, umap_layout};

fn read_npy_f32(path: &str) -> (Vec<f32>, usize, usize) {
    let bytes = std::fs::read(path).expect("readable .npy");
    assert_eq!(&bytes[..6], b"\x93NUMPY", "not a .npy file");
    let (header_len, start) = if bytes[6] == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        )
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).expect("ascii header");
    assert!(
        header.contains("'<f4'"),
        "float32 little-endian only: {header}"
    );
    assert!(header.contains("'fortran_order': False"));
    let shape = &header[header.find("'shape': (").expect("shape") + 10..];
    let dims: Vec<usize> = shape[..shape.find(')').expect(")")]
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let data: Vec<f32> = bytes[start + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (data, dims[0], dims[1])
}

fn write_npy_f32(path: &str, data: &[f32], rows: usize, cols: usize) {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, out).expect("writable output");
}

/// Recall@k of `graph` against brute-force neighbours of `queries` evenly spaced rows.
fn recall(data: &[f32], d: usize, metric: Metric, graph: &KnnGraph, queries: usize) -> f64 {
    use rayon::prelude::*;
    let n = graph.n;
    let mut unit = data.to_vec();
    if metric == Metric::Cosine {
        sample_atlas::embedding::l2_normalize_rows(&mut unit, d);
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
            all.select_nth_unstable_by(graph.k - 1, |a, b| a.0.total_cmp(&b.0));
            let truth: Vec<u32> = all[..graph.k].iter().map(|x| x.1 as u32).collect();
            graph
                .neighbors(q)
                .0
                .iter()
                .filter(|j| truth.contains(j))
                .count()
        })
        .sum();
    hits as f64 / (qs.len() * graph.k) as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let metric: Metric = args
        .get(3)
        .map(|s| s.parse().expect("metric"))
        .unwrap_or(Metric::Cosine);
    let seed: u64 = args.get(4).map(|s| s.parse().expect("seed")).unwrap_or(42);
    let (data, n, d) = read_npy_f32(&args[1]);
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
    let knn = knn(
        &data,
        d,
        params.n_neighbors - 1,
        metric,
        method,
        seed,
        &NoProgress,
        &CancelToken::new(),
    )
    .expect("knn");
    let knn_s = t.elapsed().as_secs_f64();
    // A sixth argument `norecall` skips the (slow, brute-force) recall check.
    let recall = if args.get(6).map(String::as_str) == Some("norecall") {
        f64::NAN
    } else {
        recall(&data, d, metric, &knn, 1000)
    };
    let t = Instant::now();
    let coords =
        umap_layout(&data, d, &knn, &params, &NoProgress, &CancelToken::new()).expect("layout");
    let layout_s = t.elapsed().as_secs_f64();
    let flat: Vec<f32> = coords.iter().flat_map(|c| [c[0], c[1]]).collect();
    assert!(flat.iter().all(|v| v.is_finite()), "non-finite coordinate");
    write_npy_f32(&args[2], &flat, n, 2);
    println!(
        "{{\"n\": {n}, \"d\": {d}, \"knn\": \"{:?}\", \"knn_s\": {knn_s:.3}, \"knn_recall\": {recall:.4}, \"layout_s\": {layout_s:.3}, \"total_s\": {:.3}}}",
        method.resolve(n),
        knn_s + layout_s
    );
}
