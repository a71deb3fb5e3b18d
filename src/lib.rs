//! Sample Atlas: a native map of large sets of sampled LLM texts.
//!
//! The stages, in the order a file goes through them:
//! - [`dataset`]: load JSONL / CSV / Parquet, detect the text column, describe metadata.
//! - [`metrics`]: proxy metrics (length, refusal, repetition, …) and metric expressions.
//! - [`embedding`]: the `Embedder` trait and its backends (lexical, model2vec, endpoint,
//!   given vectors), the per-text embedding cache.
//! - [`neighbors`]: k-nearest-neighbour graphs (exact, NN-descent).
//! - [`projection`]: UMAP (fuzzy graph, initialisation, deterministic parallel SGD).
//! - [`analysis`]: run schema, per-setting tables, best-of-N / pass@N, the map's regions,
//!   their labels and their ranking by a metric.
//! - [`pipeline`]: the stage order and its cache, shared by the CLI and the app.
//!
//! Around them:
//! - [`cache`]: on-disk cache of stage results, capped in size (least recently used evicted).
//! - [`render`]: the map drawn on the CPU (app texture, PNG export), its colours and legend.
//! - [`spatial`]: a grid index over the layout for picking and region selection.
//! - [`filter`]: row filters (ranges, categories, search) and their histograms.
//! - [`progress`]: progress sinks and cancellation tokens.
//! - [`defaults`]: defaults from the environment (embedder, model2vec folder).
//! - [`util`]: atomic writes, dense linear algebra, `.npy`, text and number helpers.
//! - [`cli`]: headless commands.
//! - `app` (feature `gui`): the egui/eframe desktop app.
//!
//! # Module graph
//!
//! Each module uses only modules of the lines above its own: there is no circle
//! (`tests/it/architecture.rs` checks it on every test run).
//!
//! 1. `util`, `progress`, `spatial`: nothing of the crate.
//! 2. `cache` → util; `dataset` → progress, util.
//! 3. `metrics` → dataset, util; `filter` → dataset; `render` → dataset, util;
//!    `embedding` → cache, progress, util; `neighbors` → progress, util.
//! 4. `projection` → neighbors, progress, util; `analysis` → dataset, embedding, util.
//! 5. `pipeline` → analysis (the regions stage), cache, dataset, embedding, metrics,
//!    neighbors, progress, projection, util.
//! 6. `defaults` → pipeline.
//! 7. The front ends, which never use each other: `cli` → the compute modules, defaults,
//!    render; `app` → the compute modules, defaults, filter, render, spatial.
//! 8. The binary (`main.rs`) → cli, or app when built with `gui`.
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
