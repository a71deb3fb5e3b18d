//! `map NEW --onto REF`: place new samples onto an existing map and write both, REF's
//! coordinates unchanged, the new rows flagged `ood` when they resemble nothing in REF.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use polars::prelude::{NamedFrom, Series};

use super::args::MapCommand;
use super::cache::open_cache;
use super::hints;
use super::map::{Finished, announce_load, check_writable, finish_map, load, load_reporting};
use super::progress::CliProgress;
use super::report::Seconds;
use crate::dataset::Samples;
use crate::pipeline::{MapResult, ReferenceLayout, map_onto};
use crate::progress::CancelToken;
use crate::projection::onto::ONTO_EPOCHS;

/// Columns a map file carries from its own run, left out of the new map (they described
/// the old one): the coordinates are REF's layout, the rest is recomputed.
const MAP_COLUMNS: &[&str] = &["region", "region_coarse", "region_label", "ood"];

pub(super) fn run_onto(cmd: &MapCommand, reference: &Path) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let params = cmd.map.params();
    params.validate()?;
    let outputs = [Some(&cmd.output), cmd.png.as_ref(), cmd.report.as_ref()];
    check_writable(outputs.into_iter().flatten())?;
    if cmd.files.iter().any(|f| f == reference) {
        anyhow::bail!(
            "{}: the reference map is also one of the new inputs",
            reference.display()
        );
    }
    let cache = open_cache(&cmd.map, true)?;
    let progress = CliProgress::new(cmd.quiet);
    let cancel = CancelToken::new();

    let t = Instant::now();
    let (mut ref_samples, table) =
        load_reporting(&[reference.to_path_buf()], &cmd.map, &progress, &cancel)?;
    // A map file's own region columns are dropped below: their gaps (unclustered rows) are
    // not the new map's problems.
    let about_map_columns = |w: &String| {
        MAP_COLUMNS
            .iter()
            .any(|c| w.contains(&format!("column '{c}'")))
    };
    ref_samples.warnings.retain(|w| !about_map_columns(w));
    progress.suspend(|| announce_load(&ref_samples));
    // The new samples' text comes from the column REF's text came from.
    let mut args = cmd.map.clone();
    args.text = Some(ref_samples.text_column.clone());
    let new_samples = load(&cmd.files, &args, &progress, &cancel)?;
    progress.suspend(|| announce_load(&new_samples));
    let mut inputs: Vec<PathBuf> = vec![reference.to_path_buf()];
    inputs.extend(cmd.files.iter().cloned());
    let mut both = load_without_old_metrics(&inputs, &args, &progress, &cancel)?;
    both.warnings.retain(|w| !about_map_columns(w));
    let load_s = t.elapsed().as_secs_f64();
    // Checked before the work (the `ood` column is only there once the samples are placed).
    if let Some(arg) = cmd
        .compare
        .as_ref()
        .filter(|a| a.column != crate::render::ood::OOD_COLUMN)
    {
        super::png::compare_pair(&both, arg)?;
    }
    if both.len() != ref_samples.len() + new_samples.len() {
        anyhow::bail!(
            "reading {} and the new inputs together gave {} rows, apart {} + {}",
            reference.display(),
            both.len(),
            ref_samples.len(),
            new_samples.len()
        );
    }

    let onto = map_onto(
        &ref_samples,
        &new_samples,
        &params,
        cache.as_ref(),
        &progress,
        &cancel,
    )
    .map_err(|e| hints::about_file(e, reference, "placing the new samples onto the map"))?;

    let mut drop: Vec<&str> = MAP_COLUMNS.to_vec();
    if let ReferenceLayout::Columns(x, y) = &onto.layout_from {
        drop.push(x);
        drop.push(y);
    }
    drop_columns(&mut both, &drop);
    let n_ref = ref_samples.len();
    let ood: Vec<bool> = std::iter::repeat_n(false, n_ref)
        .chain(onto.placement.ood.iter().copied())
        .collect();
    let ood_name = both.free_name("ood");
    both.set_column(Series::new(ood_name.as_str().into(), ood))
        .map_err(anyhow::Error::msg)
        .context("adding the ood column")?;
    let mut coords = onto.reference.clone();
    coords.extend_from_slice(&onto.placement.coords);

    let result = MapResult {
        coords: Vec::new(),
        knn: params.knn.resolve(n_ref),
        embedder: onto.embedder.clone(),
        embedding_dims: onto.embedding_dims,
        epochs: ONTO_EPOCHS,
        timings: onto.timings.clone(),
        warnings: onto.warnings.clone(),
        cache: onto.cache,
        text_cache: None,
    };
    let finished = Finished {
        cmd,
        samples: &both,
        coords: &coords,
        result: &result,
        params: &params,
        cache: cache.as_ref(),
        table,
        start,
        load_s,
    };
    let n_new = new_samples.len();
    let announce = || announce_placement(&onto, n_ref, n_new);
    let summary = |s: &Seconds| {
        (
            format!("{n_ref} reference + {n_new} new rows"),
            format!(
                "layout {:.2} (placing {:.2})",
                s.layout,
                onto.placement.search_s + onto.placement.optimize_s
            ),
        )
    };
    finish_map(finished, &progress, &cancel, announce, summary)
}

