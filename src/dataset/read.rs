//! Reading one file's raw table. JSON lines are checked line by line first (UTF-8, JSON
//! syntax) so that a bad line becomes a warning naming it, not an abort; chat shapes polars
//! cannot read are rewritten (see [`chat`]); the good lines then go to polars' parser.
//! CSV goes through [`delimited`], Parquet straight to polars.

use std::io::Cursor;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use super::input::{self, Compression};
use super::typing::{self, Origin};
use super::{LoadError, RowLocator, chat, delimited};
use crate::progress::{CancelToken, Progress, Stage};

/// Input file formats, chosen by extension (after a `.gz` / `.zst` one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON lines, or (`.json`) one array of objects.
    JsonLines,
    /// CSV or TSV.
    Csv,
    Parquet,
    /// A bare `.npy` matrix: vectors without text or metadata.
    Npy,
}

impl Format {
    pub fn of(path: &Path) -> Result<Format, LoadError> {
        let (compression, name) = Compression::of(path);
        let ext = Path::new(&name)
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        let format = match ext.as_deref() {
            Some("jsonl" | "ndjson" | "json") => Some(Format::JsonLines),
            Some("csv" | "tsv" | "tab") => Some(Format::Csv),
            Some("parquet" | "pq") => Some(Format::Parquet),
            Some("npy") => Some(Format::Npy),
            _ => None,
        };
        match format {
            Some(Format::Parquet | Format::Npy) if compression != Compression::None => None,
            f => f,
        }
        .ok_or_else(|| LoadError::UnknownFormat {
            path: path.to_path_buf(),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::JsonLines => "JSON lines",
            Format::Csv => "CSV",
            Format::Parquet => "Parquet",
            Format::Npy => ".npy",
        }
    }
}

/// The delimiter a file's name suggests: tab for `.tsv` / `.tab`, else comma.
fn preferred_delimiter(path: &Path) -> u8 {
    let (_, name) = Compression::of(path);
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tsv") || lower.ends_with(".tab") {
        b'\t'
    } else {
        b','
    }
}

/// One file read: its table, and each row's line (or row) and, for CSV, record number.
pub(super) struct Table {
    pub frame: DataFrame,
    pub source_index: Vec<u64>,
    /// CSV record numbers (1-based, header not counted); empty for other formats.
    pub records: Vec<u64>,
    pub locator: RowLocator,
}

impl Table {
    fn numbered(frame: DataFrame, locator: RowLocator) -> Table {
        let n = frame.height() as u64;
        Table {
            frame,
            source_index: (1..=n).collect(),
            records: Vec::new(),
            locator,
        }
    }
}

/// A pre-pass's result: the good lines' bytes, their line numbers, and the bad ones.
type Prefiltered = (Vec<u8>, Vec<u64>, Vec<BadLine>);

/// How many skipped lines are named one by one before the rest are only counted.
const MAX_NAMED_BAD_LINES: usize = 20;

pub(super) fn read_table(
    path: &Path,
    format: Format,
    delimiter: Option<u8>,
    warnings: &mut Vec<String>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Table, LoadError> {
    progress.report(Stage::Load, 0, 3);
    match format {
        Format::Npy => read_npy_shape(path, progress),
        Format::Parquet => read_parquet(path, progress),
        Format::JsonLines | Format::Csv => {
            read_text_table(path, format, delimiter, warnings, progress, cancel)
        }
    }
}

/// A bare `.npy`: only the shape is read here (one `row` column); the pipeline reads the
/// vectors.
fn read_npy_shape(path: &Path, progress: &dyn Progress) -> Result<Table, LoadError> {
    let format = Format::Npy;
    let io_err = |e| input::io_error(path, e);
    let mut head = vec![0u8; 4096];
    let mut file = std::fs::File::open(path).map_err(&io_err)?;
    let got = std::io::Read::read(&mut file, &mut head).map_err(&io_err)?;
    if got == 0 {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let h = crate::util::npy::parse_header(&head[..got]).map_err(|e| LoadError::Parse {
        path: path.to_path_buf(),
        format: format.name(),
        detail: e.to_string(),
    })?;
    let rows: Vec<u32> = (0..h.rows as u32).collect();
    let frame = DataFrame::new(h.rows, vec![Column::new("row".into(), rows)])
        .map_err(|e| parse_error(path, format, e))?;
    progress.report(Stage::Load, 3, 3);
    Ok(Table::numbered(frame, RowLocator::Row))
}

fn read_parquet(path: &Path, progress: &dyn Progress) -> Result<Table, LoadError> {
    let format = Format::Parquet;
    let io_err = |e| input::io_error(path, e);
    let file = std::fs::File::open(path).map_err(&io_err)?;
    if file.metadata().map_err(&io_err)?.len() == 0 {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let frame = polars_read(path, format, || ParquetReader::new(file).finish())?;
    progress.report(Stage::Load, 3, 3);
    Ok(Table::numbered(frame, RowLocator::Row))
}

/// Run a polars reader, turning its error — or its panic — into a parse error naming the
/// file. polars panics on some malformed input instead of returning an error (found by
/// fuzzing: Parquet metadata "thrift bool field", an out-of-range slice in its JSON lines
/// reader); a user's bad file must not take the app down.
fn polars_read(
    path: &Path,
    format: Format,
    read: impl FnOnce() -> PolarsResult<DataFrame>,
) -> Result<DataFrame, LoadError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(r) => r.map_err(|e| parse_error(path, format, e)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "malformed input".into());
            Err(LoadError::Parse {
                path: path.to_path_buf(),
                format: format.name(),
                detail: format!("the {} reader failed: {what}", format.name()),
            })
        }
    }
}

