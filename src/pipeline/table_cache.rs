//! The load stage's cache: the table as loaded — parsed, typed, its columns described, the
//! built-in metrics added — so reopening an unchanged large input skips parsing. The entry is
//! the table as Parquet plus what [`Samples`] holds besides (the column descriptions, each
//! row's line and record, the warnings, chat texts); decoded, it is the same `Samples` a
//! fresh load gives.
//!
//! Keyed by every input path as given and every file's path, name and bytes (the warnings and
//! `locate` name them), the load options, the built-in metric options and [`TABLE_FORMAT`].
//! Metric expressions are not part of it: they are evaluated after the entry is read (they
//! are cheap, and changing one should not re-parse the file).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use polars::prelude::{ParquetCompression, ParquetReader, ParquetWriter, SerReader};

use crate::cache::{Cache, Key, StageKind, codec, file_hash};
use crate::dataset::{
    ColumnInfo, ColumnKind, Format, LoadOptions, Part, PartRows, RowLocator, Samples,
};
use crate::metrics::MetricOptions;

/// Bump when loading changes what a table holds (a column's type, a text, a warning), or the
/// payload's layout changes: older entries are then never read again.
const TABLE_FORMAT: &str = "table-v1";

/// Inputs smaller than this (bytes on disk, all files) load in well under a second: their
/// table is not cached.
pub const TABLE_CACHE_MIN_BYTES: u64 = 2_000_000;

/// The Parquet compression of the stored table (see README "Cache" for the measurements).
const COMPRESSION: ParquetCompression = ParquetCompression::Lz4Raw;

/// Total bytes on disk of the parts (a part that cannot be read counts as 0: the load will
/// report it).
pub(super) fn input_bytes(parts: &[Part]) -> u64 {
    parts
        .iter()
        .map(|p| std::fs::metadata(&p.path).map_or(0, |m| m.len()))
        .sum()
}

/// The entry's key: the inputs, every part's path, name and content, the options that shape
/// the table.
pub(super) fn table_key(
    inputs: &[PathBuf],
    parts: &[Part],
    options: &LoadOptions,
    metrics: &MetricOptions,
) -> std::io::Result<Key> {
    let mut owned: Vec<Vec<u8>> = vec![
        StageKind::Table.name().as_bytes().to_vec(),
        TABLE_FORMAT.into(),
        env!("CARGO_PKG_VERSION").into(),
        format!("inputs={}", inputs.len()).into_bytes(),
    ];
    owned.extend(
        inputs
            .iter()
            .map(|p| p.as_os_str().as_encoded_bytes().to_vec()),
    );
    owned.push(format!("parts={}", parts.len()).into_bytes());
    for part in parts {
        owned.push(part.path.as_os_str().as_encoded_bytes().to_vec());
        owned.push(part.name.clone().into_bytes());
        owned.push(file_hash(&part.path)?.to_vec());
    }
    owned.push(match &options.text_column {
        Some(c) => format!("text={c}").into_bytes(),
        None => b"text detected".to_vec(),
    });
    owned.push(match options.delimiter {
        Some(d) => vec![b'd', d],
        None => b"sniffed".to_vec(),
    });
    owned.push(format!("builtin={}", metrics.builtin).into_bytes());
    match &metrics.refusal_patterns {
        Some(p) => {
            owned.push(format!("refusal patterns={}", p.len()).into_bytes());
            owned.extend(p.iter().map(|s| s.clone().into_bytes()));
        }
        None => owned.push(b"default refusal patterns".to_vec()),
    }
    owned.push(match &metrics.pattern {
        Some(p) => format!("pattern={p}").into_bytes(),
        None => b"no pattern".to_vec(),
    });
    let parts: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    Ok(Key::of(&parts))
}

fn format_code(f: Format) -> u8 {
    match f {
        Format::JsonLines => 0,
        Format::Csv => 1,
        Format::Parquet => 2,
        Format::Npy => 3,
    }
}

fn format_of(code: u8) -> Option<Format> {
    Some(match code {
        0 => Format::JsonLines,
        1 => Format::Csv,
        2 => Format::Parquet,
        3 => Format::Npy,
        _ => return None,
    })
}

fn locator_code(l: RowLocator) -> u8 {
    match l {
        RowLocator::Line => 0,
        RowLocator::Row => 1,
        RowLocator::Record => 2,
    }
}

