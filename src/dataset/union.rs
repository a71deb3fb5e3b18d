//! The files of one input as one table: the union of their columns (a column a part lacks is
//! null there), a `source` column naming each row's file when there are several, and a
//! column per hive-style `key=value/` folder. Two parts whose column types differ are
//! combined into the safe supertype (integers of any width → i64, integers and floats →
//! f64, null → anything) or refused, naming both files.

use polars::prelude::*;

use super::input::Part;
use super::read::{Format, Table};
use super::typing::{self, Origin};
use super::{LoadError, PartRows};

/// One table from the parts' tables, and where each part's rows are.
pub(super) fn combine(
    parts: Vec<Part>,
    tables: Vec<(Format, Table)>,
    warnings: &mut Vec<String>,
) -> Result<(Table, Vec<PartRows>), LoadError> {
    let several = parts.len() > 1;
    let source = several.then(|| source_name(&tables));
    let mut frames = Vec::with_capacity(tables.len());
    let mut rows = Vec::with_capacity(parts.len());
    let mut first_row = 0;
    let mut source_index = Vec::new();
    let mut records = Vec::new();
    let any_records = tables.iter().any(|(_, t)| !t.records.is_empty());
    for (part, (_, table)) in parts.into_iter().zip(tables) {
        let height = table.frame.height();
        let mut frame = table.frame;
        add_hive_columns(&mut frame, &part, warnings);
        if let Some(name) = &source {
            let names = vec![part.name.as_str(); height];
            let column = Column::new(name.as_str().into(), names);
            // Invariant: the name is free in every part (see `source_name`).
            frame.with_column(column).expect("free name, same height");
        }
        source_index.extend(table.source_index);
        if any_records {
            records.extend(if table.records.is_empty() {
                vec![0; height]
            } else {
                table.records
            });
        }
        frames.push((part.path.clone(), frame));
        rows.push(PartRows {
            part,
            first_row,
            locator: table.locator,
        });
        first_row += height;
    }
    let mut frame = stack(frames)?;
    retype_hive(&mut frame, &rows);
    let locator = rows[0].locator;
    let table = Table {
        frame,
        source_index,
        records,
        locator,
    };
    Ok((table, rows))
}

/// `source`, or `atlas_source` (then `atlas_source_2`, ...) when a part has such a column.
fn source_name(tables: &[(Format, Table)]) -> String {
    let taken = |n: &str| tables.iter().any(|(_, t)| t.frame.column(n).is_ok());
    std::iter::once("source".to_string())
        .chain(std::iter::once("atlas_source".to_string()))
        .chain((2..).map(|i| format!("atlas_source_{i}")))
        .find(|n| !taken(n))
        .expect("a free name exists")
}

fn add_hive_columns(frame: &mut DataFrame, part: &Part, warnings: &mut Vec<String>) {
    let height = frame.height();
    for (key, value) in &part.hive {
        if frame.column(key).is_ok() {
            warnings.push(format!(
                "{}: folder '{key}={value}' names a column the file already has; the file's column is kept",
                part.path.display()
            ));
            continue;
        }
        let column = Column::new(key.as_str().into(), vec![value.as_str(); height]);
        // Invariant: the name is free (checked) and the height is the frame's.
        frame.with_column(column).expect("free name, same height");
    }
}