/// JSON lines, a JSON array or CSV, from the (decompressed) bytes. JSON: bad lines are
/// filtered out first (each named in a warning), so polars parses only good ones and every
/// row keeps its line number; CSV is parsed by [`delimited`].
fn read_text_table(
    path: &Path,
    format: Format,
    delimiter: Option<u8>,
    warnings: &mut Vec<String>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Table, LoadError> {
    let bytes = input::read_bytes(path)?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    progress.report(Stage::Load, 1, 3);
    if cancel.is_cancelled() {
        return Err(LoadError::Cancelled);
    }
    if format == Format::Csv {
        let d = delimiter
            .unwrap_or_else(|| delimited::sniff_delimiter(&bytes, preferred_delimiter(path)));
        let table = delimited::read_delimited(path, &bytes, d, warnings)?;
        progress.report(Stage::Load, 3, 3);
        return Ok(table);
    }
    let array = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let (clean, source_index, bad) = if array {
        prefilter_json_array(path, &bytes)?
    } else {
        prefilter_jsonl(&bytes)
    };
    drop(bytes);
    report_bad_lines(path, &bad, warnings);
    if source_index.is_empty() {
        let reason = match bad.first() {
            Some(b) => format!(
                "all {} records were rejected; first: {}: {}",
                bad.len(),
                b.at,
                b.problem
            ),
            None => "the file holds no records".into(),
        };
        return Err(LoadError::NoUsableRows {
            path: path.to_path_buf(),
            reason,
        });
    }
    progress.report(Stage::Load, 2, 3);
    if cancel.is_cancelled() {
        return Err(LoadError::Cancelled);
    }
    let mut frame = polars_read(path, format, || {
        JsonReader::new(Cursor::new(clean))
            .with_json_format(JsonFormat::JsonLines)
            .infer_schema_len(None)
            .finish()
    })?;
    progress.report(Stage::Load, 3, 3);
    let locator = if array {
        RowLocator::Row
    } else {
        RowLocator::Line
    };
    // Our pre-pass and polars must agree on the row count, else line numbers would lie.
    let source_index = if frame.height() == source_index.len() {
        source_index
    } else {
        warnings.push(format!(
            "{}: {} rows parsed but {} lines checked; row numbers below count table rows",
            path.display(),
            frame.height(),
            source_index.len()
        ));
        (1..=frame.height() as u64).collect()
    };
    let locate = |row: usize| locator.name(source_index[row], 0);
    typing::retype_frame(&mut frame, Origin::Json, &locate, &mut |msg| {
        warnings.push(format!("{}: {msg}", path.display()))
    });
    Ok(Table {
        frame,
        source_index,
        records: Vec::new(),
        locator,
    })
}

fn parse_error(path: &Path, format: Format, e: PolarsError) -> LoadError {
    LoadError::Parse {
        path: path.to_path_buf(),
        format: format.name(),
        detail: e.to_string(),
    }
}

/// A line (or record) the pre-pass rejected.
#[derive(Debug)]
pub(super) struct BadLine {
    /// Where: "line 7", "record 3, line 7", "element 4".
    pub at: String,
    pub problem: String,
}

pub(super) fn report_bad_lines(path: &Path, bad: &[BadLine], warnings: &mut Vec<String>) {
    for b in bad.iter().take(MAX_NAMED_BAD_LINES) {
        warnings.push(format!(
            "{}: {}: {}; skipped",
            path.display(),
            b.at,
            b.problem
        ));
    }
    if bad.len() > MAX_NAMED_BAD_LINES {
        warnings.push(format!(
            "{}: {} more bad records skipped ({} in all)",
            path.display(),
            bad.len() - MAX_NAMED_BAD_LINES,
            bad.len()
        ));
    }
}

/// Column (1-based, in characters) of byte offset `byte` in `line`, counting valid UTF-8 up
/// to that point.
fn char_column(line: &[u8], byte: usize) -> usize {
    String::from_utf8_lossy(&line[..byte.min(line.len())])
        .chars()
        .count()
        + 1
}

/// Check every JSONL line; return the good lines joined, their line numbers, and the bad ones.
fn prefilter_jsonl(bytes: &[u8]) -> Prefiltered {
    let lines: Vec<(u64, &[u8])> = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.iter().all(|b| b.is_ascii_whitespace()))
        .collect();
    let checked: Vec<Result<Option<Vec<u8>>, String>> = lines
        .par_iter()
        .map(|(_, line)| check_json_line(line))
        .collect();
    let mut clean = Vec::with_capacity(bytes.len());
    let mut index = Vec::with_capacity(lines.len());
    let mut bad = Vec::new();
    for ((line_no, line), result) in lines.into_iter().zip(checked) {
        match result {
            Ok(rewritten) => {
                let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
                clean.extend_from_slice(rewritten.as_deref().unwrap_or(line));
                clean.push(b'\n');
                index.push(line_no);
            }
            Err(problem) => bad.push(BadLine {
                at: format!("line {line_no}"),
                problem,
            }),
        }
    }
    (clean, index, bad)
}

