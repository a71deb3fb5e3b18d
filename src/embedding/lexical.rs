//! The built-in lexical embedder: TF-IDF over words, word pairs and character n-grams,
//! fitted to the data set itself, reduced to ~128 dimensions by a randomised truncated SVD
//! (latent semantic analysis), rows L2-normalised. Deterministic for a seed.

use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};

use super::sparse::{Csr, SvdFit, SvdParams, truncated_svd, truncated_svd_fit};
use super::{EmbedError, Embedder, Embeddings};
use crate::progress::{CancelToken, Progress, Stage};
use crate::util::linalg::l2_normalize_rows;

/// Parameters of the lexical embedder.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LexicalParams {
    /// Output dimensions (fewer when the data has lower rank).
    pub dims: usize,
    /// Most word / word-pair features kept (by document frequency).
    pub max_word_features: usize,
    /// Most character n-gram features kept (by document frequency).
    pub max_char_features: usize,
    /// Texts longer than this many bytes are cut (at a character boundary) for embedding.
    pub max_text_bytes: usize,
    pub power_iters: usize,
    pub seed: u64,
}

impl Default for LexicalParams {
    fn default() -> Self {
        LexicalParams {
            dims: 128,
            max_word_features: 1 << 16,
            max_char_features: 1 << 16,
            max_text_bytes: 100_000,
            power_iters: 2,
            seed: 42,
        }
    }
}

pub struct LexicalEmbedder {
    pub params: LexicalParams,
}

impl LexicalEmbedder {
    pub fn new(params: LexicalParams) -> Self {
        LexicalEmbedder { params }
    }
}

/// Features of the character block have the top bit set; word features do not.
const CHAR_BLOCK: u64 = 1 << 63;
/// Documents per chunk between progress reports and cancellation checks.
const DOCS_PER_CHUNK: usize = 2048;

fn hash_feature(kind: u8, parts: &[&str]) -> u64 {
    let mut h = FxHasher::default();
    h.write_u8(kind);
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0xff);
    }
    let v = h.finish();
    if kind == b'c' {
        v | CHAR_BLOCK
    } else {
        v & !CHAR_BLOCK
    }
}

/// The start of `text` (at most `max_bytes`, cut at a character boundary), lower-cased: the
/// text the tokeniser sees. Shared with the region labels (`analysis::labels`).
pub(crate) fn lowercase_prefix(text: &str, max_bytes: usize) -> String {
    text[..text.floor_char_boundary(max_bytes)].to_lowercase()
}

/// The words of a lower-cased text: maximal runs of alphanumeric characters.
pub(crate) fn words(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The feature hashes of one text (with repeats: counts are term frequencies).
fn features(text: &str, max_bytes: usize, out: &mut Vec<u64>) {
    out.clear();
    let lower = lowercase_prefix(text, max_bytes);
    let words: Vec<&str> = words(&lower).collect();
    let mut padded = String::new();
    for (i, w) in words.iter().enumerate() {
        out.push(hash_feature(b'w', &[w]));
        if i + 1 < words.len() {
            out.push(hash_feature(b'b', &[w, words[i + 1]]));
        }
        padded.clear();
        padded.push(' ');
        padded.push_str(w);
        padded.push(' ');
        let bounds: Vec<usize> = padded
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(padded.len()))
            .collect();
        for n in [3usize, 4] {
            for s in 0..bounds.len().saturating_sub(n) {
                out.push(hash_feature(b'c', &[&padded[bounds[s]..bounds[s + n]]]));
            }
        }
    }
}

impl Embedder for LexicalEmbedder {
    fn id(&self) -> String {
        let p = &self.params;
        format!(
            "lexical-tfidf-svd(dims={},words={},chars={},power={},seed={})",
            p.dims, p.max_word_features, p.max_char_features, p.power_iters, p.seed
        )
    }

