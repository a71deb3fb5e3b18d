//! Bench: new samples placed onto an existing map (`map NEW --onto REF`'s placement step:
//! neighbour search among REF's vectors + the epochs with REF fixed), 2 threads.
//!
//! `cargo run --release --example onto_bench -- [REF_ROWS,... [NEW_ROWS,... [DIMS]]]`
//! (default 100000,1000000 × 10000,100000, 128 dimensions: the lexical embedder's)
//! `cargo run --release --example onto_bench -- npy BLOBS.npy REF_ROWS NEW_ROWS`: REF = the
//! first REF_ROWS rows of a `../shared/bench/make_blobs.py` file (384-d, calibrated to
//! all-MiniLM-L6-v2 embeddings), NEW = the next NEW_ROWS; its `_labels.npy` gives the
//! clusters (outliers and bridge points are left out of the own-cluster share).
//!
//! REF: seeded Gaussian blobs (64 centres of unequal spread) on the unit sphere (cosine),
//! its kNN graph by NN-descent and its layout by this crate's UMAP, as `map` makes them
//! (setup, not timed); NEW: fresh points from the same blobs plus 1% from blobs REF never
//! saw. Prints the seconds of the search and of the epochs, and checks the result: the share
//! of new points whose nearest REF point in the layout is of their own blob, and how many of
//! the unseen-blob points were flagged out of distribution.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use sample_atlas::neighbors::nndescent::{NnDescentParams, nn_descent};
use sample_atlas::neighbors::search::SearchIndex;
use sample_atlas::neighbors::{KnnGraph, Metric};
use sample_atlas::progress::{CancelToken, NoProgress};
use sample_atlas::projection::onto::place_onto;
use sample_atlas::projection::{UmapParams, umap_layout};
use sample_atlas::spatial::GridIndex;
use sample_atlas::util::linalg::{Rows, l2_normalize_rows};

const CENTRES: usize = 64;
const UNSEEN: usize = 8;

struct Blobs {
    centres: Vec<f32>,
    spread: Vec<f32>,
    dims: usize,
}

impl Blobs {
    fn new(dims: usize) -> Blobs {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
        let n = CENTRES + UNSEEN;
        let normal = Normal::new(0.0f32, 1.0).unwrap();
        let centres = (0..n * dims).map(|_| normal.sample(&mut rng)).collect();
        let spread = (0..n).map(|_| rng.random_range(0.15..0.45)).collect();
        Blobs {
            centres,
            spread,
            dims,
        }
    }

    /// `n` unit points; the label of each (blob `CENTRES..` are the unseen ones when `unseen`
    /// is the share drawn from them).
    fn sample(&self, n: usize, unseen: f64, seed: u64) -> (Vec<f32>, Vec<u32>) {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        let normal = Normal::new(0.0f32, 1.0).unwrap();
        let d = self.dims;
        let mut data = Vec::with_capacity(n * d);
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let b = if rng.random_bool(unseen) {
                CENTRES + rng.random_range(0..UNSEEN)
            } else {
                // Unequal sizes: blob b is drawn with weight ∝ 1 / (1 + b / 8).
                loop {
                    let b = rng.random_range(0..CENTRES);
                    if rng.random_bool(1.0 / (1.0 + b as f64 / 8.0)) {
                        break b;
                    }
                }
            };
            let s = self.spread[b] / (d as f32).sqrt();
            for k in 0..d {
                data.push(
                    self.centres[b * d + k] / (d as f32).sqrt() + s * normal.sample(&mut rng),
                );
            }
            labels.push(b as u32);
        }
        l2_normalize_rows(&mut data, d);
        (data, labels)
    }
}

