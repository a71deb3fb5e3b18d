//! The stage order shared by the CLI and the app: embed → kNN → fuzzy graph → UMAP.

use std::time::Instant;

use crate::dataset::Samples;
use crate::embedding::{EmbedError, Embedder, LexicalEmbedder, LexicalParams};
use crate::neighbors::{KnnMethod, NeighborsError, knn};
use crate::progress::{CancelToken, Progress, Stage};
use crate::projection::{ProjectionError, UmapParams, umap_layout};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Neighbors(#[from] NeighborsError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

impl PipelineError {
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self,
            PipelineError::Embed(EmbedError::Cancelled)
                | PipelineError::Neighbors(NeighborsError::Cancelled)
                | PipelineError::Projection(ProjectionError::Cancelled)
        )
    }
}

/// Everything that determines a map, given the data. One seed drives all randomness.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MapParams {
    /// Dimensions of the built-in lexical embedding.
    pub embed_dims: usize,
    /// Exact or approximate nearest neighbours.
    pub knn: KnnMethod,
    pub umap: UmapParams,
}

impl Default for MapParams {
    fn default() -> Self {
        MapParams {
            embed_dims: 128,
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
}

/// Compute the 2-D map of `samples`.
pub fn compute_map(
    samples: &Samples,
    params: &MapParams,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<MapResult, PipelineError> {
    params.validate()?;
    let n = samples.len();
    let mut warnings = Vec::new();
    let mut timings = StageTimings::default();
    let embedder = params.embedder();

    let t = Instant::now();
    let embeddings = embedder.embed(&samples.texts, progress, cancel)?;
    timings.embed_s = t.elapsed().as_secs_f64();
    warnings.extend(embeddings.warnings.iter().cloned());

    if n > 1 && samples.texts.iter().all(|t| t == &samples.texts[0]) {
        warnings.push(format!(
            "all {n} texts are identical: the map is a single blob"
        ));
    }
    if n < params.umap.n_neighbors {
        warnings.push(format!(
            "only {n} rows: fewer than n_neighbors ({}), the neighbourhoods span the whole set",
            params.umap.n_neighbors
        ));
    }

    let t = Instant::now();
    let knn = knn(
        &embeddings.data,
        embeddings.dims,
        params.umap.n_neighbors - 1,
        params.umap.metric,
        params.knn,
        params.umap.seed,
        progress,
        cancel,
    )?;
    timings.neighbors_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let coords = if n == 1 {
        warnings.push("a single row: it is placed at the origin".into());
        vec![[0.0, 0.0]]
    } else {
        umap_layout(
            &embeddings.data,
            embeddings.dims,
            &knn,
            &params.umap,
            progress,
            cancel,
        )?
    };
    timings.layout_s = t.elapsed().as_secs_f64();
    progress.report(Stage::Layout, 1, 1);
    Ok(MapResult {
        coords,
        knn: params.knn.resolve(n),
        embedder: embedder.id(),
        embedding_dims: embeddings.dims,
        epochs: params.umap.epochs_for(n),
        timings,
        warnings,
    })
}
