//! The stage order shared by the CLI and the app: load (+ metrics) → embed → kNN → fuzzy
//! graph → UMAP, each stage cached.
//!
//! - [`source`]: where the vectors come from (embedders, files, columns).
//! - [`stage_cache`]: the cache keys of the stages and the one read-or-compute helper.
//! - [`table_cache`]: the load stage's cache (the table as loaded, for large inputs).
//! - [`map`]: the map itself ([`compute_map`]) and the vectors alone ([`embed_samples`]).
//! - `regions`: the map's regions and their labels ([`compute_regions`]).

mod map;
pub mod onto;
mod regions;
mod source;
mod stage_cache;
mod table_cache;

use std::path::PathBuf;

use crate::cache::{Cache, CacheUse, StageKind};
use crate::dataset::{Format, LoadError, LoadOptions, Samples};
use crate::embedding::store::TextCacheReport;
use crate::embedding::vectors::VectorError;
use crate::embedding::{EmbedError, LexicalEmbedder, LexicalParams};
use crate::metrics::{MetricError, MetricOptions};
use crate::neighbors::{KnnMethod, NeighborsError};
use crate::progress::{CancelToken, Progress};
use crate::projection::{ProjectionError, UmapParams};

pub use map::{compute_map, embed_samples};
pub use onto::{OntoResult, ReferenceLayout, map_onto, map_onto_layout};
pub use regions::{LABEL_TERMS, MapRegions, RegionSummary, compute_regions};
pub use source::VectorSource;
pub use table_cache::TABLE_CACHE_MIN_BYTES;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{path}: {problem}")]
    Metric { path: PathBuf, problem: MetricError },
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Neighbors(#[from] NeighborsError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    #[error(transparent)]
    Vectors(#[from] VectorError),
    #[error(transparent)]
    Regions(#[from] crate::analysis::regions::RegionError),
    #[error(transparent)]
    Labels(#[from] crate::analysis::labels::LabelError),
    #[error("{path}: layout column '{column}': {problem}")]
    Layout {
        path: PathBuf,
        column: String,
        problem: String,
    },
}

impl PipelineError {
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self,
            PipelineError::Load(LoadError::Cancelled)
                | PipelineError::Embed(EmbedError::Cancelled)
                | PipelineError::Neighbors(NeighborsError::Cancelled)
                | PipelineError::Projection(ProjectionError::Cancelled)
                | PipelineError::Regions(crate::analysis::regions::RegionError::Cancelled)
                | PipelineError::Labels(crate::analysis::labels::LabelError::Cancelled)
        )
    }
}

/// What the load stage does: how the file is read and which metric columns are added.
#[derive(Clone, Debug, Default)]
pub struct LoadSpec {
    pub options: LoadOptions,
    pub metrics: MetricOptions,
}

/// The load stage without a cache: read the file ([`crate::dataset::load`]), then add the
/// proxy metric columns (not for a bare `.npy`, which has no texts).
pub fn load_samples(
    path: &std::path::Path,
    spec: &LoadSpec,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Samples, PipelineError> {
    load_inputs(&[path.to_path_buf()], spec, None, progress, cancel)
}

/// The load stage for several inputs read as one table ([`crate::dataset::load_many`]),
/// then the metric columns. With a cache, the table of an input of at least
/// [`TABLE_CACHE_MIN_BYTES`] is read from it when there (the same `Samples` a fresh load
/// gives), else stored after the load.
pub fn load_inputs(
    inputs: &[PathBuf],
    spec: &LoadSpec,
    cache: Option<&Cache>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Samples, PipelineError> {
    load_inputs_with(inputs, spec, cache, TABLE_CACHE_MIN_BYTES, progress, cancel).map(|(s, _)| s)
}

/// [`load_inputs`] caching the table of inputs of at least `min_input_bytes`; says whether
/// the table came from the cache (`Hit`), was stored (`Miss`), was too small or a bare `.npy`
/// (`Skipped`), or there was no cache (`Off`).
pub fn load_inputs_with(
    inputs: &[PathBuf],
    spec: &LoadSpec,
    cache: Option<&Cache>,
    min_input_bytes: u64,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(Samples, CacheUse), PipelineError> {
    let parts = crate::dataset::input_parts(inputs)?;
    let first = &inputs[0];
    // The metrics of the cached table; expressions are evaluated after it is read.
    let builtin = MetricOptions {
        exprs: Vec::new(),
        ..spec.metrics.clone()
    };
    let exprs = MetricOptions {
        builtin: false,
        refusal_patterns: None,
        pattern: None,
        exprs: spec.metrics.exprs.clone(),
    };
    let slot = match cache {
        Some(c) if table_cache::worth_caching(&parts, min_input_bytes) => {
            progress.report(crate::progress::Stage::Load, 0, 3);
            // A file that cannot be hashed now will fail to load, with its own message.
            table_cache::table_key(inputs, &parts, &spec.options, &builtin)
                .ok()
                .map(|key| (c, key))
        }
        _ => None,
    };
    if cancel.is_cancelled() {
        return Err(LoadError::Cancelled.into());
    }
    let hit = slot
        .as_ref()
        .and_then(|(c, key)| table_cache::lookup(c, key, first, &parts, &spec.options));
    let (mut samples, used) = match hit {
        Some(samples) => {
            progress.report(crate::progress::Stage::Load, 3, 3);
            (samples, CacheUse::Hit)
        }
        None => {
            let mut samples =
                crate::dataset::load_parts(first, parts.clone(), &spec.options, progress, cancel)?;
            if samples.format == Format::Npy {
                return Ok((samples, CacheUse::Skipped));
            }
            apply_metrics(&mut samples, &builtin)?;
            let used = match &slot {
                Some((c, key)) => {
                    let stored = table_cache::encode(&samples, &parts)
                        .and_then(|p| c.put(StageKind::Table, key, &p).map_err(|e| e.to_string()));
                    if let Err(e) = stored {
                        samples.warnings.push(format!(
                            "could not write the cache in {}: {e}",
                            c.dir().display()
                        ));
                    }
                    CacheUse::Miss
                }
                None if cache.is_some() => CacheUse::Skipped,
                None => CacheUse::Off,
            };
            (samples, used)
        }
    };
    apply_metrics(&mut samples, &exprs)?;
    Ok((samples, used))
}

fn apply_metrics(samples: &mut Samples, opts: &MetricOptions) -> Result<(), PipelineError> {
    crate::metrics::apply(samples, opts)
        .map(|_| ())
        .map_err(|problem| PipelineError::Metric {
            path: samples.path.clone(),
            problem,
        })
}

/// Everything that determines a map, given the data. One seed drives all randomness.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MapParams {
    /// Dimensions of the built-in lexical embedding.
    pub embed_dims: usize,
    pub vectors: VectorSource,
    /// A layout computed elsewhere: (x column, y column). Skips embedding, kNN and UMAP.
    pub xy: Option<(String, String)>,
    /// Exact or approximate nearest neighbours.
    pub knn: KnnMethod,
    pub umap: UmapParams,
}

impl Default for MapParams {
    fn default() -> Self {
        MapParams {
            embed_dims: 128,
            vectors: VectorSource::Lexical,
            xy: None,
            knn: KnnMethod::Auto,
            umap: UmapParams::default(),
        }
    }
}

impl MapParams {
    pub fn validate(&self) -> Result<(), PipelineError> {
        if self.embed_dims == 0 {
            return Err(
                EmbedError::Params("embedding dimensions must be at least 1".into()).into(),
            );
        }
        self.umap.validate()?;
        Ok(())
    }

    pub fn embedder(&self) -> LexicalEmbedder {
        LexicalEmbedder::new(LexicalParams {
            dims: self.embed_dims,
            seed: self.umap.seed,
            ..Default::default()
        })
    }
}

/// Seconds spent per stage.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct StageTimings {
    pub embed_s: f64,
    pub neighbors_s: f64,
    pub layout_s: f64,
}

pub struct MapResult {
    pub coords: Vec<[f32; 2]>,
    /// The kNN method used (`Auto` resolved).
    pub knn: KnnMethod,
    pub embedder: String,
    pub embedding_dims: usize,
    pub epochs: usize,
    pub timings: StageTimings,
    pub warnings: Vec<String>,
    pub cache: CacheReport,
    /// For model2vec and endpoint embedders: texts embedded now vs taken from the cache.
    pub text_cache: Option<TextCacheReport>,
}

/// What the cache did for each stage.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct CacheReport {
    pub embeddings: CacheUse,
    pub neighbors: CacheUse,
    pub layout: CacheUse,
}

impl CacheReport {
    pub(crate) fn all(u: CacheUse) -> Self {
        CacheReport {
            embeddings: u,
            neighbors: u,
            layout: u,
        }
    }
}
