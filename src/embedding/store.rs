//! Per-text embedding cache for embedders whose vector of a text does not depend on the rest
//! of the data (model2vec, endpoints): keyed by (embedder id incl. model fingerprint, BLAKE3
//! of the text), so a rerun on an edited or grown file embeds only the texts it has not seen.
//!
//! Vectors live in append-only segment files of the stage cache (checksummed, written
//! atomically); each run adds one segment per chunk it embeds, so an interrupted run keeps
//! what it finished. When a space has many segments they are merged into one.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::{EmbedError, Embedder, Embeddings};
use crate::cache::{Cache, Key, StageKind, codec};
use crate::progress::{CancelToken, Progress, Stage};

/// Texts embedded (and stored) per segment.
pub const SEGMENT_TEXTS: usize = 65_536;
/// Merge a space's segments once there are more than this many.
const MAX_SEGMENTS: usize = 16;

pub type TextHash = [u8; 16];

pub fn text_hash(t: &str) -> TextHash {
    let h = blake3::hash(t.as_bytes());
    h.as_bytes()[..16].try_into().expect("16 bytes")
}

/// What the per-text cache did in one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TextCacheReport {
    /// Distinct texts sent to the embedder.
    pub embedded: usize,
    /// Distinct texts whose vectors came from the cache.
    pub reused: usize,
    /// Rows that repeat an earlier row's text (embedded once).
    pub duplicates: usize,
}

fn kind(space: &Key) -> StageKind {
    StageKind::TextVectors { space: *space }
}

fn encode_segment(dims: usize, hashes: &[TextHash], data: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + hashes.len() * 16 + data.len() * 4 + 8);
    codec::put_u32(&mut out, dims as u32);
    codec::put_u32(&mut out, hashes.len() as u32);
    for h in hashes {
        out.extend_from_slice(h);
    }
    codec::put_f32s(&mut out, data);
    out
}

/// A decoded segment: (dims, hashes, row-major vectors).
fn decode_segment(p: &[u8]) -> Option<(usize, Vec<TextHash>, Vec<f32>)> {
    let mut r = codec::Reader(p);
    let dims = r.u32()? as usize;
    let n = r.u32()? as usize;
    let raw = r.bytes(n.checked_mul(16)?)?;
    let hashes = raw
        .chunks_exact(16)
        .map(|c| c.try_into().expect("16 bytes"))
        .collect();
    let data = r.f32s()?;
    (dims > 0 && data.len() == n * dims).then_some((dims, hashes, data))
}

/// Each row's first row with the same text (`rep[row] == row` for the first of its text).
struct Distinct {
    hashes: Vec<TextHash>,
    first: FxHashMap<TextHash, usize>,
    rep: Vec<usize>,
}

impl Distinct {
    fn of(texts: &[String]) -> Distinct {
        let hashes: Vec<TextHash> = texts.par_iter().map(|t| text_hash(t)).collect();
        let mut first: FxHashMap<TextHash, usize> = FxHashMap::default();
        let rep = hashes
            .iter()
            .enumerate()
            .map(|(row, h)| *first.entry(*h).or_insert(row))
            .collect();
        Distinct { hashes, first, rep }
    }

    /// The first row of each distinct text, in row order.
    fn unique(&self) -> Vec<usize> {
        (0..self.rep.len()).filter(|&r| self.rep[r] == r).collect()
    }
}

/// The vectors gathered so far: row-major `n × dims`, `dims` set by the first vectors seen.
struct Gathered {
    n: usize,
    dims: usize,
    data: Vec<f32>,
    have: Vec<bool>,
}

impl Gathered {
    fn new(n: usize) -> Gathered {
        Gathered {
            n,
            dims: 0,
            data: Vec::new(),
            have: vec![false; n],
        }
    }

    /// Fix the width on first use; `false` when `dims` disagrees with it.
    fn accepts(&mut self, dims: usize) -> bool {
        if self.dims == 0 {
            self.dims = dims;
            self.data = vec![0.0; self.n * dims];
        }
        self.dims == dims
    }

