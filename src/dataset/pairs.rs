//! Rows that hold several answers to one prompt — preference pairs such as `chosen` /
//! `rejected` — read as one sample per answer (`--text chosen,rejected`): the answers of a
//! row become consecutive rows with the answer in `answer`, the column it came from in
//! `source`, and the row itself as their shared prompt (`prompt_id`, the row's number, unless
//! the file has a prompt id already). Every other column is repeated on each answer's row.

use polars::prelude::*;

use super::read::Table;
use super::{LoadError, PartRows, column_list};

/// The answer columns named by a `--text` list (`a,b,...`), when it names more than one.
pub fn answer_columns(text_option: &str) -> Option<Vec<String>> {
    let names: Vec<String> = text_option
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (names.len() > 1 && text_option.contains(',')).then_some(names)
}

/// The name `base`, or `atlas_base` (then `atlas_base_2`, ...) when the frame has it.
fn free_name(frame: &DataFrame, base: &str) -> String {
    let taken = |n: &str| frame.column(n).is_ok();
    std::iter::once(base.to_string())
        .chain(std::iter::once(format!("atlas_{base}")))
        .chain((2..).map(|i| format!("atlas_{base}_{i}")))
        .find(|n| !taken(n))
        .expect("a free name exists")
}

/// Split each row of `table` into one row per column of `answers` (in that order), and move
/// the parts' first rows to match. Returns the new table and the name of its text column.
pub(super) fn split_answers(
    path: &std::path::Path,
    table: Table,
    parts: &mut [PartRows],
    answers: &[String],
) -> Result<(Table, String), LoadError> {
    let frame = &table.frame;
    for name in answers {
        let Ok(col) = frame.column(name) else {
            return Err(LoadError::MissingColumn {
                path: path.to_path_buf(),
                column: name.clone(),
                available: column_list(frame),
            });
        };
        if col.dtype() != &DataType::String {
            return Err(LoadError::Parse {
                path: path.to_path_buf(),
                format: "table",
                detail: format!(
                    "answer column '{name}' holds {}, not text (--text {} expects a text column each)",
                    col.dtype(),
                    answers.join(",")
                ),
            });
        }
    }
    let m = answers.len();
    let height = frame.height();
    let parse = |e: PolarsError| LoadError::Parse {
        path: path.to_path_buf(),
        format: "table",
        detail: e.to_string(),
    };
    // Row r of the result is answer r % m of input row r / m.
    let take: Vec<IdxSize> = (0..height * m).map(|r| (r / m) as IdxSize).collect();
    let take = IdxCa::from_vec("take".into(), take);
    let answer_name = free_name(frame, "answer");
    let source_name = free_name(frame, "source");
    let add_prompt = frame.column("prompt_id").is_err();
    let rest: Vec<Column> = frame
        .columns()
        .iter()
        .filter(|c| !answers.iter().any(|a| a.as_str() == c.name().as_str()))
        .cloned()
        .collect();
    let rest = DataFrame::new(height, rest).map_err(parse)?;
    let mut out = rest.take(&take).map_err(parse)?;
    // The answers, interleaved.
    let cols: Vec<&StringChunked> = answers
        .iter()
        .map(|a| frame.column(a).and_then(|c| c.str()).map_err(parse))
        .collect::<Result<_, _>>()?;
    let text: StringChunked = (0..height * m)
        .map(|r| cols[r % m].get(r / m))
        .collect::<StringChunked>()
        .with_name(answer_name.as_str().into());
    let source: StringChunked = (0..height * m)
        .map(|r| Some(answers[r % m].as_str()))
        .collect::<StringChunked>()
        .with_name(source_name.as_str().into());
    let mut added = vec![text.into_column(), source.into_column()];
    if add_prompt {
        let ids: Vec<i64> = (0..height * m).map(|r| (r / m) as i64 + 1).collect();
        added.push(Column::new("prompt_id".into(), ids));
    }
    for c in added {
        out.with_column(c).map_err(parse)?;
    }
    let repeat =
        |v: &[u64]| -> Vec<u64> { v.iter().flat_map(|&x| std::iter::repeat_n(x, m)).collect() };
    for p in parts.iter_mut() {
        p.first_row *= m;
    }
    Ok((
        Table {
            frame: out,
            source_index: repeat(&table.source_index),
            records: repeat(&table.records),
            locator: table.locator,
        },
        answer_name,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_lists_need_a_comma() {
        assert_eq!(
            answer_columns("chosen, rejected"),
            Some(vec!["chosen".to_string(), "rejected".to_string()])
        );
        assert_eq!(answer_columns("text"), None);
        assert_eq!(answer_columns("text,"), None);
    }
}
