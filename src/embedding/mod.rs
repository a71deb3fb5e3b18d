//! Embedders turn texts into vectors. One trait, several backends; the built-in one is a
//! lexical embedder fitted to the data set itself (TF-IDF over words, word pairs and
//! character n-grams, reduced with a randomised truncated SVD), which needs no download.

mod lexical;
pub mod model2vec;
pub mod openai;
pub mod sparse;
pub mod store;
pub mod transformer;
pub mod vectors;

pub use lexical::{LexicalEmbedder, LexicalParams};
// The tokenisation, shared with the region labels (`analysis::labels`).
pub(crate) use lexical::{lowercase_prefix, words};
pub use model2vec::Model2VecEmbedder;
pub use openai::{EndpointEmbedder, EndpointParams};
pub use transformer::TransformerEmbedder;

use crate::progress::{CancelToken, Progress};

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("embedding cancelled")]
    Cancelled,
    #[error("invalid embedder parameters: {0}")]
    Params(String),
    #[error("model2vec model {path}: {problem}")]
    Model {
        path: std::path::PathBuf,
        problem: String,
    },
    /// A transformer model folder that cannot be used: the file at fault and why.
    #[error("transformer model {}: {problem}", path.display())]
    Transformer {
        path: std::path::PathBuf,
        problem: String,
    },
    #[error("embeddings endpoint {url}: {problem}")]
    Endpoint { url: String, problem: String },
}

/// A model folder's name for embedder ids ("all-MiniLM-L6-v2"), or its whole path.
fn folder_name(dir: &std::path::Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// Row-major `n × dims` vectors, one row per text.
#[derive(Clone, Debug)]
pub struct Embeddings {
    pub dims: usize,
    pub data: Vec<f32>,
    /// Problems that did not stop the embedding (truncated texts, ...).
    pub warnings: Vec<String>,
}

impl Embeddings {
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dims).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dims..(i + 1) * self.dims]
    }
}

/// Something that turns texts into vectors.
pub trait Embedder: Send + Sync {
    /// A stable identifier of the embedder and its parameters (for reports and caches).
    fn id(&self) -> String;

    fn embed(
        &self,
        texts: &[String],
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<Embeddings, EmbedError>;

    /// Texts embedded (and stored in the per-text cache) at a time: slow embedders use
    /// smaller pieces so that an interrupted run keeps more of its work.
    fn segment_texts(&self) -> usize {
        store::SEGMENT_TEXTS
    }
}