    fn put(&mut self, row: usize, v: &[f32]) {
        self.data[row * self.dims..(row + 1) * self.dims].copy_from_slice(v);
        self.have[row] = true;
    }

    /// Vectors already in the cache's segments of `space`, for texts seen in `distinct`.
    fn read_segments(&mut self, c: &Cache, space: &Key, distinct: &Distinct) {
        for seg in c.list(kind(space)) {
            let Some((d, seg_hashes, seg_data)) = c.get_path(&seg).and_then(|p| decode_segment(&p))
            else {
                continue;
            };
            if !self.accepts(d) {
                continue;
            }
            for (i, h) in seg_hashes.iter().enumerate() {
                if let Some(&row) = distinct.first.get(h)
                    && !self.have[row]
                {
                    self.put(row, &seg_data[i * d..(i + 1) * d]);
                }
            }
        }
    }
}

/// One chunk of texts to embed and store as a segment.
struct Chunk<'a> {
    embedder: &'a dyn Embedder,
    cache: Option<&'a Cache>,
    space: &'a Key,
}

impl Chunk<'_> {
    /// Embed `rows` of `texts` into `g`, storing them as one segment; returns the embedder's
    /// warnings (and a cache-write failure as a warning).
    fn embed(
        &self,
        texts: &[String],
        rows: &[usize],
        hashes: &[TextHash],
        g: &mut Gathered,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<Vec<String>, EmbedError> {
        let id = || self.embedder.id();
        let batch: Vec<String> = rows.iter().map(|&r| texts[r].clone()).collect();
        let e = self.embedder.embed(&batch, progress, cancel)?;
        let mut warnings = e.warnings.clone();
        if e.len() != batch.len() || e.dims == 0 {
            return Err(EmbedError::Params(format!(
                "{} returned {} vectors for {} texts",
                id(),
                e.len(),
                batch.len()
            )));
        }
        if !g.accepts(e.dims) {
            return Err(EmbedError::Params(format!(
                "{} returned {}-dimensional vectors, {} before",
                id(),
                e.dims,
                g.dims
            )));
        }
        for (i, &r) in rows.iter().enumerate() {
            g.put(r, e.row(i));
        }
        if let Some(c) = self.cache {
            let seg_hashes: Vec<TextHash> = rows.iter().map(|&r| hashes[r]).collect();
            let payload = encode_segment(g.dims, &seg_hashes, &e.data);
            let key = Key::of(&[b"segment", &payload]);
            if let Err(err) = c.put(kind(self.space), &key, &payload) {
                warnings.push(format!(
                    "could not write the embedding cache in {}: {err}",
                    c.dir().display()
                ));
            }
        }
        Ok(warnings)
    }
}

