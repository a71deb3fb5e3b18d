//! The stage order shared by the CLI and the app: embed → kNN → fuzzy graph → UMAP.

use std::time::Instant;

use std::path::PathBuf;

use crate::dataset::{Format, Samples};
use crate::embedding::vectors::{VectorError, column_vectors, read_npy};
use crate::embedding::{EmbedError, Embedder, Embeddings, LexicalEmbedder, LexicalParams};
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
    #[error(transparent)]
    Vectors(#[from] VectorError),
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
            PipelineError::Embed(EmbedError::Cancelled)
                | PipelineError::Neighbors(NeighborsError::Cancelled)
                | PipelineError::Projection(ProjectionError::Cancelled)
        )
    }
}

/// Where the vectors come from.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VectorSource {
    /// The built-in lexical embedder, fitted to the texts.
    Lexical,
    /// A `.npy` matrix, row i = sample i.
    Npy(PathBuf),
    /// A list column of numbers in the table.
    Column(String),
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

    if let Some((xc, yc)) = &params.xy {
        let coords = layout_columns(samples, xc, yc)?;
        return Ok(MapResult {
            coords,
            knn: params.knn.resolve(n),
            embedder: format!("precomputed layout ({xc}, {yc})"),
            embedding_dims: 0,
            epochs: 0,
            timings,
            warnings,
        });
    }

    let t = Instant::now();
    let source = if samples.format == Format::Npy {
        VectorSource::Npy(samples.path.clone())
    } else {
        params.vectors.clone()
    };
    let (embeddings, embedder_id) = match &source {
        VectorSource::Lexical => {
            let embedder = params.embedder();
            (
                embedder.embed(&samples.texts, progress, cancel)?,
                embedder.id(),
            )
        }
        VectorSource::Npy(path) => {
            let e = read_npy(path)?;
            check_rows(&e, &path.display().to_string(), samples)?;
            (e, format!("vectors from {}", path.display()))
        }
        VectorSource::Column(col) => {
            let locate = |row: usize| samples.locate(row);
            let e = column_vectors(
                &samples.frame,
                col,
                &samples.path.display().to_string(),
                &locate,
            )?;
            (e, format!("vectors from column '{col}'"))
        }
    };
    timings.embed_s = t.elapsed().as_secs_f64();
    warnings.extend(embeddings.warnings.iter().cloned());

    if source == VectorSource::Lexical
        && n > 1
        && samples.texts.iter().all(|t| t == &samples.texts[0])
    {
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
        embedder: embedder_id,
        embedding_dims: embeddings.dims,
        epochs: params.umap.epochs_for(n),
        timings,
        warnings,
    })
}

fn check_rows(e: &Embeddings, origin: &str, samples: &Samples) -> Result<(), VectorError> {
    if e.len() != samples.len() {
        return Err(VectorError::Length {
            vectors: origin.to_string(),
            vector_rows: e.len(),
            data: samples.path.display().to_string(),
            data_rows: samples.len(),
        });
    }
    Ok(())
}

/// A layout computed elsewhere, from two numeric columns.
fn layout_columns(samples: &Samples, xc: &str, yc: &str) -> Result<Vec<[f32; 2]>, PipelineError> {
    let column = |name: &str| -> Result<Vec<f32>, PipelineError> {
        let err = |problem: String| PipelineError::Layout {
            path: samples.path.clone(),
            column: name.to_string(),
            problem,
        };
        let col = samples
            .frame
            .column(name)
            .map_err(|_| err("no such column".into()))?;
        if !col.dtype().is_primitive_numeric() {
            return Err(err(format!("holds {}, not numbers", col.dtype())));
        }
        let values = col
            .cast(&polars::prelude::DataType::Float32)
            .map_err(|e| err(e.to_string()))?;
        let values: Vec<Option<f32>> = values
            .f32()
            .map_err(|e| err(e.to_string()))?
            .iter()
            .collect();
        values
            .into_iter()
            .enumerate()
            .map(|(row, v)| match v {
                Some(v) if v.is_finite() => Ok(v),
                _ => Err(err(format!(
                    "{}: missing or non-finite value",
                    samples.locate(row)
                ))),
            })
            .collect()
    };
    let xs = column(xc)?;
    let ys = column(yc)?;
    Ok(xs.into_iter().zip(ys).map(|(x, y)| [x, y]).collect())
}
