//! The stage order shared by the CLI and the app: embed → kNN → fuzzy graph → UMAP.

use std::time::Instant;

use std::path::PathBuf;

use crate::cache::{Cache, CacheUse, Key, codec, file_hash};
use crate::dataset::{Format, Samples};
use crate::embedding::store::{TextCacheReport, embed_with_store};
use crate::embedding::vectors::{VectorError, column_vectors, read_npy};
use crate::embedding::{
    EmbedError, Embedder, Embeddings, EndpointEmbedder, EndpointParams, LexicalEmbedder,
    LexicalParams, Model2VecEmbedder,
};
use crate::neighbors::{KnnGraph, KnnMethod, NeighborsError, knn};
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
    /// A static model2vec model in a local folder.
    Model2Vec(PathBuf),
    /// An OpenAI-compatible embeddings endpoint.
    Endpoint(EndpointParams),
}

impl VectorSource {
    /// Whether the vectors are computed from the texts (rather than read from the data).
    pub fn embeds_texts(&self) -> bool {
        matches!(
            self,
            VectorSource::Lexical | VectorSource::Model2Vec(_) | VectorSource::Endpoint(_)
        )
    }

    /// Parse the `--embedder` forms: `lexical`, `model2vec:DIR`, `openai:URL`,
    /// `column:COL`, `npy:FILE`. Endpoint options other than the URL keep their defaults.
    pub fn parse(spec: &str) -> Result<VectorSource, String> {
        let spec = spec.trim();
        if spec == "lexical" {
            return Ok(VectorSource::Lexical);
        }
        let (kind, arg) = spec.split_once(':').ok_or_else(|| {
            format!(
                "unknown embedder '{spec}': use lexical, model2vec:DIR, openai:URL, column:COL or npy:FILE"
            )
        })?;
        if arg.trim().is_empty() {
            return Err(format!("'{kind}:' needs a value after the colon"));
        }
        match kind {
            "model2vec" => Ok(VectorSource::Model2Vec(PathBuf::from(arg))),
            "openai" => Ok(VectorSource::Endpoint(EndpointParams {
                url: arg.to_string(),
                ..Default::default()
            })),
            "column" => Ok(VectorSource::Column(arg.to_string())),
            "npy" => Ok(VectorSource::Npy(PathBuf::from(arg))),
            _ => Err(format!(
                "unknown embedder '{kind}': use lexical, model2vec:DIR, openai:URL, column:COL or npy:FILE"
            )),
        }
    }
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
    fn all(u: CacheUse) -> Self {
        CacheReport {
            embeddings: u,
            neighbors: u,
            layout: u,
        }
    }
}

/// Cache keys of the three stages, each including everything the stage depends on.
struct StageKeys {
    embeddings: Key,
    neighbors: Key,
    layout: Key,
}

fn stage_keys(
    samples: &Samples,
    params: &MapParams,
    source: &VectorSource,
    embedder_id: &str,
) -> std::io::Result<StageKeys> {
    let content = file_hash(&samples.path)?;
    let source_part: Vec<u8> = match source {
        VectorSource::Lexical => format!(
            "lexical dims={} seed={}",
            params.embed_dims, params.umap.seed
        )
        .into_bytes(),
        VectorSource::Npy(path) => {
            let mut v = b"npy ".to_vec();
            v.extend_from_slice(&file_hash(path)?);
            v
        }
        VectorSource::Column(col) => format!("column {col}").into_bytes(),
        VectorSource::Model2Vec(_) | VectorSource::Endpoint(_) => embedder_id.as_bytes().to_vec(),
    };
    let embeddings = Key::of(&[
        b"embeddings",
        &content,
        samples.text_column.as_bytes(),
        &source_part,
    ]);
    let u = &params.umap;
    let knn_part = format!(
        "k={} metric={} method={:?} seed={}",
        u.n_neighbors - 1,
        u.metric,
        params.knn.resolve(samples.len()),
        u.seed
    );
    let neighbors = Key::of(&[b"neighbors", &embeddings.0, knn_part.as_bytes()]);
    let umap_part = serde_json::to_vec(u).unwrap_or_default();
    let layout = Key::of(&[b"layout", &neighbors.0, &umap_part]);
    Ok(StageKeys {
        embeddings,
        neighbors,
        layout,
    })
}

/// The vector source of a run, with its embedder built (a bad model folder or URL fails
/// here, before any work).
struct Source {
    source: VectorSource,
    text_embedder: Option<Box<dyn Embedder>>,
    id: String,
}

fn resolve_source(samples: &Samples, params: &MapParams) -> Result<Source, PipelineError> {
    let source = if samples.format == Format::Npy {
        VectorSource::Npy(samples.path.clone())
    } else {
        params.vectors.clone()
    };
    let text_embedder: Option<Box<dyn Embedder>> = match &source {
        VectorSource::Model2Vec(dir) => Some(Box::new(Model2VecEmbedder::load(dir)?)),
        VectorSource::Endpoint(p) => Some(Box::new(EndpointEmbedder::new(p.clone())?)),
        _ => None,
    };
    let id = match (&source, &text_embedder) {
        (_, Some(e)) => e.id(),
        (VectorSource::Npy(path), _) => format!("vectors from {}", path.display()),
        (VectorSource::Column(col), _) => format!("vectors from column '{col}'"),
        _ => params.embedder().id(),
    };
    Ok(Source {
        source,
        text_embedder,
        id,
    })
}

