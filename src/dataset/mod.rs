//! Loading a sample set (JSON lines, a JSON array, CSV / TSV, Parquet; `.gz` / `.zst`
//! compressed; one file, a folder of parts or a glob), choosing the text column, and
//! describing every other column as metadata the map can colour and filter by.
//!
//! Bad rows (malformed JSON, ragged CSV records, invalid UTF-8) are skipped with a warning
//! naming the file and line; the load fails only when nothing usable remains.
//!
//! - `input`: which files an input names, their bytes (decompressed).
//! - `read`: one file's table (JSON, Parquet, `.npy`); `delimited`: CSV / TSV.
//! - `typing`: numeric columns with a few stray values stay numeric.
//! - `chat`: chat transcripts of every common shape, as turns.
//! - `union`: the parts of a multi-file input as one table.
//! - `columns`: text / prompt column detection, column kinds. `write`: outputs.

mod chat;
mod columns;
mod delimited;
mod input;
mod pairs;
mod read;
mod typing;
mod union;
mod write;

use std::path::{Path, PathBuf};

use polars::prelude::{AnyValue, DataFrame, DataType};

pub use columns::MISSING_CODE;
pub use columns::{ColumnInfo, ColumnKind, SCORE_NAMES, detect_text_column, is_identifier_name};
pub use delimited::DELIMITERS;
pub use input::Part;
pub use read::Format;
pub use write::{
    TableFormat, WriteError, coordinate_names, write_map_parquet, write_rows, write_vectors_parquet,
};

use crate::progress::{CancelToken, Progress};

/// Errors while loading a sample set. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The OS error is shown in the message, not chained as a source: it would print twice.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{path}: unknown file type (expected .jsonl, .ndjson, .json, .csv, .tsv or .parquet, the text ones optionally .gz / .zst)"
    )]
    UnknownFormat { path: PathBuf },
    #[error("{path}: {reason}")]
    NoParts { path: PathBuf, reason: String },
    #[error("no input file given")]
    NoInput,
    #[error(
        "column '{column}' holds {first_type} in {first} but {second_type} in {second}; the parts cannot be read as one table"
    )]
    PartConflict {
        column: String,
        first: PathBuf,
        first_type: String,
        second: PathBuf,
        second_type: String,
    },
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
    /// The CSV delimiter; sniffed among [`DELIMITERS`] when `None`.
    pub delimiter: Option<u8>,
}

/// How a row's position in the source file is named in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowLocator {
    /// Line numbers (JSONL lines, CSV record start lines), 1-based.
    Line,
    /// Row numbers (Parquet, elements of a JSON array), 1-based.
    Row,
    /// CSV records: the record number (header not counted) and the line it starts on.
    Record,
}

impl RowLocator {
    /// "line 17", "row 17", "record 16, line 17".
    pub fn name(self, n: u64, record: u64) -> String {
        match self {
            RowLocator::Line => format!("line {n}"),
            RowLocator::Row => format!("row {n}"),
            RowLocator::Record => format!("record {record}, line {n}"),
        }
    }
}

/// The rows one file contributes to the table.
#[derive(Clone, Debug)]
pub struct PartRows {
    pub part: Part,
    /// Its first row in the table.
    pub first_row: usize,
    pub locator: RowLocator,
}

