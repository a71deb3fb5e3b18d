//! The stages' cache: keys that hold everything a stage depends on, payload codecs, and
//! [`cached`], the one read-or-compute-and-store helper every stage goes through (one error
//! policy: an unreadable entry is recomputed, a failed write is a warning and the run goes on).

use super::{MapParams, PipelineError, VectorSource};
use crate::cache::{Cache, CacheUse, Key, StageKind, codec, file_hash};
use crate::dataset::Samples;
use crate::embedding::Embeddings;
use crate::neighbors::KnnGraph;

/// One stage's entry: where it lives in which cache.
#[derive(Clone, Copy)]
pub(super) struct Slot<'a> {
    pub cache: &'a Cache,
    pub kind: StageKind,
    pub key: &'a Key,
}

impl Slot<'_> {
    /// The decoded entry, when present, intact and valid for this run.
    pub fn get<T>(&self, decode: impl FnOnce(&[u8]) -> Option<T>) -> Option<T> {
        self.cache.get(self.kind, self.key).and_then(|p| decode(&p))
    }

    /// Store a payload; a failure is a warning (the result is still good, only not kept).
    pub fn put(&self, payload: &[u8], warnings: &mut Vec<String>) {
        if let Err(e) = self.cache.put(self.kind, self.key, payload) {
            warnings.push(format!(
                "could not write the cache in {}: {e}",
                self.cache.dir().display()
            ));
        }
    }
}

/// How a stage's result is cached.
pub(super) struct Codec<T> {
    pub encode: fn(&T) -> Vec<u8>,
    /// `None` when the payload does not fit this run (wrong size, corrupt).
    pub decode: Decode<T>,
}

/// Decodes a payload; `None` when it does not fit this run.
pub(super) type Decode<T> = Box<dyn FnOnce(&[u8]) -> Option<T>>;

/// The stage's result from `slot` when there, else `compute`d and (when `keep`) stored.
/// Reports whether the cache was hit, missed or off.
pub(super) fn cached<T>(
    slot: Option<Slot<'_>>,
    codec: Codec<T>,
    keep: bool,
    warnings: &mut Vec<String>,
    compute: impl FnOnce(&mut Vec<String>) -> Result<T, PipelineError>,
) -> Result<(T, CacheUse), PipelineError> {
    let Some(slot) = slot else {
        return Ok((compute(warnings)?, CacheUse::Off));
    };
    if let Some(hit) = slot.get(codec.decode) {
        return Ok((hit, CacheUse::Hit));
    }
    let value = compute(warnings)?;
    if keep {
        slot.put(&(codec.encode)(&value), warnings);
    }
    Ok((value, CacheUse::Miss))
}

/// The hash of what was read: the file's bytes for one file (as always), else every part's
/// name and bytes, and a delimiter given by hand (it changes what the bytes mean).
fn input_hash(samples: &Samples) -> std::io::Result<[u8; 32]> {
    if let ([part], None) = (&samples.parts[..], samples.delimiter) {
        return file_hash(&part.part.path);
    }
    let mut h = blake3::Hasher::new();
    for part in &samples.parts {
        h.update(part.part.name.as_bytes());
        h.update(&[0]);
        h.update(&file_hash(&part.part.path)?);
    }
    if let Some(d) = samples.delimiter {
        h.update(b"delimiter=");
        h.update(&[d]);
    }
    Ok(*h.finalize().as_bytes())
}

/// Cache keys of the three stages, each including everything the stage depends on.
pub(super) struct StageKeys {
    pub embeddings: Key,
    pub neighbors: Key,
    pub layout: Key,
}

pub(super) fn stage_keys(
    samples: &Samples,
    params: &MapParams,
    source: &VectorSource,
    embedder_id: &str,
) -> std::io::Result<StageKeys> {
    let content = input_hash(samples)?;
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
        VectorSource::Model2Vec(_) | VectorSource::Transformer(_) | VectorSource::Endpoint(_) => {
            embedder_id.as_bytes().to_vec()
        }
    };
    let embeddings = Key::of(&[
        StageKind::Embeddings.name().as_bytes(),
        &content,
        samples.text_column.as_bytes(),
        &source_part,
    ]);
    let u = &params.umap;
    let knn_part = format!(
        "k={} metric={} method={} seed={}",
        u.n_neighbors - 1,
        u.metric,
        params.knn.resolve(samples.len()).cache_key(),
        u.seed
    );
    let neighbors = Key::of(&[
        StageKind::Neighbors.name().as_bytes(),
        &embeddings.0,
        knn_part.as_bytes(),
    ]);
    let umap_part = serde_json::to_vec(u).unwrap_or_default();
    let layout = Key::of(&[
        StageKind::Layout.name().as_bytes(),
        &neighbors.0,
        &umap_part,
    ]);
    Ok(StageKeys {
        embeddings,
        neighbors,
        layout,
    })
}

pub(super) fn encode_embeddings(e: &Embeddings) -> Vec<u8> {
    let mut out = Vec::with_capacity(e.data.len() * 4 + 64);
    codec::put_u32(&mut out, e.dims as u32);
    codec::put_f32s(&mut out, &e.data);
    codec::put_strings(&mut out, &e.warnings);
    out
}

pub(super) fn decode_embeddings(p: &[u8], n: usize) -> Option<Embeddings> {
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

pub(super) fn encode_knn(g: &KnnGraph) -> Vec<u8> {
    let mut out = Vec::new();
    codec::put_u32(&mut out, g.k as u32);
    codec::put_u32s(&mut out, &g.indices);
    codec::put_f32s(&mut out, &g.distances);
    out
}

pub(super) fn decode_knn(p: &[u8], n: usize, k: usize) -> Option<KnnGraph> {
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

pub(super) fn encode_layout(dims: usize, coords: &[[f32; 2]], warnings: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    codec::put_u32(&mut out, dims as u32);
    let flat: Vec<f32> = coords.iter().flat_map(|c| [c[0], c[1]]).collect();
    codec::put_f32s(&mut out, &flat);
    codec::put_strings(&mut out, warnings);
    out
}

pub(super) fn decode_layout(p: &[u8], n: usize) -> Option<(usize, Vec<[f32; 2]>, Vec<String>)> {
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

pub(super) fn embeddings_codec(n: usize) -> Codec<Embeddings> {
    Codec {
        encode: encode_embeddings,
        decode: Box::new(move |p| decode_embeddings(p, n)),
    }
}

pub(super) fn knn_codec(n: usize, k: usize) -> Codec<KnnGraph> {
    Codec {
        encode: encode_knn,
        decode: Box::new(move |p| decode_knn(p, n, k)),
    }
}
