//! Reading the raw table. JSONL and CSV are checked line by line first (UTF-8, JSON syntax,
//! field counts) so that a bad line becomes a warning naming it, not an abort; the good
//! lines then go to polars' parsers.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;

use super::{LoadError, RowLocator};
use crate::progress::{CancelToken, Progress, Stage};

/// Input file formats, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    JsonLines,
    Csv,
    Parquet,
    /// A bare `.npy` matrix: vectors without text or metadata.
    Npy,
}

impl Format {
    pub fn of(path: &Path) -> Result<Format, LoadError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("jsonl" | "ndjson" | "json") => Ok(Format::JsonLines),
            Some("csv") => Ok(Format::Csv),
            Some("parquet" | "pq") => Ok(Format::Parquet),
            Some("npy") => Ok(Format::Npy),
            _ => Err(LoadError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
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

pub(super) struct Table {
    pub frame: DataFrame,
    pub source_index: Vec<u64>,
    pub locator: RowLocator,
}

/// A pre-pass's result: the good lines' bytes, their line numbers, and the bad ones.
type Prefiltered = (Vec<u8>, Vec<u64>, Vec<BadLine>);

/// How many skipped lines are named one by one before the rest are only counted.
const MAX_NAMED_BAD_LINES: usize = 20;

pub(super) fn read_table(
    path: &Path,
    format: Format,
    warnings: &mut Vec<String>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Table, LoadError> {
    progress.report(Stage::Load, 0, 3);
    match format {
        Format::Npy => read_npy_shape(path, progress),
        Format::Parquet => read_parquet(path, progress),
        Format::JsonLines | Format::Csv => {
            read_text_table(path, format, warnings, progress, cancel)
        }
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A bare `.npy`: only the shape is read here (one `row` column); the pipeline reads the
/// vectors.
fn read_npy_shape(path: &Path, progress: &dyn Progress) -> Result<Table, LoadError> {
    let format = Format::Npy;
    let io_err = io_error(path);
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
    Ok(Table {
        frame,
        source_index: (1..=h.rows as u64).collect(),
        locator: RowLocator::Row,
    })
}

fn read_parquet(path: &Path, progress: &dyn Progress) -> Result<Table, LoadError> {
    let format = Format::Parquet;
    let io_err = io_error(path);
    let file = std::fs::File::open(path).map_err(&io_err)?;
    if file.metadata().map_err(&io_err)?.len() == 0 {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let frame = ParquetReader::new(file)
        .finish()
        .map_err(|e| parse_error(path, format, e))?;
    progress.report(Stage::Load, 3, 3);
    let n = frame.height() as u64;
    Ok(Table {
        frame,
        source_index: (1..=n).collect(),
        locator: RowLocator::Row,
    })
}

/// JSON lines or CSV: bad lines are filtered out first (each named in a warning), so polars
/// parses only good ones and every row keeps its line number.
fn read_text_table(
    path: &Path,
    format: Format,
    warnings: &mut Vec<String>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Table, LoadError> {
    let io_err = io_error(path);
    let bytes = std::fs::read(path).map_err(&io_err)?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    progress.report(Stage::Load, 1, 3);
    if cancel.is_cancelled() {
        return Err(LoadError::Cancelled);
    }
    if format == Format::JsonLines && bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
    {
        return Err(LoadError::Parse {
            path: path.to_path_buf(),
            format: format.name(),
            detail: "line 1, column 1: the file is one JSON array; expected JSON lines (one object per line)".into(),
        });
    }
    let (clean, source_index, bad) = match format {
        Format::JsonLines => prefilter_jsonl(&bytes),
        Format::Csv => prefilter_csv(path, &bytes)?,
        Format::Parquet | Format::Npy => unreachable!("handled above"),
    };
    drop(bytes);
    report_bad_lines(path, &bad, warnings);
    if source_index.is_empty() {
        let reason = match bad.first() {
            Some(b) => format!(
                "all {} lines were rejected; first: line {}: {}",
                bad.len(),
                b.line,
                b.problem
            ),
            None => "the file has a header but no rows".into(),
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
    let cursor = Cursor::new(clean);
    let frame = match format {
        Format::JsonLines => JsonReader::new(cursor)
            .with_json_format(JsonFormat::JsonLines)
            .infer_schema_len(None)
            .finish(),
        Format::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(None)
            .into_reader_with_file_handle(cursor)
            .finish(),
        Format::Parquet | Format::Npy => unreachable!("handled above"),
    }
    .map_err(|e| parse_error(path, format, e))?;
    progress.report(Stage::Load, 3, 3);
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
    Ok(Table {
        frame,
        source_index,
        locator: RowLocator::Line,
    })
}

fn parse_error(path: &Path, format: Format, e: PolarsError) -> LoadError {
    LoadError::Parse {
        path: path.to_path_buf(),
        format: format.name(),
        detail: e.to_string(),
    }
}

/// A line the pre-pass rejected.
#[derive(Debug)]
struct BadLine {
    line: u64,
    problem: String,
}

fn report_bad_lines(path: &Path, bad: &[BadLine], warnings: &mut Vec<String>) {
    for b in bad.iter().take(MAX_NAMED_BAD_LINES) {
        warnings.push(format!(
            "{}: line {}: {}; line skipped",
            path.display(),
            b.line,
            b.problem
        ));
    }
    if bad.len() > MAX_NAMED_BAD_LINES {
        warnings.push(format!(
            "{}: {} more bad lines skipped ({} in all)",
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
    let checked: Vec<Result<(), String>> = lines
        .par_iter()
        .map(|(_, line)| check_json_line(line))
        .collect();
    let mut clean = Vec::with_capacity(bytes.len());
    let mut index = Vec::with_capacity(lines.len());
    let mut bad = Vec::new();
    for ((line_no, line), result) in lines.into_iter().zip(checked) {
        match result {
            Ok(()) => {
                clean.extend_from_slice(line);
                clean.push(b'\n');
                index.push(line_no);
            }
            Err(problem) => bad.push(BadLine {
                line: line_no,
                problem,
            }),
        }
    }
    (clean, index, bad)
}

fn check_json_line(line: &[u8]) -> Result<(), String> {
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
    serde_json::from_slice::<serde::de::IgnoredAny>(line)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "column {}: malformed JSON: {}",
                e.column(),
                strip_position(&e)
            )
        })
}

/// serde_json's message without its trailing " at line L column C".
fn strip_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

/// Check every CSV record's field count and UTF-8; return the header plus the good records,
/// their line numbers, and the bad ones.
fn prefilter_csv(path: &Path, bytes: &[u8]) -> Result<Prefiltered, LoadError> {
    let csv_error = |detail: String| LoadError::Parse {
        path: PathBuf::from(path),
        format: "CSV",
        detail,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .byte_headers()
        .map_err(|e| csv_error(format!("line 1: {e}")))?
        .clone();
    for (i, field) in header.iter().enumerate() {
        if std::str::from_utf8(field).is_err() {
            return Err(csv_error(format!(
                "line 1, header field {}: invalid UTF-8",
                i + 1
            )));
        }
    }
    let names: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let mut record = csv::ByteRecord::new();
    // (start byte, line, accepted)
    let mut starts: Vec<(usize, u64, bool)> = Vec::new();
    let mut bad = Vec::new();
    loop {
        let pos = reader.position().clone();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(pos.line());
                let start = record
                    .position()
                    .map(|p| p.byte() as usize)
                    .unwrap_or(pos.byte() as usize);
                let mut problem = None;
                if record.len() != header.len() {
                    problem = Some(format!(
                        "{} fields where the header has {}",
                        record.len(),
                        header.len()
                    ));
                } else if let Some((i, _)) = record
                    .iter()
                    .enumerate()
                    .find(|(_, f)| std::str::from_utf8(f).is_err())
                {
                    problem = Some(format!("column '{}': invalid UTF-8", names[i]));
                }
                if let Some(problem) = &problem {
                    bad.push(BadLine {
                        line,
                        problem: problem.clone(),
                    });
                }
                starts.push((start, line, problem.is_none()));
            }
            Err(e) => {
                return Err(csv_error(format!("line {}: {e}", pos.line())));
            }
        }
    }
    let body_start = starts.first().map(|s| s.0).unwrap_or(bytes.len());
    let mut clean = Vec::with_capacity(bytes.len());
    clean.extend_from_slice(&bytes[..body_start]);
    let mut index = Vec::with_capacity(starts.len());
    for (k, &(start, line, ok)) in starts.iter().enumerate() {
        if !ok {
            continue;
        }
        let end = starts.get(k + 1).map(|s| s.0).unwrap_or(bytes.len());
        clean.extend_from_slice(&bytes[start..end]);
        if !clean.ends_with(b"\n") {
            clean.push(b'\n');
        }
        index.push(line);
    }
    Ok((clean, index, bad))
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
        let lines: Vec<u64> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 4, 5]);
        assert!(bad[0].problem.contains("malformed JSON"), "{:?}", bad[0]);
        assert!(bad[1].problem.contains("not a JSON object"));
        assert!(bad[2].problem.contains("invalid UTF-8"));
        assert!(bad[2].problem.contains("column 11"), "{:?}", bad[2]);
    }

    #[test]
    fn csv_prefilter_drops_ragged_records() {
        let data = b"text,score\n\"hello, world\",1\nragged\n\"multi\nline\",2\nx,3,4\n";
        let (clean, index, bad) = prefilter_csv(Path::new("t.csv"), data).unwrap();
        assert_eq!(index, vec![2, 4]);
        assert_eq!(
            String::from_utf8(clean).unwrap(),
            "text,score\n\"hello, world\",1\n\"multi\nline\",2\n"
        );
        assert_eq!(bad.len(), 2);
        assert_eq!(bad[0].line, 3);
        assert!(bad[0].problem.contains("1 fields where the header has 2"));
        assert_eq!(bad[1].line, 6);
    }
}