/// A loaded sample set: the table as read, the text of each row, and column descriptions.
/// Cloning is cheap for the table and texts (shared), so a copy can gain a column.
#[derive(Clone)]
pub struct Samples {
    /// The input as given (the first when several): a file, folder or glob.
    pub path: PathBuf,
    /// The files read, in row order (one for a plain file).
    pub parts: Vec<PartRows>,
    /// The format of the first file.
    pub format: Format,
    /// The CSV delimiter given in the options (a sniffed one follows from the bytes).
    pub delimiter: Option<u8>,
    /// Every input column, as loaded (bad rows removed).
    pub frame: DataFrame,
    /// Name of the column the text comes from.
    pub text_column: String,
    /// Whether the text column was detected (not named by the user).
    pub text_column_detected: bool,
    /// Whether the text column holds chat messages or transcript strings (flattened into
    /// `texts`).
    pub text_is_chat: bool,
    /// A prompt column shown above a plain text (`prompt`, `question`, ...), if any.
    pub prompt_column: Option<String>,
    /// The text of each row (chat transcripts flattened to `role: content` lines).
    pub texts: std::sync::Arc<Vec<String>>,
    /// One entry per column of `frame`, in order.
    pub columns: Vec<ColumnInfo>,
    /// Source line (or row) number of each row in its file, 1-based.
    pub source_index: Vec<u64>,
    /// CSV record number of each row (empty when no part is CSV; 0 for other parts' rows).
    pub source_records: Vec<u64>,
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

    /// "line 17" / "row 17" / "record 16, line 17" for row `row` (0-based position in the
    /// table), after the part's name ("part-1.jsonl: line 17") when there are several.
    pub fn locate(&self, row: usize) -> String {
        let n = self
            .source_index
            .get(row)
            .copied()
            .unwrap_or(row as u64 + 1);
        let record = self.source_records.get(row).copied().unwrap_or(0);
        let at = self.parts.partition_point(|p| p.first_row <= row).max(1) - 1;
        let Some(part) = self.parts.get(at) else {
            return format!("row {}", row + 1);
        };
        let place = part.locator.name(n, record);
        if self.parts.len() > 1 {
            format!("{}: {place}", part.part.name)
        } else {
            place
        }
    }

    /// The input as shown to people: its path, and how many files when several.
    pub fn input_label(&self) -> String {
        match self.parts.len() {
            0 | 1 => self.path.display().to_string(),
            n => format!("{} ({n} files)", self.path.display()),
        }
    }

    /// The files read, in row order.
    /// The set's name for captions and titles: the first input's file name, with "+ N more"
    /// when several files were given (a folder or a glob keeps its own name).
    pub fn display_name(&self) -> String {
        let name = self
            .path
            .file_name()
            .unwrap_or(self.path.as_os_str())
            .to_string_lossy()
            .into_owned();
        let more = self.parts.len().saturating_sub(1);
        if more > 0 && self.path.is_file() {
            format!(
                "{name} + {more} more file{}",
                if more == 1 { "" } else { "s" }
            )
        } else {
            name
        }
    }

    pub fn files(&self) -> Vec<PathBuf> {
        self.parts.iter().map(|p| p.part.path.clone()).collect()
    }

