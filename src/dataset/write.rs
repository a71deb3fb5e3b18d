//! Writing the map: every input column plus `x`, `y` (f32), as Parquet, atomically.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::util::atomic::AtomicError;

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
    #[error("{path}: could not write {format}: {detail}")]
    Encode {
        path: PathBuf,
        format: &'static str,
        detail: String,
    },
    #[error("{path}: unknown output format (use .parquet, .csv or .jsonl)")]
    Format { path: PathBuf },
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
    inputs: &[PathBuf],
    out: &Path,
) -> Result<(String, String), WriteError> {
    let dest = Destination {
        inputs,
        out,
        format: TableFormat::Parquet,
    };
    write_with_coords(frame, None, coords, &dest)
}

/// Write every column of `frame` plus the row-major `dims`-wide vectors as a list column
/// (`embedding` unless the input has one) to `out` (Parquet), atomically; never over the
/// input. Returns the vector column's name.
pub fn write_vectors_parquet(
    frame: &DataFrame,
    vectors: &[f32],
    dims: usize,
    inputs: &[PathBuf],
    out: &Path,
) -> Result<String, WriteError> {
    if dims == 0 || frame.height() * dims != vectors.len() {
        return Err(WriteError::Length {
            coords: vectors.len().checked_div(dims).unwrap_or(0),
            rows: frame.height(),
        });
    }
    refuse_input(inputs, out)?;
    let encode = |e: PolarsError| WriteError::Encode {
        path: out.to_path_buf(),
        format: "Parquet",
        detail: e.to_string(),
    };
    let mut name = "embedding".to_string();
    while frame.column(&name).is_ok() {
        name.insert_str(0, "atlas_");
    }
    let flat = Series::new(name.as_str().into(), vectors);
    let list = flat
        .reshape_list(&[ReshapeDimension::Infer, ReshapeDimension::new(dims as i64)])
        .map_err(encode)?;
    let mut df = frame.clone();
    df.with_column(list.into_column()).map_err(encode)?;
    write_frame(&mut df, TableFormat::Parquet, out)?;
    Ok(name)
}

/// Refuse to write over any of the input files.
fn refuse_input(inputs: &[PathBuf], out: &Path) -> Result<(), WriteError> {
    let same = |input: &PathBuf| matches!((input.canonicalize(), out.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if inputs.iter().any(same) {
        return Err(WriteError::WouldOverwriteInput {
            path: out.to_path_buf(),
        });
    }
    Ok(())
}

/// Write `df` to `out` as `format`, atomically.
fn write_frame(df: &mut DataFrame, format: TableFormat, out: &Path) -> Result<(), WriteError> {
    crate::util::atomic::write_with(out, |file| match format {
        TableFormat::Parquet => ParquetWriter::new(file).finish(df).map(|_| ()),
        TableFormat::Csv => CsvWriter::new(file).finish(df),
        TableFormat::JsonLines => JsonWriter::new(file)
            .with_json_format(JsonFormat::JsonLines)
            .finish(df),
    })
    .map_err(|e| match e {
        AtomicError::Io(source) => WriteError::Io {
            path: out.to_path_buf(),
            source,
        },
        AtomicError::Write(e) => WriteError::Encode {
            path: out.to_path_buf(),
            format: format.name(),
            detail: e.to_string(),
        },
    })
}

/// Where a table goes: the output file, its format, and the input it must never replace.
#[derive(Clone, Copy)]
struct Destination<'a> {
    inputs: &'a [PathBuf],
    out: &'a Path,
    format: TableFormat,
}

/// Table formats an export can be written in, chosen by the file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    Parquet,
    Csv,
    JsonLines,
}

impl TableFormat {
    pub fn from_path(path: &Path) -> Option<TableFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" => Some(TableFormat::Parquet),
            "csv" => Some(TableFormat::Csv),
            "jsonl" | "ndjson" | "json" => Some(TableFormat::JsonLines),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TableFormat::Parquet => "Parquet",
            TableFormat::Csv => "CSV",
            TableFormat::JsonLines => "JSON Lines",
        }
    }
}