/// Hive values are folder names, so text: numbers (`temperature=0.7`) become numeric.
fn retype_hive(frame: &mut DataFrame, rows: &[PartRows]) {
    let mut keys: Vec<&str> = rows
        .iter()
        .flat_map(|r| r.part.hive.iter().map(|(k, _)| k.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        let Ok(column) = frame.column(key) else {
            continue;
        };
        let Ok(text) = column.str() else {
            continue;
        };
        if let Some(r) = typing::retype(text, Origin::Csv).filter(|r| r.bad_rows.is_empty()) {
            // Invariant: same name and length as the column it replaces.
            frame
                .replace(key, r.series.into_column())
                .expect("same length");
        }
    }
}

/// The type two parts' columns can share, if any. Lists merge their items; structs (chat
/// messages with an extra field in one part) the union of their fields, by name.
fn merge_dtype(a: &DataType, b: &DataType) -> Option<DataType> {
    match (a, b) {
        _ if a == b => Some(a.clone()),
        (DataType::Null, x) | (x, DataType::Null) => Some(x.clone()),
        _ if a.is_integer() && b.is_integer() => Some(DataType::Int64),
        _ if a.is_primitive_numeric() && b.is_primitive_numeric() => Some(DataType::Float64),
        (DataType::List(x), DataType::List(y)) => {
            Some(DataType::List(Box::new(merge_dtype(x, y)?)))
        }
        (DataType::Struct(f), DataType::Struct(g)) => {
            let mut fields = f.clone();
            for field in g {
                match fields.iter_mut().find(|h| h.name == field.name) {
                    Some(h) => h.dtype = merge_dtype(&h.dtype, &field.dtype)?,
                    None => fields.push(field.clone()),
                }
            }
            Some(DataType::Struct(fields))
        }
        _ => None,
    }
}

/// The union schema: each column's name (in first-seen order) and type, or the conflict.
fn union_schema(
    frames: &[(std::path::PathBuf, DataFrame)],
) -> Result<Vec<(PlSmallStr, DataType)>, LoadError> {
    // (name, type, the file that gave the type)
    let mut schema: Vec<(PlSmallStr, DataType, &std::path::Path)> = Vec::new();
    for (path, frame) in frames {
        for column in frame.columns() {
            let Some(at) = schema.iter().position(|(n, _, _)| n == column.name()) else {
                schema.push((column.name().clone(), column.dtype().clone(), path));
                continue;
            };
            let (name, dtype, from) = &schema[at];
            let merged =
                merge_dtype(dtype, column.dtype()).ok_or_else(|| LoadError::PartConflict {
                    column: name.to_string(),
                    first: from.to_path_buf(),
                    first_type: dtype.to_string(),
                    second: path.clone(),
                    second_type: column.dtype().to_string(),
                })?;
            if &merged != dtype {
                schema[at].1 = merged;
            }
        }
    }
    Ok(schema.into_iter().map(|(n, d, _)| (n, d)).collect())
}

/// Stack the parts' frames on the union schema.
fn stack(frames: Vec<(std::path::PathBuf, DataFrame)>) -> Result<DataFrame, LoadError> {
    if frames.len() == 1 {
        return Ok(frames.into_iter().next().expect("one frame").1);
    }
    let schema = union_schema(&frames)?;
    let mut out: Option<DataFrame> = None;
    for (path, frame) in frames {
        let height = frame.height();
        let cast_error = |e: PolarsError| LoadError::Parse {
            path: path.clone(),
            format: "table",
            detail: e.to_string(),
        };
        let columns = schema
            .iter()
            .map(|(name, dtype)| match frame.column(name) {
                Ok(c) if c.dtype() == dtype => Ok(c.clone()),
                Ok(c) => c.cast(dtype).map_err(cast_error),
                Err(_) => Ok(Column::full_null(name.clone(), height, dtype)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let aligned = DataFrame::new(height, columns).map_err(cast_error)?;
        match &mut out {
            None => out = Some(aligned),
            Some(df) => {
                df.vstack_mut_owned(aligned).map_err(cast_error)?;
            }
        }
    }
    // Invariant: at least two frames were stacked.
    Ok(out.expect("frames"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supertypes_are_safe() {
        use DataType::*;
        assert_eq!(merge_dtype(&Int32, &Int64), Some(Int64));
        assert_eq!(merge_dtype(&Int64, &Float32), Some(Float64));
        assert_eq!(merge_dtype(&Null, &String), Some(String));
        assert_eq!(merge_dtype(&String, &Int64), None);
        assert_eq!(merge_dtype(&Boolean, &Int64), None);
    }

    #[test]
    fn chat_parts_with_different_message_fields_stack() {
        let frame = |json: &str| {
            JsonReader::new(std::io::Cursor::new(json.as_bytes().to_vec()))
                .with_json_format(JsonFormat::JsonLines)
                .finish()
                .unwrap()
        };
        let a = frame(r#"{"messages": [{"role": "user", "content": "hi"}]}"#);
        let b = frame(r#"{"messages": [{"role": "user", "content": "yo", "name": "bo"}], "n": 1}"#);
        let stacked = stack(vec![("a".into(), a), ("b".into(), b)]).unwrap();
        assert_eq!(stacked.height(), 2);
        assert_eq!(stacked.column("n").unwrap().null_count(), 1);
        let DataType::List(inner) = stacked.column("messages").unwrap().dtype() else {
            panic!("not a list");
        };
        let DataType::Struct(fields) = inner.as_ref() else {
            panic!("not a struct");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["role", "content", "name"]);
        // A string where the other part has numbers: refused, naming both files.
        let c = frame(r#"{"n": "one"}"#);
        let d = frame(r#"{"n": 2}"#);
        let err = stack(vec![("c.jsonl".into(), c), ("d.jsonl".into(), d)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column 'n' holds str in c.jsonl but i64 in d.jsonl; the parts cannot be read as one table"
        );
    }
}
