//! `map NEW --onto REF`: new samples placed onto an existing map, REF's points unmoved.

use std::path::Path;

use polars::prelude::*;

use crate::cli::{read_parquet, stderr, tmp};
use crate::sample;

fn column_f32(df: &DataFrame, name: &str) -> Vec<f32> {
    df.column(name)
        .unwrap()
        .f32()
        .unwrap()
        .iter()
        .map(|v| v.unwrap())
        .collect()
}

fn column_str(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect()
}

/// New samples: `copies` rows of the sweep (as they are, other ids) and a few texts unlike
/// any in it; returns the texts in file order.
fn write_new(path: &Path, order_reversed: bool) -> Vec<String> {
    let sweep = std::fs::read_to_string(sample("sweep.jsonl")).unwrap();
    let mut rows: Vec<serde_json::Value> = sweep
        .lines()
        .step_by(97)
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"] = serde_json::json!(100_000 + v["id"].as_i64().unwrap());
            v
        })
        .collect();
    for i in 0..6 {
        rows.push(serde_json::json!({
            "id": 200_000 + i,
            "prompt_id": "alien",
            "completion": format!("xqzv wlorp ghyxx bzzt qwerm {i} prrk zhhv"),
            "model": "mystery",
            "score": 0.5,
        }));
    }
    if order_reversed {
        rows.reverse();
    }
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
    rows.iter()
        .map(|r| r["completion"].as_str().unwrap().to_string())
        .collect()
}

fn run(args: &[&str], cache: &Path) -> std::process::Output {
    crate::atlas_cmd()
        .args(args)
        .env(sample_atlas::cache::CACHE_DIR_ENV, cache)
        .output()
        .expect("binary runs")
}

#[test]
fn new_samples_land_on_an_unchanged_reference() {
    let dir = tmp();
    let cache = dir.path().join("cache");
    let reference = dir.path().join("ref.parquet");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let o = run(
        &[
            "map",
            &s(&sample("sweep.jsonl")),
            "-o",
            &s(&reference),
            "--quiet",
        ],
        &cache,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ref_df = read_parquet(&reference);
    let (rx, ry) = (column_f32(&ref_df, "x"), column_f32(&ref_df, "y"));
    let n_ref = ref_df.height();

    let new = dir.path().join("new.jsonl");
    let texts = write_new(&new, false);
    let n_new = texts.len();
    let out = dir.path().join("onto.parquet");
    let report = dir.path().join("report.json");
    // Onto the map file (its x/y are the layout), then onto the sweep itself (its map from
    // the cache).
    for (onto, expect_layout) in [
        (s(&reference), "columns"),
        (s(&sample("sweep.jsonl")), "cache"),
    ] {
        let o = run(
            &[
                "map",
                &s(&new),
                "--onto",
                &onto,
                "-o",
                &s(&out),
                "--quiet",
                "--report",
                &s(&report),
            ],
            &cache,
        );
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        match expect_layout {
            "columns" => assert!(err.contains("its columns 'x', 'y'"), "{err}"),
            _ => assert!(err.contains("layout from the cache"), "{err}"),
        }
        let df = read_parquet(&out);
        assert_eq!(df.height(), n_ref + n_new);
        let (x, y) = (column_f32(&df, "x"), column_f32(&df, "y"));
        // The reference's points, bit for bit.
        for i in 0..n_ref {
            assert_eq!(x[i].to_bits(), rx[i].to_bits(), "row {i}");
            assert_eq!(y[i].to_bits(), ry[i].to_bits(), "row {i}");
        }
        let source = column_str(&df, "source");
        assert!(source[..n_ref].iter().all(|v| v != "new.jsonl"));
        assert!(
            source[n_ref..].iter().all(|v| v == "new.jsonl"),
            "{:?}",
            &source[n_ref..]
        );
        let ood: Vec<bool> = df
            .column("ood")
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .map(|v| v.unwrap())
            .collect();
        assert!(ood[..n_ref].iter().all(|&o| !o));
        let copies = n_new - 6;
        assert!(
            ood[n_ref + copies..].iter().all(|&o| o),
            "the alien texts are flagged"
        );
        assert!(
            ood[n_ref..n_ref + copies].iter().filter(|&&o| o).count() == 0,
            "copies of reference rows are not flagged"
        );
        // A copy lands near its original: within 5% of the map's width.
        let width = rx.iter().cloned().fold(f32::MIN, f32::max)
            - rx.iter().cloned().fold(f32::MAX, f32::min);
        let ref_texts = column_str(&ref_df, "completion");
        for (j, t) in texts[..copies].iter().enumerate() {
            let i = ref_texts.iter().position(|r| r == t).unwrap();
            let (dx, dy) = (x[n_ref + j] - rx[i], y[n_ref + j] - ry[i]);
            assert!(
                (dx * dx + dy * dy).sqrt() < 0.05 * width,
                "copy of row {i} landed {dx}, {dy} away"
            );
        }
        // Columns a map file carries from its own run are not repeated.
        assert!(df.column("atlas_x").is_err() && df.column("atlas_ood").is_err());
        // Metrics are computed afresh over all rows, not kept twice.
        assert!(df.column("atlas_len_chars").is_err());
        assert!(df.column("len_chars").unwrap().null_count() == 0);
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        assert_eq!(r["rows"], n_ref + n_new);
    }
}

#[test]
fn a_new_sample_lands_in_the_same_place_whatever_comes_with_it() {
    let dir = tmp();
    let cache = dir.path().join("cache");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let place = |name: &str, reversed: bool| {
        let new = dir.path().join(name);
        let texts = write_new(&new, reversed);
        let out = dir.path().join(format!("{name}.parquet"));
        let o = run(
            &[
                "map",
                &s(&new),
                "--onto",
                &s(&sample("sweep.jsonl")),
                "-o",
                &s(&out),
                "--quiet",
            ],
            &cache,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let df = read_parquet(&out);
        let n = df.height() - texts.len();
        let (x, y) = (column_f32(&df, "x"), column_f32(&df, "y"));
        let mut placed: Vec<(String, u32, u32)> = texts
            .iter()
            .enumerate()
            .map(|(j, t)| (t.clone(), x[n + j].to_bits(), y[n + j].to_bits()))
            .collect();
        placed.sort();
        placed
    };
    assert_eq!(place("a.jsonl", false), place("b.jsonl", true));
}

#[test]
fn onto_refuses_what_it_cannot_place() {
    let dir = tmp();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let new = dir.path().join("new.jsonl");
    write_new(&new, false);
    let out = dir.path().join("o.parquet");
    let o = crate::cli::atlas(&[
        "map",
        &s(&new),
        "--onto",
        &s(&sample("sweep.jsonl")),
        "-o",
        &s(&out),
        "--no-cache",
        "--xy",
        "x,y",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--xy and --onto"), "{}", stderr(&o));
    let o = crate::cli::atlas(&[
        "map",
        &s(&new),
        "--onto",
        &s(&dir.path().join("missing.jsonl")),
        "-o",
        &s(&out),
        "--no-cache",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("missing.jsonl"), "{}", stderr(&o));
    assert!(!out.exists());
}
