//! CSV and TSV as people write them: CRLF or LF line ends, quoted fields with embedded
//! newlines and quotes, a byte-order mark, the delimiter sniffed among `,` `;` tab `|`.
//! Records are parsed by the `csv` crate; a record with the wrong field count or invalid
//! UTF-8 is skipped with a warning naming its record and line; every row keeps both.

use std::path::Path;

use polars::prelude::*;

use super::read::{BadLine, Table, report_bad_lines};
use super::typing::{self, Origin};
use super::{LoadError, RowLocator};

/// Delimiters tried when none is given, in order of preference on a tie.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Bytes the sniffer looks at.
const SNIFF_BYTES: usize = 64 * 1024;
/// Records the sniffer looks at.
const SNIFF_RECORDS: usize = 50;

/// The delimiter of `bytes`: the candidate that splits the header into the most fields while
/// (nearly) every sniffed record has as many; `preferred` first on a tie.
pub(super) fn sniff_delimiter(bytes: &[u8], preferred: u8) -> u8 {
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    let head = match head.iter().rposition(|&b| b == b'\n') {
        Some(end) if head.len() < bytes.len() => &head[..end + 1],
        _ => head,
    };
    let mut best = (preferred, (0usize, 0usize));
    let candidates =
        std::iter::once(preferred).chain(DELIMITERS.into_iter().filter(|&d| d != preferred));
    for d in candidates {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(d)
            .has_headers(false)
            .flexible(true)
            .from_reader(head);
        let counts: Vec<usize> = reader
            .byte_records()
            .take(SNIFF_RECORDS)
            .filter_map(Result::ok)
            .map(|r| r.len())
            .collect();
        let Some(&fields) = counts.first() else {
            continue;
        };
        if fields < 2 {
            continue;
        }
        let same = counts.iter().filter(|&&n| n == fields).count();
        // Percent of records agreeing with the header, then the field count.
        let score = (same * 100 / counts.len(), fields);
        if score > best.1 {
            best = (d, score);
        }
    }
    best.0
}

/// Header names made usable: empty ones become `column_N`, repeats get `_2`, `_3`, ...
fn header_names(header: &csv::ByteRecord) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for (i, field) in header.iter().enumerate() {
        let raw = String::from_utf8_lossy(field).trim().to_string();
        let base = if raw.is_empty() {
            format!("column_{}", i + 1)
        } else {
            raw
        };
        let mut name = base.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        names.push(name);
    }
    names
}

/// The fields of the good records, column by column, with each record's number and line.
struct Records {
    columns: Vec<Vec<String>>,
    records: Vec<u64>,
    lines: Vec<u64>,
    bad: Vec<BadLine>,
}

/// Line numbers (1-based) of records' increasing start offsets. After a CRLF the csv crate
/// starts the next record at the `\n` (and counts lines one short), so line ends at a
/// record's start are skipped.
struct LineCounter<'a> {
    bytes: &'a [u8],
    at: usize,
    line: u64,
}

impl LineCounter<'_> {
    fn line_of(&mut self, byte: usize) -> u64 {
        let mut end = byte.min(self.bytes.len());
        while matches!(self.bytes.get(end), Some(b'\r' | b'\n')) {
            end += 1;
        }
        if end > self.at {
            self.line += self.bytes[self.at..end]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.at = end;
        }
        self.line
    }
}

fn collect_records(reader: &mut csv::Reader<&[u8]>, bytes: &[u8], names: &[String]) -> Records {
    let mut out = Records {
        columns: vec![Vec::new(); names.len()],
        records: Vec::new(),
        lines: Vec::new(),
        bad: Vec::new(),
    };
    let mut record = csv::ByteRecord::new();
    let mut number = 0u64;
    let mut lines = LineCounter {
        bytes,
        at: 0,
        line: 1,
    };
    // Errors are I/O errors only (byte records, flexible): there are none on a slice.
    while reader.read_byte_record(&mut record).unwrap_or(false) {
        number += 1;
        let line = lines.line_of(record.position().map_or(0, |p| p.byte() as usize));
        let problem = if record.len() != names.len() {
            Some(format!(
                "{} fields where the header has {}",
                record.len(),
                names.len()
            ))
        } else {
            record
                .iter()
                .position(|f| std::str::from_utf8(f).is_err())
                .map(|i| format!("column '{}': invalid UTF-8", names[i]))
        };
        if let Some(problem) = problem {
            out.bad.push(BadLine {
                at: format!("record {number}, line {line}"),
                problem,
            });
            continue;
        }
        for (column, field) in out.columns.iter_mut().zip(record.iter()) {
            // Invariant: checked to be UTF-8 above.
            column.push(std::str::from_utf8(field).expect("checked").to_string());
        }
        out.records.push(number);
        out.lines.push(line);
    }
    out
}