/// REF and the new inputs as one table, with the metric columns computed afresh over all
/// rows: a map file's own metric columns (from its `map` run) are dropped first, so they are
/// not kept beside the new ones as `atlas_*` columns that are empty for the new rows.
fn load_without_old_metrics(
    inputs: &[PathBuf],
    args: &super::args::MapArgs,
    progress: &CliProgress,
    cancel: &CancelToken,
) -> anyhow::Result<Samples> {
    let spec = args.load_options()?;
    let bare = crate::pipeline::LoadSpec {
        options: spec.options.clone(),
        metrics: crate::metrics::MetricOptions {
            builtin: false,
            refusal_patterns: None,
            pattern: None,
            exprs: Vec::new(),
        },
    };
    let cache = open_cache(args, false)?;
    let mut both = crate::pipeline::load_inputs(inputs, &bare, cache.as_ref(), progress, cancel)
        .map_err(|e| hints::load_error(e, args.text.as_deref()))?;
    let mut old: Vec<&str> = Vec::new();
    if spec.metrics.builtin {
        old.extend_from_slice(crate::metrics::BUILTIN_COLUMNS);
    }
    if spec.metrics.pattern.is_some() {
        old.push("pattern_matches");
    }
    old.extend(spec.metrics.exprs.iter().map(|(name, _)| name.as_str()));
    drop_columns(&mut both, &old);
    crate::metrics::apply(&mut both, &spec.metrics)
        .map_err(|e| anyhow::anyhow!("{}: {e}", both.path.display()))?;
    Ok(both)
}

/// Remove the columns of `names` that `samples` has (a map file's own map columns).
fn drop_columns(samples: &mut Samples, names: &[&str]) {
    for name in names {
        if samples.frame.column(name).is_ok() {
            let _ = samples.frame.drop_in_place(name);
            samples.columns.retain(|c| c.name != *name);
        }
    }
}

/// Where the reference layout came from and how many new samples are out of distribution.
fn announce_placement(onto: &crate::pipeline::OntoResult, n_ref: usize, n_new: usize) {
    match &onto.layout_from {
        ReferenceLayout::Columns(x, y) => {
            eprintln!("reference layout: its columns '{x}', '{y}' ({n_ref} points, unchanged)")
        }
        ReferenceLayout::Given => eprintln!("reference layout: given ({n_ref} points, unchanged)"),
        ReferenceLayout::Mapped => eprintln!(
            "reference layout: its map (layout {}, {n_ref} points, unchanged)",
            match onto.cache.layout {
                crate::cache::CacheUse::Hit => "from the cache",
                _ => "computed now",
            }
        ),
    }
    let ood = onto.placement.ood.iter().filter(|&&o| o).count();
    eprintln!(
        "placed {n_new} new samples ({:.2} s searching, {:.2} s optimising); {ood} out of distribution (nearest reference point farther than {:.4}, the reference's own 99th percentile): column 'ood'",
        onto.placement.search_s, onto.placement.optimize_s, onto.placement.ood_threshold
    );
}