fn locator_of(code: u8) -> Option<RowLocator> {
    Some(match code {
        0 => RowLocator::Line,
        1 => RowLocator::Row,
        2 => RowLocator::Record,
        _ => return None,
    })
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn read_u64(r: &mut codec::Reader) -> Option<u64> {
    Some(u64::from_le_bytes(r.bytes(8)?.try_into().ok()?))
}

fn put_usizes(out: &mut Vec<u8>, v: &[usize]) {
    codec::put_u64s(out, &v.iter().map(|&x| x as u64).collect::<Vec<_>>());
}

fn put_column(out: &mut Vec<u8>, c: &ColumnInfo) {
    codec::put_string(out, &c.name);
    codec::put_string(out, &c.dtype);
    match &c.kind {
        ColumnKind::Numeric {
            values,
            min,
            max,
            missing,
        } => {
            out.push(0);
            codec::put_f32s(out, values);
            out.extend_from_slice(&min.to_le_bytes());
            out.extend_from_slice(&max.to_le_bytes());
            put_u64(out, *missing as u64);
        }
        ColumnKind::Category {
            levels,
            codes,
            counts,
        } => {
            out.push(1);
            codec::put_strings(out, levels);
            codec::put_u32s(out, codes);
            put_usizes(out, counts);
        }
        ColumnKind::Text => out.push(2),
        ColumnKind::Other => out.push(3),
    }
}

fn read_f32(r: &mut codec::Reader) -> Option<f32> {
    Some(f32::from_le_bytes(r.bytes(4)?.try_into().ok()?))
}

fn read_column(r: &mut codec::Reader, rows: usize) -> Option<ColumnInfo> {
    let name = r.string()?;
    let dtype = r.string()?;
    let kind = match r.u8()? {
        0 => {
            let values = r.f32s()?;
            let (min, max) = (read_f32(r)?, read_f32(r)?);
            let missing = read_u64(r)? as usize;
            (values.len() == rows).then_some(ColumnKind::Numeric {
                values,
                min,
                max,
                missing,
            })?
        }
        1 => {
            let levels = r.strings()?;
            let codes = r.u32s()?;
            let counts: Vec<usize> = r.u64s()?.into_iter().map(|c| c as usize).collect();
            let fits = codes.len() == rows
                && counts.len() == levels.len()
                && codes
                    .iter()
                    .all(|&c| c == crate::dataset::MISSING_CODE || (c as usize) < levels.len());
            fits.then_some(ColumnKind::Category {
                levels,
                codes,
                counts,
            })?
        }
        2 => ColumnKind::Text,
        3 => ColumnKind::Other,
        _ => return None,
    };
    Some(ColumnInfo { name, dtype, kind })
}

/// Which of the input's parts the table's rows came from (an empty part is skipped), as
/// indices into `all`.
fn part_indices(kept: &[PartRows], all: &[Part]) -> Option<Vec<u32>> {
    let mut from = 0;
    kept.iter()
        .map(|k| {
            let at = from + all[from..].iter().position(|p| *p == k.part)?;
            from = at + 1;
            Some(at as u32)
        })
        .collect()
}

/// The entry's payload: a header (its length first), then the table as Parquet.
pub(super) fn encode(samples: &Samples, all_parts: &[Part]) -> Result<Vec<u8>, String> {
    let mut head = Vec::new();
    put_u64(&mut head, samples.len() as u64);
    head.push(format_code(samples.format));
    codec::put_string(&mut head, &samples.text_column);
    head.push(u8::from(samples.text_column_detected));
    head.push(u8::from(samples.text_is_chat));
    match &samples.prompt_column {
        Some(p) => {
            head.push(1);
            codec::put_string(&mut head, p);
        }
        None => head.push(0),
    }
    let indices =
        part_indices(&samples.parts, all_parts).ok_or("the parts read are not the input's")?;
    codec::put_u32(&mut head, samples.parts.len() as u32);
    for (p, i) in samples.parts.iter().zip(indices) {
        codec::put_u32(&mut head, i);
        put_u64(&mut head, p.first_row as u64);
        head.push(locator_code(p.locator));
    }
    codec::put_u64s(&mut head, &samples.source_index);
    codec::put_u64s(&mut head, &samples.source_records);
    codec::put_strings(&mut head, &samples.warnings);
    codec::put_u32(&mut head, samples.columns.len() as u32);
    for c in &samples.columns {
        put_column(&mut head, c);
    }
    // Plain texts are the text column's values; chat texts are flattened, kept here.
    if samples.text_is_chat {
        codec::put_strings(&mut head, &samples.texts);
    }
    let mut out = Vec::with_capacity(head.len() + 8 + samples.len() * 64);
    put_u64(&mut out, head.len() as u64);
    out.extend_from_slice(&head);
    let mut frame = samples.frame.clone();
    ParquetWriter::new(&mut out)
        .with_compression(COMPRESSION)
        .finish(&mut frame)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// The `Samples` an entry holds, for the input `first` (as given) made of `all_parts`, or
/// `None` when the payload does not decode or does not fit them.
pub(super) fn decode(
    payload: &[u8],
    first: &Path,
    all_parts: &[Part],
    options: &LoadOptions,
) -> Option<Samples> {
    let (len, rest) = payload.split_at_checked(8)?;
    let head_len = u64::from_le_bytes(len.try_into().ok()?) as usize;
    let (head, table) = rest.split_at_checked(head_len)?;
    let mut h = codec::Reader(head);
    let rows = read_u64(&mut h)? as usize;
    let format = format_of(h.u8()?)?;
    let text_column = h.string()?;
    let text_column_detected = h.u8()? != 0;
    let text_is_chat = h.u8()? != 0;
    let prompt_column = match h.u8()? {
        0 => None,
        _ => Some(h.string()?),
    };
    let n_parts = h.u32()? as usize;
    let mut parts = Vec::with_capacity(n_parts.min(all_parts.len()));
    for _ in 0..n_parts {
        let part = all_parts.get(h.u32()? as usize)?.clone();
        let first_row = read_u64(&mut h)? as usize;
        let locator = locator_of(h.u8()?)?;
        parts.push(PartRows {
            part,
            first_row,
            locator,
        });
    }
    let source_index = h.u64s()?;
    let source_records = h.u64s()?;
    let warnings = h.strings()?;
    let n_columns = h.u32()? as usize;
    let columns = (0..n_columns)
        .map(|_| read_column(&mut h, rows))
        .collect::<Option<Vec<_>>>()?;
    let chat_texts = if text_is_chat {
        Some(h.strings()?)
    } else {
        None
    };
    let frame = ParquetReader::new(Cursor::new(table)).finish().ok()?;
    let texts = match chat_texts {
        Some(t) => t,
        None => crate::dataset::plain_texts(&frame, &text_column)?,
    };
    let names_fit = frame.width() == columns.len()
        && frame
            .get_column_names()
            .iter()
            .zip(&columns)
            .all(|(n, c)| n.as_str() == c.name);
    let fits = names_fit
        && frame.height() == rows
        && texts.len() == rows
        && source_index.len() == rows
        && (source_records.is_empty() || source_records.len() == rows)
        && !parts.is_empty()
        && parts.first().is_some_and(|p| p.first_row == 0)
        && parts.windows(2).all(|w| w[0].first_row <= w[1].first_row);
    fits.then(|| Samples {
        path: first.to_path_buf(),
        parts,
        format,
        delimiter: options.delimiter,
        frame,
        text_column,
        text_column_detected,
        text_is_chat,
        prompt_column,
        texts: std::sync::Arc::new(texts),
        columns,
        source_index,
        source_records,
        warnings,
    })
}

/// Whether the table of these parts is worth caching (and can be: not a bare `.npy`).
pub(super) fn worth_caching(parts: &[Part], min_input_bytes: u64) -> bool {
    let npy = parts
        .iter()
        .any(|p| Format::of(&p.path).is_ok_and(|f| f == Format::Npy));
    !npy && input_bytes(parts) >= min_input_bytes
}

/// The entry of `key` in `cache`, decoded for this input; `None` when absent or unfit.
pub(super) fn lookup(
    cache: &Cache,
    key: &Key,
    first: &Path,
    all_parts: &[Part],
    options: &LoadOptions,
) -> Option<Samples> {
    cache.get_with(StageKind::Table, key, |p| {
        decode(p, first, all_parts, options)
    })
}
