//! Vectors the user brings: a `.npy` matrix (float32 or float64, row i = sample i) or a list
//! column of floats in the table.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::Embeddings;
use crate::util::npy::{self, NpyHeader};

#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a .npy file: {detail}")]
    Format { path: PathBuf, detail: String },
    #[error("{origin}: row {row} has a NaN or infinite value (column {col})")]
    NonFinite {
        origin: String,
        row: usize,
        col: usize,
    },
    #[error("{origin}: row {row} has {got} values where row 1 has {expected}")]
    Ragged {
        origin: String,
        row: usize,
        got: usize,
        expected: usize,
    },
    #[error("{origin}: row {row} has no vector")]
    Missing { origin: String, row: usize },
    #[error("{origin}: column '{column}' holds {dtype}, not a list of numbers")]
    NotVectors {
        origin: String,
        column: String,
        dtype: String,
    },
    #[error("{vectors} has {vector_rows} rows but {data} has {data_rows}")]
    Length {
        vectors: String,
        vector_rows: usize,
        data: String,
        data_rows: usize,
    },
}

fn format_err(path: &Path, detail: impl Into<String>) -> VectorError {
    VectorError::Format {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Parse the header of a `.npy` file (see [`npy::parse_header`]), naming the file on error.
fn npy_header(path: &Path, bytes: &[u8]) -> Result<NpyHeader, VectorError> {
    npy::parse_header(bytes).map_err(|e| format_err(path, e.0))
}

/// Read a `.npy` matrix as row-major f32, checking that every value is finite.
pub fn read_npy(path: &Path) -> Result<Embeddings, VectorError> {
    use std::io::Read;
    let io = |source| VectorError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Streamed: the header, then the body converted in 1 MB pieces straight into the
    // matrix, so memory holds the matrix once (reading the whole file first held it twice).
    let mut file = std::fs::File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len() as usize;
    let mut head = Vec::with_capacity(12);
    (&mut file).take(12).read_to_end(&mut head).map_err(io)?;
    let header_end = match head.get(6) {
        Some(1) if head.len() >= 10 => 10 + u16::from_le_bytes([head[8], head[9]]) as usize,
        Some(2 | 3) if head.len() >= 12 => {
            12 + u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize
        }
        _ => head.len(),
    };
    if header_end > head.len() {
        let more = (header_end - head.len()) as u64;
        let mut rest = Vec::new();
        (&mut file).take(more).read_to_end(&mut rest).map_err(io)?;
        head.extend(rest);
    }
    let h = npy_header(path, &head)?;
    let width = if h.f64 { 8 } else { 4 };
    let expected = h.rows * h.cols * width;
    let body_len = file_len.saturating_sub(h.data_offset);
    if body_len < expected {
        return Err(format_err(
            path,
            format!(
                "truncated: shape ({}, {}) needs {expected} bytes of data, the file has {body_len}",
                h.rows, h.cols,
            ),
        ));
    }
    // Position at the body (a version-1 header may have been read past by the 12 bytes).
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(h.data_offset as u64))
        .map_err(io)?;
    let mut values: Vec<f32> = Vec::with_capacity(h.rows * h.cols);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = expected;
    while left > 0 {
        let piece = &mut buf[..left.min(1 << 20)];
        file.read_exact(piece).map_err(io)?;
        if h.f64 {
            values.extend(
                piece
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32),
            );
        } else {
            values.extend(
                piece
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))),
            );
        }
        left -= piece.len();
    }
    let data = if h.fortran_order {
        let mut t = vec![0f32; values.len()];
        for c in 0..h.cols {
            for r in 0..h.rows {
                t[r * h.cols + c] = values[c * h.rows + r];
            }
        }
        t
    } else {
        values
    };
    check_finite(&data, h.cols, &path.display().to_string())?;
    Ok(Embeddings {
        dims: h.cols,
        data,
        warnings: Vec::new(),
    })
}

fn check_finite(data: &[f32], dims: usize, origin: &str) -> Result<(), VectorError> {
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(VectorError::NonFinite {
            origin: origin.to_string(),
            row: i / dims + 1,
            col: i % dims + 1,
        });
    }
    Ok(())
}

