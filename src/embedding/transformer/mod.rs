//! Sentence-transformers encoders (BERT family: MiniLM, BGE, E5, GTE, …) from a local
//! folder, run natively on the CPU: the folder's tokenizer (with its built-in truncation and
//! fixed padding replaced by the model's max_seq_length and per-batch packing), the encoder
//! (`bert.rs`), then the folder's pooling and normalisation (`config.rs`).
//!
//! Texts are sorted by token count and packed into batches of similar length; batches run
//! in parallel, one per core, and the vectors go back in input order.

mod bert;
pub mod config;
mod gemm;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use tokenizers::Tokenizer;

use super::{EmbedError, Embedder, Embeddings};
use crate::progress::{CancelToken, Progress, Stage};
use crate::util::linalg::l2_normalize_rows;
use bert::Bert;
use config::{FolderError, ModelDescription, Pooling};

pub use bert::Precision;
pub use config::describe;

/// Most tokens in one packed batch (the feed-forward buffer is tokens × intermediate floats).
const MAX_BATCH_TOKENS: usize = 4096;
/// Fewest tokens in a batch while there is work for more batches than cores.
const MIN_BATCH_TOKENS: usize = 256;
/// Texts embedded to estimate the time a whole set would take.
const ESTIMATE_SAMPLE: usize = 64;

pub struct TransformerEmbedder {
    dir: PathBuf,
    desc: ModelDescription,
    tokenizer: Tokenizer,
    bert: Bert,
    fingerprint: String,
}

impl std::fmt::Debug for TransformerEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransformerEmbedder")
            .field("dir", &self.dir)
            .field("dims", &self.dims())
            .finish()
    }
}

fn model_error(e: FolderError) -> EmbedError {
    EmbedError::Transformer {
        path: e.file,
        problem: e.problem,
    }
}

/// The folder's tokenizer with its own truncation and padding replaced: truncation at the
/// model's `max_seq_length`, no padding (batches are packed).
fn load_tokenizer(desc: &ModelDescription) -> Result<Tokenizer, FolderError> {
    let file = desc.transformer_dir.join("tokenizer.json");
    let err = |p: String| FolderError::new(&file, p);
    let mut tok = Tokenizer::from_file(&file).map_err(|e| err(format!("cannot load: {e}")))?;
    tok.with_padding(None);
    tok.with_truncation(Some(tokenizers::TruncationParams {
        max_length: desc.max_seq_length,
        ..Default::default()
    }))
    .map_err(|e| err(format!("cannot set truncation: {e}")))?;
    let vocab = tok.get_vocab_size(true);
    if vocab > desc.encoder.vocab_size {
        return Err(err(format!(
            "the tokenizer has {vocab} tokens but config.json's vocab_size is {}",
            desc.encoder.vocab_size
        )));
    }
    Ok(tok)
}

/// BLAKE3 of the files that define the model, in a fixed order (first 16 hex digits).
fn fingerprint(dir: &Path, desc: &ModelDescription) -> std::io::Result<String> {
    let t = &desc.transformer_dir;
    let files = [
        t.join("model.safetensors"),
        t.join("tokenizer.json"),
        t.join("config.json"),
        t.join("sentence_bert_config.json"),
        dir.join("modules.json"),
        dir.join("1_Pooling").join("config.json"),
        dir.join("config_sentence_transformers.json"),
    ];
    let mut h = blake3::Hasher::new();
    for f in files.iter().filter(|f| f.is_file()) {
        h.update(
            f.strip_prefix(dir)
                .unwrap_or(f)
                .as_os_str()
                .as_encoded_bytes(),
        );
        h.update_reader(std::fs::File::open(f)?)?;
    }
    Ok(h.finalize().to_hex()[..16].to_string())
}

