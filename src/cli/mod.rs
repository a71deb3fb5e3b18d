//! Command-line interface: `sample-atlas [FILE]` opens the app (see `main`); `sample-atlas map
//! FILE -o OUT.parquet` computes the map headless, `stats` and `bon` analyse a metric.
//!
//! - `args`: the clap types and their value parsers.
//! - `map`: the `map` command; `png` and `report` its extra outputs.
//! - `analysis`: the `stats` and `bon` commands; `table` prints and writes their tables.
//! - `regions`: the `regions` command (regions ranked by a metric).
//! - `cache`: the `cache` command, and the cache as the other commands open and trim it.
//! - `progress`: indicatif bars on stderr.
//! - `hints`: library errors with the flag that settles them.
//!
//! Uses the compute modules and `render`; never `app`.

mod analysis;
mod args;
mod cache;
mod hints;
mod map;
mod png;
mod progress;
mod regions;
mod report;
mod table;

use std::process::ExitCode;

pub use args::{
    AnalysisArgs, BonCommand, CacheAction, CacheCommand, Cli, CliCommand, Distance, Knn, LevelArg,
    MapArgs, MapCommand, RegionsCommand, StatsCommand, WorseArg,
};

/// Run a headless command.
pub fn run(command: CliCommand) -> anyhow::Result<ExitCode> {
    match command {
        CliCommand::Map(cmd) => map::run_map(&cmd),
        CliCommand::Stats(cmd) => analysis::run_stats(&cmd),
        CliCommand::Bon(cmd) => analysis::run_bon(&cmd),
        CliCommand::Regions(cmd) => regions::run_regions(&cmd),
        CliCommand::Cache(cmd) => cache::run_cache(&cmd),
    }
}
