//! `embed`: the vectors of any embedder, in input row order, as `.npy` or as Parquet beside
//! the input's columns — to reuse elsewhere or check against another implementation.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use super::args::EmbedCommand;
use super::cache::{open_cache, trim_cache};
use super::hints;
use super::map::{announce_load, check_writable, load};
use super::progress::CliProgress;
use crate::progress::CancelToken;

/// The output's kind, from its extension.
enum Output {
    Npy,
    Parquet,
}

fn output_kind(path: &Path) -> anyhow::Result<Output> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("npy") => Ok(Output::Npy),
        Some("parquet") => Ok(Output::Parquet),
        _ => anyhow::bail!(
            "{}: unknown output format (use .npy for a float32 matrix or .parquet for the input's columns plus an embedding column)",
            path.display()
        ),
    }
}

pub(super) fn run_embed(cmd: &EmbedCommand) -> anyhow::Result<ExitCode> {
    let kind = output_kind(&cmd.output)?;
    let start = Instant::now();
    let params = cmd.map.params();
    params.validate()?;
    check_writable([&cmd.output])?;
    let cache = open_cache(&cmd.map, true)?;
    let progress = CliProgress::new(cmd.quiet);
    let cancel = CancelToken::new();
    let samples = load(&cmd.files, &cmd.map, &progress, &cancel)?;
    progress.suspend(|| announce_load(&samples));
    let t = Instant::now();
    let (e, id) =
        crate::pipeline::embed_samples(&samples, &params, cache.as_ref(), &progress, &cancel)
            .map_err(|e| hints::about_file(e, &samples.path, "embedding"))?;
    let embed_s = t.elapsed().as_secs_f64();
    progress.finish();
    trim_cache(cache.as_ref(), false);
    for w in &e.warnings {
        eprintln!("warning: {w}");
    }
    match kind {
        Output::Npy => {
            let out = cmd.output.canonicalize().ok();
            if cmd
                .files
                .iter()
                .any(|f| f.canonicalize().ok().is_some_and(|f| Some(f) == out))
            {
                anyhow::bail!(
                    "{}: refusing to overwrite the input file",
                    cmd.output.display()
                );
            }
            let bytes = crate::util::npy::npy_bytes(&e.data, e.len(), e.dims);
            crate::util::atomic::write_bytes(&cmd.output, &bytes)
                .map_err(|err| anyhow::anyhow!("{}: {err}", cmd.output.display()))?;
        }
        Output::Parquet => {
            let col = crate::dataset::write_vectors_parquet(
                &samples.frame,
                &e.data,
                e.dims,
                &cmd.files,
                &cmd.output,
            )?;
            eprintln!("vectors in list column '{col}'");
        }
    }
    eprintln!(
        "wrote {} ({} rows × {} dims) in {:.2} s: embedding {:.2} s ({:.0} texts/s) with {id}",
        cmd.output.display(),
        e.len(),
        e.dims,
        start.elapsed().as_secs_f64(),
        embed_s,
        e.len() as f64 / embed_s.max(1e-9),
    );
    Ok(ExitCode::SUCCESS)
}