/// Read a CSV / TSV file's bytes into a table: text columns, then typed (see
/// [`typing::retype_frame`]).
pub(super) fn read_delimited(
    path: &Path,
    bytes: &[u8],
    delimiter: u8,
    warnings: &mut Vec<String>,
) -> Result<Table, LoadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .byte_headers()
        .cloned()
        .map_err(|e| LoadError::Parse {
            path: path.to_path_buf(),
            format: "CSV",
            detail: format!("line 1: {e}"),
        })?;
    if let Some(i) = header.iter().position(|f| std::str::from_utf8(f).is_err()) {
        return Err(LoadError::Parse {
            path: path.to_path_buf(),
            format: "CSV",
            detail: format!("line 1, header field {}: invalid UTF-8", i + 1),
        });
    }
    let names = header_names(&header);
    let recs = collect_records(&mut reader, bytes, &names);
    report_bad_lines(path, &recs.bad, warnings);
    if recs.records.is_empty() {
        let reason = match recs.bad.first() {
            Some(b) => format!(
                "all {} records were rejected; first: {}: {}",
                recs.bad.len(),
                b.at,
                b.problem
            ),
            None => "the file has a header but no rows".into(),
        };
        return Err(LoadError::NoUsableRows {
            path: path.to_path_buf(),
            reason,
        });
    }
    let height = recs.records.len();
    let columns = names
        .iter()
        .zip(recs.columns)
        .map(|(name, values)| {
            let ca: StringChunked = values
                .iter()
                .map(|v| (!v.is_empty()).then_some(v.as_str()))
                .collect_ca(name.as_str().into());
            ca.into_column()
        })
        .collect();
    let mut frame = DataFrame::new(height, columns).map_err(|e| LoadError::Parse {
        path: path.to_path_buf(),
        format: "CSV",
        detail: e.to_string(),
    })?;
    let locate = |row: usize| format!("record {}, line {}", recs.records[row], recs.lines[row]);
    let origin = if delimiter == b';' {
        Origin::CsvDecimalComma
    } else {
        Origin::Csv
    };
    typing::retype_frame(&mut frame, origin, &locate, &mut |msg| {
        warnings.push(format!("{}: {msg}", path.display()))
    });
    Ok(Table {
        frame,
        source_index: recs.lines,
        records: recs.records,
        locator: RowLocator::Record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> (Table, Vec<String>) {
        let d = sniff_delimiter(bytes, b',');
        let mut w = Vec::new();
        let t = read_delimited(Path::new("t.csv"), bytes, d, &mut w).unwrap();
        (t, w)
    }

    fn texts(t: &Table) -> Vec<String> {
        let c = t.frame.column("text").unwrap().str().unwrap().clone();
        c.iter().map(|v| v.unwrap_or("").to_string()).collect()
    }

    #[test]
    fn crlf_quotes_newlines_and_bom() {
        let data = b"\xEF\xBB\xBFtext,score\r\n\"Hello, \"\"world\"\"\",1\r\n\"two\r\nlines\",2\r\nplain,3\r\n";
        let (t, w) = read(data);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(texts(&t), ["Hello, \"world\"", "two\r\nlines", "plain"]);
        assert_eq!(t.records, [1, 2, 3]);
        assert_eq!(t.source_index, [2, 3, 5]);
        assert_eq!(t.frame.column("score").unwrap().dtype(), &DataType::Int64);
    }

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(
            sniff_delimiter(b"text;score\nHello, world;0.5\nbye;1\n", b','),
            b';'
        );
        assert_eq!(sniff_delimiter(b"text\tscore\na, b; c\t1\n", b','), b'\t');
        assert_eq!(sniff_delimiter(b"text|score\nx|1\n", b','), b'|');
        assert_eq!(sniff_delimiter(b"text,score\n\"a;b;c\",1\n", b','), b',');
        // One column: the preferred one.
        assert_eq!(sniff_delimiter(b"text\nhello\n", b'\t'), b'\t');
    }

    #[test]
    fn ragged_records_name_record_and_line() {
        let data = b"text,score\n\"multi\nline\",1\nragged\nok,2\n";
        let (t, w) = read(data);
        assert_eq!(texts(&t), ["multi\nline", "ok"]);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("t.csv: record 2, line 4: 1 fields where the header has 2"),
            "{w:?}"
        );
    }

    #[test]
    fn stray_values_are_named_and_missing() {
        let data = b"text,score\na,0.5\nb,high\nc,0.7\nd,NA\ne,\nf,0.9\ng,1\n";
        let (t, w) = read(data);
        let score = t.frame.column("score").unwrap();
        assert_eq!(score.dtype(), &DataType::Float64);
        assert_eq!(score.null_count(), 3);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("column 'score': 1 value is not a number, shown as missing (first: \"high\" at record 2, line 3, field 2)"),
            "{w:?}"
        );
    }

    #[test]
    fn header_names_are_made_unique() {
        let (t, _) = read(b"text,,text\na,b,c\n");
        let names: Vec<String> = t
            .frame
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names, ["text", "column_2", "text_2"]);
    }
}
