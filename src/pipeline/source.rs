//! Where a run's vectors come from: the built-in lexical embedder, a model2vec folder, an
//! endpoint, a `.npy` file or a list column; the embedder is built (and a bad model folder or
//! URL rejected) before any work starts.

use std::path::PathBuf;

use super::{MapParams, PipelineError};
use crate::cache::Cache;
use crate::dataset::{Format, Samples};
use crate::embedding::store::{TextCacheReport, embed_with_store};
use crate::embedding::vectors::{VectorError, column_vectors, read_npy};
use crate::embedding::{
    Embedder, Embeddings, EndpointEmbedder, EndpointParams, Model2VecEmbedder, TransformerEmbedder,
};
use crate::progress::{CancelToken, Progress};

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
    /// A sentence-transformers encoder (BERT family) in a local folder.
    Transformer(PathBuf),
    /// An OpenAI-compatible embeddings endpoint.
    Endpoint(EndpointParams),
}

impl VectorSource {
    /// Whether the vectors are computed from the texts (rather than read from the data).
    pub fn embeds_texts(&self) -> bool {
        matches!(
            self,
            VectorSource::Lexical
                | VectorSource::Model2Vec(_)
                | VectorSource::Transformer(_)
                | VectorSource::Endpoint(_)
        )
    }

    /// Parse the `--embedder` forms: `lexical`, `model2vec:DIR`, `transformer:DIR`,
    /// `openai:URL`, `column:COL`, `npy:FILE`. Endpoint options other than the URL keep their defaults.
    pub fn parse(spec: &str) -> Result<VectorSource, String> {
        let spec = spec.trim();
        if spec == "lexical" {
            return Ok(VectorSource::Lexical);
        }
        let (kind, arg) = spec.split_once(':').ok_or_else(|| {
            format!(
                "unknown embedder '{spec}': use lexical, model2vec:DIR, transformer:DIR, openai:URL, column:COL or npy:FILE"
            )
        })?;
        if arg.trim().is_empty() {
            return Err(format!("'{kind}:' needs a value after the colon"));
        }
        match kind {
            "model2vec" => Ok(VectorSource::Model2Vec(PathBuf::from(arg))),
            "transformer" => Ok(VectorSource::Transformer(PathBuf::from(arg))),
            "openai" => Ok(VectorSource::Endpoint(EndpointParams {
                url: arg.to_string(),
                ..Default::default()
            })),
            "column" => Ok(VectorSource::Column(arg.to_string())),
            "npy" => Ok(VectorSource::Npy(PathBuf::from(arg))),
            _ => Err(format!(
                "unknown embedder '{kind}': use lexical, model2vec:DIR, transformer:DIR, openai:URL, column:COL or npy:FILE"
            )),
        }
    }
}

/// The vector source of a run, with its embedder built (a bad model folder or URL fails
/// here, before any work).
pub(super) struct Source {
    pub source: VectorSource,
    pub text_embedder: Option<Box<dyn Embedder>>,
    pub id: String,
}

pub(super) fn resolve_source(
    samples: &Samples,
    params: &MapParams,
) -> Result<Source, PipelineError> {
    let source = if samples.format == Format::Npy {
        VectorSource::Npy(samples.path.clone())
    } else {
        params.vectors.clone()
    };
    let text_embedder: Option<Box<dyn Embedder>> = match &source {
        VectorSource::Model2Vec(dir) => Some(Box::new(Model2VecEmbedder::load(dir)?)),
        VectorSource::Transformer(dir) => Some(Box::new(TransformerEmbedder::load(dir)?)),
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
impl Source {
    pub(super) fn embed(
        &self,
        samples: &Samples,
        params: &MapParams,
        text_store: Option<&Cache>,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<(Embeddings, Option<TextCacheReport>, Vec<String>), PipelineError> {
        Ok(match (&self.source, self.text_embedder.as_deref()) {
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
