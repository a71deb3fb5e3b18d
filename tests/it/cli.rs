//! End-to-end tests of the `sample-atlas` binary on the bundled samples.

use std::path::{Path, PathBuf};
use std::process::Output;

use polars::prelude::*;

use crate::sample;

pub(crate) fn atlas(args: &[&str]) -> Output {
    crate::atlas_cmd().args(args).output().expect("binary runs")
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn map(input: &Path, out: &Path, extra: &[&str]) -> Output {
    // Without the cache: each run computes (the cache has its own test).
    let mut args = vec![
        "map",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
        "--no-cache",
    ];
    args.extend_from_slice(extra);
    atlas(&args)
}

pub(crate) fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

fn xy(df: &DataFrame, x: &str, y: &str) -> Vec<(f32, f32)> {
    let xs = df.column(x).unwrap().f32().unwrap().clone();
    let ys = df.column(y).unwrap().f32().unwrap().clone();
    xs.iter()
        .zip(ys.iter())
        .map(|(a, b)| (a.unwrap(), b.unwrap()))
        .collect()
}

pub(crate) fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn maps_the_sweep_with_all_columns_and_a_report() {
    let dir = tmp();
    let out = dir.path().join("sweep.parquet");
    let report = dir.path().join("report.json");
    let o = map(
        &sample("sweep.jsonl"),
        &out,
        &["--report", report.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("text column 'completion' (detected"),
        "{}",
        stderr(&o)
    );
    let df = read_parquet(&out);
    assert_eq!(df.height(), 2304);
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for col in [
        "id",
        "prompt_id",
        "family",
        "prompt",
        "model",
        "temperature",
        "top_p",
        "sample_index",
        "completion",
        "score",
        "is_correct",
        "x",
        "y",
    ] {
        assert!(
            names.contains(&col.to_string()),
            "missing {col} in {names:?}"
        );
    }
    assert_eq!(df.column("x").unwrap().dtype(), &DataType::Float32);
    let coords = xy(&df, "x", "y");
    assert!(coords.iter().all(|(x, y)| x.is_finite() && y.is_finite()));
    let spread = coords.iter().map(|c| c.0).fold(f32::NEG_INFINITY, f32::max)
        - coords.iter().map(|c| c.0).fold(f32::INFINITY, f32::min);
    assert!(spread > 1.0, "the layout is not collapsed: {spread}");

    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["rows"], 2304);
    assert_eq!(r["embedding_dims"], 128);
    assert_eq!(r["params"]["umap"]["n_neighbors"], 15);
    assert_eq!(r["epochs"], 500);
    for stage in ["load", "embed", "neighbors", "layout", "write", "total"] {
        assert!(r["seconds"][stage].as_f64().unwrap() >= 0.0, "{stage}");
    }
    assert!(r["warnings"].as_array().unwrap().is_empty());
    // No temporary files are left next to the output.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".sample-atlas-")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn same_seed_same_map_other_seed_other_map() {
    let dir = tmp();
    let run = |name: &str, seed: &str| -> Vec<(f32, f32)> {
        let out = dir.path().join(name);
        let o = map(
            &sample("chat.jsonl"),
            &out,
            &["--seed", seed, "--epochs", "60"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        xy(&read_parquet(&out), "x", "y")
    };
    let a = run("a.parquet", "7");
    let b = run("b.parquet", "7");
    let c = run("c.parquet", "8");
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn chat_csv_and_parquet_inputs() {
    let dir = tmp();
    // Chat transcripts: the messages column is flattened for embedding and written back whole.
    let out = dir.path().join("chat.parquet");
    let o = map(&sample("chat.jsonl"), &out, &["--epochs", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("text column 'messages'"),
        "{}",
        stderr(&o)
    );
    let df = read_parquet(&out);
    assert!(matches!(
        df.column("messages").unwrap().dtype(),
        DataType::List(_)
    ));
    // The output is itself an input: its x/y columns are kept, new ones get a prefix.
    let again = dir.path().join("again.parquet");
    let o = map(&out, &again, &["--epochs", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("'atlas_x', 'atlas_y'"),
        "{}",
        stderr(&o)
    );
    let df2 = read_parquet(&again);
    assert_eq!(xy(&df2, "x", "y"), xy(&df, "x", "y"));
    assert_eq!(df2.height(), 40);
    // CSV.
    let csv = dir.path().join("in.csv");
    std::fs::write(
        &csv,
        "text,score\nThe cat sat.,1\nA dog barked.,2\nI can't help.,3\nThe cat slept.,4\n",
    )
    .unwrap();
    let o = map(&csv, &dir.path().join("csv.parquet"), &["--epochs", "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn real_text_column_choice_and_bad_flags() {
    let dir = tmp();
    let out = dir.path().join("o.parquet");
    let o = map(&sample("sweep.jsonl"), &out, &["--text", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("sweep.jsonl: no column named 'nope'"),
        "{}",
        stderr(&o)
    );
    for flags in [
        &["--n-neighbors", "1"][..],
        &["--min-dist", "5"],
        &["--distance", "manhattan"],
        &["--epochs", "0"],
        &["--bogus"],
    ] {
        let o = map(&sample("sweep.jsonl"), &out, flags);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
    }
    // Typed choices: a bad value is a usage error naming the flag and the choices.
    for (flags, choices) in [
        (&["--distance", "manhattan"][..], "cosine, euclidean"),
        (&["--knn", "fast"], "auto, exact, nndescent"),
    ] {
        let o = map(&sample("sweep.jsonl"), &out, flags);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("invalid value '{}' for '{}", flags[1], flags[0])),
            "{err}"
        );
        assert!(
            err.contains(&format!("possible values: {choices}")),
            "{err}"
        );
    }
    let o = atlas(&["map", sample("sweep.jsonl").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "-o is required");
    assert!(!out.exists());
}

#[test]
fn bad_inputs_fail_cleanly_or_warn() {
    let dir = tmp();
    let out = dir.path().join("o.parquet");
    // Unusable: exit 1, a message naming the file (and line), no output written.
    for (file, needle) in [
        ("bad/empty.jsonl", "empty.jsonl: the file is empty"),
        ("bad/all_bad.jsonl", "all_bad.jsonl: no usable rows"),
        (
            "bad/truncated.parquet",
            "truncated.parquet: could not read Parquet",
        ),
        ("bad/no_text.csv", "no_text.csv: no text column found"),
    ] {
        let o = map(&sample(file), &out, &[]);
        assert_eq!(o.status.code(), Some(1), "{file}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{file}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{file}: {}", stderr(&o));
        assert!(!out.exists());
    }
    let o = map(&sample("bad/numeric_text.jsonl"), &out, &["--text", "text"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("column 'text' holds i64, not text"),
        "{}",
        stderr(&o)
    );
    // The library speaks of the text column; the command line names the flag that settles it.
    assert!(stderr(&o).contains("--text text: "), "{}", stderr(&o));
    let o = map(&sample("bad/no_text.csv"), &out, &[]);
    assert!(
        stderr(&o).contains("--text: ") && stderr(&o).contains("name the text column"),
        "{}",
        stderr(&o)
    );

    // Usable: exit 0, a warning naming the line, every good row mapped.
    for (file, rows, needle) in [
        ("bad/malformed.jsonl", 6, "malformed.jsonl: line 3: column"),
        (
            "bad/invalid_utf8.jsonl",
            6,
            "invalid_utf8.jsonl: line 3: column 20: invalid UTF-8",
        ),
        (
            "bad/ragged.csv",
            4,
            "ragged.csv: record 2, line 3: 2 fields where the header has 3",
        ),
        (
            "bad/nan_scores.csv",
            6,
            "column 'score': 1 missing and 3 NaN/infinite",
        ),
        ("bad/single_row.jsonl", 1, "a single row"),
        ("bad/duplicates.jsonl", 20, "all 20 texts are identical"),
    ] {
        let o = map(&sample(file), &out, &["--epochs", "50"]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{file}: {}", stderr(&o));
        let df = read_parquet(&out);
        assert_eq!(df.height(), rows, "{file}");
        assert!(
            xy(&df, "x", "y")
                .iter()
                .all(|(x, y)| x.is_finite() && y.is_finite()),
            "{file}"
        );
    }
}

#[test]
fn huge_text_is_embedded_by_its_start() {
    let dir = tmp();
    let input = dir.path().join("huge.jsonl");
    let mut s = String::new();
    let huge = "lorem ipsum dolor sit amet ".repeat(400_000); // 10.8 MB
    s.push_str(&serde_json::json!({"text": huge, "score": 1}).to_string());
    s.push('\n');
    for i in 0..30 {
        s.push_str(
            &serde_json::json!({"text": format!("short text number {i}"), "score": i}).to_string(),
        );
        s.push('\n');
    }
    std::fs::write(&input, &s).unwrap();
    let out = dir.path().join("o.parquet");
    let o = map(&input, &out, &["--epochs", "50"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 texts are longer than 100000 bytes"),
        "{}",
        stderr(&o)
    );
    let df = read_parquet(&out);
    assert_eq!(df.height(), 31);
    let text = df
        .column("text")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .unwrap()
        .len();
    assert_eq!(text, huge.len(), "the output keeps the whole text");
}

#[test]
fn the_input_file_is_never_written() {
    let dir = tmp();
    let input: PathBuf = dir.path().join("in.jsonl");
    std::fs::copy(sample("bad/malformed.jsonl"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let o = map(&input, &input, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("refusing to overwrite the input file"),
        "{}",
        stderr(&o)
    );
    let o = map(&input, &dir.path().join("out.parquet"), &["--epochs", "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

fn write_npy(path: &Path, data: &[f32], rows: usize, cols: usize) {
    std::fs::write(path, sample_atlas::util::npy::npy_bytes(data, rows, cols)).unwrap();
}

/// `n` vectors in two well-separated groups.
fn two_groups(n: usize, dims: usize) -> Vec<f32> {
    (0..n)
        .flat_map(|i| {
            (0..dims).map(move |d| {
                let base = if (i % 2 == 0) == (d < dims / 2) {
                    1.0
                } else {
                    0.0
                };
                base + 0.01 * ((i * 31 + d * 7) % 13) as f32
            })
        })
        .collect()
}

#[test]
fn vectors_from_npy_files_and_columns() {
    let dir = tmp();
    let out = dir.path().join("o.parquet");
    // A bare .npy: one row per vector.
    let npy = dir.path().join("v.npy");
    write_npy(&npy, &two_groups(60, 8), 60, 8);
    let o = map(&npy, &out, &["--epochs", "50"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("60 rows of vectors"), "{}", stderr(&o));
    let df = read_parquet(&out);
    assert_eq!(df.height(), 60);
    let coords = xy(&df, "x", "y");
    // The two groups separate: each point's nearest neighbour in the map is in its group.
    for (i, a) in coords.iter().enumerate() {
        let nearest = (0..60)
            .filter(|&j| j != i)
            .min_by(|&j, &k| {
                let d = |m: usize| (coords[m].0 - a.0).powi(2) + (coords[m].1 - a.1).powi(2);
                d(j).total_cmp(&d(k))
            })
            .unwrap();
        assert_eq!(nearest % 2, i % 2, "point {i}");
    }

    // Beside a JSONL of the same length.
    let jsonl = dir.path().join("t.jsonl");
    let lines: String = (0..60)
        .map(|i| {
            format!(
                "{{\"text\": \"t{i}\", \"emb\": [{}, {}, 0.5]}}\n",
                i % 2,
                1 - i % 2
            )
        })
        .collect();
    std::fs::write(&jsonl, lines).unwrap();
    let o = map(
        &jsonl,
        &out,
        &[
            "--vectors",
            npy.to_str().unwrap(),
            "--epochs",
            "30",
            "--report",
            dir.path().join("r.json").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(r["embedding_dims"], 8);
    // A list column of numbers.
    let o = map(&jsonl, &out, &["--vectors-column", "emb", "--epochs", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_parquet(&out).height(), 60);

    // Length mismatch, NaN, wrong column type, bad shape, truncated file.
    let short = dir.path().join("short.npy");
    write_npy(&short, &two_groups(50, 8), 50, 8);
    let o = map(&jsonl, &out, &["--vectors", short.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("short.npy has 50 rows but"),
        "{}",
        stderr(&o)
    );
    let mut bad = two_groups(60, 8);
    bad[8 * 9 + 3] = f32::NAN;
    let nan = dir.path().join("nan.npy");
    write_npy(&nan, &bad, 60, 8);
    let o = map(&nan, &out, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("nan.npy: row 10 has a NaN or infinite value (column 4)"),
        "{}",
        stderr(&o)
    );
    let o = map(&jsonl, &out, &["--vectors-column", "text"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("column 'text' holds str, not a list of numbers"),
        "{}",
        stderr(&o)
    );
    let mut bytes = sample_atlas::util::npy::npy_bytes(&two_groups(60, 8), 60, 8);
    bytes.truncate(bytes.len() - 100);
    std::fs::write(&npy, &bytes).unwrap();
    let o = map(&npy, &out, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("v.npy: not a .npy file: truncated"),
        "{}",
        stderr(&o)
    );
    let ragged = dir.path().join("ragged.jsonl");
    std::fs::write(
        &ragged,
        "{\"text\": \"a\", \"emb\": [1, 2]}\n{\"text\": \"b\", \"emb\": [1, 2, 3]}\n",
    )
    .unwrap();
    let o = map(&ragged, &out, &["--vectors-column", "emb"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("line 2, column 'emb': row 2 has 3 values where row 1 has 2"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_precomputed_layout_opens_directly() {
    let dir = tmp();
    let input = dir.path().join("l.jsonl");
    std::fs::write(
        &input,
        "{\"text\": \"a\", \"ux\": 1.5, \"uy\": -2}\n{\"text\": \"b\", \"ux\": 3, \"uy\": 4}\n",
    )
    .unwrap();
    let out = dir.path().join("o.parquet");
    let o = map(&input, &out, &["--xy", "ux,uy"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        xy(&read_parquet(&out), "x", "y"),
        vec![(1.5, -2.0), (3.0, 4.0)]
    );
    let o = map(&input, &out, &["--xy", "ux,text"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("layout column 'text': holds str, not numbers"),
        "{}",
        stderr(&o)
    );
    let o = map(&input, &out, &["--xy", "ux"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_cache_skips_unchanged_work_and_survives_damage() {
    let dir = tmp();
    let cache_dir = dir.path().join("cache");
    let out = dir.path().join("o.parquet");
    let report = dir.path().join("r.json");
    let run = |extra: &[&str]| -> serde_json::Value {
        let mut args: Vec<String> = vec![
            "map".into(),
            sample("chat.jsonl").to_str().unwrap().to_string(),
            "-o".into(),
            out.to_str().unwrap().to_string(),
            "--quiet".into(),
            "--report".into(),
            report.to_str().unwrap().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let o = crate::atlas_cmd()
            .args(&args)
            .env(sample_atlas::cache::CACHE_DIR_ENV, &cache_dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
    };
    let first = run(&[]);
    assert_eq!(first["cache"]["layout"], "miss");
    assert_eq!(
        first["cache"]["table"], "skipped",
        "a small input's table is not cached"
    );
    let coords = xy(&read_parquet(&out), "x", "y");
    let entries = std::fs::read_dir(&cache_dir).unwrap().count();
    assert_eq!(entries, 3, "embeddings, neighbours and layout are stored");

    let second = run(&[]);
    assert_eq!(second["cache"]["layout"], "hit");
    assert_eq!(second["cache"]["embeddings"], "skipped");
    assert_eq!(xy(&read_parquet(&out), "x", "y"), coords);

    // Another min_dist reuses the embeddings and the kNN graph, recomputes the layout.
    let third = run(&["--min-dist", "0.3"]);
    assert_eq!(third["cache"]["embeddings"], "hit");
    assert_eq!(third["cache"]["neighbors"], "hit");
    assert_eq!(third["cache"]["layout"], "miss");

    // Damage every entry: each is detected, dropped and recomputed to the same map.
    for e in std::fs::read_dir(&cache_dir).unwrap() {
        let p = e.unwrap().path();
        let mut b = std::fs::read(&p).unwrap();
        let mid = b.len() / 2;
        b[mid] ^= 0xff;
        std::fs::write(&p, b).unwrap();
    }
    let fourth = run(&[]);
    assert_eq!(fourth["cache"]["layout"], "miss");
    assert_eq!(fourth["cache"]["embeddings"], "miss");
    assert_eq!(xy(&read_parquet(&out), "x", "y"), coords);

    // --no-cache neither reads nor writes.
    std::fs::remove_dir_all(&cache_dir).unwrap();
    let fifth = run(&["--no-cache"]);
    assert_eq!(fifth["cache"]["layout"], "off");
    assert_eq!(fifth["cache"]["table"], "off");
    assert!(!cache_dir.exists());
}

#[test]
fn stats_table_matches_a_direct_polars_computation() {
    let dir = tmp();
    let out = dir.path().join("stats.json");
    let csv_out = dir.path().join("stats.csv");
    for o in [&out, &csv_out] {
        let r = atlas(&[
            "stats",
            sample("sweep.jsonl").to_str().unwrap(),
            "--by",
            "model,temperature",
            "--metric",
            "score",
            "--no-diversity",
            "-o",
            o.to_str().unwrap(),
        ]);
        assert!(r.status.success(), "{}", stderr(&r));
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let settings = report["settings"].as_array().unwrap();
    assert_eq!(settings.len(), 3 * 4);
    let df = JsonReader::new(std::fs::File::open(sample("sweep.jsonl")).unwrap())
        .with_json_format(JsonFormat::JsonLines)
        .finish()
        .unwrap();
    let models = df.column("model").unwrap().str().unwrap().clone();
    let temps = df.column("temperature").unwrap().f64().unwrap().clone();
    for s in settings {
        let model = s["setting"][0].as_str().unwrap();
        let temp: f64 = s["setting"][1].as_str().unwrap().parse().unwrap();
        let mask: BooleanChunked = models
            .iter()
            .zip(temps.iter())
            .map(|(m, t)| Some(m == Some(model) && t == Some(temp)))
            .collect();
        let sub = df.filter(&mask).unwrap();
        let score = sub
            .column("score")
            .unwrap()
            .as_materialized_series()
            .clone();
        assert_eq!(s["count"].as_u64().unwrap() as usize, sub.height());
        let mean = score.mean().unwrap();
        let median = score.median().unwrap();
        assert!((s["mean"].as_f64().unwrap() - mean).abs() < 1e-9, "{s}");
        assert!((s["median"].as_f64().unwrap() - median).abs() < 1e-9, "{s}");
        let sd = score.std(1).unwrap();
        let n = sub.height() as f64;
        let half = s["ci_high"].as_f64().unwrap() - mean;
        let t = sample_atlas::analysis::t975(sub.height() - 1);
        assert!((half - t * sd / n.sqrt()).abs() < 1e-9, "{s}");
        assert_eq!(s["prompts"], 24);
    }
    let csv = std::fs::read_to_string(&csv_out).unwrap();
    assert!(
        csv.starts_with(
            "model,temperature,count,n,mean,ci_low,ci_high,median,failure_rate,diversity,prompts\n"
        ),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 13);
}

#[test]
fn stats_of_a_boolean_metric_has_failure_rates_and_diversity() {
    let r = atlas(&[
        "stats",
        sample("sweep.jsonl").to_str().unwrap(),
        "--by",
        "model",
        "--metric",
        "refusal",
        "--no-cache",
        "--quiet",
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    let out = String::from_utf8_lossy(&r.stdout);
    let chat = out
        .lines()
        .find(|l| l.trim_start().starts_with("chat-8b"))
        .unwrap();
    let cells: Vec<&str> = chat.split_whitespace().collect();
    // model count n mean ci_low ci_high median failure_rate diversity prompts
    let mean: f64 = cells[3].parse().unwrap();
    let failure: f64 = cells[7].parse().unwrap();
    assert!(mean > 0.05, "the chat model refuses harmful prompts: {out}");
    assert!((mean + failure - 1.0).abs() < 1e-3);
    let diversity: f64 = cells[8].parse().unwrap();
    assert!(diversity > 0.1 && diversity < 1.0, "{out}");
}

#[test]
fn bon_curves_rise_and_pass_at_n_for_booleans() {
    let dir = tmp();
    let out = dir.path().join("bon.json");
    let r = atlas(&[
        "bon",
        sample("sweep.jsonl").to_str().unwrap(),
        "--by",
        "model,temperature",
        "--metric",
        "score",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let curves = v["curves"].as_array().unwrap();
    assert_eq!(curves.len(), 12);
    let curve = |model: &str, t: &str| -> Vec<f64> {
        curves
            .iter()
            .find(|c| c["setting"][0] == model && c["setting"][1] == t)
            .unwrap()["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["mean"].as_f64().unwrap())
            .collect()
    };
    for c in curves {
        let means: Vec<f64> = c["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["mean"].as_f64().unwrap())
            .collect();
        assert_eq!(means.len(), 8, "2 top_p x 4 samples per prompt");
        assert!(means.windows(2).all(|w| w[1] >= w[0] - 1e-12), "{c}");
    }
    // The bundled sweep: greedy decoding wins at N = 1, sampling at T = 0.5 overtakes by N = 2.
    let (greedy, warm) = (curve("chat-8b", "0.0"), curve("chat-8b", "0.5"));
    assert!(
        greedy[0] > warm[0] && warm[1] > greedy[1],
        "{greedy:?} {warm:?}"
    );

    let r = atlas(&[
        "bon",
        sample("sweep.jsonl").to_str().unwrap(),
        "--by",
        "model",
        "--metric",
        "is_correct",
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(out.contains("pass_at_n"), "{out}");
}

#[test]
fn metric_columns_and_expressions_reach_the_output() {
    let dir = tmp();
    let out = dir.path().join("m.parquet");
    let o = map(
        &sample("sweep.jsonl"),
        &out,
        &[
            "--metric-expr",
            "adj=score - 0.02 * len_words",
            "--metric-expr",
            "ok=is_correct AND NOT refusal",
            "--pattern",
            "\\d+",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let df = read_parquet(&out);
    for c in [
        "len_chars",
        "len_words",
        "refusal",
        "repetition",
        "garbage",
        "distinct_2",
        "pattern_matches",
        "adj",
        "ok",
    ] {
        assert!(df.column(c).is_ok(), "{c}");
    }
    let score = df.column("score").unwrap().f64().unwrap().get(0).unwrap();
    let words = df
        .column("len_words")
        .unwrap()
        .u32()
        .unwrap()
        .get(0)
        .unwrap();
    let adj = df.column("adj").unwrap().f64().unwrap().get(0).unwrap();
    assert!((adj - (score - 0.02 * words as f64)).abs() < 1e-9);

    let o = map(
        &sample("sweep.jsonl"),
        &out,
        &["--metric-expr", "bad=score * len_wrds"],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("no column named 'len_wrds' (did you mean 'len_words'?)"),
        "{err}"
    );
    assert!(
        err.contains("  score * len_wrds\n          ^^^^^^^^"),
        "{err}"
    );
}

#[test]
fn embed_writes_npy_and_parquet_in_row_order() {
    let dir = tmp();
    let input = sample("sweep.jsonl");
    let npy = dir.path().join("v.npy");
    let o = atlas(&[
        "embed",
        input.to_str().unwrap(),
        "-o",
        npy.to_str().unwrap(),
        "--quiet",
        "--no-cache",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = sample_atlas::embedding::vectors::read_npy(&npy).unwrap();
    let rows = read_parquet_rows(&input);
    assert_eq!(v.len(), rows);
    assert_eq!(v.dims, 128);

    let pq = dir.path().join("v.parquet");
    let o = atlas(&[
        "embed",
        input.to_str().unwrap(),
        "-o",
        pq.to_str().unwrap(),
        "--quiet",
        "--no-cache",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let df = read_parquet(&pq);
    assert_eq!(df.height(), rows);
    assert!(df.column("temperature").is_ok(), "input columns kept");
    // The list column holds the same vectors as the .npy, row by row.
    let col = df
        .column("embedding")
        .unwrap()
        .as_materialized_series()
        .clone();
    let list = col.list().unwrap();
    for row in [0usize, rows / 2, rows - 1] {
        let s = list.get_as_series(row).unwrap();
        let got: Vec<f32> = s.f32().unwrap().into_no_null_iter().collect();
        assert_eq!(got, v.row(row), "row {row}");
    }
    // Reading them back as given vectors works.
    let out = dir.path().join("m.parquet");
    let o = map(&pq, &out, &["--vectors-column", "embedding"]);
    assert!(o.status.success(), "{}", stderr(&o));

    let bad = dir.path().join("v.txt");
    let o = atlas(&[
        "embed",
        input.to_str().unwrap(),
        "-o",
        bad.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("use .npy"), "{}", stderr(&o));
    assert!(!bad.exists());
}

/// Rows in a JSON lines file (every line is one row).
fn read_parquet_rows(jsonl: &Path) -> usize {
    std::fs::read_to_string(jsonl)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}