    fn embed(
        &self,
        texts: &[String],
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<Embeddings, EmbedError> {
        self.fit(texts, false, progress, cancel)
            .map(|f| f.embeddings)
    }
}

/// The lexical embedding of a set of texts and what it was fitted with.
struct Fitted {
    embeddings: Embeddings,
    vocab: Vocabulary,
    /// V of the SVD (`features × dims`; empty unless asked for).
    basis: Vec<f32>,
}

impl LexicalEmbedder {
    /// The vectors of `reference` (exactly what [`Embedder::embed`] gives) and of `new`
    /// texts in the same space: the vocabulary, IDF weights and SVD basis fitted to
    /// `reference` alone, `new` projected onto them. For placing new samples onto a map of
    /// `reference`.
    pub fn embed_onto(
        &self,
        reference: &[String],
        new: &[String],
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<(Embeddings, Embeddings), EmbedError> {
        let fitted = self.fit(reference, true, progress, cancel)?;
        let p = &self.params;
        let rows = tfidf_rows(new, p.max_text_bytes, &fitted.vocab, cancel, &|_| {});
        if cancel.is_cancelled() {
            return Err(EmbedError::Cancelled);
        }
        let dims = fitted.embeddings.dims;
        let mut warnings = Vec::new();
        let mut data = if fitted.basis.is_empty() {
            vec![0.0; new.len() * dims]
        } else {
            Csr::from_rows(fitted.vocab.idf.len(), rows).mul_dense(&fitted.basis, dims)
        };
        let unseen = data
            .chunks(dims)
            .filter(|r| r.iter().all(|&v| v == 0.0))
            .count();
        if unseen > 0 {
            warnings.push(format!(
                "{unseen} of {} new texts share no word or character n-gram with the reference map's texts: they embed to zero",
                new.len()
            ));
        }
        l2_normalize_rows(&mut data, dims);
        Ok((
            fitted.embeddings,
            Embeddings {
                dims,
                data,
                warnings,
            },
        ))
    }

    fn fit(
        &self,
        texts: &[String],
        want_basis: bool,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<Fitted, EmbedError> {
        let p = &self.params;
        if p.dims == 0 {
            return Err(EmbedError::Params("dims must be at least 1".into()));
        }
        let n = texts.len();
        let mut warnings = Vec::new();
        let long = texts.iter().filter(|t| t.len() > p.max_text_bytes).count();
        if long > 0 {
            warnings.push(format!(
                "{long} texts are longer than {} bytes; only their start is embedded",
                p.max_text_bytes
            ));
        }
        let svd_steps = 2 + 2 * p.power_iters as u64;
        let total = 2 * n as u64 + svd_steps;
        let done = AtomicU64::new(0);
        // Progress in texts (the work done so far, as a share of the texts), so that the
        // bar's rate reads as texts per second like every other embedder's.
        let texts_n = (n as u64).max(1);
        let tick = |k: u64| {
            let d = done.fetch_add(k, Ordering::Relaxed) + k;
            progress.report(Stage::Embed, d.min(total) * texts_n / total, texts_n);
        };
        progress.report(Stage::Embed, 0, texts_n);

        let df = document_frequencies(texts, p.max_text_bytes, cancel, &tick);
        if cancel.is_cancelled() {
            return Err(EmbedError::Cancelled);
        }
        let vocab = Vocabulary::new(df, n, p);
        let rows = tfidf_rows(texts, p.max_text_bytes, &vocab, cancel, &tick);
        if cancel.is_cancelled() {
            return Err(EmbedError::Cancelled);
        }
        let x = Csr::from_rows(vocab.idf.len(), rows);

        let svd = SvdParams {
            components: p.dims,
            oversample: 16,
            power_iters: p.power_iters,
            seed: p.seed,
        };
        let SvdFit {
            rows: mut data,
            dims,
            basis,
        } = if want_basis {
            truncated_svd_fit(&x, &svd, cancel, &mut || tick(1))
        } else {
            truncated_svd(&x, &svd, cancel, &mut || tick(1)).map(|(rows, dims)| SvdFit {
                rows,
                dims,
                basis: Vec::new(),
            })
        }
        .ok_or(EmbedError::Cancelled)?;
        if dims == 0 || data.is_empty() {
            warnings.push("no text features were found; every text embeds to zero".into());
            return Ok(Fitted {
                embeddings: Embeddings {
                    dims: 1,
                    data: vec![0.0; n],
                    warnings,
                },
                vocab,
                basis: Vec::new(),
            });
        }
        l2_normalize_rows(&mut data, dims);
        progress.report(Stage::Embed, texts_n, texts_n);
        Ok(Fitted {
            embeddings: Embeddings {
                dims,
                data,
                warnings,
            },
            vocab,
            basis,
        })
    }
}

/// Pass 1: in how many texts each feature (word, word pair, character n-gram hash) occurs.
fn document_frequencies(
    texts: &[String],
    max_text_bytes: usize,
    cancel: &CancelToken,
    tick: &(dyn Fn(u64) + Sync),
) -> FxHashMap<u64, u32> {
    texts
        .par_chunks(DOCS_PER_CHUNK)
        .map(|chunk| {
            let mut local: FxHashMap<u64, u32> = FxHashMap::default();
            if cancel.is_cancelled() {
                return local;
            }
            let mut buf = Vec::new();
            for t in chunk {
                features(t, max_text_bytes, &mut buf);
                buf.sort_unstable();
                buf.dedup();
                for &f in &buf {
                    *local.entry(f).or_insert(0) += 1;
                }
            }
            tick(chunk.len() as u64);
            local
        })
        .reduce(FxHashMap::default, |mut a, b| {
            let (big, small) = if a.len() >= b.len() {
                (&mut a, b)
            } else {
                let mut b = b;
                std::mem::swap(&mut a, &mut b);
                (&mut a, b)
            };
            for (k, v) in small {
                *big.entry(k).or_insert(0) += v;
            }
            a
        })
}

/// The features kept as columns, their IDF weights, and where the character block starts.
struct Vocabulary {
    index: FxHashMap<u64, u32>,
    idf: Vec<f32>,
    n_word: u32,
}

impl Vocabulary {
    /// Features seen in at least `min_df` documents, most frequent first, capped per block.
    fn new(df: FxHashMap<u64, u32>, n: usize, p: &LexicalParams) -> Vocabulary {
        let min_df = if n >= 10 { 2 } else { 1 };
        let mut words: Vec<(u64, u32)> = Vec::new();
        let mut chars: Vec<(u64, u32)> = Vec::new();
        for (f, d) in df {
            if d >= min_df {
                if f & CHAR_BLOCK != 0 {
                    chars.push((f, d));
                } else {
                    words.push((f, d));
                }
            }
        }
        let by_df = |a: &(u64, u32), b: &(u64, u32)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        words.sort_unstable_by(by_df);
        chars.sort_unstable_by(by_df);
        words.truncate(p.max_word_features);
        chars.truncate(p.max_char_features);
        let n_features = words.len() + chars.len();
        let mut index: FxHashMap<u64, u32> = FxHashMap::default();
        index.reserve(n_features);
        let mut idf = Vec::with_capacity(n_features);
        for (i, &(f, d)) in words.iter().chain(chars.iter()).enumerate() {
            index.insert(f, i as u32);
            idf.push(((1.0 + n as f64) / (1.0 + d as f64)).ln() as f32 + 1.0);
        }
        let n_word = words.len() as u32;
        Vocabulary { index, idf, n_word }
    }
}

/// Pass 2: TF-IDF rows, each block (words, characters) scaled to half the energy.
fn tfidf_rows(
    texts: &[String],
    max_text_bytes: usize,
    vocab: &Vocabulary,
    cancel: &CancelToken,
    tick: &(dyn Fn(u64) + Sync),
) -> Vec<(Vec<u32>, Vec<f32>)> {
    texts
        .par_chunks(DOCS_PER_CHUNK)
        .flat_map_iter(|chunk| {
            let mut buf = Vec::new();
            let rows: Vec<(Vec<u32>, Vec<f32>)> = if cancel.is_cancelled() {
                Vec::new()
            } else {
                chunk
                    .iter()
                    .map(|t| {
                        features(t, max_text_bytes, &mut buf);
                        tfidf_row(&buf, &vocab.index, &vocab.idf, vocab.n_word)
                    })
                    .collect()
            };
            tick(chunk.len() as u64);
            rows
        })
        .collect()
}

fn tfidf_row(
    feats: &[u64],
    index: &FxHashMap<u64, u32>,
    idf: &[f32],
    n_word: u32,
) -> (Vec<u32>, Vec<f32>) {
    let mut ids: Vec<u32> = feats.iter().filter_map(|f| index.get(f).copied()).collect();
    ids.sort_unstable();
    let mut idx = Vec::new();
    let mut val = Vec::new();
    let mut k = 0;
    while k < ids.len() {
        let id = ids[k];
        let mut tf = 0;
        while k < ids.len() && ids[k] == id {
            tf += 1;
            k += 1;
        }
        idx.push(id);
        val.push((1.0 + (tf as f32).ln()) * idf[id as usize]);
    }
    // Scale each block to norm sqrt(1/2) (or 1 when the other block is empty).
    let split = idx.partition_point(|&i| i < n_word);
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let (nw, nc) = (norm(&val[..split]), norm(&val[split..]));
    let share = if nw > 0.0 && nc > 0.0 {
        std::f32::consts::FRAC_1_SQRT_2
    } else {
        1.0
    };
    for (i, v) in val.iter_mut().enumerate() {
        let block_norm = if i < split { nw } else { nc };
        if block_norm > 0.0 {
            *v *= share / block_norm;
        }
    }
    (idx, val)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_texts_embed_in_the_reference_space() {
        let topics = [
            "the cat sat on the warm mat",
            "stock prices fell sharply today",
            "rain and wind over the hills",
        ];
        let reference: Vec<String> = (0..60)
            .map(|i| format!("{} number {}", topics[i % 3], i))
            .collect();
        let e = LexicalEmbedder::new(LexicalParams {
            dims: 8,
            ..Default::default()
        });
        let plain = e
            .embed(&reference, &NoProgress, &CancelToken::new())
            .unwrap();
        let new: Vec<String> = vec![
            reference[4].clone(),
            "the cat sat on a mat".into(),
            "qqqq zzzz".into(),
        ];
        let (r, n) = e
            .embed_onto(&reference, &new, &NoProgress, &CancelToken::new())
            .unwrap();
        assert_eq!(
            r.data, plain.data,
            "the reference's vectors are the plain embedding"
        );
        let d = r.dims;
        let row = |v: &[f32], i: usize| v[i * d..(i + 1) * d].to_vec();
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        // A reference text embedded as new lands on itself.
        assert!(cos(&row(&n.data, 0), &row(&r.data, 4)) > 0.99);
        // A cat sentence is nearer the cat texts than the others.
        let cat = row(&n.data, 1);
        assert!(cos(&cat, &row(&r.data, 0)) > cos(&cat, &row(&r.data, 1)) + 0.3);
        // A text of unseen words embeds to zero, with a warning.
        assert!(row(&n.data, 2).iter().all(|&v| v == 0.0));
        assert!(
            n.warnings.iter().any(|w| w.contains("1 of 3 new texts")),
            "{:?}",
            n.warnings
        );
    }
    use crate::progress::NoProgress;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn corpus() -> Vec<String> {
        let mut t = Vec::new();
        for i in 0..30 {
            t.push(format!(
                "The cat sat on the mat number {i} and purred softly."
            ));
            t.push(format!(
                "Stock markets fell sharply as investors sold shares, day {i}."
            ));
            t.push(format!(
                "I cannot help with that request, sorry. Reference {i}."
            ));
        }
        t
    }

    #[test]
    fn similar_texts_are_closer_than_unrelated_ones() {
        let texts = corpus();
        let e = LexicalEmbedder::new(LexicalParams {
            dims: 16,
            ..Default::default()
        })
        .embed(&texts, &NoProgress, &CancelToken::new())
        .unwrap();
        assert_eq!(e.len(), texts.len());
        for i in (0..30).step_by(3) {
            let cat_a = e.row(3 * i);
            let cat_b = e.row(3 * ((i + 1) % 30));
            let market = e.row(3 * i + 1);
            let refusal = e.row(3 * i + 2);
            assert!(cos(cat_a, cat_b) > cos(cat_a, market) + 0.3);
            assert!(cos(cat_a, cat_b) > cos(cat_a, refusal) + 0.3);
        }
        for i in 0..e.len() {
            let n = cos(e.row(i), e.row(i)).sqrt();
            assert!((n - 1.0).abs() < 1e-4, "row {i} has norm {n}");
        }
    }

    #[test]
    fn same_seed_same_vectors_whatever_the_threads() {
        let texts = corpus();
        let embed = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    LexicalEmbedder::new(LexicalParams::default())
                        .embed(&texts, &NoProgress, &CancelToken::new())
                        .unwrap()
                        .data
                })
        };
        assert_eq!(embed(1), embed(3));
    }

    #[test]
    fn empty_and_identical_texts_do_not_fail() {
        let texts = vec![String::new(); 5];
        let e = LexicalEmbedder::new(LexicalParams::default())
            .embed(&texts, &NoProgress, &CancelToken::new())
            .unwrap();
        assert_eq!(e.len(), 5);
        assert!(e.data.iter().all(|v| v.is_finite()));
        let texts = vec!["same words".to_string(); 4];
        let e = LexicalEmbedder::new(LexicalParams::default())
            .embed(&texts, &NoProgress, &CancelToken::new())
            .unwrap();
        assert_eq!(e.len(), 4);
        assert!(e.data.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn cancelled_embedding_stops() {
        let cancel = CancelToken::new();
        cancel.cancel();
        let r =
            LexicalEmbedder::new(LexicalParams::default()).embed(&corpus(), &NoProgress, &cancel);
        assert!(matches!(r, Err(EmbedError::Cancelled)));
    }
}
