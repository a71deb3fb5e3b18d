use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // clap exits with code 2 on usage errors.
    let cli = sample_atlas::cli::Cli::parse();
    match sample_atlas::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