/// Check one JSON line: `Ok(None)` to keep it as is, `Ok(Some(line))` when a chat shape was
/// rewritten, `Err(problem)` to skip it.
fn check_json_line(line: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line); // BOM
    if let Err(e) = std::str::from_utf8(line) {
        return Err(format!(
            "column {}: invalid UTF-8",
            char_column(line, e.valid_up_to())
        ));
    }
    let first = line.iter().position(|b| !b.is_ascii_whitespace());
    if first.map(|i| line[i]) != Some(b'{') {
        return Err("column 1: not a JSON object".into());
    }
    let malformed = |e: serde_json::Error| {
        format!(
            "column {}: malformed JSON: {}",
            e.column(),
            strip_position(&e)
        )
    };
    if !chat::may_need_rewrite(line) {
        return serde_json::from_slice::<serde::de::IgnoredAny>(line)
            .map(|_| None)
            .map_err(malformed);
    }
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(line).map_err(malformed)?;
    Ok(chat::canonicalize(&mut object).then(|| rewritten(object)))
}

fn rewritten(object: serde_json::Map<String, serde_json::Value>) -> Vec<u8> {
    // Invariant: a map of JSON values always serialises.
    serde_json::to_vec(&serde_json::Value::Object(object)).expect("JSON value serialises")
}

/// A `.json` file holding one array of objects: each element becomes a JSON line (chat
/// shapes rewritten); an element that is not an object is skipped with a warning. A syntax
/// error fails the file, naming its line and column.
fn prefilter_json_array(path: &Path, bytes: &[u8]) -> Result<Prefiltered, LoadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let items: Vec<serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| LoadError::Parse {
            path: path.to_path_buf(),
            format: "JSON",
            detail: format!(
                "line {}, column {}: {}",
                e.line(),
                e.column(),
                strip_position(&e)
            ),
        })?;
    let mut clean = Vec::with_capacity(bytes.len());
    let mut index = Vec::with_capacity(items.len());
    let mut bad = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let number = i as u64 + 1;
        let serde_json::Value::Object(mut object) = item else {
            bad.push(BadLine {
                at: format!("element {number}"),
                problem: "not a JSON object".into(),
            });
            continue;
        };
        chat::canonicalize(&mut object);
        clean.extend_from_slice(&rewritten(object));
        clean.push(b'\n');
        index.push(number);
    }
    Ok((clean, index, bad))
}

/// serde_json's message without its trailing " at line L column C".
fn strip_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_prefilter_names_bad_lines() {
        let data = b"{\"text\": \"a\"}\n{\"text\": \"b\"\n\n[1,2]\n{\"text\": \"\xff\"}\n{\"text\": \"c\"}\r\n";
        let (clean, index, bad) = prefilter_jsonl(data);
        assert_eq!(index, vec![1, 6]);
        assert_eq!(
            String::from_utf8(clean).unwrap(),
            "{\"text\": \"a\"}\n{\"text\": \"c\"}\n"
        );
        let lines: Vec<&str> = bad.iter().map(|b| b.at.as_str()).collect();
        assert_eq!(lines, vec!["line 2", "line 4", "line 5"]);
        assert!(bad[0].problem.contains("malformed JSON"), "{:?}", bad[0]);
        assert!(bad[1].problem.contains("not a JSON object"));
        assert!(bad[2].problem.contains("invalid UTF-8"));
        assert!(bad[2].problem.contains("column 11"), "{:?}", bad[2]);
    }
}
