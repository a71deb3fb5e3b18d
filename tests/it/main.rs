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
