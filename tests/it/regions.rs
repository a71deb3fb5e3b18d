//! Regions end to end on the bundled sweep: the map's regions, ranked by a metric, find the
//! failure clusters the generator planted (word salad at high temperature without nucleus
//! truncation; the chat model's refusals); and the CLI's `regions` command and `map` columns.

use sample_atlas::analysis::region_stats::{
    DEFAULT_MIN_SUPPORT, RegionStat, Worse, region_composition,
};
use sample_atlas::analysis::regions::{Level, RegionParams};
use sample_atlas::analysis::{metric_values, string_values};
use sample_atlas::pipeline::{
    LoadSpec, MapParams, MapRegions, compute_map, compute_regions, load_samples,
};
use sample_atlas::progress::{CancelToken, NoProgress};

use crate::sample;

struct Sweep {
    samples: sample_atlas::dataset::Samples,
    regions: MapRegions,
}

fn sweep() -> Sweep {
    let cancel = CancelToken::new();
    let samples = load_samples(
        &sample("sweep.jsonl"),
        &LoadSpec::default(),
        &NoProgress,
        &cancel,
    )
    .unwrap();
    let map = compute_map(&samples, &MapParams::default(), None, &NoProgress, &cancel).unwrap();
    let regions = compute_regions(
        &samples,
        &map.coords,
        &RegionParams::default(),
        &NoProgress,
        &cancel,
    )
    .unwrap();
    Sweep { samples, regions }
}

fn ranked(s: &Sweep, metric: &str, worse: Worse) -> Vec<RegionStat> {
    let (values, is_bool) = metric_values(&s.samples, metric).unwrap();
    s.regions.rank(&values, is_bool, worse, DEFAULT_MIN_SUPPORT)
}

/// The share of a region's rows for which `keep` holds of the column's value.
fn share(s: &Sweep, region: usize, column: &str, keep: impl Fn(&str) -> bool) -> f64 {
    let values = string_values(&s.samples, column).unwrap();
    let rows = &s.regions.regions.regions[region].rows;
    rows.iter().filter(|&&r| keep(&values[r as usize])).count() as f64 / rows.len() as f64
}

#[test]
fn the_sweeps_failure_clusters_rank_first() {
    let s = sweep();
    let r = &s.regions.regions;
    assert!(
        r.count(Level::Coarse) >= 3,
        "{} coarse regions",
        r.count(Level::Coarse)
    );
    assert!(r.count(Level::Fine) >= r.count(Level::Coarse));
    // Every labelled region has terms; the noise groups are "unclustered".
    for g in &r.regions {
        let label = &s.regions.labels[g.id as usize];
        if g.unclustered {
            assert_eq!(label, "unclustered");
        } else {
            assert!(
                !label.is_empty() && !label.starts_with("region "),
                "{label}"
            );
        }
    }

    // A fine region equal to its coarse parent is listed once.
    let distinct = s.regions.distinct();
    for g in &r.regions {
        let same_as_parent = g
            .parent
            .is_some_and(|p| g.level == Level::Fine && r.regions[p as usize].rows == g.rows);
        assert_eq!(
            distinct.contains(&(g.id as usize)),
            !same_as_parent,
            "region {}",
            g.id
        );
    }

    // Word salad: the worst region for `garbage` is significantly worse and made of
    // high-temperature samples.
    let garbage = ranked(&s, "garbage", Worse::Higher);
    let top = &garbage[0];
    assert!(top.is_significantly_worse(), "{top:?}");
    let hot = share(&s, top.region, "temperature", |t| {
        t.parse::<f64>().unwrap() >= 1.5
    });
    assert!(
        hot >= 0.8,
        "{hot} of the top garbage region is at temperature 1.5"
    );

    // Refusals: the worst region for `refusal` is the chat model refusing.
    let refusal = ranked(&s, "refusal", Worse::Higher);
    let top = &refusal[0];
    assert!(top.is_significantly_worse(), "{top:?}");
    assert!(top.inside >= 0.8, "refusal rate inside {}", top.inside);
    // Each model wrote a third of the sweep; this region is the chat model's.
    let chat = share(&s, top.region, "model", |m| m == "chat-8b");
    assert!(chat >= 0.6, "{chat} of the top refusal region is chat-8b");
    let models = string_values(&s.samples, "model").unwrap();
    let rows = &s.regions.regions.regions[top.region].rows;
    let composition = region_composition(rows, &[("model", &models)]);
    assert_eq!(composition[0].value, "chat-8b", "{composition:?}");
    assert!(composition[0].is_significantly_over(), "{composition:?}");
}

#[test]
fn regions_command_ranks_and_map_writes_region_columns() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let o = crate::atlas_cmd()
        .args(["regions", sample("sweep.jsonl").to_str().unwrap()])
        .args(["--metric", "refusal", "--quiet", "--no-cache", "-o"])
        .arg(&json)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("Fisher's exact test"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["worse"], "higher", "refusal: higher is worse by its name");
    let regions = v["regions"].as_array().unwrap();
    assert!(regions.len() >= 4);
    let q0 = regions[0]["stat"]["q"].as_f64().unwrap();
    assert!(
        q0 <= 0.05,
        "the first row is a significant region: q = {q0}"
    );
    // The table on stdout has a row per region.
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), regions.len() + 1, "{out}");

    // `map`: region columns beside the input's, and the regions in the report.
    let parquet = dir.path().join("m.parquet");
    let report = dir.path().join("m.json");
    let o = crate::atlas_cmd()
        .args([
            "map",
            sample("sweep.jsonl").to_str().unwrap(),
            "--quiet",
            "--no-cache",
            "-o",
        ])
        .arg(&parquet)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    use polars::prelude::SerReader;
    let file = std::fs::File::open(&parquet).unwrap();
    let df = polars::prelude::ParquetReader::new(file).finish().unwrap();
    let labels = df.column("region_label").unwrap();
    let fine = df.column("region").unwrap();
    assert_eq!(labels.len(), 2304);
    assert_eq!(fine.null_count(), {
        let l = labels.str().unwrap();
        l.iter().filter(|v| *v == Some("unclustered")).count()
    });
    assert!(df.column("region_coarse").is_ok());
    let rep: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let listed = rep["regions"].as_array().unwrap();
    let total: u64 = listed
        .iter()
        .filter(|r| r["level"] == "coarse")
        .map(|r| r["size"].as_u64().unwrap())
        .sum();
    assert_eq!(
        total, 2304,
        "the coarse level with its unclustered group covers every row"
    );
}