/// REF's kNN graph and layout (setup, not timed), kept in `ONTO_BENCH_DIR` when set so that
/// repeated runs skip the minutes a 1M-point reference takes.
fn reference(
    rows: Rows<'_>,
    n_ref: usize,
    dims: usize,
    params: &UmapParams,
    cancel: &CancelToken,
) -> (KnnGraph, Vec<[f32; 2]>) {
    let k = params.n_neighbors - 1;
    let path = std::env::var_os("ONTO_BENCH_DIR")
        .map(|d| std::path::Path::new(&d).join(format!("ref-{n_ref}-{dims}-{k}.bin")));
    if let Some(bytes) = path.as_ref().and_then(|p| std::fs::read(p).ok()) {
        let words: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if words.len() == n_ref * k * 2 + n_ref * 2 {
            let (idx, rest) = words.split_at(n_ref * k);
            let (dist, xy) = rest.split_at(n_ref * k);
            let graph = KnnGraph {
                n: n_ref,
                k,
                indices: idx.to_vec(),
                distances: dist.iter().map(|&w| f32::from_bits(w)).collect(),
            };
            let coords = xy
                .chunks_exact(2)
                .map(|c| [f32::from_bits(c[0]), f32::from_bits(c[1])])
                .collect();
            eprintln!(
                "reference {n_ref} × {dims}: from {}",
                path.unwrap().display()
            );
            return (graph, coords);
        }
    }
    let t = Instant::now();
    let graph = nn_descent(
        rows,
        k,
        Metric::Cosine,
        &NnDescentParams::default(),
        &NoProgress,
        cancel,
    )
    .unwrap();
    let knn_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let coords = umap_layout(rows, &graph, params, &NoProgress, cancel).unwrap();
    eprintln!(
        "reference {n_ref} × {dims}: kNN {knn_s:.1} s, layout {:.1} s (setup)",
        t.elapsed().as_secs_f64()
    );
    if let Some(p) = path {
        let mut bytes = Vec::new();
        bytes.extend(graph.indices.iter().flat_map(|w| w.to_le_bytes()));
        bytes.extend(
            graph
                .distances
                .iter()
                .flat_map(|d| d.to_bits().to_le_bytes()),
        );
        bytes.extend(
            coords
                .iter()
                .flat_map(|c| c.iter().flat_map(|v| v.to_bits().to_le_bytes())),
        );
        let tmp = p.with_extension("tmp");
        if std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &p))
            .is_err()
        {
            eprintln!("could not keep the reference in {}", p.display());
        }
    }
    (graph, coords)
}

