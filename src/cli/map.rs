//! `map`: load, compute the map, write the Parquet output (and a PNG and a report).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use super::args::{MapArgs, MapCommand};
use super::cache::{open_cache, trim_cache};
use super::progress::CliProgress;
use super::report::{self, Seconds};
use super::{hints, png};
use crate::analysis::regions::{Level, RegionParams};
use crate::cache::{Cache, CacheUse};
use crate::dataset::{self, Samples};
use crate::pipeline::{
    MapParams, MapRegions, MapResult, VectorSource, compute_map, compute_regions,
};
use crate::progress::{CancelToken, Progress, Stage};

pub(super) fn run_map(cmd: &MapCommand) -> anyhow::Result<ExitCode> {
    if let Some(reference) = &cmd.onto {
        return super::onto::run_onto(cmd, reference);
    }
    let start = Instant::now();
    let params = cmd.map.params();
    params.validate()?;
    let outputs = [Some(&cmd.output), cmd.png.as_ref(), cmd.report.as_ref()];
    check_writable(outputs.into_iter().flatten())?;
    let cache = open_cache(&cmd.map, true)?;
    let progress = CliProgress::new(cmd.quiet);
    let cancel = CancelToken::new();

    let t = Instant::now();
    let (samples, table) = load_reporting(&cmd.files, &cmd.map, &progress, &cancel)?;
    let load_s = t.elapsed().as_secs_f64();
    progress.suspend(|| announce_load(&samples));
    if let Some(arg) = &cmd.compare {
        png::compare_pair(&samples, arg)?;
    }

    let result = compute_map(&samples, &params, cache.as_ref(), &progress, &cancel)
        .map_err(|e| hints::about_file(e, &samples.path, "computing the map"))?;

    let finished = Finished {
        cmd,
        samples: &samples,
        coords: &result.coords,
        result: &result,
        params: &params,
        cache: cache.as_ref(),
        table,
        start,
        load_s,
    };
    let summary = |s: &Seconds| {
        (
            format!("{} rows", samples.len()),
            format!("UMAP {:.2}", s.layout),
        )
    };
    let announce = || {
        if !cmd.quiet {
            announce_better_embedder(&samples, &params);
        }
    };
    finish_map(finished, &progress, &cancel, announce, summary)
}

/// What a map run (plain or `--onto`) has when its layout is done.
pub(super) struct Finished<'a> {
    pub cmd: &'a MapCommand,
    pub samples: &'a Samples,
    pub coords: &'a [[f32; 2]],
    pub result: &'a MapResult,
    pub params: &'a MapParams,
    pub cache: Option<&'a Cache>,
    pub table: CacheUse,
    pub start: Instant,
    pub load_s: f64,
}

