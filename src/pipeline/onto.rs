//! New samples placed onto an existing map (`map NEW --onto REF`): the reference's vectors,
//! kNN graph and layout (from the cache when `map` made them, or the layout columns of a map
//! file), the new samples embedded into the same space, then placed by
//! [`crate::projection::onto::place_onto`] without moving a reference point.

use std::time::Instant;

use super::map::embed_samples_cached;
use super::map::{ReferenceMap, map_file_layout, reference_map};
use super::source::resolve_source;
use super::{CacheReport, MapParams, PipelineError, StageTimings, VectorSource};
use crate::cache::{Cache, CacheUse};
use crate::dataset::Samples;
use crate::embedding::{EmbedError, Embeddings};
use crate::progress::{CancelToken, Progress};
use crate::projection::onto::{Placement, place_onto};
use crate::util::linalg::Rows;

/// Where the reference layout came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferenceLayout {
    /// The coordinate columns of a map file (x, y).
    Columns(String, String),
    /// The map `map` made of the reference (from the cache, or computed now).
    Mapped,
    /// The layout the caller gave (the app's shown map).
    Given,
}

/// The reference map and where the new samples went on it.
pub struct OntoResult {
    /// The reference's layout, unchanged (bit for bit what it was).
    pub reference: Vec<[f32; 2]>,
    pub layout_from: ReferenceLayout,
    pub placement: Placement,
    pub embedder: String,
    pub embedding_dims: usize,
    /// The reference's stages (embeddings, kNN, layout).
    pub cache: CacheReport,
    /// Reference stages, plus the new samples' embedding in `embed_s` and their placement in
    /// `layout_s` (search and epochs).
    pub timings: StageTimings,
    pub warnings: Vec<String>,
}

/// Place `new` onto the map of `reference` (a sample set, or a map file with coordinate
/// columns). `params` are the reference map's parameters; the same embedder embeds both.
pub fn map_onto(
    reference: &Samples,
    new: &Samples,
    params: &MapParams,
    cache: Option<&Cache>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<OntoResult, PipelineError> {
    map_onto_layout(reference, None, new, params, cache, progress, cancel)
}

/// [`map_onto`] onto `layout` (one point per reference row) when given, in place of the
/// reference's map-file columns or its map: the app places new samples onto the map it
/// shows, which stays bit for bit.
pub fn map_onto_layout(
    reference: &Samples,
    layout: Option<Vec<[f32; 2]>>,
    new: &Samples,
    params: &MapParams,
    cache: Option<&Cache>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<OntoResult, PipelineError> {
    params.validate()?;
    if let Some(l) = &layout
        && l.len() != reference.len()
    {
        return Err(onto_error(&format!(
            "the reference layout has {} points for {} rows",
            l.len(),
            reference.len()
        )));
    }
    if params.xy.is_some() {
        return Err(onto_error(
            "--xy and --onto do not go together: a given layout has no vectors to place new samples by",
        ));
    }
    if matches!(params.vectors, VectorSource::Npy(_)) {
        return Err(onto_error(
            "--vectors FILE.npy holds one set's vectors; with --onto use an embedder or --vectors-column (present in both inputs)",
        ));
    }
    let (given, layout_from) = match layout {
        Some(l) => (Some(l), ReferenceLayout::Given),
        None => match map_file_layout(reference).transpose()? {
            Some((c, (x, y))) => (Some(c), ReferenceLayout::Columns(x, y)),
            None => (None, ReferenceLayout::Mapped),
        },
    };
    let mut warnings = Vec::new();

    let t = Instant::now();
    let (ref_e, new_e, embeddings_use, embedder) =
        embed_both(reference, new, params, cache, progress, cancel)?;
    let embed_s = t.elapsed().as_secs_f64();
    warnings.extend(ref_e.warnings.iter().cloned());
    warnings.extend(new_e.warnings.iter().cloned());
    if ref_e.dims != new_e.dims {
        return Err(onto_error(&format!(
            "the reference's vectors have {} dimensions and the new samples' {}: they must come from the same embedder",
            ref_e.dims, new_e.dims
        )));
    }

    let ReferenceMap {
        graph,
        coords,
        cache: report,
        mut timings,
        warnings: ref_warnings,
    } = reference_map(
        reference,
        params,
        &ref_e,
        embeddings_use,
        given,
        cache,
        progress,
        cancel,
    )?;
    warnings.extend(ref_warnings);

    let ref_rows =
        Rows::new(&ref_e.data, ref_e.dims).map_err(|e| PipelineError::Neighbors(e.into()))?;
    let new_rows =
        Rows::new(&new_e.data, new_e.dims).map_err(|e| PipelineError::Neighbors(e.into()))?;
    let placement = place_onto(
        ref_rows,
        &graph,
        &coords,
        new_rows,
        &params.umap,
        progress,
        cancel,
    )?;
    timings.embed_s += embed_s;
    timings.layout_s += placement.search_s + placement.optimize_s;
    Ok(OntoResult {
        reference: coords,
        layout_from,
        placement,
        embedder,
        embedding_dims: ref_e.dims,
        cache: report,
        timings,
        warnings,
    })
}

fn onto_error(message: &str) -> PipelineError {
    PipelineError::Embed(EmbedError::Params(message.to_string()))
}

/// The vectors of both sets in one space, whether the reference's came from the cache, and
/// the embedder's id. The lexical embedder is fitted to the reference alone (its texts give
/// the vocabulary and the SVD basis) and the new texts are projected onto that fit; every
/// other embedder is the same function of a text for both sets.
fn embed_both(
    reference: &Samples,
    new: &Samples,
    params: &MapParams,
    cache: Option<&Cache>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(Embeddings, Embeddings, CacheUse, String), PipelineError> {
    if params.vectors == VectorSource::Lexical {
        let embedder = params.embedder();
        let (r, n) = embedder.embed_onto(&reference.texts, &new.texts, progress, cancel)?;
        let id = resolve_source(reference, params)?.id;
        return Ok((r, n, CacheUse::Skipped, id));
    }
    let (r, id, used) = embed_samples_cached(reference, params, cache, progress, cancel)?;
    let (n, _, _) = embed_samples_cached(new, params, cache, progress, cancel)?;
    Ok((r, n, used, id))
}
