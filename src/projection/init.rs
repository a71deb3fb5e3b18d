//! Seeded initial layouts: the top two principal components of the input vectors, scaled
//! like umap-learn's spectral initialisation (largest coordinate 10) plus a little seeded
//! noise so that duplicate points can separate.

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

use crate::util::linalg::{gram, sym_eigen_desc};

const NOISE_SCALE: f32 = 1e-4;
/// The covariance is estimated from at most about this many rows (evenly spaced): plenty for
/// two principal axes (an initialisation, which the epochs then refine), and it keeps the
/// init to a fraction of a second and one small copy at any size.
const COVARIANCE_ROWS: usize = 25_000;

/// PCA initialisation of `data` (row-major `n × dims`) in 2-D.
pub fn pca_init(data: &[f32], dims: usize, seed: u64) -> Vec<[f32; 2]> {
    let n = data.len().checked_div(dims).unwrap_or(0);
    let mut coords = vec![[0f32; 2]; n];
    if n > 1 && dims > 0 {
        // Column means, summed in fixed chunks for determinism.
        let partial: Vec<Vec<f64>> = data
            .par_chunks(1024 * dims)
            .map(|chunk| {
                let mut s = vec![0f64; dims];
                for row in chunk.chunks_exact(dims) {
                    for (a, &v) in s.iter_mut().zip(row) {
                        *a += v as f64;
                    }
                }
                s
            })
            .collect();
        let mut mean = vec![0f64; dims];
        for p in partial {
            for (m, v) in mean.iter_mut().zip(p) {
                *m += v;
            }
        }
        let mean: Vec<f32> = mean.iter().map(|m| (m / n as f64) as f32).collect();
        // Centred copy of every `stride`-th row (all rows up to COVARIANCE_ROWS); the full
        // matrix is never copied.
        let stride = n.div_ceil(COVARIANCE_ROWS).max(1);
        let centered: Vec<f32> = data
            .par_chunks(dims)
            .step_by(stride)
            .flat_map_iter(|row| row.iter().zip(&mean).map(|(v, m)| v - m))
            .collect();
        let cov = gram(&centered, dims);
        drop(centered);
        let (values, vectors) = sym_eigen_desc(&cov, dims);
        let comps = values.iter().take(2).filter(|&&v| v > 1e-12).count();
        coords.par_iter_mut().enumerate().for_each(|(i, c)| {
            let row = &data[i * dims..(i + 1) * dims];
            for (axis, slot) in c.iter_mut().enumerate().take(comps) {
                *slot = row
                    .iter()
                    .zip(&mean)
                    .enumerate()
                    .map(|(r, (&v, &m))| (v - m) as f64 * vectors[r * dims + axis])
                    .sum::<f64>() as f32;
            }
        });
        let max_abs = coords
            .iter()
            .flat_map(|c| c.iter())
            .fold(0f32, |m, v| m.max(v.abs()));
        if max_abs > 0.0 {
            let scale = 10.0 / max_abs;
            coords
                .iter_mut()
                .for_each(|c| c.iter_mut().for_each(|v| *v *= scale));
        }
    }
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed ^ 0x1417);
    let noise = Normal::new(0.0f32, NOISE_SCALE).expect("valid normal");
    for c in coords.iter_mut() {
        c[0] += noise.sample(&mut rng);
        c[1] += noise.sample(&mut rng);
    }
    coords
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_axis_follows_the_largest_spread() {
        // Points spread along (1, 1, 0) with small noise on the third axis.
        let data: Vec<f32> = (0..50)
            .flat_map(|i| {
                let t = i as f32 - 25.0;
                [t, t, 0.01 * ((i * 7) % 3) as f32]
            })
            .collect();
        let c = pca_init(&data, 3, 1);
        let max0 = c.iter().map(|p| p[0].abs()).fold(0.0, f32::max);
        assert!((max0 - 10.0).abs() < 1e-2);
        let max1 = c.iter().map(|p| p[1].abs()).fold(0.0, f32::max);
        assert!(max1 < 0.1, "second axis carries only noise: {max1}");
        assert_eq!(c, pca_init(&data, 3, 1), "same seed, same layout");
    }
}
