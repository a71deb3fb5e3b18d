//! Loader tests: formats, column detection, column kinds, bad input.

use std::io::Write;

use sample_atlas::dataset::{ColumnKind, LoadError, LoadOptions, Samples, load};
use sample_atlas::progress::{CancelToken, NoProgress};

use crate::sample;

fn load_path(path: &std::path::Path, text: Option<&str>) -> Result<Samples, LoadError> {
    load(
        path,
        &LoadOptions {
            text_column: text.map(String::from),
        },
        &NoProgress,
        &CancelToken::new(),
    )
}

fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

#[test]
fn sweep_detects_completion_and_describes_columns() {
    let s = load_path(&sample("sweep.jsonl"), None).unwrap();
    assert_eq!(s.len(), 2304);
    assert_eq!(s.text_column, "completion");
    assert!(s.text_column_detected);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let kind = |name: &str| &s.columns[s.column_index(name).unwrap()].kind;
    assert!(matches!(kind("score"), ColumnKind::Numeric { .. }));
    assert!(matches!(kind("temperature"), ColumnKind::Numeric { .. }));
    match kind("model") {
        ColumnKind::Category { levels, counts, .. } => {
            assert_eq!(levels, &["base-8b", "chat-8b", "tiny-1b"]);
            assert_eq!(counts.iter().sum::<usize>(), 2304);
        }
        k => panic!("model is {k:?}"),
    }
    match kind("is_correct") {
        ColumnKind::Category { levels, codes, .. } => {
            assert_eq!(levels, &["false", "true"]);
            // Story / advice / harmful rows have no correctness.
            assert!(codes.contains(&sample_atlas::dataset::MISSING_CODE));
        }
        k => panic!("is_correct is {k:?}"),
    }
    assert!(
        matches!(kind("prompt"), ColumnKind::Category { .. }),
        "24 prompts are categories"
    );
    assert!(matches!(kind("completion"), ColumnKind::Text));
    assert_eq!(s.locate(0), "line 1");
}

#[test]
fn text_column_detection_rules() {
    let dir = tempfile::tempdir().unwrap();
    // A conventional name wins over a longer column.
    let p = write_temp(
        &dir,
        "a.jsonl",
        b"{\"response\": \"hi\", \"notes\": \"a much longer string here\"}\n",
    );
    assert_eq!(load_path(&p, None).unwrap().text_column, "response");
    // Otherwise the string column with the longest mean length.
    let p = write_temp(
        &dir,
        "b.csv",
        b"id,short,long\n1,ab,a longer text\n2,cd,another long text\n",
    );
    assert_eq!(load_path(&p, None).unwrap().text_column, "long");
    // No string column at all.
    let err = load_path(&sample("bad/no_text.csv"), None).err().unwrap();
    assert!(matches!(err, LoadError::NoTextColumn { .. }), "{err}");
    assert!(err.to_string().contains("no_text.csv"));
    assert!(err.to_string().contains("name the text column"), "{err}");
}

#[test]
fn chat_messages_are_flattened_and_kept_whole() {
    let s = load_path(&sample("chat.jsonl"), None).unwrap();
    assert_eq!(s.text_column, "messages");
    assert!(s.text_is_chat);
    assert!(s.texts[0].starts_with("system: You are a helpful assistant.\nuser: "));
    let turns = s.chat_turns(0).unwrap();
    assert_eq!(turns.len(), 3);
    assert_eq!(turns[1].0, "user");
    assert_eq!(turns[2].0, "assistant");
}

#[test]
fn csv_and_parquet_load() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_temp(
        &dir,
        "s.csv",
        b"text,score,model\n\"Hello, world\",0.5,a\n\"Multi\nline\",0.25,b\n",
    );
    let s = load_path(&p, None).unwrap();
    assert_eq!(*s.texts, vec!["Hello, world", "Multi\nline"]);
    assert_eq!(s.locate(1), "line 3");
    // Parquet: write one with polars.
    use polars::prelude::*;
    let mut df = df!("text" => ["one", "two", "three"], "score" => [1.0, 2.0, 3.0]).unwrap();
    let path = dir.path().join("s.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let s = load_path(&path, None).unwrap();
    assert_eq!(*s.texts, vec!["one", "two", "three"]);
    assert_eq!(s.locate(2), "row 3");
}