impl TransformerEmbedder {
    /// Load the model in `dir`, checking every file (configuration, tokenizer, every
    /// tensor's shape) before any text is embedded.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let desc = describe(dir).map_err(model_error)?;
        let tokenizer = load_tokenizer(&desc).map_err(model_error)?;
        let bert = Bert::load(
            &desc.transformer_dir.join("model.safetensors"),
            &desc.encoder,
        )
        .map_err(model_error)?;
        let fingerprint = fingerprint(dir, &desc).map_err(|e| EmbedError::Transformer {
            path: dir.to_path_buf(),
            problem: format!("cannot read: {e}"),
        })?;
        Ok(TransformerEmbedder {
            dir: dir.to_path_buf(),
            desc,
            tokenizer,
            bert,
            fingerprint,
        })
    }

    pub fn dims(&self) -> usize {
        self.bert.config().hidden * self.desc.pooling.parts()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Simulate reduced-precision weights (see [`Precision`]); for measurements only: the
    /// arithmetic stays f32, so this is no faster. The id does not change, so never cache
    /// with a model rounded this way.
    #[doc(hidden)]
    pub fn round_weights(&mut self, precision: Precision) {
        self.bert.round_weights(precision);
    }

    pub fn description(&self) -> &ModelDescription {
        &self.desc
    }

    /// The token ids of `text` as the model sees it (prompt in front, surrounding
    /// whitespace stripped, truncated), and whether it was truncated.
    pub fn token_ids(&self, text: &str) -> Result<(Vec<u32>, bool), String> {
        let full;
        let text = if self.desc.prompt.is_empty() {
            text.trim()
        } else {
            full = format!("{}{text}", self.desc.prompt);
            full.trim()
        };
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| e.to_string())?;
        Ok((enc.get_ids().to_vec(), !enc.get_overflowing().is_empty()))
    }

    /// Roughly how long embedding `texts` would take on this machine: a sample of them is
    /// embedded and timed, and the time scaled by the texts' total length.
    pub fn estimate_seconds(&self, texts: &[String]) -> f64 {
        if texts.is_empty() {
            return 0.0;
        }
        let step = texts.len().div_ceil(ESTIMATE_SAMPLE);
        let sample: Vec<String> = texts.iter().step_by(step).cloned().collect();
        let chars = |t: &[String]| t.iter().map(|s| s.len() + 8).sum::<usize>() as f64;
        let start = Instant::now();
        let ok = self
            .embed(&sample, &crate::progress::NoProgress, &CancelToken::new())
            .is_ok();
        let took = start.elapsed().as_secs_f64();
        if !ok {
            return f64::NAN;
        }
        took * chars(texts) / chars(&sample)
    }
}

/// Batches of positions into `order` (texts sorted by token count): consecutive runs of at
/// most `budget` tokens (a longer text is a batch of its own).
fn batches(order: &[usize], lens: &[usize], budget: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut tokens) = (0, 0);
    for (i, &t) in order.iter().enumerate() {
        let len = lens[t];
        if i > start && tokens + len > budget {
            out.push(start..i);
            start = i;
            tokens = 0;
        }
        tokens += len;
    }
    if start < order.len() {
        out.push(start..order.len());
    }
    out
}

/// Tokens per batch: enough batches to keep every core busy, none too small for GEMM.
fn batch_budget(total_tokens: usize) -> usize {
    let per_core = total_tokens / (4 * rayon::current_num_threads()).max(1);
    per_core.clamp(MIN_BATCH_TOKENS, MAX_BATCH_TOKENS)
}

/// One vector per sequence from the packed hidden states, as the Pooling module would.
fn pool(hidden: &[f32], lens: &[usize], h: usize, pooling: &Pooling, normalize: bool) -> Vec<f32> {
    let dims = h * pooling.parts();
    let mut out = vec![0.0f32; lens.len() * dims];
    let mut start = 0;
    for (&len, v) in lens.iter().zip(out.chunks_exact_mut(dims)) {
        let rows = &hidden[start * h..(start + len) * h];
        start += len;
        if len == 0 {
            continue;
        }
        let mut parts = v.chunks_exact_mut(h);
        let mut sum = vec![0.0f32; h];
        for r in rows.chunks_exact(h) {
            sum.iter_mut().zip(r).for_each(|(s, &x)| *s += x);
        }
        if pooling.cls {
            parts.next().expect("part").copy_from_slice(&rows[..h]);
        }
        if pooling.max {
            let p = parts.next().expect("part");
            p.fill(f32::NEG_INFINITY);
            for r in rows.chunks_exact(h) {
                p.iter_mut().zip(r).for_each(|(m, &x)| *m = m.max(x));
            }
        }
        if pooling.mean {
            let p = parts.next().expect("part");
            p.iter_mut()
                .zip(&sum)
                .for_each(|(m, &s)| *m = s / len as f32);
        }
        if pooling.mean_sqrt_len {
            let p = parts.next().expect("part");
            let d = (len as f32).sqrt();
            p.iter_mut().zip(&sum).for_each(|(m, &s)| *m = s / d);
        }
        if pooling.last_token {
            parts
                .next()
                .expect("part")
                .copy_from_slice(&rows[(len - 1) * h..]);
        }
    }
    if normalize {
        l2_normalize_rows(&mut out, dims);
    }
    out
}

impl Embedder for TransformerEmbedder {
    fn id(&self) -> String {
        let name = super::folder_name(&self.dir);
        format!(
            "transformer {name} ({} dims, {} pooling{}, {} tokens, model {})",
            self.dims(),
            self.desc.pooling.name(),
            if self.desc.normalize {
                ", normalised"
            } else {
                ""
            },
            self.desc.max_seq_length,
            self.fingerprint
        )
    }

