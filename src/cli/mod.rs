//! Command-line interface: `sample-atlas [FILE]` opens the app (see `main`); `sample-atlas map
//! FILE -o OUT.parquet` computes the map headless, `stats` and `bon` analyse a metric.
//!
//! - `args`: the clap types and their value parsers.
//! - `map`: the `map` command; `png` and `report` its extra outputs.
//! - `analysis`: the `stats` and `bon` commands; `table` prints and writes their tables.
//! - `progress`: indicatif bars on stderr.
//! - `hints`: library errors with the flag that settles them.
//!
//! Uses the compute modules and `render`; never `app`.

mod analysis;
mod args;
mod hints;
mod map;
mod png;
mod progress;
mod report;
mod table;

use std::process::ExitCode;

pub use args::{
    AnalysisArgs, BonCommand, Cli, CliCommand, Distance, Knn, MapArgs, MapCommand, StatsCommand,
};

/// Run a headless command.
pub fn run(command: CliCommand) -> anyhow::Result<ExitCode> {
    match command {
        CliCommand::Map(cmd) => map::run_map(&cmd),
        CliCommand::Stats(cmd) => analysis::run_stats(&cmd),
        CliCommand::Bon(cmd) => analysis::run_bon(&cmd),
    }
}