/// Vectors from a list (or array) column of numbers. `origin` names the file in messages;
/// `locate` names a row (line or row number).
pub fn column_vectors(
    frame: &DataFrame,
    column: &str,
    origin: &str,
    locate: &dyn Fn(usize) -> String,
) -> Result<Embeddings, VectorError> {
    let not_vectors = |dtype: &DataType| VectorError::NotVectors {
        origin: origin.to_string(),
        column: column.to_string(),
        dtype: dtype.to_string(),
    };
    let col = frame.column(column).map_err(|_| VectorError::NotVectors {
        origin: origin.to_string(),
        column: column.to_string(),
        dtype: "nothing (no such column)".into(),
    })?;
    let dtype = col.dtype().clone();
    let inner_ok = |inner: &DataType| inner.is_primitive_numeric();
    let list = match &dtype {
        DataType::List(inner) if inner_ok(inner) => col
            .cast(&DataType::List(Box::new(DataType::Float32)))
            .map_err(|_| not_vectors(&dtype))?,
        DataType::Array(inner, _) if inner_ok(inner) => col
            .cast(&DataType::List(Box::new(DataType::Float32)))
            .map_err(|_| not_vectors(&dtype))?,
        _ => return Err(not_vectors(&dtype)),
    };
    let list = list.list().map_err(|_| not_vectors(&dtype))?;
    let mut data = Vec::new();
    let mut dims = 0;
    for (row, value) in list.amortized_iter().enumerate() {
        let Some(series) = value else {
            return Err(VectorError::Missing {
                origin: format!("{origin}: {}", locate(row)),
                row: row + 1,
            });
        };
        let values = series.as_ref().f32().map_err(|_| not_vectors(&dtype))?;
        if row == 0 {
            dims = values.len();
            if dims == 0 {
                return Err(VectorError::Missing {
                    origin: format!("{origin}: {}", locate(row)),
                    row: 1,
                });
            }
        } else if values.len() != dims {
            return Err(VectorError::Ragged {
                origin: format!("{origin}: {}, column '{column}'", locate(row)),
                row: row + 1,
                got: values.len(),
                expected: dims,
            });
        }
        for (c, v) in values.iter().enumerate() {
            match v {
                Some(v) if v.is_finite() => data.push(v),
                _ => {
                    return Err(VectorError::NonFinite {
                        origin: format!("{origin}: {}, column '{column}'", locate(row)),
                        row: row + 1,
                        col: c + 1,
                    });
                }
            }
        }
    }
    Ok(Embeddings {
        dims,
        data,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::npy::npy_bytes;

    #[test]
    fn npy_round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.npy");
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        std::fs::write(&p, npy_bytes(&data, 4, 3)).unwrap();
        let e = read_npy(&p).unwrap();
        assert_eq!((e.len(), e.dims), (4, 3));
        assert_eq!(e.data, data);

        let mut bytes = npy_bytes(&data, 4, 3);
        bytes.truncate(bytes.len() - 5);
        std::fs::write(&p, &bytes).unwrap();
        let err = read_npy(&p).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");

        let mut nan = data.clone();
        nan[7] = f32::NAN;
        std::fs::write(&p, npy_bytes(&nan, 4, 3)).unwrap();
        let err = read_npy(&p).unwrap_err().to_string();
        assert!(
            err.contains("row 3 has a NaN or infinite value (column 2)"),
            "{err}"
        );

        let mut bytes = npy_bytes(&data, 12, 1);
        let text = String::from_utf8_lossy(&bytes[10..80]).replace("(12, 1)", "(12,)  ");
        bytes[10..80].copy_from_slice(text.as_bytes());
        std::fs::write(&p, &bytes).unwrap();
        let err = read_npy(&p).unwrap_err().to_string();
        assert!(err.contains("expected a 2-D matrix"), "{err}");

        // A body longer than the reader's 1 MB pieces, as float32 and as float64, and in
        // Fortran (column-major) order.
        let big: Vec<f32> = (0..300_001 * 2).map(|i| (i % 977) as f32 * 0.25).collect();
        std::fs::write(&p, npy_bytes(&big, 300_001, 2)).unwrap();
        assert_eq!(read_npy(&p).unwrap().data, big);
        let f32_file = npy_bytes(&big, 300_001, 2);
        let body_at = f32_file.len() - big.len() * 4;
        let swap = |from: &[u8], to: &[u8]| {
            let mut h = f32_file[..body_at].to_vec();
            let at = h.windows(from.len()).position(|w| w == from).unwrap();
            h[at..at + from.len()].copy_from_slice(to);
            h
        };
        let mut f64_file = swap(b"<f4", b"<f8");
        f64_file.extend(big.iter().flat_map(|&v| (v as f64).to_le_bytes()));
        std::fs::write(&p, &f64_file).unwrap();
        assert_eq!(read_npy(&p).unwrap().data, big);
        let mut fortran = swap(b"'fortran_order': False", b"'fortran_order': True ");
        for c in 0..2 {
            for r in 0..300_001 {
                fortran.extend(big[r * 2 + c].to_le_bytes());
            }
        }
        std::fs::write(&p, &fortran).unwrap();
        assert_eq!(read_npy(&p).unwrap().data, big);

        std::fs::write(&p, b"hello").unwrap();
        assert!(
            read_npy(&p)
                .unwrap_err()
                .to_string()
                .contains("not a .npy file")
        );
    }
}
