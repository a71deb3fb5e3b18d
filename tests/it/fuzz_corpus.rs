//! The fuzz targets (`fuzz/fuzz_targets/`) on stable: every seed file and every saved finding
//! (`fuzz/regressions/TARGET/`) through every loader and the expression parser. A panic here
//! is a fuzzing finding come back.

#[path = "../../fuzz/fuzz_targets/common.rs"]
mod common;

use std::path::{Path, PathBuf};

/// The loader targets: (name, the file name their bytes are loaded as).
const LOADERS: &[(&str, &str)] = &[
    ("load_jsonl", "case.jsonl"),
    ("load_csv", "case.csv"),
    ("load_parquet", "case.parquet"),
    ("load_npy", "case.npy"),
    ("load_json", "case.json"),
    ("load_gz", "case.jsonl.gz"),
];

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The seeds the fuzzing runs started from: the bundled samples, bad and odd files.
fn seeds() -> Vec<PathBuf> {
    let r = root();
    let mut v = files_in(&r.join("samples/bad"));
    v.extend(files_in(&r.join("samples/formats")));
    v.push(r.join("samples/chat.jsonl"));
    v
}

#[test]
fn every_seed_and_finding_goes_through_every_loader_without_a_panic() {
    let seeds = seeds();
    assert!(seeds.len() >= 20, "the seeds are there: {}", seeds.len());
    let mut cases = 0;
    for (target, name) in LOADERS {
        let mut files = seeds.clone();
        files.extend(files_in(&root().join("fuzz/regressions").join(target)));
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            common::load_bytes(&bytes, name);
            cases += 1;
        }
    }
    eprintln!("{cases} loader cases");
}

#[test]
fn expressions_and_findings_parse_and_evaluate_without_a_panic() {
    let mut cases: Vec<Vec<u8>> = [
        "score - 0.02 * len",
        "ok AND NOT (n > 1)",
        "((((",
        "1 / 0",
        "-n % 0",
        "score >= 1e309",
        "model == \"x\" OR model != 'y'",
        "abs(score) + log(n) + sqrt(-1)",
        "\u{0}\u{fffd}",
        "n ** 400",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    for f in files_in(&root().join("fuzz/regressions/expr")) {
        cases.push(std::fs::read(f).unwrap());
    }
    for c in &cases {
        common::expr(c);
    }
}