/// Compute (or read) the vectors, without the whole-matrix stage cache. Per-text embedders
/// use the per-text cache in `text_store`.
fn embed_fresh(
    samples: &Samples,
    params: &MapParams,
    src: &Source,
    text_store: Option<&Cache>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(Embeddings, Option<TextCacheReport>, Vec<String>), PipelineError> {
    Ok(match (&src.source, src.text_embedder.as_deref()) {
        (_, Some(embedder)) => {
            let (e, tc, w) =
                embed_with_store(embedder, &samples.texts, text_store, progress, cancel)?;
            (e, Some(tc), w)
        }
        (VectorSource::Npy(path), None) => {
            let e = read_npy(path)?;
            check_rows(&e, &path.display().to_string(), samples)?;
            (e, None, Vec::new())
        }
        (VectorSource::Column(col), None) => {
            let locate = |row: usize| samples.locate(row);
            let e = column_vectors(
                &samples.frame,
                col,
                &samples.path.display().to_string(),
                &locate,
            )?;
            (e, None, Vec::new())
        }
        _ => (
            params.embedder().embed(&samples.texts, progress, cancel)?,
            None,
            Vec::new(),
        ),
    })
}

/// The vectors of `samples` as the map would use them (from the cache when there), and the
/// embedder's id. For analyses that need the embedding space but not the map.
pub fn embed_samples(
    samples: &Samples,
    params: &MapParams,
    cache: Option<&Cache>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(Embeddings, String), PipelineError> {
    params.validate()?;
    let src = resolve_source(samples, params)?;
    let key = cache
        .and_then(|_| stage_keys(samples, params, &src.source, &src.id).ok())
        .map(|k| k.embeddings);
    if let (Some(c), Some(k)) = (cache, &key)
        && let Some(e) = c
            .get("embeddings", k)
            .and_then(|p| decode_embeddings(&p, samples.len()))
    {
        return Ok((e, src.id));
    }
    let (e, _, _) = embed_fresh(samples, params, &src, cache, progress, cancel)?;
    if let (Some(c), Some(k)) = (cache, &key)
        && src.text_embedder.is_none()
    {
        let _ = c.put("embeddings", k, &encode_embeddings(&e));
    }
    Ok((e, src.id))
}

/// Compute the 2-D map of `samples`, reusing and filling `cache` when given.
pub fn compute_map(
    samples: &Samples,
    params: &MapParams,
    cache: Option<&Cache>,
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
            cache: CacheReport::all(CacheUse::Skipped),
            text_cache: None,
        });
    }

    let src = resolve_source(samples, params)?;
    let (source, text_embedder, embedder_id) = (&src.source, &src.text_embedder, src.id.clone());
    let epochs = params.umap.epochs_for(n);
    let text_store = cache;
    let mut text_cache = None;
    let keys = match cache {
        Some(_) => match stage_keys(samples, params, source, &embedder_id) {
            Ok(k) => Some(k),
            Err(e) => {
                warnings.push(format!(
                    "cache off for this run: could not hash the input: {e}"
                ));
                None
            }
        },
        None => None,
    };
    let cache = cache.zip(keys.as_ref());
    let mut report = CacheReport::all(if cache.is_some() {
        CacheUse::Miss
    } else {
        CacheUse::Off
    });

    // The finished layout, when this exact map was made before.
    if let Some((c, k)) = cache
        && let Some((dims, coords, stored)) = c
            .get("layout", &k.layout)
            .and_then(|p| decode_layout(&p, n))
    {
        progress.report(Stage::Layout, 1, 1);
        report = CacheReport {
            embeddings: CacheUse::Skipped,
            neighbors: CacheUse::Skipped,
            layout: CacheUse::Hit,
        };
        return Ok(MapResult {
            coords,
            knn: params.knn.resolve(n),
            embedder: embedder_id,
            embedding_dims: dims,
            epochs,
            timings,
            warnings: stored,
            cache: report,
            text_cache: None,
        });
    }
    let store = |kind: &str, key: &Key, payload: Vec<u8>, warnings: &mut Vec<String>| {
        if let Some((c, _)) = cache
            && let Err(e) = c.put(kind, key, &payload)
        {
            warnings.push(format!(
                "could not write the cache in {}: {e}",
                c.dir().display()
            ));
        }
    };

    let t = Instant::now();
    let cached_embeddings = cache
        .and_then(|(c, k)| c.get("embeddings", &k.embeddings))
        .and_then(|p| decode_embeddings(&p, n));
    let embeddings = match cached_embeddings {
        Some(e) => {
            report.embeddings = CacheUse::Hit;
            progress.report(Stage::Embed, 1, 1);
            e
        }
        None => {
            let (e, tc, w) = embed_fresh(samples, params, &src, text_store, progress, cancel)?;
            if let Some(tc) = tc
                && tc.embedded == 0
                && text_store.is_some()
            {
                report.embeddings = CacheUse::Hit;
            }
            text_cache = tc;
            warnings.extend(w);
            // Per-text embedders keep their own per-text cache; no second copy here.
            if let Some((_, k)) = cache
                && text_embedder.is_none()
            {
                store(
                    "embeddings",
                    &k.embeddings,
                    encode_embeddings(&e),
                    &mut warnings,
                );
            }
            e
        }
    };
    timings.embed_s = t.elapsed().as_secs_f64();
    warnings.extend(embeddings.warnings.iter().cloned());

    if source.embeds_texts() && n > 1 && samples.texts.iter().all(|t| t == &samples.texts[0]) {
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
    let k = params.umap.n_neighbors - 1;
    let cached_knn = cache
        .and_then(|(c, keys)| c.get("neighbors", &keys.neighbors))
        .and_then(|p| decode_knn(&p, n, k.min(n.saturating_sub(1))));
    let graph = match cached_knn {
        Some(g) => {
            report.neighbors = CacheUse::Hit;
            progress.report(Stage::Neighbors, 1, 1);
            g
        }
        None => {
            let g = knn(
                &embeddings.data,
                embeddings.dims,
                k,
                params.umap.metric,
                params.knn,
                params.umap.seed,
                progress,
                cancel,
            )?;
            if let Some((_, keys)) = cache {
                store("neighbors", &keys.neighbors, encode_knn(&g), &mut warnings);
            }
            g
        }
    };
    timings.neighbors_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let coords = if n == 1 {
        warnings.push("a single row: it is placed at the origin".into());
        vec![[0.0, 0.0]]
    } else {
        umap_layout(
            &embeddings.data,
            embeddings.dims,
            &graph,
            &params.umap,
            progress,
            cancel,
        )?
    };
    timings.layout_s = t.elapsed().as_secs_f64();
    if let Some((_, keys)) = cache {
        let payload = encode_layout(embeddings.dims, &coords, &warnings);
        store("layout", &keys.layout, payload, &mut warnings);
    }
    progress.report(Stage::Layout, 1, 1);
    Ok(MapResult {
        coords,
        knn: params.knn.resolve(n),
        embedder: embedder_id,
        embedding_dims: embeddings.dims,
        epochs,
        timings,
        warnings,
        cache: report,
        text_cache,
    })
}

