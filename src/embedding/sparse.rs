//! A small CSR sparse matrix and a randomised truncated SVD (Halko, Martinsson & Tropp 2011)
//! over it, dense parts on plain row-major `Vec<f32>`. Every reduction runs over fixed-size
//! row chunks summed in order, so results are bit-identical whatever the thread count.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::progress::CancelToken;
use crate::util::linalg::{dense_mul, gram, sym_eigen_desc};

/// Compressed sparse rows.
#[derive(Clone, Debug, Default)]
pub struct Csr {
    pub n_rows: usize,
    pub n_cols: usize,
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl Csr {
    /// Build from per-row (indices, values) pairs.
    pub fn from_rows(n_cols: usize, rows: Vec<(Vec<u32>, Vec<f32>)>) -> Csr {
        let nnz = rows.iter().map(|r| r.0.len()).sum();
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        let mut indices = Vec::with_capacity(nnz);
        let mut values = Vec::with_capacity(nnz);
        indptr.push(0);
        for (idx, val) in &rows {
            indices.extend_from_slice(idx);
            values.extend_from_slice(val);
            indptr.push(indices.len());
        }
        Csr {
            n_rows: rows.len(),
            n_cols,
            indptr,
            indices,
            values,
        }
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// The transpose, also in CSR form (column indices ascending within each row).
    pub fn transpose(&self) -> Csr {
        let mut counts = vec![0usize; self.n_cols + 1];
        for &c in &self.indices {
            counts[c as usize + 1] += 1;
        }
        for i in 0..self.n_cols {
            counts[i + 1] += counts[i];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for r in 0..self.n_rows {
            let (idx, val) = self.row(r);
            for (&c, &v) in idx.iter().zip(val) {
                let slot = next[c as usize];
                indices[slot] = r as u32;
                values[slot] = v;
                next[c as usize] += 1;
            }
        }
        Csr {
            n_rows: self.n_cols,
            n_cols: self.n_rows,
            indptr,
            indices,
            values,
        }
    }

    /// `self (n_rows × n_cols) · dense (n_cols × width)`, row-major result.
    pub fn mul_dense(&self, dense: &[f32], width: usize) -> Vec<f32> {
        debug_assert_eq!(dense.len(), self.n_cols * width);
        let mut out = vec![0f32; self.n_rows * width];
        if width == 0 {
            return out;
        }
        out.par_chunks_mut(width)
            .enumerate()
            .for_each(|(r, out_row)| {
                let (idx, val) = self.row(r);
                for (&c, &v) in idx.iter().zip(val) {
                    let d = &dense[c as usize * width..(c as usize + 1) * width];
                    for (o, &x) in out_row.iter_mut().zip(d) {
                        *o += v * x;
                    }
                }
            });
        out
    }
}

/// Replace the columns of `y` (rows × width) by an orthonormal basis of their span, dropping
/// directions with negligible energy. Returns the new width.
fn orthonormalize(y: &mut Vec<f32>, width: usize) -> usize {
    let mut width = width;
    // Two rounds: the second repairs the orthogonality the first loses in f32.
    for _ in 0..2 {
        let g = gram(y, width);
        let (values, vectors) = sym_eigen_desc(&g, width);
        let top = values.first().copied().unwrap_or(0.0);
        let keep = values
            .iter()
            .take_while(|&&v| v > top * 1e-9 && v > 0.0)
            .count();
        if keep == 0 {
            y.clear();
            return 0;
        }
        let mut m = vec![0f32; width * keep];
        for r in 0..width {
            for c in 0..keep {
                m[r * keep + c] = (vectors[r * width + c] / values[c].sqrt()) as f32;
            }
        }
        *y = dense_mul(y, width, &m, keep);
        width = keep;
    }
    width
}

/// Parameters of the randomised SVD.
#[derive(Clone, Debug)]
pub struct SvdParams {
    pub components: usize,
    pub oversample: usize,
    pub power_iters: usize,
    pub seed: u64,
}

/// Project the rows of `x` onto its top right singular vectors: returns `U·Σ` (n_rows ×
/// dims, row-major) and `dims` (≤ `components`, less when the matrix has lower rank).
/// `step` is called after each sparse product (there are `2 + 2·power_iters` of them).
pub fn truncated_svd(
    x: &Csr,
    params: &SvdParams,
    cancel: &CancelToken,
    step: &mut dyn FnMut(),
) -> Option<(Vec<f32>, usize)> {
    svd(x, params, cancel, step, false).map(|f| (f.rows, f.dims))
}

/// A truncated SVD with the map from features to components: `rows` (= U·S, `n_rows ×
/// dims`) and `basis` (= V, `n_cols × dims`), so that a new row `x` of the same features
/// projects to `x·V`, the coordinates its own row would have had (`X·V = U·S`).
pub struct SvdFit {
    pub rows: Vec<f32>,
    pub dims: usize,
    pub basis: Vec<f32>,
}

/// [`truncated_svd`], also returning the basis that projects new rows ([`SvdFit`]).
pub fn truncated_svd_fit(
    x: &Csr,
    params: &SvdParams,
    cancel: &CancelToken,
    step: &mut dyn FnMut(),
) -> Option<SvdFit> {
    svd(x, params, cancel, step, true)
}

fn svd(
    x: &Csr,
    params: &SvdParams,
    cancel: &CancelToken,
    step: &mut dyn FnMut(),
    want_basis: bool,
) -> Option<SvdFit> {
    let width = (params.components + params.oversample)
        .min(x.n_rows)
        .min(x.n_cols);
    if width == 0 {
        return Some(SvdFit {
            rows: Vec::new(),
            dims: 0,
            basis: Vec::new(),
        });
    }
    let mut rng = rand_pcg::Pcg64::seed_from_u64(params.seed);
    let omega: Vec<f32> = (0..x.n_cols * width)
        .map(|_| {
            let v: f32 = StandardNormal.sample(&mut rng);
            v
        })
        .collect();
    let xt = x.transpose();
    let mut q = x.mul_dense(&omega, width);
    drop(omega);
    step();
    let mut w = orthonormalize(&mut q, width);
    for _ in 0..params.power_iters {
        if cancel.is_cancelled() {
            return None;
        }
        if w == 0 {
            break;
        }
        let mut z = xt.mul_dense(&q, w);
        step();
        let wz = orthonormalize(&mut z, w);
        q = x.mul_dense(&z, wz);
        step();
        w = orthonormalize(&mut q, wz);
    }
    if cancel.is_cancelled() {
        return None;
    }
    if w == 0 {
        return Some(SvdFit {
            rows: vec![0.0; x.n_rows],
            dims: 1,
            basis: vec![0.0; x.n_cols],
        });
    }
    // B = Qᵀ X; B Bᵀ = Zᵀ Z with Z = Xᵀ Q. Its eigenvectors rotate Q onto the left singular
    // vectors; its eigenvalues are the squared singular values.
    let z = xt.mul_dense(&q, w);
    step();
    let s = gram(&z, w);
    let (values, vectors) = sym_eigen_desc(&s, w);
    let dims = params
        .components
        .min(values.iter().filter(|&&v| v > 0.0).count())
        .max(1);
    let mut m = vec![0f32; w * dims];
    for r in 0..w {
        for c in 0..dims {
            m[r * dims + c] = (vectors[r * w + c] * values[c].max(0.0).sqrt()) as f32;
        }
    }
    // V = Xᵀ·U·S⁻¹ = Z·E·S⁻¹ (components with no energy project to 0).
    let basis = if want_basis {
        let mut inv = vec![0f32; w * dims];
        for r in 0..w {
            for c in 0..dims {
                let s = values[c].max(0.0).sqrt();
                if s > 0.0 {
                    inv[r * dims + c] = (vectors[r * w + c] / s) as f32;
                }
            }
        }
        dense_mul(&z, w, &inv, dims)
    } else {
        Vec::new()
    };
    Some(SvdFit {
        rows: dense_mul(&q, w, &m, dims),
        dims,
        basis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_round_trips() {
        let x = Csr::from_rows(
            4,
            vec![
                (vec![0, 3], vec![1.0, 2.0]),
                (vec![], vec![]),
                (vec![1, 2, 3], vec![3.0, 4.0, 5.0]),
            ],
        );
        let t = x.transpose();
        assert_eq!(t.n_rows, 4);
        assert_eq!(t.row(3), (&[0u32, 2][..], &[2.0f32, 5.0][..]));
        let tt = t.transpose();
        assert_eq!(tt.indptr, x.indptr);
        assert_eq!(tt.indices, x.indices);
        assert_eq!(tt.values, x.values);
    }

    #[test]
    fn svd_recovers_a_low_rank_matrix() {
        // Rank-2 matrix: rows are combinations of two sparse patterns.
        let rows: Vec<(Vec<u32>, Vec<f32>)> = (0..200)
            .map(|i| {
                let a = (i % 7) as f32 + 1.0;
                let b = (i % 3) as f32;
                (vec![0, 1, 2, 3], vec![a, a + b, b, 2.0 * a])
            })
            .collect();
        let x = Csr::from_rows(4, rows);
        let params = SvdParams {
            components: 3,
            oversample: 1,
            power_iters: 2,
            seed: 7,
        };
        let (us, dims) = truncated_svd(&x, &params, &CancelToken::new(), &mut || {}).unwrap();
        assert_eq!(dims, 2, "rank 2 matrix gives 2 components");
        // Row norms are preserved by projecting onto the full row space.
        for i in 0..200 {
            let (_, v) = x.row(i);
            let n_x: f32 = v.iter().map(|a| a * a).sum();
            let n_u: f32 = us[i * dims..(i + 1) * dims].iter().map(|a| a * a).sum();
            assert!(
                (n_x - n_u).abs() < 1e-3 * n_x.max(1.0),
                "row {i}: {n_x} vs {n_u}"
            );
        }
    }
}
