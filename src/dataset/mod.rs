//! Loading a sample set (JSONL, CSV, Parquet via polars), choosing the text column, and
//! describing every other column as metadata the map can colour and filter by.
//!
//! Bad rows (malformed JSON, ragged CSV records, invalid UTF-8) are skipped with a warning
//! naming the line; the load fails only when nothing usable remains.

mod columns;
mod read;
mod write;

use std::path::{Path, PathBuf};

use polars::prelude::{AnyValue, DataFrame, DataType};

pub use columns::MISSING_CODE;
pub use columns::{ColumnInfo, ColumnKind, detect_text_column};
pub use read::Format;
pub use write::{
    TableFormat, WriteError, coordinate_names, write_map_parquet, write_rows, write_vectors_parquet,
};

use crate::progress::{CancelToken, Progress};

/// Errors while loading a sample set. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: unknown file type (expected .jsonl, .ndjson, .json, .csv or .parquet)")]
    UnknownFormat { path: PathBuf },
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: no usable rows ({reason})")]
    NoUsableRows { path: PathBuf, reason: String },
    #[error("{path}: could not read {format}: {detail}")]
    Parse {
        path: PathBuf,
        format: &'static str,
        detail: String,
    },
    #[error("{path}: no column named '{column}' (columns: {available})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error(
        "{path}: column '{column}' holds {dtype}, not text; the text column must hold strings or chat messages (columns: {available})"
    )]
    NotText {
        path: PathBuf,
        column: String,
        dtype: String,
        available: String,
    },
    #[error("{path}: no text column found (columns: {available}); name the text column")]
    NoTextColumn { path: PathBuf, available: String },
    #[error("loading cancelled")]
    Cancelled,
}

/// How to load a file.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The column holding the text to embed; detected when `None`.
    pub text_column: Option<String>,
}

/// How a row's position in the source file is named in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowLocator {
    /// Line numbers (JSONL lines, CSV record start lines), 1-based.
    Line,
    /// Row numbers (Parquet), 1-based.
    Row,
}

/// A loaded sample set: the table as read, the text of each row, and column descriptions.
/// Cloning is cheap for the table and texts (shared), so a copy can gain a column.
#[derive(Clone)]
pub struct Samples {
    pub path: PathBuf,
    pub format: Format,
    /// Every input column, as loaded (bad rows removed).
    pub frame: DataFrame,
    /// Name of the column the text comes from.
    pub text_column: String,
    /// Whether the text column was detected (not named by the user).
    pub text_column_detected: bool,
    /// Whether the text column holds chat messages (flattened into `texts`).
    pub text_is_chat: bool,
    /// The text of each row (chat transcripts flattened to `role: content` lines).
    pub texts: std::sync::Arc<Vec<String>>,
    /// One entry per column of `frame`, in order.
    pub columns: Vec<ColumnInfo>,
    /// Source line (or row) number of each row, 1-based.
    pub source_index: Vec<u64>,
    pub locator: RowLocator,
    /// Problems that did not stop the load (skipped rows, missing values, ...).
    pub warnings: Vec<String>,
}

impl Samples {
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// "line 17" / "row 17" for row `row` (0-based position in the table).
    pub fn locate(&self, row: usize) -> String {
        let n = self
            .source_index
            .get(row)
            .copied()
            .unwrap_or(row as u64 + 1);
        match self.locator {
            RowLocator::Line => format!("line {n}"),
            RowLocator::Row => format!("row {n}"),
        }
    }

    /// A name for a new column: `name`, or `atlas_name` (then `atlas_name_2`, ...) when the
    /// table already has one.
    pub fn free_name(&self, name: &str) -> String {
        let taken = |n: &str| self.frame.column(n).is_ok();
        if !taken(name) {
            return name.to_string();
        }
        let base = format!("atlas_{name}");
        if !taken(&base) {
            return base;
        }
        (2..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| !taken(n))
            .expect("a free name exists")
    }

