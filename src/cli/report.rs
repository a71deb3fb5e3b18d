//! `map --report`: the JSON record of a run.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::args::MapCommand;
use crate::cache::{CacheUse, TrimReport};
use crate::dataset::{self, Samples};
use crate::embedding::store::TextCacheReport;
use crate::neighbors::KnnMethod;
use crate::pipeline::{CacheReport, MapParams, MapRegions, MapResult, RegionSummary};
use crate::util::atomic;

#[derive(serde::Serialize)]
struct Report<'a> {
    input: &'a Path,
    /// Every file read (several for a folder, a glob or several inputs), in row order.
    files: Vec<PathBuf>,
    output: &'a Path,
    format: dataset::Format,
    rows: usize,
    text_column: &'a str,
    text_column_detected: bool,
    coordinate_columns: [String; 2],
    embedder: &'a str,
    embedding_dims: usize,
    knn: KnnMethod,
    epochs: usize,
    params: &'a MapParams,
    cache: ReportCache,
    /// Per-text embedding cache (model2vec, endpoints): texts embedded now vs reused.
    text_cache: Option<TextCacheReport>,
    cache_dir: Option<PathBuf>,
    /// The cache after this run trimmed it to its cap: entries evicted, bytes freed, size.
    cache_trim: Option<TrimReport>,
    seconds: Seconds,
    warnings: &'a [String],
    /// Every region of both levels: id, level, parent, label, size.
    regions: Vec<RegionSummary>,
}

/// Each stage's cache use: the loaded table's, then the map's stages'.
#[derive(serde::Serialize)]
struct ReportCache {
    table: CacheUse,
    #[serde(flatten)]
    stages: CacheReport,
}

/// Seconds per stage of a `map` run.
#[derive(serde::Serialize)]
pub(super) struct Seconds {
    pub load: f64,
    pub embed: f64,
    pub neighbors: f64,
    pub layout: f64,
    pub regions: f64,
    pub write: f64,
    pub total: f64,
}

/// What a `map` run was given and what it computed.
pub(super) struct MapRun<'a> {
    pub cmd: &'a MapCommand,
    pub samples: &'a Samples,
    pub result: &'a MapResult,
    pub params: &'a MapParams,
    /// Whether the table was read from the cache (for `--onto`, REF's).
    pub table: CacheUse,
    pub cache_dir: Option<&'a Path>,
    pub cache_trim: Option<TrimReport>,
    pub regions: &'a MapRegions,
}

/// Write the report of `run` to `path` (atomically); `columns` are the coordinate columns.
pub(super) fn write(
    path: &Path,
    run: &MapRun,
    columns: [String; 2],
    seconds: Seconds,
) -> anyhow::Result<()> {
    let MapRun {
        cmd,
        samples,
        result,
        params,
        table,
        cache_dir,
        cache_trim,
        regions,
    } = run;
    let mut warnings = samples.warnings.clone();
    warnings.extend(result.warnings.iter().cloned());
    let report = Report {
        input: &samples.path,
        files: samples.files(),
        output: &cmd.output,
        format: samples.format,
        rows: samples.len(),
        text_column: &samples.text_column,
        text_column_detected: samples.text_column_detected,
        coordinate_columns: columns,
        embedder: &result.embedder,
        embedding_dims: result.embedding_dims,
        knn: result.knn,
        epochs: result.epochs,
        params,
        cache: ReportCache {
            table: *table,
            stages: result.cache,
        },
        text_cache: result.text_cache,
        cache_dir: cache_dir.map(Path::to_path_buf),
        cache_trim: *cache_trim,
        seconds,
        warnings: &warnings,
        regions: regions.summaries(),
    };
    let json = serde_json::to_vec_pretty(&report)?;
    atomic::write_bytes(path, &json)
        .with_context(|| format!("{}: writing the report", path.display()))
}
