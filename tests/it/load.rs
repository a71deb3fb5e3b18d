//! Loader tests: formats, column detection, column kinds, bad input; the files of
//! `samples/formats/` (written by Python's csv module, pandas, pyarrow, gzip, zstd: see its
//! `make.py`) through the library and through the real binary.

use std::io::Write;

use sample_atlas::dataset::{ColumnKind, LoadError, LoadOptions, Samples, load};
use sample_atlas::progress::{CancelToken, NoProgress};

use crate::sample;

fn load_path(path: &std::path::Path, text: Option<&str>) -> Result<Samples, LoadError> {
    load(
        path,
        &LoadOptions {
            text_column: text.map(String::from),
            ..Default::default()
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
    assert_eq!(s.locate(1), "record 2, line 3");
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
        s.warnings.iter().any(|w| w.contains(
            "column 'score': 1 missing and 3 NaN/infinite values (first at record 2, line 3)"
        )),
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

    let dir = tempfile::tempdir().unwrap();
    for name in ["x.txt", "x.parquet.gz"] {
        let err = load_path(&write_temp(&dir, name, b"text\nhi\n"), None)
            .err()
            .unwrap();
        assert!(
            matches!(err, LoadError::UnknownFormat { .. }),
            "{name}: {err}"
        );
    }
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

fn formats(name: &str) -> std::path::PathBuf {
    sample(&format!("formats/{name}"))
}

/// `sample-atlas map INPUTS -o OUT --report R` (small, fast settings, no cache); its stderr,
/// the output table and the report. Fails the test when the run fails.
fn map_ok(inputs: &[&std::path::Path], extra: &[&str]) -> (String, DataFrame, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let report = dir.path().join("report.json");
    let o = crate::atlas_cmd()
        .arg("map")
        .args(inputs)
        .args([
            "-o",
            out.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
        .args([
            "--quiet",
            "--no-cache",
            "--n-neighbors",
            "3",
            "--epochs",
            "20",
        ])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    let frame = ParquetReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    let report = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    (stderr, frame, report)
}

/// The same run expected to fail: its exit code and stderr.
fn map_err(inputs: &[&std::path::Path], extra: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let o = crate::atlas_cmd()
        .arg("map")
        .args(inputs)
        .args(["-o", out.to_str().unwrap(), "--quiet", "--no-cache"])
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn strings(frame: &DataFrame, column: &str) -> Vec<Option<String>> {
    let c = frame.column(column).unwrap().str().unwrap().clone();
    c.iter().map(|v| v.map(String::from)).collect()
}

fn names(frame: &DataFrame) -> Vec<String> {
    frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect()
}

fn warnings(report: &serde_json::Value) -> Vec<String> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

use polars::prelude::{DataFrame, DataType, ParquetReader, SerReader};

#[test]
fn a_python_csv_with_crlf_loads_each_record_once() {
    let (stderr, frame, report) = map_ok(&[&formats("python_crlf.csv")], &[]);
    assert_eq!(frame.height(), 300, "{stderr}");
    assert_eq!(report["rows"], 300);
    assert!(warnings(&report).is_empty(), "{:?}", warnings(&report));
    let texts = strings(&frame, "text");
    assert!(
        texts
            .iter()
            .all(|t| t.as_deref().is_some_and(|t| t.starts_with("Sample ")))
    );
    // Record 4 holds a quoted newline, quotes and a comma, kept as written.
    assert!(
        texts[3]
            .as_deref()
            .unwrap()
            .ends_with("\nA second line, with \"quotes\", commas; and semicolons."),
        "{:?}",
        texts[3]
    );
    assert_eq!(frame.column("score").unwrap().dtype(), &DataType::Float64);
    assert_eq!(frame.column("score").unwrap().null_count(), 0);
}

#[test]
fn delimiters_are_sniffed_and_can_be_given() {
    for name in [
        "excel_semicolon.csv",
        "pipes.csv",
        "pandas.tsv",
        "pandas.csv.zst",
    ] {
        let (stderr, frame, report) = map_ok(&[&formats(name)], &[]);
        // Excel's byte-order mark is not part of the first column's name.
        assert_eq!(
            names(&frame)[..3],
            ["text", "score", "model"],
            "{name}: {stderr}"
        );
        assert_eq!(
            frame.column("score").unwrap().dtype(),
            &DataType::Float64,
            "{name}"
        );
        assert!(
            warnings(&report).is_empty(),
            "{name}: {:?}",
            warnings(&report)
        );
    }
    // Excel's decimal commas (`0,292`) in a `;`-separated file are numbers.
    let (_, frame, _) = map_ok(&[&formats("excel_semicolon.csv")], &["--delimiter", ";"]);
    assert_eq!(frame.height(), 40);
    let score = frame.column("score").unwrap().f64().unwrap().get(0);
    assert_eq!(score, Some(0.292));
    let (_, frame, _) = map_ok(&[&formats("pandas.tsv")], &["--delimiter", "tab"]);
    assert_eq!(frame.height(), 60);
    // The wrong delimiter, given by hand, is obeyed: one column.
    let (_, frame, _) = map_ok(&[&formats("excel_semicolon.csv")], &["--delimiter", "|"]);
    assert_eq!(names(&frame)[0], "text;score;model");
    let (code, stderr) = map_err(&[&formats("pipes.csv")], &["--delimiter", "ab"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("expected one ASCII character"), "{stderr}");
}

#[test]
fn ragged_csv_warnings_name_record_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_temp(
        &dir,
        "r.csv",
        b"text,score\r\n\"two\r\nlines\",1\r\nragged\r\nok,2\r\nend,3\r\n",
    );
    let (_, frame, report) = map_ok(&[&p], &[]);
    assert_eq!(frame.height(), 3);
    let w = warnings(&report);
    assert!(
        w[0].contains("r.csv: record 2, line 4: 1 fields where the header has 2; skipped"),
        "{w:?}"
    );
}

#[test]
fn numeric_columns_with_stray_strings_stay_numeric() {
    let (_, frame, report) = map_ok(&[&sample("bad/stray_strings.csv")], &[]);
    let w = warnings(&report);
    let score = frame.column("score").unwrap();
    assert_eq!(score.dtype(), &DataType::Float64);
    // "n/a" is missing, "high" is bad: both null, only "high" is named.
    assert_eq!(score.null_count(), 2);
    assert!(
        w.iter().any(|w| w.contains(
            "column 'score': 1 value is not a number, shown as missing (first: \"high\" at record 13, line 15, field 2)"
        )),
        "{w:?}"
    );
    assert_eq!(frame.column("rating").unwrap().dtype(), &DataType::Int64);
    assert!(
        w.iter()
            .any(|w| w.contains("column 'rating': 1 value is not a number")),
        "{w:?}"
    );
    // Half numbers, half words: text.
    assert_eq!(frame.column("notes").unwrap().dtype(), &DataType::String);

    let (_, frame, report) = map_ok(&[&sample("bad/stray_strings.jsonl")], &[]);
    assert_eq!(frame.column("score").unwrap().dtype(), &DataType::Float64);
    let w = warnings(&report);
    assert!(
        w.iter().any(|w| w.contains(
            "column 'score': 1 value is not a number, shown as missing (first: \"high\" at line 6)"
        )),
        "{w:?}"
    );
}

#[test]
fn compressed_json_and_a_json_array_load() {
    let dir = tempfile::tempdir().unwrap();
    // gzip and zstd of a JSON array and of JSON lines, made here with the crates.
    let array = std::fs::read(formats("sharegpt.json")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&array).unwrap();
    let json_gz = write_temp(&dir, "share.json.gz", &gz.finish().unwrap());
    let lines = std::fs::read(sample("chat.jsonl")).unwrap();
    let zst = write_temp(
        &dir,
        "chat.jsonl.zst",
        &zstd::encode_all(&lines[..], 3).unwrap(),
    );
    for (path, rows) in [(formats("sharegpt.json"), 6), (json_gz, 6), (zst, 40)] {
        let (stderr, frame, _) = map_ok(&[&path], &[]);
        assert_eq!(frame.height(), rows, "{}: {stderr}", path.display());
    }
    let corrupt = write_temp(&dir, "bad.jsonl.gz", b"\x1f\x8b not really gzip");
    let (code, stderr) = map_err(&[&corrupt], &[]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("bad.jsonl.gz: could not read gzip: not a valid gzip stream"),
        "{stderr}"
    );
    // A JSON array with an element that is not an object: skipped, named.
    let p = write_temp(
        &dir,
        "a.json",
        b"[{\"text\": \"a b\"}, 7, {\"text\": \"c d\"}, {\"text\": \"e f\"}]",
    );
    let (_, frame, report) = map_ok(&[&p], &[]);
    assert_eq!(frame.height(), 3);
    assert!(warnings(&report)[0].contains("a.json: element 2: not a JSON object; skipped"));
}

#[test]
fn every_chat_shape_is_read_as_turns() {
    // OpenAI string and list-of-parts content with tool calls, Anthropic content blocks.
    let (stderr, frame, report) = map_ok(&[&formats("chat_shapes.jsonl")], &[]);
    assert_eq!(frame.height(), 3, "{stderr}");
    assert_eq!(report["text_column"], "messages");
    let s = load_path(&formats("chat_shapes.jsonl"), None).unwrap();
    assert!(s.text_is_chat);
    let turns = s.chat_turns(1).unwrap();
    assert_eq!(turns[0], ("user".into(), "Weather in Oslo?".into()));
    assert_eq!(turns[1].1, "[tool call get_weather({\"city\": \"Oslo\"})]");
    assert_eq!(turns[2], ("tool".into(), "4C, rain".into()));
    let turns = s.chat_turns(2).unwrap();
    assert_eq!(
        turns[1].1,
        "Searching.\n[tool_use search: {\"q\":\"rust csv\"}]"
    );
    assert_eq!(turns[2].1, "[tool_result: csv 1.3 by BurntSushi]");
    assert!(s.texts[0].starts_with("system: You are terse.\nuser: Capital of France?"));

    // ShareGPT in a JSON array.
    let s = load_path(&formats("sharegpt.json"), None).unwrap();
    assert_eq!(s.text_column, "conversations");
    assert_eq!(
        s.chat_turns(2).unwrap()[1],
        ("gpt".into(), "2 + 2 = 4.".into())
    );
    assert_eq!(s.locate(2), "row 3");

    // hh-rlhf: transcripts held in strings, gzip-compressed.
    let (_, frame, report) = map_ok(&[&formats("hh_transcripts.jsonl.gz")], &[]);
    assert_eq!(frame.height(), 8);
    assert_eq!(report["text_column"], "chosen");
    let s = load_path(&formats("hh_transcripts.jsonl.gz"), None).unwrap();
    assert!(s.text_is_chat);
    let turns = s.chat_turns(0).unwrap();
    assert_eq!(turns.len(), 4);
    assert_eq!(turns[0].0, "Human");
    assert_eq!(turns[3], ("Assistant".into(), "Welcome.".into()));
    assert!(s.texts[0].starts_with("Human: How do I "), "{}", s.texts[0]);

    // A prompt and a response: the prompt is shown above the response.
    let s = load_path(&sample("sweep.jsonl"), None).unwrap();
    assert!(!s.text_is_chat);
    assert_eq!(s.prompt_column.as_deref(), Some("prompt"));
    let turns = s.chat_turns(0).unwrap();
    assert_eq!(turns[0].0, "prompt");
    assert_eq!(turns[1], ("completion".into(), s.texts[0].clone()));
}

#[test]
fn a_folder_of_parquet_parts_is_one_table() {
    let (stderr, frame, report) = map_ok(&[&formats("parquet_parts")], &[]);
    assert_eq!(frame.height(), 45, "{stderr}");
    assert_eq!(report["files"].as_array().unwrap().len(), 3);
    assert!(
        stderr.contains("parquet_parts (3 files): 45 rows"),
        "{stderr}"
    );
    let sources = strings(&frame, "source");
    assert_eq!(sources[0].as_deref(), Some("model=base-8b/part-0.parquet"));
    // The hive folder became a column, matching the source.
    let models = strings(&frame, "model");
    for (m, s) in models.iter().zip(&sources) {
        assert!(
            s.as_deref()
                .unwrap()
                .starts_with(&format!("model={}/", m.as_deref().unwrap()))
        );
    }
    let s = load_path(&formats("parquet_parts"), None).unwrap();
    assert_eq!(s.parts.len(), 3);
    assert_eq!(s.locate(15), "model=chat-8b/part-0.parquet: row 1");
    assert_eq!(s.part_of(44).unwrap().name, "model=tiny-1b/part-0.parquet");
}

#[test]
fn a_glob_of_jsonl_parts_is_their_union() {
    let pattern = formats("jsonl_parts").join("part-*.jsonl");
    let (stderr, frame, report) = map_ok(&[&pattern], &[]);
    assert_eq!(frame.height(), 19, "{stderr}");
    let w = warnings(&report);
    assert!(
        w[0].contains("part-00001.jsonl: line 4: column 16: malformed JSON"),
        "{w:?}"
    );
    // `model` only in the first part, `temperature` only in the second: null elsewhere.
    assert_eq!(frame.column("model").unwrap().null_count(), 9);
    assert_eq!(frame.column("temperature").unwrap().null_count(), 10);
    assert_eq!(
        strings(&frame, "source")[18].as_deref(),
        Some("part-00001.jsonl")
    );
    // An empty part (Spark writes them for empty partitions) is skipped, named.
    let dir = tempfile::tempdir().unwrap();
    for name in ["part-00000.jsonl", "part-00001.jsonl"] {
        std::fs::copy(formats("jsonl_parts").join(name), dir.path().join(name)).unwrap();
    }
    write_temp(&dir, "part-00002.jsonl", b"");
    let (_, frame, report) = map_ok(&[dir.path()], &[]);
    assert_eq!(frame.height(), 19);
    assert!(
        warnings(&report)
            .iter()
            .any(|w| w.contains("part-00002.jsonl: the file is empty; the part is skipped")),
        "{:?}",
        warnings(&report)
    );
    let (code, stderr) = map_err(&[&formats("jsonl_parts").join("*.parquet")], &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("matches no data files"), "{stderr}");
}

#[test]
fn several_files_are_mapped_as_one_and_conflicts_name_both() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_temp(
        &dir,
        "a.jsonl",
        b"{\"text\": \"a b c\", \"score\": 1}\n{\"text\": \"d e\", \"score\": 2}\n",
    );
    let b = write_temp(&dir, "b.csv", b"text,score\nx y,0.5\nz w,0.25\n");
    let (_, frame, _) = map_ok(&[&a, &b], &[]);
    assert_eq!(frame.height(), 4);
    // Integers and floats: floats.
    assert_eq!(frame.column("score").unwrap().dtype(), &DataType::Float64);
    assert_eq!(
        strings(&frame, "source"),
        [
            Some("a.jsonl"),
            Some("a.jsonl"),
            Some("b.csv"),
            Some("b.csv")
        ]
        .map(|s| s.map(String::from))
    );
    // Captions name the set by its first file and how many more.
    let both = sample_atlas::dataset::load_many(
        &[a.clone(), b.clone()],
        &LoadOptions::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(both.display_name(), "a.jsonl + 1 more file");
    let one = load(
        &a,
        &LoadOptions::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(one.display_name(), "a.jsonl");
    let folder = load(
        &formats("jsonl_parts"),
        &LoadOptions::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(
        folder.display_name(),
        "jsonl_parts",
        "a folder keeps its own name"
    );
    let c = write_temp(
        &dir,
        "c.jsonl",
        b"{\"text\": \"q r\", \"score\": \"good\"}\n",
    );
    let (code, stderr) = map_err(&[&a, &c], &[]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("column 'score' holds i64 in")
            && stderr.contains("a.jsonl but str in")
            && stderr.contains("c.jsonl"),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_is_reported_once() {
    let (code, stderr) = map_err(&[std::path::Path::new("no/such/file.csv")], &[]);
    assert_eq!(code, Some(1));
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
    assert!(stderr.contains("no/such/file.csv"), "{stderr}");
}

#[test]
fn the_cache_key_covers_every_part() {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    for i in 0..2 {
        let body: String = (0..8)
            .map(|k| format!("{{\"text\": \"part {i} row {k} words\"}}\n"))
            .collect();
        std::fs::write(parts.join(format!("p{i}.jsonl")), body).unwrap();
    }
    let cache = dir.path().join("cache");
    let run = || -> serde_json::Value {
        let out = dir.path().join("o.parquet");
        let report = dir.path().join("r.json");
        let o = crate::atlas_cmd()
            .arg("map")
            .arg(&parts)
            .args([
                "-o",
                out.to_str().unwrap(),
                "--report",
                report.to_str().unwrap(),
            ])
            .args(["--quiet", "--n-neighbors", "3", "--epochs", "20"])
            .env(sample_atlas::cache::CACHE_DIR_ENV, &cache)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
    };
    assert_eq!(run()["cache"]["layout"], "miss");
    assert_eq!(run()["cache"]["layout"], "hit");
    // Change one part: the map is recomputed.
    std::fs::write(
        parts.join("p1.jsonl"),
        "{\"text\": \"changed\"}\n".repeat(8),
    )
    .unwrap();
    assert_eq!(run()["cache"]["layout"], "miss");
}

// The load stage's cache: a reopened table is the fresh load, field by field.

mod table_cache {
    use std::path::{Path, PathBuf};

    use sample_atlas::cache::{Cache, CacheUse, StageKind};
    use sample_atlas::dataset::{LoadOptions, Samples};
    use sample_atlas::metrics::MetricOptions;
    use sample_atlas::pipeline::{LoadSpec, load_inputs, load_inputs_with};
    use sample_atlas::progress::{CancelToken, NoProgress};

    use super::formats;
    use crate::sample;

    /// Load `inputs` through the cache in `cache`, caching whatever the size.
    fn cached(inputs: &[PathBuf], spec: &LoadSpec, cache: &Cache) -> (Samples, CacheUse) {
        load_inputs_with(
            inputs,
            spec,
            Some(cache),
            0,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap()
    }

    fn fresh(inputs: &[PathBuf], spec: &LoadSpec) -> Samples {
        load_inputs(inputs, spec, None, &NoProgress, &CancelToken::new()).unwrap()
    }

    /// Every field of `a` equals `b`'s (a field added to `Samples` must be added here: the
    /// destructuring does not compile without it).
    fn assert_same(a: &Samples, b: &Samples, what: &str) {
        let Samples {
            path,
            parts,
            format,
            delimiter,
            frame,
            text_column,
            text_column_detected,
            text_is_chat,
            prompt_column,
            texts,
            columns,
            source_index,
            source_records,
            warnings,
        } = a;
        assert_eq!(path, &b.path, "{what}");
        assert_eq!(format!("{parts:?}"), format!("{:?}", b.parts), "{what}");
        assert_eq!(format, &b.format, "{what}");
        assert_eq!(delimiter, &b.delimiter, "{what}");
        assert_eq!(frame.schema(), b.frame.schema(), "{what}: column types");
        assert!(
            frame.equals_missing(&b.frame),
            "{what}: {frame}\n{}",
            b.frame
        );
        assert_eq!(text_column, &b.text_column, "{what}");
        assert_eq!(text_column_detected, &b.text_column_detected, "{what}");
        assert_eq!(text_is_chat, &b.text_is_chat, "{what}");
        assert_eq!(prompt_column, &b.prompt_column, "{what}");
        assert_eq!(texts, &b.texts, "{what}");
        // Debug, not ==: a numeric column's NaN (missing) equals itself there.
        assert_eq!(format!("{columns:?}"), format!("{:?}", b.columns), "{what}");
        assert_eq!(source_index, &b.source_index, "{what}");
        assert_eq!(source_records, &b.source_records, "{what}");
        assert_eq!(warnings, &b.warnings, "{what}");
        for row in [0, a.len() / 2, a.len() - 1] {
            assert_eq!(a.locate(row), b.locate(row), "{what}: row {row}");
            assert_eq!(a.chat_turns(row), b.chat_turns(row), "{what}: row {row}");
        }
    }

    #[test]
    fn a_reopened_table_is_the_fresh_load_field_by_field() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().to_path_buf()).unwrap();
        let inputs: Vec<Vec<PathBuf>> = vec![
            vec![sample("sweep.jsonl")],
            vec![sample("chat.jsonl")],
            vec![sample("bad/malformed.jsonl")],
            vec![sample("bad/invalid_utf8.jsonl")],
            vec![sample("bad/nan_scores.csv")],
            vec![sample("bad/ragged.csv")],
            vec![sample("bad/stray_strings.csv")],
            vec![sample("bad/stray_strings.jsonl")],
            vec![sample("bad/duplicates.jsonl")],
            vec![formats("python_crlf.csv")],
            vec![formats("excel_semicolon.csv")],
            vec![formats("pandas.tsv")],
            vec![formats("pandas.csv.zst")],
            vec![formats("pipes.csv")],
            vec![formats("chat_shapes.jsonl")],
            vec![formats("sharegpt.json")],
            vec![formats("hh_transcripts.jsonl.gz")],
            // Parts: a hive-partitioned folder, a glob, and several files (a CSV among JSON).
            vec![formats("parquet_parts")],
            vec![formats("jsonl_parts").join("part-*.jsonl")],
            vec![
                sample("chat.jsonl"),
                formats("pipes.csv"),
                sample("bad/malformed.jsonl"),
            ],
        ];
        let spec = LoadSpec::default();
        for input in &inputs {
            let what = format!("{input:?}");
            let want = fresh(input, &spec);
            let (first, used) = cached(input, &spec, &cache);
            assert_eq!(used, CacheUse::Miss, "{what}");
            assert_same(&first, &want, &what);
            let (again, used) = cached(input, &spec, &cache);
            assert_eq!(used, CacheUse::Hit, "{what}");
            assert_same(&again, &want, &what);
        }
        assert_eq!(cache.list(StageKind::Table).len(), inputs.len());
        // Metric expressions are evaluated after the cached table is read, and options the
        // built-in metrics depend on are part of the key.
        let input = [sample("sweep.jsonl")];
        let spec = LoadSpec {
            metrics: MetricOptions {
                exprs: vec![("adj".into(), "score - 0.01 * len_words".into())],
                ..Default::default()
            },
            ..Default::default()
        };
        let (s, used) = cached(&input, &spec, &cache);
        assert_eq!(used, CacheUse::Hit);
        assert_same(&s, &fresh(&input, &spec), "with an expression");
        let spec = LoadSpec {
            metrics: MetricOptions {
                pattern: Some("the".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let (s, used) = cached(&input, &spec, &cache);
        assert_eq!(used, CacheUse::Miss, "another --pattern");
        assert_same(&s, &fresh(&input, &spec), "with a pattern");
    }

    #[test]
    fn the_table_key_covers_content_options_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().join("cache")).unwrap();
        let file = dir.path().join("a.csv");
        std::fs::write(&file, "text;score\nhello there;1\nbye now;2\n").unwrap();
        let input = [file.clone()];
        let spec = LoadSpec::default();
        assert_eq!(cached(&input, &spec, &cache).1, CacheUse::Miss);
        assert_eq!(cached(&input, &spec, &cache).1, CacheUse::Hit);
        // Another delimiter or text column: another table.
        let semicolon = LoadSpec {
            options: LoadOptions {
                delimiter: Some(b','),
                ..Default::default()
            },
            ..Default::default()
        };
        let (s, used) = cached(&input, &semicolon, &cache);
        assert_eq!(
            (used, s.frame.width() - 6),
            (CacheUse::Miss, 1),
            "one column"
        );
        // The same bytes under another name: another entry (warnings and rows name the file).
        let copy = dir.path().join("b.csv");
        std::fs::copy(&file, &copy).unwrap();
        let (s, used) = cached(std::slice::from_ref(&copy), &spec, &cache);
        assert_eq!((used, s.path.as_path()), (CacheUse::Miss, copy.as_path()));
        // Changed content.
        std::fs::write(&file, "text;score\nhello there;1\nbye now;3\n").unwrap();
        let (s, used) = cached(&input, &spec, &cache);
        assert_eq!(used, CacheUse::Miss);
        assert_same(&s, &fresh(&input, &spec), "changed");
        // Below the size threshold nothing is stored; without a cache it is off.
        let r = load_inputs_with(
            &input,
            &spec,
            Some(&cache),
            1 << 20,
            &NoProgress,
            &CancelToken::new(),
        );
        assert_eq!(r.unwrap().1, CacheUse::Skipped);
        let r = load_inputs_with(&input, &spec, None, 0, &NoProgress, &CancelToken::new());
        assert_eq!(r.unwrap().1, CacheUse::Off);
    }

    #[test]
    fn a_corrupt_table_entry_is_deleted_and_recomputed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().to_path_buf()).unwrap();
        let input = [sample("chat.jsonl")];
        let spec = LoadSpec::default();
        let want = fresh(&input, &spec);
        cached(&input, &spec, &cache);
        let entry = cache.list(StageKind::Table).pop().unwrap();
        let whole = std::fs::read(&entry).unwrap();
        // A flipped byte in the header, in the Parquet table; a truncated entry.
        for damage in [100, whole.len() - 100, usize::MAX] {
            let mut bytes = whole.clone();
            if damage == usize::MAX {
                bytes.truncate(whole.len() / 2);
            } else {
                bytes[damage] ^= 0x20;
            }
            std::fs::write(&entry, &bytes).unwrap();
            let (s, used) = cached(&input, &spec, &cache);
            assert_eq!(used, CacheUse::Miss, "damage at {damage}");
            assert_same(&s, &want, "recomputed");
            assert_eq!(std::fs::read(&entry).unwrap(), whole, "stored again");
        }
    }

    /// `stats` on a JSONL of `rows` rows (≈ 200 bytes each) with `extra` flags, its cache in
    /// `cache`: the run's stdout.
    fn stats(file: &Path, cache: &Path, extra: &[&str]) -> String {
        let o = crate::atlas_cmd()
            .arg("stats")
            .arg(file)
            .args(["--by", "model", "--metric", "score", "--no-diversity", "-q"])
            .args(extra)
            .env(sample_atlas::cache::CACHE_DIR_ENV, cache)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    #[test]
    fn the_binary_caches_a_large_table_unless_told_not_to() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.jsonl");
        let body: String = (0..16_000)
            .map(|i| {
                format!(
                    "{{\"text\": \"sample {i} of a set large enough for its table to be cached, with some more words\", \"model\": \"m{}\", \"score\": {}, \"id\": {i}}}\n",
                    i % 3,
                    (i * 37 % 101) as f64 / 100.0
                )
            })
            .collect();
        assert!(body.len() as u64 >= sample_atlas::pipeline::TABLE_CACHE_MIN_BYTES);
        std::fs::write(&file, body).unwrap();
        let cache = dir.path().join("cache");
        let table_entries = || {
            std::fs::read_dir(&cache)
                .map(|d| {
                    d.filter(|e| {
                        let name = e.as_ref().unwrap().file_name();
                        name.to_string_lossy().starts_with("table-")
                    })
                    .count()
                })
                .unwrap_or(0)
        };
        let off = stats(&file, &cache, &["--no-cache"]);
        assert_eq!(table_entries(), 0, "--no-cache writes nothing");
        let first = stats(&file, &cache, &[]);
        assert_eq!(table_entries(), 1);
        let entry = std::fs::read_dir(&cache)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let written = std::fs::metadata(&entry).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let again = stats(&file, &cache, &[]);
        assert_eq!((&first, &again), (&off, &off), "the same table three ways");
        let read = std::fs::metadata(&entry).unwrap().modified().unwrap();
        assert!(read > written, "the entry was read (its last use touched)");
        // `sample-atlas cache` counts it.
        let o = crate::atlas_cmd()
            .arg("cache")
            .env(sample_atlas::cache::CACHE_DIR_ENV, &cache)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("table"))
            .unwrap();
        assert_eq!(line.split_whitespace().nth(1), Some("1"), "{text}");
        // `map --report` says where the table came from: the entry the stats runs stored, a
        // new one once the cache is emptied, then that one.
        let report = dir.path().join("report.json");
        let out = dir.path().join("m.parquet");
        let map = |extra: &[&str]| -> serde_json::Value {
            let mut args = vec![
                "map",
                file.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
                "--quiet",
                "--epochs",
                "5",
                "--report",
                report.to_str().unwrap(),
            ];
            args.extend_from_slice(extra);
            let o = crate::atlas_cmd()
                .args(&args)
                .env(sample_atlas::cache::CACHE_DIR_ENV, &cache)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
        };
        assert_eq!(map(&[])["cache"]["table"], "hit");
        std::fs::remove_dir_all(&cache).unwrap();
        assert_eq!(map(&[])["cache"]["table"], "miss");
        assert_eq!(map(&[])["cache"]["table"], "hit");
        assert_eq!(map(&["--no-cache"])["cache"]["table"], "off");
    }
}

/// The metric and colour chosen on opening the real sets of `../shared/data` (their first
/// 1,500 rows), and rows of the same columns and types made here (tested also where the
/// folder is missing).
#[test]
fn real_sets_open_on_a_score_not_an_identifier() {
    use std::io::{BufRead, Read};
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let dir = tempfile::tempdir().unwrap();
    let head = |rel: &str| -> Option<std::path::PathBuf> {
        let path = data.join(rel);
        let file = std::fs::File::open(&path).ok()?;
        let mut text = String::new();
        if rel.ends_with(".gz") {
            flate2::read::GzDecoder::new(file)
                .read_to_string(&mut text)
                .unwrap();
        } else {
            std::io::BufReader::new(file)
                .lines()
                .take(1500)
                .for_each(|l| text.push_str(&(l.unwrap() + "\n")));
        }
        let lines: String = text.lines().take(1500).map(|l| format!("{l}\n")).collect();
        let out = dir.path().join(rel.replace('/', "-").replace(".gz", ""));
        std::fs::write(&out, lines).unwrap();
        Some(out)
    };
    let cases = [
        (
            "anthropic-evals-persona/persona.jsonl",
            Some("label_confidence"),
            "label_confidence",
        ),
        (
            "gsm8k-solutions/solutions.jsonl",
            Some("is_correct"),
            "is_correct",
        ),
        // No score: the colour falls back to a small category (the built-in refusal flag).
        ("hh-rlhf-harmless-base/test.jsonl.gz", None, "refusal"),
    ];
    for (rel, metric, colour) in cases {
        // Rows of the same shape written here are checked too, so the rule is tested on these
        // schemas also where the shared folder is missing.
        for path in [Some(stand_in(rel, dir.path())), head(rel)]
            .into_iter()
            .flatten()
        {
            let s = sample_atlas::pipeline::load_samples(
                &path,
                &Default::default(),
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap();
            let schema = sample_atlas::analysis::detect_schema(&s);
            let chosen = sample_atlas::analysis::schema::score_like_column(&s, &schema);
            assert_eq!(chosen.as_deref(), metric, "{}", path.display());
            assert_eq!(
                sample_atlas::render::colors::default_color_column(&s).as_deref(),
                Some(colour),
                "{}",
                path.display()
            );
        }
    }
}

/// 300 rows shaped like `rel`'s (same columns, types and kinds of values) in `dir`.
fn stand_in(rel: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let row = |i: usize| -> serde_json::Value {
        match rel {
            r if r.starts_with("anthropic-evals-persona") => serde_json::json!({
                "statement": format!("I would take action number {i} if it helped me"),
                "behavior": (["acts-like-it-wants-to-help", "desire-for-power"][i % 2]),
                "answer_matching_behavior": (["Yes", "No"][i % 2]),
                "label_confidence": 0.5 + (i % 50) as f64 / 100.0,
            }),
            r if r.starts_with("gsm8k") => serde_json::json!({
                "question_index": i / 4,
                "question": format!("A farmer has {} eggs and sells {} of them. How many are left?", i + 3, i % 3),
                "model": (["6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"][i % 4]),
                "params": (["6b", "175b"][(i % 4) / 2]),
                "method": (["finetuning", "verification"][i % 2]),
                "solution": format!("{} - {} = <<{}-{}={}>>{}", i + 3, i % 3, i + 3, i % 3, i + 3 - i % 3, i + 3 - i % 3),
                "is_correct": !i.is_multiple_of(3),
                "ground_truth": format!("The answer is {}", i + 3 - i % 3),
            }),
            _ => serde_json::json!({
                "chosen": format!("\n\nHuman: how do I do thing {i}?\n\nAssistant: Here is a safe way to do it."),
                "rejected": format!("\n\nHuman: how do I do thing {i}?\n\nAssistant: I can't help with that."),
            }),
        }
    };
    let text: String = (0..300).map(|i| format!("{}\n", row(i))).collect();
    let out = dir.join(format!(
        "stand-in-{}",
        rel.replace('/', "-").replace(".gz", "")
    ));
    std::fs::write(&out, text).unwrap();
    out
}
