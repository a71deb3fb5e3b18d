//! Integration tests: the real binary on `samples/`, the loaders, and the app (egui_kittest).

mod architecture;
mod cli;
mod cli_faults;
mod compare;
mod compare_png;
mod embedders;
mod fuzz_corpus;
mod load;
mod onto;
mod pairs;
mod regions;
mod server;
mod transformer;
#[cfg(feature = "gui")]
mod ui;

use std::path::{Path, PathBuf};

pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

pub fn sample(name: &str) -> PathBuf {
    samples_dir().join(name)
}

/// The `sample-atlas` binary, isolated from the user's default-embedder settings (so the
/// default is the built-in lexical embedder whatever the machine has installed).
pub fn atlas_cmd() -> std::process::Command {
    isolated(std::process::Command::new(atlas_bin()))
}

/// The binary under test: `SAMPLE_ATLAS_TEST_BIN` runs another copy of it (several
/// checkouts sharing one target directory overwrite each other's `target/debug/sample-atlas`).
pub fn atlas_bin() -> std::ffi::OsString {
    std::env::var_os("SAMPLE_ATLAS_TEST_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_sample-atlas").into())
}

/// `c` (which runs the binary, possibly through a shell) with the environment of
/// [`atlas_cmd`].
pub fn isolated(mut c: std::process::Command) -> std::process::Command {
    c.env_remove(sample_atlas::defaults::EMBEDDER_ENV)
        .env_remove(sample_atlas::defaults::MODEL2VEC_DIR_ENV)
        .env_remove(sample_atlas::defaults::TRANSFORMER_DIR_ENV)
        .env_remove(sample_atlas::cache::CACHE_MAX_GB_ENV)
        .env(
            "XDG_DATA_HOME",
            std::env::temp_dir().join("sample-atlas-tests-no-data"),
        );
    c
}

/// Set to `1` (as `.ci/run` does where `../shared/models` exists) to make the tests that need
/// a model fail, rather than skip, when it is missing.
pub const REQUIRE_MODELS_ENV: &str = "SAMPLE_ATLAS_REQUIRE_MODELS";

/// A model folder from `$env`, or `../shared/models/NAME` beside the repo, when `marker` is
/// in it. `None` (the caller skips, saying so) when it is missing, unless
/// `$SAMPLE_ATLAS_REQUIRE_MODELS=1`: then a missing model fails the test.
fn shared_model(env: &str, name: &str, marker: &str) -> Option<PathBuf> {
    let dir = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/models")
            .join(name)
    });
    if dir.join(marker).is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var(REQUIRE_MODELS_ENV).as_deref() != Ok("1"),
        "no {name} at {} and {REQUIRE_MODELS_ENV}=1",
        dir.display()
    );
    eprintln!("skipped: no {name} at {} (set {env})", dir.display());
    None
}

/// The potion-base-8M model (`$SAMPLE_ATLAS_MODEL2VEC_DIR` or the shared copy).
pub fn model2vec_dir() -> Option<PathBuf> {
    shared_model(
        "SAMPLE_ATLAS_MODEL2VEC_DIR",
        "potion-base-8M",
        "model.safetensors",
    )
}

/// The all-MiniLM-L6-v2 sentence-transformers folder (`$SAMPLE_ATLAS_MINILM_DIR` or the
/// shared copy).
pub fn minilm_dir() -> Option<PathBuf> {
    shared_model(
        "SAMPLE_ATLAS_MINILM_DIR",
        "all-MiniLM-L6-v2",
        "model.safetensors",
    )
}

/// The expected token ids and vectors of MiniLM from an independent implementation.
pub fn minilm_reference_dir() -> Option<PathBuf> {
    shared_model(
        "SAMPLE_ATLAS_MINILM_REFERENCE_DIR",
        "all-MiniLM-L6-v2-reference",
        "vectors.npy",
    )
}