/// Embed `texts` with `embedder`, reusing and extending the per-text cache in `cache` (if
/// any). Identical texts are embedded once.
pub fn embed_with_store(
    embedder: &dyn Embedder,
    texts: &[String],
    cache: Option<&Cache>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(Embeddings, TextCacheReport, Vec<String>), EmbedError> {
    let n = texts.len();
    let mut report = TextCacheReport::default();
    let mut warnings = Vec::new();
    let space = Key::of(&[b"text-vectors", embedder.id().as_bytes()]);
    let distinct = Distinct::of(texts);
    let unique = distinct.unique();
    report.duplicates = n - unique.len();

    let mut g = Gathered::new(n);
    if let Some(c) = cache {
        g.read_segments(c, &space, &distinct);
    }
    let missing: Vec<usize> = unique.iter().copied().filter(|&r| !g.have[r]).collect();
    report.reused = unique.len() - missing.len();
    report.embedded = missing.len();

    // Embed what is missing, chunk by chunk, storing each chunk as it completes.
    let chunk = Chunk {
        embedder,
        cache,
        space: &space,
    };
    let mut done = 0usize;
    progress.report(Stage::Embed, 0, missing.len().max(1) as u64);
    for rows in missing.chunks(embedder.segment_texts().max(1)) {
        if cancel.is_cancelled() {
            return Err(EmbedError::Cancelled);
        }
        let offset = Offset {
            inner: progress,
            done,
            chunk: rows.len(),
            total: missing.len(),
        };
        let w = chunk.embed(texts, rows, &distinct.hashes, &mut g, &offset, cancel)?;
        warnings.extend(w);
        done += rows.len();
        progress.report(Stage::Embed, done as u64, missing.len() as u64);
    }
    if !missing.is_empty()
        && let Some(c) = cache
    {
        compact(c, &space);
    }
    if n > 0 && g.dims == 0 {
        return Err(EmbedError::Params(format!(
            "{} produced no vectors",
            embedder.id()
        )));
    }
    // Rows repeating an earlier text.
    let dims = g.dims;
    let mut data = g.data;
    for (row, &r) in distinct.rep.iter().enumerate() {
        if r != row {
            data.copy_within(r * dims..(r + 1) * dims, row * dims);
        }
    }
    progress.report(Stage::Embed, missing.len() as u64, missing.len() as u64);
    Ok((
        Embeddings {
            dims,
            data,
            warnings: Vec::new(),
        },
        report,
        warnings,
    ))
}

/// Merge a space's segments into one when there are too many (keeps loading fast).
fn compact(c: &Cache, space: &Key) {
    let segs = c.list(kind(space));
    if segs.len() <= MAX_SEGMENTS {
        return;
    }
    let mut seen: FxHashMap<TextHash, ()> = FxHashMap::default();
    let mut hashes = Vec::new();
    let mut data = Vec::new();
    let mut dims = 0;
    for s in &segs {
        let Some((d, h, v)) = c.get_path(s).and_then(|p| decode_segment(&p)) else {
            continue;
        };
        if dims == 0 {
            dims = d;
        } else if d != dims {
            continue;
        }
        for (i, h) in h.into_iter().enumerate() {
            if seen.insert(h, ()).is_none() {
                hashes.push(h);
                data.extend_from_slice(&v[i * dims..(i + 1) * dims]);
            }
        }
    }
    if dims == 0 {
        return;
    }
    let payload = encode_segment(dims, &hashes, &data);
    let key = Key::of(&[b"segment", &payload]);
    if c.put(kind(space), &key, &payload).is_ok() {
        let merged = c.entry_path(kind(space), &key);
        for s in segs {
            if s != merged {
                let _ = std::fs::remove_file(s);
            }
        }
    }
}

/// Progress of one chunk, reported as progress of the whole run.
struct Offset<'a> {
    inner: &'a dyn Progress,
    done: usize,
    chunk: usize,
    total: usize,
}

