//! `regions`: the map's regions ranked by how much worse a metric is inside them.

use std::process::ExitCode;

use super::args::{LevelArg, RegionsCommand, WorseArg};
use super::cache::{open_cache, trim_cache};
use super::hints;
use super::map::{check_writable, load};
use super::progress::CliProgress;
use super::table::{print_table, write_table};
use crate::analysis;
use crate::analysis::region_stats::{RegionStat, Worse, region_composition};
use crate::analysis::regions::{Level, RegionParams};
use crate::pipeline::{MapRegions, compute_map, compute_regions};
use crate::progress::CancelToken;
use crate::util::format::cell;

pub(super) fn run_regions(cmd: &RegionsCommand) -> anyhow::Result<ExitCode> {
    if let Some(out) = cmd
        .output
        .as_deref()
        .filter(|o| cmd.files.iter().any(|f| f == o))
    {
        anyhow::bail!("{}: refusing to overwrite the input", out.display());
    }
    let params = cmd.map.params();
    params.validate()?;
    check_writable(&cmd.output)?;
    let cache = open_cache(&cmd.map, !cmd.quiet)?;
    let progress = CliProgress::new(cmd.quiet);
    let cancel = CancelToken::new();
    let samples = load(&cmd.files, &cmd.map, &progress, &cancel)?;
    // The metric is checked before the (long) map computation.
    let (values, is_bool) = analysis::metric_values(&samples, &cmd.metric)?;
    let map = compute_map(&samples, &params, cache.as_ref(), &progress, &cancel)
        .map_err(|e| hints::about_file(e, &samples.path, "computing the map"))?;
    let region_params = RegionParams {
        seed: params.umap.seed,
        ..Default::default()
    };
    let regions = compute_regions(&samples, &map.coords, &region_params, &progress, &cancel)
        .map_err(|e| hints::about_file(e, &samples.path, "finding the regions"))?;
    progress.finish();
    trim_cache(cache.as_ref(), false);
    for w in samples.warnings.iter().chain(&map.warnings) {
        eprintln!("warning: {w}");
    }
    let worse = match cmd.worse {
        Some(WorseArg::Higher) => Worse::Higher,
        Some(WorseArg::Lower) => Worse::Lower,
        None => analysis::region_stats::default_worse(&cmd.metric),
    };
    let stats = regions.rank(&values, is_bool, worse, cmd.min_support);
    let level = cmd.level.map(|l| match l {
        LevelArg::Coarse => Level::Coarse,
        LevelArg::Fine => Level::Fine,
    });
    let shown: Vec<&RegionStat> = stats
        .iter()
        .filter(|s| level.is_none_or(|l| regions.regions.regions[s.region].level == l))
        .collect();
    describe(cmd, &regions, is_bool, worse, &shown);
    let (header, rows) = table(&regions, &shown);
    print_table(&header, &rows);
    explain_worst(&samples, &regions, &shown)?;
    if let Some(out) = &cmd.output {
        let json = serde_json::json!({
            "metric": cmd.metric,
            "worse": worse,
            "boolean": is_bool,
            "min_support": cmd.min_support,
            "regions": shown.iter().map(|s| {
                let r = &regions.regions.regions[s.region];
                serde_json::json!({
                    "id": r.id,
                    "level": r.level,
                    "parent": r.parent,
                    "label": regions.labels[s.region],
                    "stat": s,
                    "central_rows": r.central,
                })
            }).collect::<Vec<_>>(),
        });
        write_table(out, &header, &rows, json)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// For the (up to 3) worst significant regions, on stderr: the run-column values most
/// over-represented inside them, and their most central samples.
fn explain_worst(
    samples: &crate::dataset::Samples,
    regions: &MapRegions,
    shown: &[&RegionStat],
) -> anyhow::Result<()> {
    // The run's settings (a prompt column would only say which prompts a region holds).
    let names = analysis::detect_schema(samples).hyperparameters;
    let columns = names
        .iter()
        .map(|n| Ok((n.as_str(), analysis::string_values(samples, n)?)))
        .collect::<Result<Vec<_>, analysis::AnalysisError>>()?;
    let columns: Vec<(&str, &[String])> = columns.iter().map(|(n, v)| (*n, v.as_slice())).collect();
    for s in shown.iter().filter(|s| s.is_significantly_worse()).take(3) {
        let r = &regions.regions.regions[s.region];
        eprintln!("region {} ({}):", r.id, regions.labels[s.region]);
        let over = region_composition(&r.rows, &columns);
        for v in over.iter().filter(|v| v.is_significantly_over()).take(3) {
            eprintln!(
                "  {} = {}: {:.0}% of the region vs {:.0}% outside (q {:.1e})",
                v.column,
                v.value,
                100.0 * v.inside_share,
                100.0 * v.outside_share,
                v.q
            );
        }
        for &row in r.central.iter().take(3) {
            let text = samples.texts[row as usize].replace('\n', " ");
            eprintln!("  · {}", crate::util::text::truncate_chars(&text, 100));
        }
    }
    Ok(())
}

/// What the numbers mean, on stderr.
fn describe(
    cmd: &RegionsCommand,
    regions: &MapRegions,
    is_bool: bool,
    worse: Worse,
    shown: &[&RegionStat],
) {
    let r = &regions.regions;
    let what = if is_bool {
        let failure = match worse {
            Worse::Lower => "false",
            Worse::Higher => "true",
        };
        format!("failure rate (share of {failure}), Fisher's exact test")
    } else {
        let dir = match worse {
            Worse::Lower => "lower",
            Worse::Higher => "higher",
        };
        format!("mean ({dir} is worse), Welch's t-test")
    };
    eprintln!(
        "{} coarse and {} fine regions (fine regions that do not split their coarse one are listed once); '{}': {what}; q: Benjamini–Hochberg over both levels; regions under {} rows with a value are not tested",
        r.count(Level::Coarse),
        r.count(Level::Fine),
        cmd.metric,
        cmd.min_support
    );
    let worst = shown.iter().filter(|s| s.is_significantly_worse()).count();
    eprintln!("significantly worse than the rest (q ≤ 0.05): {worst} of the regions listed");
}

fn table(regions: &MapRegions, shown: &[&RegionStat]) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "rank", "id", "level", "label", "size", "share", "inside", "outside", "lift", "ci_low",
        "ci_high", "p", "q",
    ]
    .map(String::from)
    .to_vec();
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3e}"));
    let rows = shown
        .iter()
        .enumerate()
        .map(|(rank, s)| {
            let r = &regions.regions.regions[s.region];
            let level = match r.level {
                Level::Coarse => "coarse",
                Level::Fine => "fine",
            };
            let label = &regions.labels[s.region];
            vec![
                (rank + 1).to_string(),
                r.id.to_string(),
                level.to_string(),
                crate::util::text::truncate_chars(label, 48).to_string(),
                s.size.to_string(),
                format!("{:.3}", s.share),
                cell(s.inside),
                cell(s.outside),
                cell(s.lift),
                cell(s.ci_low),
                cell(s.ci_high),
                opt(s.p),
                opt(s.q),
            ]
        })
        .collect();
    (header, rows)
}
