//! The stage order shared by the CLI and the app: load (+ metrics) → embed → kNN → fuzzy
//! graph → UMAP, each stage cached.
//!
//! - [`source`]: where the vectors come from (embedders, files, columns).
//! - [`stage_cache`]: the cache keys of the stages and the one read-or-compute helper.
//! - [`map`]: the map itself ([`compute_map`]) and the vectors alone ([`embed_samples`]).
//! - `regions`: the map's regions and their labels ([`compute_regions`]).

mod map;
pub mod onto;
mod regions;
mod source;
mod stage_cache;

use std::path::PathBuf;

use crate::cache::CacheUse;
use crate::dataset::{Format, LoadError, LoadOptions, Samples};
use crate::embedding::store::TextCacheReport;
use crate::embedding::vectors::VectorError;
use crate::embedding::{EmbedError, LexicalEmbedder, LexicalParams};
use crate::metrics::{MetricError, MetricOptions};
use crate::neighbors::{KnnMethod, NeighborsError};
use crate::progress::{CancelToken, Progress};
use crate::projection::{ProjectionError, UmapParams};

pub use map::{compute_map, embed_samples};
pub use onto::{OntoResult, ReferenceLayout, map_onto};
pub use regions::{LABEL_TERMS, MapRegions, RegionSummary, compute_regions};
pub use source::VectorSource;

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

/// The load stage: read the file ([`crate::dataset::load`]), then add the proxy metric
/// columns (not for a bare `.npy`, which has no texts).
pub fn load_samples(
    path: &std::path::Path,
    spec: &LoadSpec,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Samples, PipelineError> {
    load_inputs(&[path.to_path_buf()], spec, progress, cancel)
}

/// [`load_samples`] for several inputs read as one table ([`crate::dataset::load_many`]).
pub fn load_inputs(
    inputs: &[PathBuf],
    spec: &LoadSpec,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Samples, PipelineError> {
    let mut samples = crate::dataset::load_many(inputs, &spec.options, progress, cancel)?;
    if samples.format != Format::Npy {
        crate::metrics::apply(&mut samples, &spec.metrics).map_err(|problem| {
            PipelineError::Metric {
                path: samples.path.clone(),
                problem,
            }
        })?;
    }
    Ok(samples)
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
