//! `sample-atlas`: a headless command when one is given (see `cli`), else the app.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sample_atlas::cli::{self, Cli, MapArgs};

fn main() -> ExitCode {
    // clap exits with code 2 on usage errors.
    let args = Cli::parse();
    let result = match args.command {
        Some(command) => cli::run(command),
        None => open_app(args.file, args.color_by, &args.map),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", cli::error_message(&e));
            ExitCode::from(1)
        }
    }
}

#[cfg(feature = "gui")]
fn open_app(
    file: Option<PathBuf>,
    color_by: Option<String>,
    args: &MapArgs,
) -> anyhow::Result<ExitCode> {
    sample_atlas::app::run(
        file,
        color_by,
        args.load_options()?,
        args.params(),
        args.cache_cap()?,
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "gui"))]
fn open_app(
    _file: Option<PathBuf>,
    _color_by: Option<String>,
    _args: &MapArgs,
) -> anyhow::Result<ExitCode> {
    eprintln!(
        "error: this build has no GUI (built without the `gui` feature); use `sample-atlas map FILE -o OUT.parquet`"
    );
    Ok(ExitCode::from(2))
}
