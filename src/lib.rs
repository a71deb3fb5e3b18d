//! Sample Atlas: a native map of large sets of sampled LLM texts.
//!
//! - [`dataset`]: load JSONL / CSV / Parquet, detect the text column, describe metadata.
//! - [`embedding`]: the `Embedder` trait and the built-in lexical (TF-IDF + SVD) embedder.
//! - [`neighbors`]: k-nearest-neighbour graphs.
//! - [`projection`]: UMAP (fuzzy graph, initialisation, deterministic parallel SGD).
//! - [`cache`]: on-disk cache of embeddings, kNN graphs and layouts.
//! - [`render`]: the map drawn on the CPU (app texture, PNG export) and its colours.
//! - [`spatial`]: a grid index over the layout for picking and region selection.
//! - [`filter`]: row filters (ranges, categories, search) and their histograms.
//! - [`pipeline`]: the stage order, shared by the CLI and the app.
//! - [`progress`]: progress sinks and cancellation tokens.
//! - [`defaults`]: defaults from the environment (embedder, model2vec folder).
//! - [`cli`]: headless commands.
//! - `app` (feature `gui`): the egui/eframe desktop app.
#![deny(unsafe_code)]

pub mod analysis;
pub mod cache;
pub mod cli;
pub mod dataset;
pub mod defaults;
pub mod embedding;
pub mod filter;
pub mod metrics;
pub mod neighbors;
pub mod pipeline;
pub mod progress;
pub mod projection;
pub mod render;
pub mod spatial;
pub mod util;

#[cfg(test)]
mod testing;

#[cfg(feature = "gui")]
pub mod app;
