//! Static model2vec models (e.g. potion-base-8M) from a local folder: tokenise, look up each
//! token's vector, mean-pool, normalise. Runs through the `model2vec-rs` crate with its hub
//! features off, so nothing is ever downloaded.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{EmbedError, Embedder, Embeddings};
use crate::progress::{CancelToken, Progress, Stage};

/// Texts per progress step (and cancellation check).
const CHUNK: usize = 8192;
/// Tokens per text; longer texts are truncated (model2vec's own default).
pub const MAX_TOKENS: usize = 512;

pub struct Model2VecEmbedder {
    dir: PathBuf,
    model: model2vec_rs::model::StaticModel,
    /// BLAKE3 over the model's files: a different model in the same folder gets a new id.
    fingerprint: String,
}

impl std::fmt::Debug for Model2VecEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model2VecEmbedder")
            .field("dir", &self.dir)
            .field("dims", &self.model.dim())
            .finish()
    }
}

impl Model2VecEmbedder {
    /// Load the model in `dir` (model.safetensors + tokenizer.json + config.json, or the
    /// sentence-transformers layout of the same files).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let err = |problem: String| EmbedError::Model {
            path: dir.to_path_buf(),
            problem,
        };
        if !dir.is_dir() {
            return Err(err(
                "no such folder (expected a model2vec model folder with \
                 model.safetensors, tokenizer.json and config.json)"
                    .into(),
            ));
        }
        let has = |name: &str| {
            dir.join(name).is_file() || dir.join("0_StaticEmbedding").join(name).is_file()
        };
        let missing: Vec<&str> = ["model.safetensors", "tokenizer.json"]
            .into_iter()
            .filter(|f| !has(f))
            .collect();
        if !missing.is_empty() {
            return Err(err(format!("missing {}", missing.join(" and "))));
        }
        let fingerprint = fingerprint(dir).map_err(|e| err(format!("cannot read: {e}")))?;
        let model = model2vec_rs::model::StaticModel::from_pretrained(dir, None, None, None)
            .map_err(|e| err(format!("{e:#}")))?;
        if model.dim() == 0 {
            return Err(err("the model has zero-dimensional vectors".into()));
        }
        Ok(Model2VecEmbedder {
            dir: dir.to_path_buf(),
            model,
            fingerprint,
        })
    }

    pub fn dims(&self) -> usize {
        self.model.dim()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// BLAKE3 of every model file in the folder (and its `0_StaticEmbedding`), in name order.
fn fingerprint(dir: &Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    for d in [dir.to_path_buf(), dir.join("0_StaticEmbedding")] {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e?.path();
            let keep = p.is_file()
                && matches!(
                    p.extension().and_then(|x| x.to_str()),
                    Some("safetensors" | "json")
                );
            if keep {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut h = blake3::Hasher::new();
    for f in &files {
        h.update(f.file_name().unwrap_or_default().as_encoded_bytes());
        h.update_reader(std::fs::File::open(f)?)?;
    }
    Ok(h.finalize().to_hex()[..16].to_string())
}

impl Embedder for Model2VecEmbedder {
    fn id(&self) -> String {
        let name = super::folder_name(&self.dir);
        format!(
            "model2vec {name} ({} dims, model {})",
            self.model.dim(),
            self.fingerprint
        )
    }

    fn embed(
        &self,
        texts: &[String],
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<Embeddings, EmbedError> {
        let dims = self.model.dim();
        let mut data = vec![0.0f32; texts.len() * dims];
        progress.report(Stage::Embed, 0, texts.len() as u64);
        let mut truncated = 0usize;
        for (c, (batch, out)) in texts
            .chunks(CHUNK)
            .zip(data.chunks_mut(CHUNK * dims))
            .enumerate()
        {
            if cancel.is_cancelled() {
                return Err(EmbedError::Cancelled);
            }
            // The crate parallelises over the texts with rayon; it panics (rather than
            // returning an error) if its tokenizer fails, so keep such a panic from taking
            // the app down and report it instead.
            let encoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.model.encode_flat_with_args(batch, Some(MAX_TOKENS))
            }))
            .map_err(|_| EmbedError::Model {
                path: self.dir.clone(),
                problem: format!(
                    "the tokenizer failed on one of texts {}..{}",
                    c * CHUNK,
                    c * CHUNK + batch.len()
                ),
            })?;
            out.copy_from_slice(&encoded);
            // A rough count of texts past the token limit (4+ bytes per token on average).
            truncated += batch
                .par_iter()
                .filter(|t| t.len() > MAX_TOKENS * 8)
                .count();
            let done = (c * CHUNK + batch.len()) as u64;
            progress.report(Stage::Embed, done, texts.len() as u64);
        }
        let mut warnings = Vec::new();
        if truncated > 0 {
            warnings.push(format!(
                "{truncated} texts are longer than about {MAX_TOKENS} tokens: model2vec embedded their first {MAX_TOKENS} tokens"
            ));
        }
        Ok(Embeddings {
            dims,
            data,
            warnings,
        })
    }
}