fn encode_embeddings(e: &Embeddings) -> Vec<u8> {
    let mut out = Vec::with_capacity(e.data.len() * 4 + 64);
    codec::put_u32(&mut out, e.dims as u32);
    codec::put_f32s(&mut out, &e.data);
    codec::put_strings(&mut out, &e.warnings);
    out
}

fn decode_embeddings(p: &[u8], n: usize) -> Option<Embeddings> {
    let mut r = codec::Reader(p);
    let dims = r.u32()? as usize;
    let data = r.f32s()?;
    let warnings = r.strings()?;
    (dims > 0 && data.len() == n * dims).then_some(Embeddings {
        dims,
        data,
        warnings,
    })
}

fn encode_knn(g: &KnnGraph) -> Vec<u8> {
    let mut out = Vec::new();
    codec::put_u32(&mut out, g.k as u32);
    codec::put_u32s(&mut out, &g.indices);
    codec::put_f32s(&mut out, &g.distances);
    out
}

fn decode_knn(p: &[u8], n: usize, k: usize) -> Option<KnnGraph> {
    let mut r = codec::Reader(p);
    let stored_k = r.u32()? as usize;
    let indices = r.u32s()?;
    let distances = r.f32s()?;
    let ok = stored_k == k
        && indices.len() == n * k
        && distances.len() == n * k
        && indices.iter().all(|&j| (j as usize) < n);
    ok.then_some(KnnGraph {
        n,
        k,
        indices,
        distances,
    })
}

fn encode_layout(dims: usize, coords: &[[f32; 2]], warnings: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    codec::put_u32(&mut out, dims as u32);
    let flat: Vec<f32> = coords.iter().flat_map(|c| [c[0], c[1]]).collect();
    codec::put_f32s(&mut out, &flat);
    codec::put_strings(&mut out, warnings);
    out
}

fn decode_layout(p: &[u8], n: usize) -> Option<(usize, Vec<[f32; 2]>, Vec<String>)> {
    let mut r = codec::Reader(p);
    let dims = r.u32()? as usize;
    let flat = r.f32s()?;
    let warnings = r.strings()?;
    if flat.len() != 2 * n || flat.iter().any(|v| !v.is_finite()) {
        return None;
    }
    Some((
        dims,
        flat.chunks_exact(2).map(|c| [c[0], c[1]]).collect(),
        warnings,
    ))
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