/// Write the rows `rows` of `frame` with their coordinates (`x`, `y` unless taken) to `out`,
/// in the format its extension names, through a temporary file renamed into place.
pub fn write_rows(
    frame: &DataFrame,
    rows: &[u32],
    coords: &[[f32; 2]],
    inputs: &[PathBuf],
    out: &Path,
) -> Result<usize, WriteError> {
    let format = TableFormat::from_path(out).ok_or_else(|| WriteError::Format {
        path: out.to_path_buf(),
    })?;
    let dest = Destination {
        inputs,
        out,
        format,
    };
    write_with_coords(frame, Some(rows), coords, &dest).map(|_| rows.len())
}

/// `frame` (only `rows` when given) plus coordinate columns, written as `format` through a
/// temporary file in the output's directory, renamed into place; never over the input.
fn write_with_coords(
    frame: &DataFrame,
    rows: Option<&[u32]>,
    coords: &[[f32; 2]],
    dest: &Destination<'_>,
) -> Result<(String, String), WriteError> {
    let Destination {
        inputs,
        out,
        format,
    } = *dest;
    if frame.height() != coords.len() {
        return Err(WriteError::Length {
            coords: coords.len(),
            rows: frame.height(),
        });
    }
    refuse_input(inputs, out)?;
    let encode = |e: PolarsError| WriteError::Encode {
        path: out.to_path_buf(),
        format: format.name(),
        detail: e.to_string(),
    };
    let (mut df, xs, ys): (DataFrame, Vec<f32>, Vec<f32>) = match rows {
        Some(rows) => {
            let idx = IdxCa::from_vec("rows".into(), rows.iter().map(|&r| r as IdxSize).collect());
            (
                frame.take(&idx).map_err(encode)?,
                rows.iter().map(|&r| coords[r as usize][0]).collect(),
                rows.iter().map(|&r| coords[r as usize][1]).collect(),
            )
        }
        None => (
            frame.clone(),
            coords.iter().map(|c| c[0]).collect(),
            coords.iter().map(|c| c[1]).collect(),
        ),
    };
    let (xn, yn) = coordinate_names(frame);
    df.with_column(Column::new(xn.as_str().into(), xs))
        .map_err(encode)?;
    df.with_column(Column::new(yn.as_str().into(), ys))
        .map_err(encode)?;
    write_frame(&mut df, format, out)?;
    Ok((xn, yn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_written_in_each_format_with_their_coordinates() {
        let dir = tempfile::tempdir().unwrap();
        let frame = df!("text" => ["a", "b", "c", "d"], "x" => [1i64, 2, 3, 4]).unwrap();
        let coords = [[0.5, 1.5], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]];
        let input = dir.path().join("in.jsonl");
        for name in ["sel.parquet", "sel.csv", "sel.jsonl"] {
            let out = dir.path().join(name);
            assert_eq!(
                write_rows(&frame, &[1, 3], &coords, std::slice::from_ref(&input), &out).unwrap(),
                2
            );
            let options = crate::dataset::LoadOptions {
                text_column: Some("text".into()),
                ..Default::default()
            };
            let cancel = crate::progress::CancelToken::new();
            let back = crate::dataset::load(&out, &options, &crate::progress::NoProgress, &cancel)
                .unwrap()
                .frame;
            assert_eq!(back.height(), 2, "{name}");
            let t = back.column("text").unwrap().str().unwrap();
            assert_eq!((t.get(0), t.get(1)), (Some("b"), Some("d")), "{name}");
            // `x` is taken by the input, so the coordinates are atlas_x / atlas_y.
            let ay = back
                .column("atlas_y")
                .unwrap()
                .cast(&DataType::Float64)
                .unwrap();
            assert_eq!(ay.f64().unwrap().get(1), Some(7.0), "{name}");
        }
        let err = write_rows(
            &frame,
            &[0],
            &coords,
            std::slice::from_ref(&input),
            &dir.path().join("a.txt"),
        )
        .unwrap_err();
        assert!(matches!(err, WriteError::Format { .. }));
        // Only the three outputs: no temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }
}