/// The end of `map` and `map --onto`: regions, the outputs, what was found, the closing
/// "wrote …" line and the report. `announce` prints the run's own lines after the result's;
/// `summary` gives the closing line's row count ("N rows") and layout part ("UMAP 1.20").
pub(super) fn finish_map(
    run: Finished<'_>,
    progress: &CliProgress,
    cancel: &CancelToken,
    announce: impl FnOnce(),
    summary: impl FnOnce(&Seconds) -> (String, String),
) -> anyhow::Result<ExitCode> {
    let Finished {
        cmd,
        samples,
        coords,
        result,
        params,
        cache,
        table,
        start,
        load_s,
    } = run;
    let t = Instant::now();
    let region_params = RegionParams {
        seed: params.umap.seed,
        ..Default::default()
    };
    let regions = compute_regions(samples, coords, &region_params, progress, cancel)
        .map_err(|e| hints::about_file(e, &samples.path, "finding the regions"))?;
    let regions_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let columns = write_outputs(cmd, samples, coords, &regions, progress)?;
    let write_s = t.elapsed().as_secs_f64();
    progress.finish();
    announce_result(cmd, result, &columns);
    announce();
    announce_regions(&regions);
    let cache_trim = trim_cache(cache, true);

    let seconds = Seconds {
        load: load_s,
        embed: result.timings.embed_s,
        neighbors: result.timings.neighbors_s,
        layout: result.timings.layout_s,
        regions: regions_s,
        write: write_s,
        total: start.elapsed().as_secs_f64(),
    };
    let (rows, layout) = summary(&seconds);
    eprintln!(
        "wrote {} ({rows}) in {:.2} s: load {:.2}, embed {:.2}, kNN {:.2}, {layout}, regions {:.2}, write {:.2}",
        cmd.output.display(),
        seconds.total,
        seconds.load,
        seconds.embed,
        seconds.neighbors,
        seconds.regions,
        seconds.write
    );
    if let Some(path) = &cmd.report {
        let run = report::MapRun {
            cmd,
            samples,
            result,
            params,
            table,
            cache_dir: cache.map(|c| c.dir()),
            cache_trim,
            regions: &regions,
        };
        report::write(path, &run, columns, seconds)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Load `files` (one table) with the load options of `args`; errors name the flags that
/// settle them.
pub(super) fn load(
    files: &[PathBuf],
    args: &MapArgs,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> anyhow::Result<Samples> {
    load_reporting(files, args, progress, cancel).map(|(samples, _)| samples)
}

/// [`load`], saying whether the table came from the cache.
pub(super) fn load_reporting(
    files: &[PathBuf],
    args: &MapArgs,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> anyhow::Result<(Samples, CacheUse)> {
    let cache = super::cache::open_cache(args, false)?;
    crate::pipeline::load_inputs_with(
        files,
        &args.load_options()?,
        cache.as_ref(),
        crate::pipeline::TABLE_CACHE_MIN_BYTES,
        progress,
        cancel,
    )
    .map_err(|e| hints::load_error(e, args.text.as_deref()))
}

/// Fail before the work when an output cannot be written where it should go (a missing or
/// read-only directory); a full disk still shows only when writing.
pub(super) fn check_writable<'a>(
    outputs: impl IntoIterator<Item = &'a std::path::PathBuf>,
) -> anyhow::Result<()> {
    for path in outputs {
        crate::util::atomic::check_writable(path)
            .with_context(|| format!("{}: cannot write here", path.display()))?;
    }
    Ok(())
}

/// When a transformer model is installed and another embedder was used, say so, with how
/// long it would take on these texts (a sample is embedded and timed).
fn announce_better_embedder(samples: &Samples, params: &MapParams) {
    if !params.vectors.embeds_texts() || matches!(params.vectors, VectorSource::Transformer(_)) {
        return;
    }
    let Some(dir) = crate::defaults::installed_transformer_dir() else {
        return;
    };
    let Ok(model) = crate::embedding::TransformerEmbedder::load(&dir) else {
        return;
    };
    let secs = model.estimate_seconds(&samples.texts);
    let time = crate::util::format::duration_words(secs);
    eprintln!(
        "note: a better embedder is installed: {} (about {time} for these {} texts on this machine); use it with --embedder transformer:{}",
        dir.file_name().unwrap_or_default().to_string_lossy(),
        crate::util::format::thousands(samples.len()),
        dir.display()
    );
}

/// What was loaded: rows, the text column and how it was chosen, the load warnings.
pub(super) fn announce_load(samples: &Samples) {
    let file = samples.input_label();
    if samples.format == dataset::Format::Npy {
        eprintln!("{file}: {} rows of vectors", samples.len());
    } else {
        eprintln!(
            "{file}: {} rows, text column '{}'{}",
            samples.len(),
            samples.text_column,
            if samples.text_column_detected {
                " (detected; choose another with --text)"
            } else {
                ""
            }
        );
    }
    for w in &samples.warnings {
        eprintln!("warning: {w}");
    }
}

/// Write the Parquet output (and the PNG); returns the names of the coordinate columns.
pub(super) fn write_outputs(
    cmd: &MapCommand,
    samples: &Samples,
    coords: &[[f32; 2]],
    regions: &MapRegions,
    progress: &CliProgress,
) -> anyhow::Result<[String; 2]> {
    progress.report(Stage::Write, 0, 1);
    let frame = regions.with_columns(samples)?;
    let (xn, yn) = dataset::write_map_parquet(&frame, coords, &samples.files(), &cmd.output)?;
    if let Some(out) = &cmd.png {
        let marks = crate::render::labels::region_marks(regions);
        let look = png::Look {
            color_by: cmd.color_by.as_deref(),
            density: cmd.density,
            compare: cmd.compare.as_ref(),
            size: cmd.png_size,
            labels: Some(&marks),
        };
        png::write_png(samples, coords, &look, out)
            .map_err(|e| hints::about_file(e, out, "drawing the map"))?;
    }
    progress.report(Stage::Write, 1, 1);
    Ok([xn, yn])
}

/// How many regions there are, and the largest coarse ones.
pub(super) fn announce_regions(regions: &MapRegions) {
    let r = &regions.regions;
    let coarse: Vec<_> = r.level(Level::Coarse).filter(|g| !g.unclustered).collect();
    let unclustered = r
        .level(Level::Coarse)
        .find(|g| g.unclustered)
        .map_or(0, |g| g.rows.len());
    eprintln!(
        "regions: {} coarse, {} fine, {unclustered} rows unclustered",
        coarse.len(),
        r.count(Level::Fine)
    );
    for g in coarse.iter().take(5) {
        eprintln!(
            "  {:>7} rows  {}",
            g.rows.len(),
            regions.labels[g.id as usize]
        );
    }
}

/// What the computation did: its warnings, the embedder, the caches, where things went.
pub(super) fn announce_result(cmd: &MapCommand, result: &MapResult, [xn, yn]: &[String; 2]) {
    for w in &result.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!("embedder: {}", result.embedder);
    if let Some(tc) = result.text_cache {
        eprintln!(
            "embedded {} new texts, {} from the cache, {} repeated texts embedded once",
            tc.embedded, tc.reused, tc.duplicates
        );
    }
    if let Some(png) = &cmd.png {
        eprintln!("drew the map into {}", png.display());
    }
    if (xn.as_str(), yn.as_str()) != ("x", "y") {
        eprintln!("note: the input has x/y columns; coordinates are in '{xn}', '{yn}'");
    }
}
