//! A safe face for `matrixmultiply::sgemm`, the encoder's hot loop (measured: the GEMMs are
//! nearly all of a forward pass). The kernel takes raw pointers and strides; here every
//! matrix is a slice with its shape and strides, and the largest index each one addresses is
//! checked against its slice before the call, so no call can read or write out of bounds.
#![allow(unsafe_code)]

/// A matrix inside a slice: element (i, j) is `data[i * row_stride + j * col_stride]`.
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

/// A writable matrix inside a slice, element (i, j) at `data[i * row_stride + j]`.
pub struct MatMut<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
}

/// Whether every element of a `rows × cols` matrix with these strides lies in `len`.
fn fits(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|r| (cols - 1).checked_mul(cs).and_then(|c| r.checked_add(c)));
    last.is_some_and(|l| l < len && rs <= isize::MAX as usize && cs <= isize::MAX as usize)
}

/// `c = alpha · a · b + beta · c`. Panics (a bug of the caller, never of user data) when
/// the shapes disagree or a matrix does not fit its slice.
pub fn sgemm(alpha: f32, a: Mat, b: Mat, beta: f32, c: MatMut) {
    assert_eq!(a.cols, b.rows, "inner dimensions");
    assert_eq!((c.rows, c.cols), (a.rows, b.cols), "output shape");
    assert!(fits(
        a.data.len(),
        a.rows,
        a.cols,
        a.row_stride,
        a.col_stride
    ));
    assert!(fits(
        b.data.len(),
        b.rows,
        b.cols,
        b.row_stride,
        b.col_stride
    ));
    assert!(fits(c.data.len(), c.rows, c.cols, c.row_stride, 1));
    if c.rows == 0 || c.cols == 0 {
        return;
    }
    // SAFETY: every element the kernel addresses is inside its slice (checked above), `c`
    // is borrowed mutably so it aliases neither input, and strides fit in isize.
    unsafe {
        matrixmultiply::sgemm(
            a.rows,
            a.cols,
            b.cols,
            alpha,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            c.data.as_mut_ptr(),
            c.row_stride as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_product_matches_the_definition() {
        // a = 2×3 stored transposed (column stride 2), b = 3×2 row-major.
        let a_t = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut c = [10.0, 10.0, 10.0, 10.0];
        let a = Mat {
            data: &a_t,
            rows: 2,
            cols: 3,
            row_stride: 1,
            col_stride: 2,
        };
        let bm = Mat {
            data: &b,
            rows: 3,
            cols: 2,
            row_stride: 2,
            col_stride: 1,
        };
        sgemm(
            1.0,
            a,
            bm,
            1.0,
            MatMut {
                data: &mut c,
                rows: 2,
                cols: 2,
                row_stride: 2,
            },
        );
        // a = [[1,2,3],[4,5,6]]; a·b = [[4,5],[10,11]]; plus the old c.
        assert_eq!(c, [14.0, 15.0, 20.0, 21.0]);
    }

    #[test]
    #[should_panic]
    fn a_matrix_past_its_slice_is_refused() {
        let a = [1.0; 5];
        let mut c = [0.0; 4];
        let m = Mat {
            data: &a,
            rows: 2,
            cols: 3,
            row_stride: 3,
            col_stride: 1,
        };
        let b = Mat {
            data: &a,
            rows: 3,
            cols: 2,
            row_stride: 2,
            col_stride: 1,
        };
        sgemm(
            1.0,
            m,
            b,
            0.0,
            MatMut {
                data: &mut c,
                rows: 2,
                cols: 2,
                row_stride: 2,
            },
        );
    }
}