impl Progress for Offset<'_> {
    fn report(&self, stage: Stage, done: u64, total: u64) {
        let part = if total == 0 {
            0
        } else {
            (done as u128 * self.chunk as u128 / total as u128) as u64
        };
        self.inner
            .report(stage, self.done as u64 + part, self.total as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;
    use std::sync::Mutex;

    /// Embeds a text as [len, first byte] and records what it was asked.
    struct Counting(Mutex<Vec<String>>);

    impl Embedder for Counting {
        fn id(&self) -> String {
            "counting v1".into()
        }
        fn embed(
            &self,
            texts: &[String],
            _: &dyn Progress,
            _: &CancelToken,
        ) -> Result<Embeddings, EmbedError> {
            self.0.lock().unwrap().extend(texts.iter().cloned());
            Ok(Embeddings {
                dims: 2,
                data: texts
                    .iter()
                    .flat_map(|t| [t.len() as f32, *t.as_bytes().first().unwrap_or(&0) as f32])
                    .collect(),
                warnings: Vec::new(),
            })
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reruns_embed_only_new_texts_and_duplicates_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().to_path_buf()).unwrap();
        let e = Counting(Mutex::new(Vec::new()));
        let cancel = CancelToken::default();
        let texts = strings(&["a", "bb", "a", "ccc"]);
        let (out, rep, _) =
            embed_with_store(&e, &texts, Some(&cache), &NoProgress, &cancel).unwrap();
        assert_eq!(out.data, vec![1., 97., 2., 98., 1., 97., 3., 99.]);
        assert_eq!(
            rep,
            TextCacheReport {
                embedded: 3,
                reused: 0,
                duplicates: 1
            }
        );
        assert_eq!(*e.0.lock().unwrap(), strings(&["a", "bb", "ccc"]));

        e.0.lock().unwrap().clear();
        let texts2 = strings(&["ccc", "dddd", "a"]);
        let (out, rep, _) =
            embed_with_store(&e, &texts2, Some(&cache), &NoProgress, &cancel).unwrap();
        assert_eq!(out.data, vec![3., 99., 4., 100., 1., 97.]);
        assert_eq!((rep.embedded, rep.reused), (1, 2));
        assert_eq!(*e.0.lock().unwrap(), strings(&["dddd"]));

        // Nothing new: nothing embedded.
        e.0.lock().unwrap().clear();
        let (_, rep, _) =
            embed_with_store(&e, &texts2, Some(&cache), &NoProgress, &cancel).unwrap();
        assert_eq!((rep.embedded, rep.reused), (0, 3));
        assert!(e.0.lock().unwrap().is_empty());
    }

    #[test]
    fn damaged_segments_are_dropped_and_recomputed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().to_path_buf()).unwrap();
        let e = Counting(Mutex::new(Vec::new()));
        let cancel = CancelToken::default();
        let texts = strings(&["x", "yy"]);
        embed_with_store(&e, &texts, Some(&cache), &NoProgress, &cancel).unwrap();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let p = entry.unwrap().path();
            let b = std::fs::read(&p).unwrap();
            std::fs::write(&p, &b[..b.len() - 5]).unwrap();
        }
        e.0.lock().unwrap().clear();
        let (out, rep, _) =
            embed_with_store(&e, &texts, Some(&cache), &NoProgress, &cancel).unwrap();
        assert_eq!(rep.embedded, 2);
        assert_eq!(out.data, vec![1., 120., 2., 121.]);
    }

    #[test]
    fn segments_count_toward_the_cap_and_evicted_ones_are_embedded_again() {
        let dir = tempfile::tempdir().unwrap();
        let e = Counting(Mutex::new(Vec::new()));
        let cancel = CancelToken::default();
        let texts = strings(&["one", "two", "three"]);
        let cache = Cache::open(dir.path().to_path_buf())
            .unwrap()
            .with_max_bytes(0);
        embed_with_store(&e, &texts, Some(&cache), &NoProgress, &cancel).unwrap();
        let usage = crate::cache::usage(dir.path());
        let textvec = usage.kinds.iter().find(|k| k.kind == "textvec").unwrap();
        assert_eq!(textvec.entries, 1);
        assert!(textvec.bytes > 3 * 16);
        // The run that wrote the segment keeps it, whatever the cap; a later one evicts it.
        assert_eq!(cache.trim().evicted, 0);
        let later = Cache::open(dir.path().to_path_buf())
            .unwrap()
            .with_max_bytes(0);
        assert_eq!(later.trim().bytes_freed, textvec.bytes);
        let (_, rep, _) = embed_with_store(&e, &texts, Some(&later), &NoProgress, &cancel).unwrap();
        assert_eq!((rep.embedded, rep.reused), (3, 0));
    }

    #[test]
    fn many_segments_are_merged() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().to_path_buf()).unwrap();
        let e = Counting(Mutex::new(Vec::new()));
        let cancel = CancelToken::default();
        let space = Key::of(&[b"text-vectors", e.id().as_bytes()]);
        for i in 0..(MAX_SEGMENTS + 2) {
            let texts = vec![format!("text {i}")];
            embed_with_store(&e, &texts, Some(&cache), &NoProgress, &cancel).unwrap();
        }
        assert!(cache.list(kind(&space)).len() <= MAX_SEGMENTS);
        let all: Vec<String> = (0..(MAX_SEGMENTS + 2))
            .map(|i| format!("text {i}"))
            .collect();
        let (_, rep, _) = embed_with_store(&e, &all, Some(&cache), &NoProgress, &cancel).unwrap();
        assert_eq!(rep.embedded, 0);
    }
}