    /// The file row `row` came from.
    pub fn part_of(&self, row: usize) -> Option<&Part> {
        let at = self
            .parts
            .partition_point(|p| p.first_row <= row)
            .checked_sub(1)?;
        Some(&self.parts[at].part)
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

    /// The score-like column (a number or true/false named like a score, see
    /// [`SCORE_NAMES`]) chosen on opening as the metric to colour by and analyse: never the
    /// text or prompt column, one of `excluded`, an identifier (`*_id`, `*_index`, `row`,
    /// `instruction*`) or a column of whole numbers counting up or down row by row.
    pub fn score_like_column(&self, excluded: &[&str]) -> Option<String> {
        let not_a_metric = |name: &str| {
            name == self.text_column
                || self.prompt_column.as_deref() == Some(name)
                || excluded.contains(&name)
        };
        columns::score_like_column(&self.columns, &not_a_metric).map(|c| c.name.clone())
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

    /// The turns (role, content) of one row: the chat when the text column holds one, else
    /// (prompt column name, prompt) and (text column name, text) when there is a prompt
    /// column, else `None`.
    pub fn chat_turns(&self, row: usize) -> Option<Vec<(String, String)>> {
        if self.text_is_chat {
            let col = self.frame.column(&self.text_column).ok()?;
            return chat::turns_at(col.as_materialized_series(), row);
        }
        let prompt = self.prompt_column.as_ref()?;
        let value = self.frame.column(prompt).ok()?.str().ok()?.get(row)?;
        Some(vec![
            (prompt.clone(), value.to_string()),
            (self.text_column.clone(), self.texts.get(row)?.clone()),
        ])
    }
}

/// Load a sample set from `path` (a file, a folder of parts or a glob), choosing the format
/// by extension.
pub fn load(
    path: &Path,
    options: &LoadOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Samples, LoadError> {
    load_many(&[path.to_path_buf()], options, progress, cancel)
}

/// Load several inputs (files, folders of parts, globs) as one table: the union of their
/// columns (missing ones null), with a `source` column naming each row's file when there is
/// more than one, and a column per hive-style `key=value/` folder.
pub fn load_many(
    inputs: &[PathBuf],
    options: &LoadOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Samples, LoadError> {
    let parts = input_parts(inputs)?;
    load_parts(&inputs[0], parts, options, progress, cancel)
}

/// The files `inputs` name, in row order (what [`load_many`] reads), without reading them.
pub fn input_parts(inputs: &[PathBuf]) -> Result<Vec<Part>, LoadError> {
    if inputs.is_empty() {
        return Err(LoadError::NoInput);
    }
    input::expand(inputs)
}

/// [`load_many`] of the files [`input_parts`] found; `first` is the first input as given.
pub fn load_parts(
    first: &Path,
    parts: Vec<Part>,
    options: &LoadOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Samples, LoadError> {
    let mut warnings = Vec::new();
    let (parts, tables) = read_parts(parts, options, &mut warnings, progress, cancel)?;
    let format = tables[0].0;
    let (mut table, mut parts) = union::combine(parts, tables, &mut warnings)?;
    let mut options = options.clone();
    if let Some(answers) = options
        .text_column
        .as_deref()
        .and_then(pairs::answer_columns)
    {
        let (split, text) = pairs::split_answers(first, table, &mut parts, &answers)?;
        table = split;
        options.text_column = Some(text);
    }
    let input = Input {
        path: first.to_path_buf(),
        format,
        parts,
        delimiter: options.delimiter,
    };
    from_table(input, table, &options, warnings)
}

/// The parts kept and their tables (with each one's format), in the same order.
type ReadParts = (Vec<Part>, Vec<(Format, read::Table)>);

/// Each part's table. Of several parts, an empty one (Spark writes them for empty
/// partitions) is skipped with a warning; the load fails when none is left.
fn read_parts(
    parts: Vec<Part>,
    options: &LoadOptions,
    warnings: &mut Vec<String>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<ReadParts, LoadError> {
    let several = parts.len() > 1;
    let mut kept = Vec::with_capacity(parts.len());
    let mut tables = Vec::with_capacity(parts.len());
    let mut skipped = None;
    for part in parts {
        let format = Format::of(&part.path)?;
        if format == Format::Npy && several {
            return Err(LoadError::NoParts {
                path: part.path,
                reason: "a bare .npy matrix cannot be one of several parts".into(),
            });
        }
        let read = read::read_table(
            &part.path,
            format,
            options.delimiter,
            warnings,
            progress,
            cancel,
        );
        if cancel.is_cancelled() {
            return Err(LoadError::Cancelled);
        }
        match read {
            Ok(table) => {
                kept.push(part);
                tables.push((format, table));
            }
            Err(e @ (LoadError::Empty { .. } | LoadError::NoUsableRows { .. })) if several => {
                warnings.push(format!("{e}; the part is skipped"));
                skipped = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    match skipped {
        Some(e) if tables.is_empty() => Err(e),
        _ => Ok((kept, tables)),
    }
}

/// Where a table came from.
struct Input {
    path: PathBuf,
    format: Format,
    parts: Vec<PartRows>,
    delimiter: Option<u8>,
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

/// Build `Samples` from the table read from `input`: choose the text column, describe the
/// others.
fn from_table(
    input: Input,
    table: read::Table,
    options: &LoadOptions,
    mut warnings: Vec<String>,
) -> Result<Samples, LoadError> {
    let path = input.path.as_path();
    if table.frame.height() == 0 {
        return Err(LoadError::NoUsableRows {
            path: path.to_path_buf(),
            reason: "the table has no rows".into(),
        });
    }
    let vectors_only = input.format == Format::Npy;
    let (text_column, detected) = if vectors_only {
        ("row".to_string(), true)
    } else {
        choose_text_column(path, &table.frame, options)?
    };
    let (texts, is_chat) = if vectors_only {
        (vec![String::new(); table.frame.height()], false)
    } else {
        texts_of(path, &table.frame, &text_column)?
    };
    let prompt_column = (!is_chat && !vectors_only)
        .then(|| columns::detect_prompt_column(&table.frame, &text_column))
        .flatten();
    let mut samples = Samples {
        path: input.path,
        parts: input.parts,
        format: input.format,
        delimiter: input.delimiter,
        frame: table.frame,
        text_column,
        text_column_detected: detected,
        text_is_chat: is_chat,
        prompt_column,
        texts: std::sync::Arc::new(texts),
        columns: Vec::new(),
        source_index: table.source_index,
        source_records: table.records,
        warnings: Vec::new(),
    };
    if vectors_only {
        samples.columns = other_columns(&samples.frame);
    } else {
        warn_missing_text(&samples, &mut warnings);
        samples.columns = describe_columns(&samples, &mut warnings);
    }
    samples.warnings = warnings;
    Ok(samples)
}

fn warn_missing_text(samples: &Samples, warnings: &mut Vec<String>) {
    let text_column = &samples.text_column;
    // Invariant: the column exists (checked or detected by `choose_text_column`).
    let series = samples
        .frame
        .column(text_column)
        .expect("text column exists")
        .as_materialized_series();
    let missing = series.null_count();
    if missing > 0 {
        let first = series
            .is_null()
            .iter()
            .position(|null| null == Some(true))
            .map(|row| samples.locate(row))
            .unwrap_or_default();
        warnings.push(format!(
            "{}: column '{text_column}': {missing} rows have no text (first at {first}); they are kept with empty text",
            samples.path.display()
        ));
    }
}

fn describe_columns(samples: &Samples, warnings: &mut Vec<String>) -> Vec<ColumnInfo> {
    let path = samples.path.display();
    samples
        .frame
        .columns()
        .iter()
        .map(|col| {
            columns::describe(
                col.as_materialized_series(),
                col.name() == samples.text_column.as_str(),
                &mut |msg| warnings.push(format!("{path}: {msg}")),
                &|row| samples.locate(row),
            )
        })
        .collect()
}

/// A bare `.npy`'s one column (the row number), described as nothing to colour by.
fn other_columns(frame: &DataFrame) -> Vec<ColumnInfo> {
    frame
        .columns()
        .iter()
        .map(|c| ColumnInfo {
            name: c.name().to_string(),
            dtype: c.dtype().to_string(),
            kind: ColumnKind::Other,
        })
        .collect()
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

/// The texts of a plain (not chat) string column as [`Samples::texts`] holds them (missing →
/// empty); `None` when the column is missing or not strings.
pub fn plain_texts(frame: &DataFrame, text_column: &str) -> Option<Vec<String>> {
    Some(plain_texts_of(frame.column(text_column).ok()?.str().ok()?))
}

fn plain_texts_of(ca: &polars::prelude::StringChunked) -> Vec<String> {
    ca.iter().map(|v| v.unwrap_or("").to_string()).collect()
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
        if chat::is_transcript_column(ca) {
            return Ok((chat::flatten_column(series), true));
        }
        Ok((plain_texts_of(ca), false))
    } else if chat::is_chat_dtype(series.dtype()) {
        Ok((chat::flatten_column(series), true))
    } else {
        Err(LoadError::NotText {
            path: path.to_path_buf(),
            column: text_column.to_string(),
            dtype: series.dtype().to_string(),
            available: column_list(frame),
        })
    }
}
