//! Column types from text: a column that is numbers but for a few stray values stays
//! numeric (the strays become missing and are named in a warning); a column that is mostly
//! text stays text. CSV fields all arrive as text; JSON columns arrive as text when polars
//! met a number and a string in the same field.

use polars::prelude::*;

/// Values that mean "no value" in a numeric or true/false column (not counted as bad).
const MISSING_TOKENS: &[&str] = &[
    "", "NA", "N/A", "n/a", "na", "null", "NULL", "Null", "None", "none", "nil", "-",
];

/// A numeric column may hold at most this share of values that are not numbers…
const MAX_BAD_SHARE: f64 = 0.05;
/// …or one stray value when it has at least this many numbers.
const MIN_NUMBERS_FOR_ONE_STRAY: usize = 4;

/// Where the text came from: a CSV column may become any type; a JSON text column only a
/// numeric one, and only when it has stray values (a column of numeric strings was written
/// as strings on purpose).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    Csv,
    /// A `;`-separated CSV, as Excel writes it where the decimal mark is a comma: `0,5` is
    /// a number too.
    CsvDecimalComma,
    Json,
}

/// A text column turned into numbers (or true/false), and its stray values.
pub(super) struct Retyped {
    pub series: Series,
    /// Rows whose value was neither a number nor missing.
    pub bad_rows: Vec<usize>,
    /// The first such value.
    pub first_bad: Option<String>,
}

#[derive(Default)]
struct Counts {
    ints: usize,
    floats: usize,
    bools: usize,
    missing_tokens: usize,
    other: usize,
}

fn is_missing(v: &str) -> bool {
    MISSING_TOKENS.contains(&v.trim())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn parse_number(v: &str, origin: Origin) -> Option<f64> {
    let v = v.trim();
    v.parse::<f64>().ok().or_else(|| {
        let comma = origin == Origin::CsvDecimalComma
            && v.matches(',').count() == 1
            && v.trim_start_matches('-')
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',');
        comma.then(|| v.replace(',', ".").parse().ok()).flatten()
    })
}

fn count(ca: &StringChunked, origin: Origin) -> Counts {
    let mut c = Counts::default();
    for v in ca.iter().flatten() {
        if is_missing(v) {
            c.missing_tokens += 1;
        } else if v.trim().parse::<i64>().is_ok() {
            c.ints += 1;
        } else if parse_number(v, origin).is_some() {
            c.floats += 1;
        } else if parse_bool(v).is_some() {
            c.bools += 1;
        } else {
            c.other += 1;
        }
    }
    c
}

/// Whether `bad` stray values among `numbers` numbers still make a numeric column.
fn few_enough(bad: usize, numbers: usize) -> bool {
    let total = (bad + numbers) as f64;
    bad as f64 <= MAX_BAD_SHARE * total || (bad == 1 && numbers >= MIN_NUMBERS_FOR_ONE_STRAY)
}

/// The typed column for `ca`, or `None` when it stays text.
pub(super) fn retype(ca: &StringChunked, origin: Origin) -> Option<Retyped> {
    let c = count(ca, origin);
    let numbers = c.ints + c.floats;
    let bad = c.other + c.bools;
    let csv = origin != Origin::Json;
    if csv && numbers == 0 && c.other == 0 && c.bools > 0 {
        let values: BooleanChunked = ca
            .iter()
            .map(|v| v.and_then(parse_bool))
            .collect_ca(ca.name().clone());
        return Some(Retyped {
            series: values.into_series(),
            bad_rows: Vec::new(),
            first_bad: None,
        });
    }
    let wanted = numbers > 0 && (csv || bad > 0);
    if !wanted || !few_enough(bad, numbers) {
        return None;
    }
    let mut bad_rows = Vec::with_capacity(bad);
    let mut first_bad = None;
    let mut value_at = |row: usize, v: Option<&str>| -> Option<f64> {
        let v = v?;
        if is_missing(v) {
            return None;
        }
        let x = parse_number(v, origin);
        if x.is_none() {
            bad_rows.push(row);
            first_bad.get_or_insert_with(|| v.to_string());
        }
        x
    };
    let values: Vec<Option<f64>> = ca
        .iter()
        .enumerate()
        .map(|(row, v)| value_at(row, v))
        .collect();
    let series = if c.floats == 0 {
        let ints: Int64Chunked = values
            .iter()
            .map(|v| v.map(|x| x as i64))
            .collect_ca(ca.name().clone());
        ints.into_series()
    } else {
        Float64Chunked::from_iter_options(ca.name().clone(), values.into_iter()).into_series()
    };
    Some(Retyped {
        series,
        bad_rows,
        first_bad,
    })
}

