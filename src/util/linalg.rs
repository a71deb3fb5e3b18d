//! Dense linear algebra shared by the lexical embedder's SVD, the kNN search and UMAP's PCA
//! initialisation: row normalisation, a matrix product, a Gram matrix and a symmetric
//! eigen-decomposition (nalgebra's).

use nalgebra::{DMatrix, SymmetricEigen};
use rayon::prelude::*;

/// Rows per chunk of the Gram product (each chunk's partial sum is computed on one thread).
const CHUNK_ROWS: usize = 1024;

/// Scale each row to unit length (rows of zeros stay zero).
pub fn l2_normalize_rows(data: &mut [f32], dims: usize) {
    if dims == 0 {
        return;
    }
    data.par_chunks_mut(dims).for_each(|row| {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    });
}

/// `a (rows × inner) · b (inner × cols)`, both row-major.
pub fn dense_mul(a: &[f32], inner: usize, b: &[f32], cols: usize) -> Vec<f32> {
    let rows = a.len().checked_div(inner).unwrap_or(0);
    let mut out = vec![0f32; rows * cols];
    if cols == 0 || inner == 0 {
        return out;
    }
    out.par_chunks_mut(cols).enumerate().for_each(|(r, o)| {
        let arow = &a[r * inner..(r + 1) * inner];
        for (k, &x) in arow.iter().enumerate() {
            if x != 0.0 {
                for (oo, &bb) in o.iter_mut().zip(&b[k * cols..(k + 1) * cols]) {
                    *oo += x * bb;
                }
            }
        }
    });
    out
}

/// `yᵀ y` for row-major `y` (rows × width), in f64, deterministic.
pub fn gram(y: &[f32], width: usize) -> Vec<f64> {
    if width == 0 {
        return Vec::new();
    }
    // Per chunk of rows, Cᵀ·C by a blocked f64 matrix product (nalgebra's, through
    // matrixmultiply, single-threaded, so its sums do not depend on the thread count);
    // chunks summed in order.
    let partials: Vec<Vec<f64>> = y
        .par_chunks(CHUNK_ROWS * width)
        .map(|chunk| {
            let rows = chunk.len() / width;
            let c = nalgebra::DMatrix::<f64>::from_iterator(
                width,
                rows,
                chunk.iter().map(|&v| v as f64),
            );
            // c is the chunk's transpose (width × rows); c·cᵀ is nalgebra's blocked product.
            let g = &c * c.transpose();
            g.as_slice().to_vec()
        })
        .collect();
    let mut g = vec![0f64; width * width];
    for p in partials {
        for (a, b) in g.iter_mut().zip(p) {
            *a += b;
        }
    }
    // Exactly symmetric (the product's two triangles may differ in the last bits).
    for i in 0..width {
        for j in 0..i {
            g[i * width + j] = g[j * width + i];
        }
    }
    g
}

/// Eigen-decomposition of a symmetric `width × width` matrix, eigenvalues descending.
/// Returns (eigenvalues, eigenvectors as columns of a row-major matrix).
pub fn sym_eigen_desc(g: &[f64], width: usize) -> (Vec<f64>, Vec<f64>) {
    let m = DMatrix::from_row_slice(width, width, g);
    let eig = SymmetricEigen::new(m);
    let mut order: Vec<usize> = (0..width).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let values = order.iter().map(|&i| eig.eigenvalues[i]).collect();
    let mut vectors = vec![0f64; width * width];
    for (new_col, &old_col) in order.iter().enumerate() {
        for r in 0..width {
            vectors[r * width + new_col] = eig.eigenvectors[(r, old_col)];
        }
    }
    (values, vectors)
}

/// A row-major matrix borrowed as `len()` rows of `dims()` values each: the shape is checked
/// once, where the view is made.
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a> {
    data: &'a [f32],
    dims: usize,
}

/// `data` does not split into rows of `dims` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{values} values do not form rows of {dims}")]
pub struct ShapeError {
    pub values: usize,
    pub dims: usize,
}

impl<'a> Rows<'a> {
    /// View `data` as rows of `dims` values (`dims` > 0, `data.len()` a multiple of it).
    pub fn new(data: &'a [f32], dims: usize) -> Result<Rows<'a>, ShapeError> {
        if dims == 0 || !data.len().is_multiple_of(dims) {
            return Err(ShapeError {
                values: data.len(),
                dims,
            });
        }
        Ok(Rows { data, dims })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len() / self.dims
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// All values, row-major.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.dims..(i + 1) * self.dims]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_check_their_shape() {
        let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let r = Rows::new(&data, 3).unwrap();
        assert_eq!(
            (r.len(), r.dims(), r.row(1)),
            (2, 3, &[4.0f32, 5.0, 6.0][..])
        );
        assert_eq!(
            Rows::new(&data, 4).unwrap_err().to_string(),
            "6 values do not form rows of 4"
        );
        assert!(Rows::new(&data, 0).is_err());
    }

    #[test]
    fn gram_and_eigen_agree_with_hand_computation() {
        // y = [[1, 2], [3, 4]]: yᵀy = [[10, 14], [14, 20]].
        let g = gram(&[1.0, 2.0, 3.0, 4.0], 2);
        assert_eq!(g, vec![10.0, 14.0, 14.0, 20.0]);
        let (values, _) = sym_eigen_desc(&g, 2);
        // Eigenvalues of [[10, 14], [14, 20]]: 15 ± sqrt(221).
        assert!((values[0] - (15.0 + 221f64.sqrt())).abs() < 1e-9);
        assert!((values[1] - (15.0 - 221f64.sqrt())).abs() < 1e-9);
        let mut unit = vec![3.0, 4.0, 0.0, 0.0];
        l2_normalize_rows(&mut unit, 2);
        assert_eq!(unit, vec![0.6, 0.8, 0.0, 0.0]);
    }
}