    /// Transformer embedding is slow: store each few thousand texts as they are done, so an
    /// interrupted run keeps most of its work.
    fn segment_texts(&self) -> usize {
        4096
    }

    fn embed(
        &self,
        texts: &[String],
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<Embeddings, EmbedError> {
        let n = texts.len();
        let tokenized: Vec<(Vec<u32>, bool)> = texts
            .par_iter()
            .enumerate()
            .map(|(i, t)| {
                self.token_ids(t)
                    .map_err(|problem| EmbedError::Transformer {
                        path: self.desc.transformer_dir.join("tokenizer.json"),
                        problem: format!("the tokenizer failed on text {}: {problem}", i + 1),
                    })
            })
            .collect::<Result<_, _>>()?;
        let lens: Vec<usize> = tokenized.iter().map(|(ids, _)| ids.len()).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| lens[i]);
        let ranges = batches(&order, &lens, batch_budget(lens.iter().sum()));

        let dims = self.dims();
        let h = self.bert.config().hidden;
        let done = AtomicUsize::new(0);
        progress.report(Stage::Embed, 0, n as u64);
        let pooled: Vec<Vec<f32>> = ranges
            .par_iter()
            .map(|r| {
                if cancel.is_cancelled() {
                    return Err(EmbedError::Cancelled);
                }
                let members = &order[r.clone()];
                let seqs: Vec<&[u32]> = members.iter().map(|&i| &tokenized[i].0[..]).collect();
                let batch_lens: Vec<usize> = members.iter().map(|&i| lens[i]).collect();
                let hidden = self.bert.forward(&seqs);
                let v = pool(
                    &hidden,
                    &batch_lens,
                    h,
                    &self.desc.pooling,
                    self.desc.normalize,
                );
                let d = done.fetch_add(members.len(), Ordering::Relaxed) + members.len();
                progress.report(Stage::Embed, d as u64, n as u64);
                Ok(v)
            })
            .collect::<Result<_, _>>()?;

        let mut data = vec![0.0f32; n * dims];
        for (r, v) in ranges.iter().zip(&pooled) {
            for (&i, row) in order[r.clone()].iter().zip(v.chunks_exact(dims)) {
                data[i * dims..(i + 1) * dims].copy_from_slice(row);
            }
        }
        let truncated = tokenized.iter().filter(|(_, t)| *t).count();
        let mut warnings = Vec::new();
        if truncated > 0 {
            warnings.push(format!(
                "{truncated} texts are longer than {} tokens: the transformer embedded their first {} tokens",
                self.desc.max_seq_length, self.desc.max_seq_length
            ));
        }
        Ok(Embeddings {
            dims,
            data,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_token_budget_and_cover_every_text() {
        let lens = vec![5, 1, 9, 3, 3, 20, 2];
        let mut order: Vec<usize> = (0..lens.len()).collect();
        order.sort_by_key(|&i| lens[i]);
        let b = batches(&order, &lens, 8);
        let covered: Vec<usize> = b.iter().flat_map(|r| r.clone()).collect();
        assert_eq!(covered, (0..lens.len()).collect::<Vec<_>>());
        for r in &b {
            let tokens: usize = order[r.clone()].iter().map(|&i| lens[i]).sum();
            assert!(tokens <= 8 || r.len() == 1, "{r:?} holds {tokens} tokens");
        }
    }

    #[test]
    fn pooling_modes_concatenate_in_sentence_transformers_order() {
        // Two sequences of 2-d token vectors: [[1,2],[3,6]] and [[5,-1]].
        let hidden = [1.0, 2.0, 3.0, 6.0, 5.0, -1.0];
        let all = Pooling {
            cls: true,
            max: true,
            mean: true,
            mean_sqrt_len: true,
            last_token: true,
        };
        let v = pool(&hidden, &[2, 1], 2, &all, false);
        let s = 2f32.sqrt();
        let first = [1.0, 2.0, 3.0, 6.0, 2.0, 4.0, 4.0 / s, 8.0 / s, 3.0, 6.0];
        assert_eq!(&v[..10], &first);
        assert_eq!(
            &v[10..],
            &[5.0, -1.0, 5.0, -1.0, 5.0, -1.0, 5.0, -1.0, 5.0, -1.0]
        );
        let mean = Pooling {
            mean: true,
            ..Pooling::default()
        };
        let v = pool(&hidden, &[2, 1], 2, &mean, true);
        let n = (4.0f32 + 16.0).sqrt();
        assert_eq!(&v[..2], &[2.0 / n, 4.0 / n]);
    }
}