fn list(arg: Option<&String>, default: &[usize]) -> Vec<usize> {
    arg.map(|s| s.split(',').map(|v| v.parse().expect("a number")).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("npy") {
        return from_npy(&args[2..]);
    }
    let refs = list(args.get(1), &[100_000, 1_000_000]);
    let news = list(args.get(2), &[10_000, 100_000]);
    let dims: usize = args.get(3).map(|s| s.parse().expect("dims")).unwrap_or(128);
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global()
        .expect("thread pool");
    let blobs = Blobs::new(dims);
    let params = UmapParams::default();
    let cancel = CancelToken::new();
    println!(
        "ref_rows,new_rows,dims,index_s,search_s,optimize_s,total_s,new_per_s,recall,ref_graph_recall,own_blob,unseen_flagged,seen_flagged"
    );
    for &n_ref in &refs {
        let (data, labels) = blobs.sample(n_ref, 0.0, 1);
        let rows = Rows::new(&data, dims).unwrap();
        let (graph, coords) = reference(rows, n_ref, dims, &params, &cancel);
        let grid = GridIndex::build(&coords);
        for &n_new in &news {
            let (new, new_labels) = blobs.sample(n_new, 0.01, 2);
            let t = Instant::now();
            let placed = place_onto(
                rows,
                &graph,
                &coords,
                Rows::new(&new, dims).unwrap(),
                &params,
                &NoProgress,
                &cancel,
            )
            .unwrap();
            let total = t.elapsed().as_secs_f64();
            let recall = search_recall(rows, &graph, &new, dims, params.n_neighbors - 1);
            let graph_recall = reference_recall(rows, &graph);
            let (mut own, mut seen) = (0usize, 0usize);
            let (mut unseen, mut unseen_flagged, mut seen_flagged) = (0usize, 0usize, 0usize);
            for (i, c) in placed.coords.iter().enumerate() {
                let l = new_labels[i] as usize;
                if l >= CENTRES {
                    unseen += 1;
                    unseen_flagged += placed.ood[i] as usize;
                    continue;
                }
                seen += 1;
                seen_flagged += placed.ood[i] as usize;
                // Within 1 layout unit (a UMAP map spans ~20-40); none counts as a miss.
                if let Some(j) = grid.nearest(&coords, *c, 1.0, |_| true) {
                    own += (labels[j] as usize == l) as usize;
                }
            }
            println!(
                "{n_ref},{n_new},{dims},{:.2},{:.2},{:.2},{total:.2},{:.0},{recall:.3},{graph_recall:.3},{:.3},{}/{unseen},{}/{seen}",
                placed.index_s,
                placed.search_s,
                placed.optimize_s,
                n_new as f64 / total,
                own as f64 / seen.max(1) as f64,
                unseen_flagged,
                seen_flagged,
            );
        }
    }
}

/// The `k` nearest rows to `q` by brute force (cosine: unit rows), leaving out `skip`.
fn brute_force(rows: Rows<'_>, q: &[f32], k: usize, skip: Option<usize>) -> Vec<u32> {
    let mut d: Vec<(f32, u32)> = (0..rows.len())
        .filter(|&j| Some(j) != skip)
        .map(|j| {
            (
                -sample_atlas::neighbors::simd::dot(q, rows.row(j)),
                j as u32,
            )
        })
        .collect();
    d.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
    d[..k].iter().map(|e| e.1).collect()
}

/// Recall of REF's own kNN graph (NN-descent's, which the search walks) for 200 of its
/// points against brute force: the bound the data and the graph set for the search.
fn reference_recall(rows: Rows<'_>, graph: &KnnGraph) -> f64 {
    let probe = 200.min(rows.len());
    let step = rows.len() / probe;
    let mut hit = 0usize;
    for p in 0..probe {
        let i = p * step;
        let truth = brute_force(rows, rows.row(i), graph.k, Some(i));
        hit += graph
            .neighbors(i)
            .0
            .iter()
            .filter(|j| truth.contains(j))
            .count();
    }
    hit as f64 / (probe * graph.k) as f64
}

/// Recall of the search's `k` neighbours for 200 of the new points against brute force.
fn search_recall(rows: Rows<'_>, graph: &KnnGraph, new: &[f32], dims: usize, k: usize) -> f64 {
    let probe = &new[..200.min(new.len() / dims) * dims];
    let index = SearchIndex::new(rows, graph, Metric::Cosine, 42).unwrap();
    let found = index
        .query(
            Rows::new(probe, dims).unwrap(),
            k,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
    let mut hit = 0usize;
    for (i, q) in probe.chunks(dims).enumerate() {
        let truth = brute_force(rows, q, k, None);
        hit += found
            .neighbors(i)
            .0
            .iter()
            .filter(|j| truth.contains(j))
            .count();
    }
    hit as f64 / (found.n * k) as f64
}

/// The `npy` mode: REF and NEW from one blob file (see the module's doc).
fn from_npy(args: &[String]) {
    let path = std::path::Path::new(&args[0]);
    let n_ref: usize = args[1].parse().expect("REF_ROWS");
    let n_new: usize = args[2].parse().expect("NEW_ROWS");
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global()
        .expect("thread pool");
    let vectors = sample_atlas::embedding::vectors::read_npy(path).expect("a float .npy");
    let dims = vectors.dims;
    assert!(
        vectors.len() >= n_ref + n_new,
        "the file has {} rows",
        vectors.len()
    );
    let (cluster, kind) =
        labels(&path.with_file_name(
            path.file_stem().unwrap().to_string_lossy().to_string() + "_labels.npy",
        ));
    let mut data = vectors.data;
    l2_normalize_rows(&mut data, dims);
    let (ref_data, rest) = data.split_at(n_ref * dims);
    let new = &rest[..n_new * dims];
    let params = UmapParams::default();
    let cancel = CancelToken::new();
    let rows = Rows::new(ref_data, dims).unwrap();
    let (graph, coords) = reference(rows, n_ref, dims, &params, &cancel);
    let grid = GridIndex::build(&coords);
    let t = Instant::now();
    let placed = place_onto(
        rows,
        &graph,
        &coords,
        Rows::new(new, dims).unwrap(),
        &params,
        &NoProgress,
        &cancel,
    )
    .unwrap();
    let total = t.elapsed().as_secs_f64();
    let recall = search_recall(rows, &graph, new, dims, params.n_neighbors - 1);
    let graph_recall = reference_recall(rows, &graph);
    let (mut core, mut own) = (0usize, 0usize);
    for (i, c) in placed.coords.iter().enumerate() {
        let l = n_ref + i;
        if kind[l] != 0 {
            continue;
        }
        core += 1;
        if let Some(j) = grid.nearest(&coords, *c, 1.0, |_| true) {
            own += (cluster[j] == cluster[l]) as usize;
        }
    }
    let flagged = placed.ood.iter().filter(|&&o| o).count();
    println!(
        "ref_rows,new_rows,dims,index_s,search_s,optimize_s,total_s,new_per_s,recall,ref_graph_recall,own_cluster,flagged"
    );
    println!(
        "{n_ref},{n_new},{dims},{:.2},{:.2},{:.2},{total:.2},{:.0},{recall:.3},{graph_recall:.3},{:.3},{flagged}/{n_new}",
        placed.index_s,
        placed.search_s,
        placed.optimize_s,
        n_new as f64 / total,
        own as f64 / core.max(1) as f64,
    );
}

/// Columns 0 (cluster) and 3 (kind: 0 core, 1 bridge, 2 outlier) of a blob file's int32
/// `(n, 4)` labels.
fn labels(path: &std::path::Path) -> (Vec<i32>, Vec<i32>) {
    let bytes = std::fs::read(path).expect("the labels file beside the blobs");
    let header = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let body = &bytes[10 + header..];
    let v: Vec<i32> = body
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (
        v.chunks_exact(4).map(|r| r[0]).collect(),
        v.chunks_exact(4).map(|r| r[3]).collect(),
    )
}
