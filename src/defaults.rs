//! Defaults taken from the environment, shared by the CLI and the app: the embedder used when
//! none is named, and the model2vec model folder.

use std::path::PathBuf;

use crate::pipeline::VectorSource;

/// Environment variable naming the default embedder (same forms as `--embedder`).
pub const EMBEDDER_ENV: &str = "SAMPLE_ATLAS_EMBEDDER";
/// Environment variable naming the transformer model folder offered as the better embedder.
pub const TRANSFORMER_DIR_ENV: &str = "SAMPLE_ATLAS_TRANSFORMER_DIR";
/// Environment variable naming the default model2vec model folder.
pub const MODEL2VEC_DIR_ENV: &str = "SAMPLE_ATLAS_MODEL2VEC_DIR";

/// The model2vec model used by default: `$SAMPLE_ATLAS_MODEL2VEC_DIR` when set (an invalid
/// folder then fails loudly rather than falling back), else `models/potion-base-8M` in the
/// platform data directory (e.g. `~/.local/share/sample-atlas/`) when a model is there.
pub fn default_model2vec_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os(MODEL2VEC_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let d = directories::ProjectDirs::from("", "", "sample-atlas")?
        .data_dir()
        .join("models")
        .join("potion-base-8M");
    d.join("model.safetensors").is_file().then_some(d)
}

/// The embedder used when none is named: `$SAMPLE_ATLAS_EMBEDDER` when set and valid, else
/// model2vec with the [`default_model2vec_dir`] when there is one, else the built-in lexical
/// embedder. Endpoint options other than the URL keep their defaults.
pub fn default_vector_source() -> VectorSource {
    std::env::var(EMBEDDER_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| VectorSource::parse(&s).ok())
        .or_else(|| default_model2vec_dir().map(VectorSource::Model2Vec))
        .unwrap_or(VectorSource::Lexical)
}

/// A sentence-transformers model the user has installed: `$SAMPLE_ATLAS_TRANSFORMER_DIR`
/// when set, else the first folder (by name) under `models/` in the platform data directory
/// that holds a supported transformer model. Only the folder's description is read here.
pub fn installed_transformer_dir() -> Option<PathBuf> {
    use crate::embedding::transformer::describe;
    if let Some(d) = std::env::var_os(TRANSFORMER_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let models = directories::ProjectDirs::from("", "", "sample-atlas")?
        .data_dir()
        .join("models");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(models)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter().find(|d| describe(d).is_ok())
}