/// Retype every text column of `frame` (see [`retype`]); `warn` gets one message per column
/// with stray values, naming the first by `locate(row)` and, in CSV, its field number.
pub(super) fn retype_frame(
    frame: &mut DataFrame,
    origin: Origin,
    locate: &dyn Fn(usize) -> String,
    warn: &mut dyn FnMut(String),
) {
    let names: Vec<PlSmallStr> = frame
        .columns()
        .iter()
        .filter(|c| c.dtype() == &DataType::String)
        .map(|c| c.name().clone())
        .collect();
    for name in names {
        let Ok(col) = frame.column(&name) else {
            continue;
        };
        let index = frame.get_column_index(&name).unwrap_or(0);
        // Invariant: filtered on the String dtype above.
        let Some(r) = retype(col.str().expect("string column"), origin) else {
            continue;
        };
        if let Some(&row) = r.bad_rows.first() {
            let field = match origin {
                Origin::Json => String::new(),
                _ => format!(", field {}", index + 1),
            };
            warn(format!(
                "column '{name}': {} {} not a number, shown as missing (first: {:?} at {}{field})",
                r.bad_rows.len(),
                if r.bad_rows.len() == 1 {
                    "value is"
                } else {
                    "values are"
                },
                r.first_bad.as_deref().unwrap_or(""),
                locate(row),
            ));
        }
        // Invariant: same name and length as the column it replaces.
        frame
            .replace(&name, r.series.into_column())
            .expect("same length");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca(values: &[Option<&str>]) -> StringChunked {
        StringChunked::from_iter_options("c".into(), values.iter().copied())
    }

    #[test]
    fn numbers_with_a_stray_stay_numeric() {
        let c = ca(&[
            Some("0.5"),
            Some("high"),
            Some("0.7"),
            Some("NA"),
            None,
            Some("1"),
            Some("2"),
        ]);
        let r = retype(&c, Origin::Csv).unwrap();
        assert_eq!(r.series.dtype(), &DataType::Float64);
        assert_eq!(r.bad_rows, [1]);
        assert_eq!(r.first_bad.as_deref(), Some("high"));
        let v: Vec<Option<f64>> = r.series.f64().unwrap().iter().collect();
        assert_eq!(
            v,
            [Some(0.5), None, Some(0.7), None, None, Some(1.0), Some(2.0)]
        );
        // JSON: the same strays count.
        assert!(retype(&c, Origin::Json).is_some());
    }

    #[test]
    fn text_stays_text_and_types_are_found() {
        let words = ca(&[Some("a"), Some("b"), Some("1"), Some("c")]);
        assert!(retype(&words, Origin::Csv).is_none());
        // Two strays in six: too many.
        let mixed = ca(&[
            Some("1"),
            Some("x"),
            Some("2"),
            Some("y"),
            Some("3"),
            Some("4"),
        ]);
        assert!(retype(&mixed, Origin::Csv).is_none());
        let ints = ca(&[Some("1"), Some(" 2"), Some("")]);
        let r = retype(&ints, Origin::Csv).unwrap();
        assert_eq!(r.series.dtype(), &DataType::Int64);
        assert!(r.bad_rows.is_empty());
        // JSON strings that are all numbers were written as strings: kept.
        assert!(retype(&ints, Origin::Json).is_none());
        let bools = ca(&[Some("true"), Some("False"), None]);
        let r = retype(&bools, Origin::Csv).unwrap();
        assert_eq!(r.series.dtype(), &DataType::Boolean);
        let comma = ca(&[Some("0,5"), Some("-1,25"), Some("3")]);
        assert!(retype(&comma, Origin::Csv).is_none());
        let r = retype(&comma, Origin::CsvDecimalComma).unwrap();
        let v: Vec<Option<f64>> = r.series.f64().unwrap().iter().collect();
        assert_eq!(v, [Some(0.5), Some(-1.25), Some(3.0)]);
        let nan = ca(&[Some("NaN"), Some("inf"), Some("0.5")]);
        assert_eq!(retype(&nan, Origin::Csv).unwrap().series.null_count(), 0);
    }
}