    /// Add (or replace) a computed column of one value per row, described like a loaded one.
    pub fn set_column(&mut self, series: polars::prelude::Series) -> Result<(), String> {
        if series.len() != self.len() {
            return Err(format!(
                "column '{}' has {} values for {} rows",
                series.name(),
                series.len(),
                self.len()
            ));
        }
        let name = series.name().to_string();
        let info = columns::describe(&series, false, &mut |_| {}, &|r| r.to_string());
        self.frame
            .with_column(polars::prelude::Column::from(series))
            .map_err(|e| format!("column '{name}': {e}"))?;
        match self.column_index(&name) {
            Some(i) => self.columns[i] = info,
            None => self.columns.push(info),
        }
        Ok(())
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Every field of one row as (column name, display string), in column order. Long
    /// strings are cut to `max_chars` characters.
    pub fn row_fields(&self, row: usize, max_chars: usize) -> Vec<(String, String)> {
        self.frame
            .columns()
            .iter()
            .map(|col| {
                let value = match col.get(row) {
                    Ok(AnyValue::String(s)) => {
                        crate::util::text::truncate_chars(s, max_chars).to_string()
                    }
                    Ok(AnyValue::StringOwned(s)) => {
                        crate::util::text::truncate_chars(&s, max_chars).to_string()
                    }
                    Ok(AnyValue::Null) => "null".to_string(),
                    Ok(v) => {
                        crate::util::text::truncate_chars(&v.to_string(), max_chars).to_string()
                    }
                    Err(e) => format!("<{e}>"),
                };
                (col.name().to_string(), value)
            })
            .collect()
    }

    /// The chat turns (role, content) of one row when the text column holds chat messages.
    pub fn chat_turns(&self, row: usize) -> Option<Vec<(String, String)>> {
        if !self.text_is_chat {
            return None;
        }
        let col = self.frame.column(&self.text_column).ok()?;
        columns::chat_turns_at(col.as_materialized_series(), row)
    }
}

/// Load a sample set from `path`, choosing the format by extension.
pub fn load(
    path: &Path,
    options: &LoadOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Samples, LoadError> {
    let format = Format::of(path)?;
    let mut warnings = Vec::new();
    let table = read::read_table(path, format, &mut warnings, progress, cancel)?;
    if cancel.is_cancelled() {
        return Err(LoadError::Cancelled);
    }
    from_table(path, format, table, options, warnings)
}

/// The table's column names, for messages.
fn column_list(frame: &DataFrame) -> String {
    frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Build `Samples` from a table read from `path`: choose the text column, describe the others.
fn from_table(
    path: &Path,
    format: Format,
    table: read::Table,
    options: &LoadOptions,
    mut warnings: Vec<String>,
) -> Result<Samples, LoadError> {
    if table.frame.height() == 0 {
        return Err(LoadError::NoUsableRows {
            path: path.to_path_buf(),
            reason: "the table has no rows".into(),
        });
    }
    if format == Format::Npy {
        return Ok(vectors_only(path, table, warnings));
    }
    let read::Table {
        frame,
        source_index,
        locator,
    } = table;
    let (text_column, detected) = choose_text_column(path, &frame, options)?;
    let (texts, is_chat) = texts_of(path, &frame, &text_column)?;
    let locate = |row: usize| match locator {
        RowLocator::Line => format!("line {}", source_index[row]),
        RowLocator::Row => format!("row {}", source_index[row]),
    };
    // Invariant: the column exists (checked or detected by `choose_text_column`).
    let series = frame
        .column(&text_column)
        .expect("text column exists")
        .as_materialized_series();
    let missing = series.null_count();
    if missing > 0 {
        let first = series
            .is_null()
            .iter()
            .position(|null| null == Some(true))
            .map(locate)
            .unwrap_or_default();
        warnings.push(format!(
            "{}: column '{text_column}': {missing} rows have no text (first at {first}); they are kept with empty text",
            path.display()
        ));
    }
    let columns = frame
        .columns()
        .iter()
        .map(|col| {
            columns::describe(
                col.as_materialized_series(),
                col.name() == text_column.as_str(),
                &mut |msg| warnings.push(format!("{}: {msg}", path.display())),
                &locate,
            )
        })
        .collect();
    Ok(Samples {
        path: path.to_path_buf(),
        format,
        frame,
        text_column,
        text_column_detected: detected,
        text_is_chat: is_chat,
        texts: std::sync::Arc::new(texts),
        columns,
        source_index,
        locator,
        warnings,
    })
}

/// A bare `.npy`: vectors only, no text; the row number is the one column.
fn vectors_only(path: &Path, table: read::Table, warnings: Vec<String>) -> Samples {
    let n = table.frame.height();
    let columns = table
        .frame
        .columns()
        .iter()
        .map(|c| ColumnInfo {
            name: c.name().to_string(),
            dtype: c.dtype().to_string(),
            kind: ColumnKind::Other,
        })
        .collect();
    Samples {
        path: path.to_path_buf(),
        format: Format::Npy,
        frame: table.frame,
        text_column: "row".into(),
        text_column_detected: true,
        text_is_chat: false,
        texts: std::sync::Arc::new(vec![String::new(); n]),
        columns,
        source_index: table.source_index,
        locator: table.locator,
        warnings,
    }
}

/// The text column named in `options` (it must exist) or detected; and whether detected.
fn choose_text_column(
    path: &Path,
    frame: &DataFrame,
    options: &LoadOptions,
) -> Result<(String, bool), LoadError> {
    match &options.text_column {
        Some(name) if frame.column(name).is_err() => Err(LoadError::MissingColumn {
            path: path.to_path_buf(),
            column: name.clone(),
            available: column_list(frame),
        }),
        Some(name) => Ok((name.clone(), false)),
        None => match detect_text_column(frame) {
            Some(name) => Ok((name, true)),
            None => Err(LoadError::NoTextColumn {
                path: path.to_path_buf(),
                available: column_list(frame),
            }),
        },
    }
}

/// The text of every row (chat transcripts flattened; missing → empty), and whether the
/// column holds chat messages.
fn texts_of(
    path: &Path,
    frame: &DataFrame,
    text_column: &str,
) -> Result<(Vec<String>, bool), LoadError> {
    // Invariant: the caller chose an existing column.
    let series = frame
        .column(text_column)
        .expect("text column exists")
        .as_materialized_series();
    if series.dtype() == &DataType::String {
        let ca = series.str().expect("dtype checked");
        Ok((
            ca.iter().map(|v| v.unwrap_or("").to_string()).collect(),
            false,
        ))
    } else if columns::is_chat_dtype(series.dtype()) {
        Ok((columns::flatten_chat(series), true))
    } else {
        Err(LoadError::NotText {
            path: path.to_path_buf(),
            column: text_column.to_string(),
            dtype: series.dtype().to_string(),
            available: column_list(frame),
        })
    }
}
