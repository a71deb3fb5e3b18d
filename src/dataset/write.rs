//! Writing the map: every input column plus `x`, `y` (f32), as Parquet, atomically.

use std::path::{Path, PathBuf};

use polars::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path}: refusing to overwrite the input file")]
    WouldOverwriteInput { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: could not write Parquet: {detail}")]
    Parquet { path: PathBuf, detail: String },
    #[error("{coords} coordinates for {rows} rows")]
    Length { coords: usize, rows: usize },
}

/// Names for the coordinate columns that do not clash with `frame`'s columns.
pub fn coordinate_names(frame: &DataFrame) -> (String, String) {
    let taken = |n: &str| frame.column(n).is_ok();
    let mut prefix = String::new();
    loop {
        let (x, y) = (format!("{prefix}x"), format!("{prefix}y"));
        if !taken(&x) && !taken(&y) {
            return (x, y);
        }
        prefix.push_str("atlas_");
    }
}

/// Write `frame` plus the coordinates to `out` (Parquet) through a temporary file in the same
/// directory, renamed into place. Returns the names used for the coordinate columns.
pub fn write_map_parquet(
    frame: &DataFrame,
    coords: &[[f32; 2]],
    input: &Path,
    out: &Path,
) -> Result<(String, String), WriteError> {
    if frame.height() != coords.len() {
        return Err(WriteError::Length {
            coords: coords.len(),
            rows: frame.height(),
        });
    }
    if let (Ok(a), Ok(b)) = (input.canonicalize(), out.canonicalize())
        && a == b
    {
        return Err(WriteError::WouldOverwriteInput {
            path: out.to_path_buf(),
        });
    }
    let (xn, yn) = coordinate_names(frame);
    let mut df = frame.clone();
    let xs: Vec<f32> = coords.iter().map(|c| c[0]).collect();
    let ys: Vec<f32> = coords.iter().map(|c| c[1]).collect();
    let parquet_err = |e: PolarsError| WriteError::Parquet {
        path: out.to_path_buf(),
        detail: e.to_string(),
    };
    df.with_column(Column::new(xn.as_str().into(), xs))
        .map_err(parquet_err)?;
    df.with_column(Column::new(yn.as_str().into(), ys))
        .map_err(parquet_err)?;
    let io_err = |source| WriteError::Io {
        path: out.to_path_buf(),
        source,
    };
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".sample-atlas-")
        .suffix(".parquet.tmp")
        .tempfile_in(&dir)
        .map_err(io_err)?;
    ParquetWriter::new(tmp.as_file_mut())
        .finish(&mut df)
        .map_err(parquet_err)?;
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(out).map_err(|e| io_err(e.error))?;
    Ok((xn, yn))
}
