//! Command-line interface: `sample-atlas [FILE]` opens the app (see `main`); `sample-atlas map
//! FILE -o OUT.parquet` computes the map headless, `stats`, `bon` and
//! `compare` analyse a metric.
//!
//! - `args`: the clap types and their value parsers.
//! - `map`: the `map` command; `png` and `report` its extra outputs.
//! - `analysis`: the `stats` and `bon` commands; `table` prints and writes their tables.
//! - `compare`: the `compare` command (settings paired on shared prompts).
//! - `regions`: the `regions` command (regions ranked by a metric).
//! - `cache`: the `cache` command, and the cache as the other commands open and trim it.
//! - `embed`: the `embed` command (vectors of any embedder to .npy or Parquet).
//! - `progress`: indicatif bars on stderr.
//! - `hints`: library errors with the flag that settles them.
//!
//! Uses the compute modules and `render`; never `app`.

mod analysis;
mod args;
mod cache;
mod compare;
mod embed;
mod hints;
mod map;
mod onto;
mod png;
mod progress;
mod regions;
mod report;
mod table;

use std::process::ExitCode;

pub use args::{
    AnalysisArgs, BonCommand, CacheAction, CacheCommand, Cli, CliCommand, CompareCommand, Distance,
    EmbedCommand, Knn, LevelArg, MapArgs, MapCommand, RegionsCommand, StatsCommand, WorseArg,
};

/// `err` and its causes joined by `: `, leaving out a cause the message already shows (an
/// error that prints its source and also returns it as its `source()`): the OS reason of a
/// failed write is named once.
pub fn error_message(err: &anyhow::Error) -> String {
    let mut msg = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !msg.contains(&cause) {
            msg = format!("{msg}: {cause}");
        }
    }
    msg
}

/// Run a headless command.
pub fn run(command: CliCommand) -> anyhow::Result<ExitCode> {
    match command {
        CliCommand::Map(cmd) => map::run_map(&cmd),
        CliCommand::Stats(cmd) => analysis::run_stats(&cmd),
        CliCommand::Bon(cmd) => analysis::run_bon(&cmd),
        CliCommand::Compare(cmd) => compare::run_compare(&cmd),
        CliCommand::Regions(cmd) => regions::run_regions(&cmd),
        CliCommand::Embed(cmd) => embed::run_embed(&cmd),
        CliCommand::Cache(cmd) => cache::run_cache(&cmd),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("out.png: {source}")]
    struct ShowsItsSource {
        source: std::io::Error,
    }

    #[test]
    fn the_reason_is_named_once() {
        let io = || std::io::Error::from_raw_os_error(28);
        let e = anyhow::Error::new(ShowsItsSource { source: io() });
        assert_eq!(format!("{e:#}").matches("os error 28").count(), 2);
        assert_eq!(error_message(&e).matches("os error 28").count(), 1);
        let e = anyhow::Error::new(io()).context("r.json: writing the report");
        assert_eq!(
            error_message(&e),
            format!("r.json: writing the report: {}", io())
        );
    }
}
