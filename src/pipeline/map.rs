//! The map of a sample set: vectors → kNN graph → UMAP layout, every stage read from or
//! written to the cache; and the vectors alone, for analyses that need the embedding space.

use std::time::Instant;

use super::source::{Source, resolve_source};
use super::stage_cache::{
    Slot, StageKeys, cached, decode_layout, embeddings_codec, encode_layout, knn_codec, stage_keys,
};
use super::{CacheReport, MapParams, MapResult, PipelineError, StageTimings};
use crate::cache::{Cache, CacheUse, StageKind};
use crate::dataset::Samples;
use crate::embedding::Embeddings;
use crate::embedding::store::TextCacheReport;
use crate::neighbors::{KnnGraph, KnnParams, knn};
use crate::progress::{CancelToken, Progress, Stage};
use crate::projection::umap_layout;
use crate::util::linalg::Rows;

/// The vectors of `samples` as the map would use them (from the cache when there), and the
/// embedder's id. For analyses that need the embedding space but not the map. A cache entry
/// that cannot be written is a warning in the returned embeddings' `warnings`.
pub fn embed_samples(
    samples: &Samples,
    params: &MapParams,
    cache: Option<&Cache>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(Embeddings, String), PipelineError> {
    embed_samples_cached(samples, params, cache, progress, cancel).map(|(e, id, _)| (e, id))
}

/// [`embed_samples`], also saying whether the vectors came from the cache.
pub(super) fn embed_samples_cached(
    samples: &Samples,
    params: &MapParams,
    cache: Option<&Cache>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(Embeddings, String, CacheUse), PipelineError> {
    params.validate()?;
    let src = resolve_source(samples, params)?;
    let keys = cache.and_then(|_| stage_keys(samples, params, &src.source, &src.id).ok());
    let slot = cache.zip(keys.as_ref()).map(|(cache, k)| Slot {
        cache,
        kind: StageKind::Embeddings,
        key: &k.embeddings,
    });
    let mut warnings = Vec::new();
    // Per-text embedders keep their own per-text cache; no second copy here.
    let keep = src.text_embedder.is_none();
    let (mut e, used) = cached(
        slot,
        embeddings_codec(samples.len()),
        keep,
        &mut warnings,
        |_| {
            // The embedder's own warnings (texts truncated, ...) travel with the vectors.
            let (mut e, _, w) = src.embed(samples, params, cache, progress, cancel)?;
            e.warnings.extend(w);
            Ok(e)
        },
    )?;
    e.warnings.extend(warnings);
    Ok((e, src.id, used))
}

/// One run of [`compute_map`]: its inputs, the cache entries it may use, and what it has
/// gathered so far (warnings, timings, cache use).
struct Run<'a> {
    samples: &'a Samples,
    params: &'a MapParams,
    src: Source,
    /// The per-text cache of model2vec and endpoint vectors (the stage cache's directory).
    text_store: Option<&'a Cache>,
    /// The stage cache with this run's keys, when caching is on and the input could be hashed.
    stages: Option<(&'a Cache, StageKeys)>,
    progress: &'a dyn Progress,
    cancel: &'a CancelToken,
    warnings: Vec<String>,
    timings: StageTimings,
    report: CacheReport,
    text_cache: Option<TextCacheReport>,
}

/// The entry of one stage (`Embeddings`, `Neighbors` or `Layout`), when caching is on.
fn slot<'a>(stages: &'a Option<(&'a Cache, StageKeys)>, kind: StageKind) -> Option<Slot<'a>> {
    stages.as_ref().map(|(cache, keys)| Slot {
        cache,
        kind,
        key: match kind {
            StageKind::Embeddings => &keys.embeddings,
            StageKind::Neighbors => &keys.neighbors,
            StageKind::Layout | StageKind::Table | StageKind::TextVectors { .. } => &keys.layout,
        },
    })
}

impl Run<'_> {
    fn result(self, coords: Vec<[f32; 2]>, embedding_dims: usize) -> MapResult {
        let n = self.samples.len();
        MapResult {
            coords,
            knn: self.params.knn.resolve(n),
            embedder: self.src.id,
            embedding_dims,
            epochs: self.params.umap.epochs_for(n),
            timings: self.timings,
            warnings: self.warnings,
            cache: self.report,
            text_cache: self.text_cache,
        }
    }

    /// The finished layout, when this exact map was made before: (dims, coords, warnings).
    fn stored_layout(&self) -> Option<(usize, Vec<[f32; 2]>, Vec<String>)> {
        let n = self.samples.len();
        slot(&self.stages, StageKind::Layout)?.get(|p| decode_layout(p, n))
    }

    fn embeddings(&mut self) -> Result<Embeddings, PipelineError> {
        let t = Instant::now();
        let (samples, params) = (self.samples, self.params);
        let (progress, cancel, text_store) = (self.progress, self.cancel, self.text_store);
        let src = &self.src;
        let mut text_cache = None;
        let slot = slot(&self.stages, StageKind::Embeddings);
        // Per-text embedders keep their own per-text cache; no second copy here.
        let keep = src.text_embedder.is_none();
        let (e, used) = cached(
            slot,
            embeddings_codec(samples.len()),
            keep,
            &mut self.warnings,
            |warnings| {
                let (e, tc, w) = src.embed(samples, params, text_store, progress, cancel)?;
                text_cache = tc;
                warnings.extend(w);
                Ok(e)
            },
        )?;
        self.report.embeddings = used;
        if used == CacheUse::Hit {
            progress.report(Stage::Embed, 1, 1);
        }
        // Every text came from the per-text cache: that is a hit too.
        if let Some(tc) = &text_cache
            && tc.embedded == 0
            && text_store.is_some()
        {
            self.report.embeddings = CacheUse::Hit;
        }
        self.text_cache = text_cache;
        self.timings.embed_s = t.elapsed().as_secs_f64();
        self.warnings.extend(e.warnings.iter().cloned());
        Ok(e)
    }

    /// Warnings about inputs that make a poor map (not errors: the map is still drawn).
    fn check_shape(&mut self) {
        let (samples, n) = (self.samples, self.samples.len());
        let texts = &samples.texts;
        if self.src.source.embeds_texts() && n > 1 && texts.iter().all(|t| t == &texts[0]) {
            self.warnings.push(format!(
                "all {n} texts are identical: the map is a single blob"
            ));
        }
        let n_neighbors = self.params.umap.n_neighbors;
        if n < n_neighbors {
            self.warnings.push(format!(
                "only {n} rows: fewer than n_neighbors ({n_neighbors}), the neighbourhoods span the whole set"
            ));
        }
    }

    fn neighbors(&mut self, rows: Rows<'_>) -> Result<KnnGraph, PipelineError> {
        let t = Instant::now();
        let n = self.samples.len();
        let umap = &self.params.umap;
        let query = KnnParams {
            k: umap.n_neighbors - 1,
            metric: umap.metric,
            method: self.params.knn,
            seed: umap.seed,
        };
        let (progress, cancel) = (self.progress, self.cancel);
        let slot = slot(&self.stages, StageKind::Neighbors);
        let (graph, used) = cached(
            slot,
            knn_codec(n, query.k.min(n.saturating_sub(1))),
            true,
            &mut self.warnings,
            |_| Ok(knn(rows, &query, progress, cancel)?),
        )?;
        self.report.neighbors = used;
        if used == CacheUse::Hit {
            progress.report(Stage::Neighbors, 1, 1);
        }
        self.timings.neighbors_s = t.elapsed().as_secs_f64();
        Ok(graph)
    }

    fn layout(&mut self, rows: Rows<'_>, graph: &KnnGraph) -> Result<Vec<[f32; 2]>, PipelineError> {
        let t = Instant::now();
        let coords = if self.samples.len() == 1 {
            self.warnings
                .push("a single row: it is placed at the origin".into());
            vec![[0.0, 0.0]]
        } else {
            umap_layout(rows, graph, &self.params.umap, self.progress, self.cancel)?
        };
        self.timings.layout_s = t.elapsed().as_secs_f64();
        if let Some(slot) = slot(&self.stages, StageKind::Layout) {
            let payload = encode_layout(rows.dims(), &coords, &self.warnings);
            slot.put(&payload, &mut self.warnings);
        }
        self.progress.report(Stage::Layout, 1, 1);
        Ok(coords)
    }
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
    if let Some((xc, yc)) = &params.xy {
        let coords = layout_columns(samples, xc, yc)?;
        return Ok(MapResult {
            coords,
            knn: params.knn.resolve(n),
            embedder: format!("precomputed layout ({xc}, {yc})"),
            embedding_dims: 0,
            epochs: 0,
            timings: StageTimings::default(),
            warnings: Vec::new(),
            cache: CacheReport::all(CacheUse::Skipped),
            text_cache: None,
        });
    }
    let src = resolve_source(samples, params)?;
    let mut warnings = Vec::new();
    let stages = cache.and_then(
        |c| match stage_keys(samples, params, &src.source, &src.id) {
            Ok(keys) => Some((c, keys)),
            Err(e) => {
                warnings.push(format!(
                    "cache off for this run: could not hash the input: {e}"
                ));
                None
            }
        },
    );
    let report = CacheReport::all(if stages.is_some() {
        CacheUse::Miss
    } else {
        CacheUse::Off
    });
    let mut run = Run {
        samples,
        params,
        src,
        text_store: cache,
        stages,
        progress,
        cancel,
        warnings,
        timings: StageTimings::default(),
        report,
        text_cache: None,
    };
    if let Some((dims, coords, stored)) = run.stored_layout() {
        progress.report(Stage::Layout, 1, 1);
        run.report = CacheReport {
            embeddings: CacheUse::Skipped,
            neighbors: CacheUse::Skipped,
            layout: CacheUse::Hit,
        };
        run.warnings = stored;
        return Ok(run.result(coords, dims));
    }
    let embeddings = run.embeddings()?;
    run.check_shape();
    // A matrix that does not split into rows is reported as the kNN stage's input error.
    let rows = Rows::new(&embeddings.data, embeddings.dims)
        .map_err(|e| PipelineError::Neighbors(e.into()))?;
    let graph = run.neighbors(rows)?;
    let coords = run.layout(rows, &graph)?;
    Ok(run.result(coords, embeddings.dims))
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

/// A reference map's kNN graph and layout, for placing new samples onto it: the graph from
/// the cache when `map` made it before (else computed and stored), the layout `given` (a map
/// file's coordinate columns) or from the cache (else computed and stored), exactly as
/// [`compute_map`] would have made them from `embeddings`.
pub(super) struct ReferenceMap {
    pub graph: KnnGraph,
    pub coords: Vec<[f32; 2]>,
    pub cache: CacheReport,
    pub timings: StageTimings,
    pub warnings: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn reference_map(
    samples: &Samples,
    params: &MapParams,
    embeddings: &Embeddings,
    embeddings_use: CacheUse,
    given: Option<Vec<[f32; 2]>>,
    cache: Option<&Cache>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<ReferenceMap, PipelineError> {
    let src = resolve_source(samples, params)?;
    let mut warnings = Vec::new();
    let stages = cache.and_then(|c| {
        stage_keys(samples, params, &src.source, &src.id)
            .ok()
            .map(|k| (c, k))
    });
    let mut run = Run {
        samples,
        params,
        src,
        text_store: cache,
        report: CacheReport {
            embeddings: embeddings_use,
            neighbors: if stages.is_some() {
                CacheUse::Miss
            } else {
                CacheUse::Off
            },
            layout: if given.is_some() {
                CacheUse::Skipped
            } else if stages.is_some() {
                CacheUse::Miss
            } else {
                CacheUse::Off
            },
        },
        stages,
        progress,
        cancel,
        warnings: Vec::new(),
        timings: StageTimings::default(),
        text_cache: None,
    };
    let rows = Rows::new(&embeddings.data, embeddings.dims)
        .map_err(|e| PipelineError::Neighbors(e.into()))?;
    let graph = run.neighbors(rows)?;
    let coords = match given {
        Some(c) => c,
        None => match run.stored_layout() {
            Some((_, coords, stored)) => {
                run.report.layout = CacheUse::Hit;
                warnings.extend(stored);
                coords
            }
            None => run.layout(rows, &graph)?,
        },
    };
    warnings.append(&mut run.warnings);
    Ok(ReferenceMap {
        graph,
        coords,
        cache: run.report,
        timings: run.timings,
        warnings,
    })
}

/// A map file's layout and the names of its (x, y) columns.
pub(super) type FileLayout = (Vec<[f32; 2]>, (String, String));

/// The layout held in a map file's coordinate columns (`atlas_x`/`atlas_y` when the file
/// has them, else `x`/`y`), when both are there.
pub(super) fn map_file_layout(samples: &Samples) -> Option<Result<FileLayout, PipelineError>> {
    let has = |n: &str| samples.frame.column(n).is_ok();
    let (xc, yc) = [("atlas_x", "atlas_y"), ("x", "y")]
        .into_iter()
        .find(|(x, y)| has(x) && has(y))?;
    Some(layout_columns(samples, xc, yc).map(|c| (c, (xc.to_string(), yc.to_string()))))
}