#[test]
fn bad_lines_are_skipped_with_warnings_naming_them() {
    let s = load_path(&sample("bad/malformed.jsonl"), None).unwrap();
    assert_eq!(s.len(), 6);
    assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
    assert!(
        s.warnings[0].contains("malformed.jsonl: line 3: column"),
        "{}",
        s.warnings[0]
    );
    assert!(s.warnings[1].contains("line 6"), "{}", s.warnings[1]);
    assert_eq!(s.source_index, vec![1, 2, 4, 5, 7, 8]);

    let s = load_path(&sample("bad/invalid_utf8.jsonl"), None).unwrap();
    assert_eq!(s.len(), 6);
    assert!(
        s.warnings[0].contains("line 3: column 20: invalid UTF-8"),
        "{}",
        s.warnings[0]
    );

    let s = load_path(&sample("bad/ragged.csv"), None).unwrap();
    assert_eq!(s.len(), 4);
    assert!(
        s.warnings[0].contains("line 3: 2 fields where the header has 3"),
        "{:?}",
        s.warnings
    );
    assert!(
        s.warnings[1].contains("line 5: 4 fields"),
        "{:?}",
        s.warnings
    );
}

#[test]
fn missing_and_non_finite_numbers_are_counted() {
    let s = load_path(&sample("bad/nan_scores.csv"), None).unwrap();
    assert_eq!(s.len(), 6);
    let score = &s.columns[s.column_index("score").unwrap()];
    match &score.kind {
        ColumnKind::Numeric {
            values,
            min,
            max,
            missing,
        } => {
            assert_eq!(*missing, 4);
            assert_eq!((*min, *max), (0.5, 0.9));
            assert!(values[1].is_nan());
        }
        k => panic!("{k:?}"),
    }
    assert!(
        s.warnings
            .iter()
            .any(|w| w
                .contains("column 'score': 1 missing and 3 NaN/infinite values (first at line 3)")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn unusable_files_fail_with_clear_errors() {
    let err = load_path(&sample("bad/empty.jsonl"), None).err().unwrap();
    assert!(matches!(err, LoadError::Empty { .. }));
    assert!(err.to_string().contains("empty.jsonl: the file is empty"));

    let err = load_path(&sample("bad/all_bad.jsonl"), None).err().unwrap();
    assert!(
        err.to_string().contains("all_bad.jsonl: no usable rows"),
        "{err}"
    );
    assert!(err.to_string().contains("line 1"), "{err}");

    let err = load_path(&sample("bad/truncated.parquet"), None)
        .err()
        .unwrap();
    assert!(matches!(err, LoadError::Parse { .. }), "{err}");
    assert!(err.to_string().contains("truncated.parquet"), "{err}");

    let err = load_path(&sample("bad/numeric_text.jsonl"), Some("text"))
        .err()
        .unwrap();
    assert!(matches!(err, LoadError::NotText { .. }), "{err}");
    assert!(err.to_string().contains("column 'text' holds i64"), "{err}");

    let err = load_path(&sample("sweep.jsonl"), Some("nope"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("no column named 'nope'"), "{err}");
    assert!(
        err.to_string().contains("completion"),
        "lists the columns: {err}"
    );

    let err = load_path(std::path::Path::new("x.txt"), None)
        .err()
        .unwrap();
    assert!(matches!(err, LoadError::UnknownFormat { .. }));
}

#[test]
fn cancelled_load_stops() {
    let cancel = CancelToken::new();
    cancel.cancel();
    let r = load(
        &sample("sweep.jsonl"),
        &LoadOptions::default(),
        &NoProgress,
        &cancel,
    );
    assert!(matches!(r, Err(LoadError::Cancelled)));
}
