//! Seeded test fixtures shared by the unit tests of several modules (compiled only for tests).

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// `clusters` Gaussian blobs in `dims` dimensions, L2-normalised, seeded.
pub fn blobs(n: usize, dims: usize, clusters: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let unit = Normal::new(0.0f32, 1.0).unwrap();
    let centers: Vec<Vec<f32>> = (0..clusters)
        .map(|_| (0..dims).map(|_| unit.sample(&mut rng)).collect())
        .collect();
    let mut data = Vec::with_capacity(n * dims);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % clusters;
        labels.push(c);
        let spread = 0.35 + 0.1 * (c % 3) as f32;
        data.extend(
            centers[c]
                .iter()
                .map(|&m| m + spread * unit.sample(&mut rng)),
        );
    }
    crate::util::linalg::l2_normalize_rows(&mut data, dims);
    (data, labels)
}

/// A sample set loaded from JSON lines `body` (written to a temporary `run.jsonl`, default
/// options); the directory is returned so that it outlives the samples.
pub fn samples_from_jsonl(body: &str) -> (tempfile::TempDir, crate::dataset::Samples) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    std::fs::write(&path, body).unwrap();
    let s = crate::dataset::load(
        &path,
        &crate::dataset::LoadOptions::default(),
        &crate::progress::NoProgress,
        &crate::progress::CancelToken::new(),
    )
    .unwrap();
    (dir, s)
}
