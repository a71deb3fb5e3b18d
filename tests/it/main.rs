//! Integration tests: the real binary on `samples/`, the loaders, and the app (egui_kittest).

mod cli;
mod embedders;
mod load;
mod server;
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
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sample-atlas"));
    c.env_remove(sample_atlas::defaults::EMBEDDER_ENV)
        .env_remove(sample_atlas::defaults::MODEL2VEC_DIR_ENV)
        .env(
            "XDG_DATA_HOME",
            std::env::temp_dir().join("sample-atlas-tests-no-data"),
        );
    c
}
