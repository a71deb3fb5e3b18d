//! `stats` and `bon`: per-setting tables and best-of-N curves of a metric; the loading and
//! output steps `compare` shares with them.

use std::process::ExitCode;

use super::args::{AnalysisArgs, BonCommand, MapArgs, StatsCommand};
use super::cache::{open_cache, trim_cache};
use super::hints;
use super::map::load;
use super::progress::CliProgress;
use super::table::{print_table, write_table};
use crate::analysis::{self, AnalysisError, Curve, SettingRow};
use crate::dataset::Samples;
use crate::progress::CancelToken;
use crate::util::format::{cell, cell_opt};

/// Load for an analysis command and settle the grouping and prompt columns.
pub(super) fn analysis_input(
    a: &AnalysisArgs,
    args: &MapArgs,
    quiet: bool,
) -> anyhow::Result<(Samples, Vec<String>, Option<String>)> {
    let (by, prompt) = (&a.by[..], a.prompt.as_ref());
    if let Some(out) = a
        .output
        .as_deref()
        .filter(|o| a.files.iter().any(|f| f == o))
    {
        anyhow::bail!("{}: refusing to overwrite the input", out.display());
    }
    let progress = CliProgress::new(quiet);
    let samples = load(&a.files, args, &progress, &CancelToken::new())?;
    let file = samples.path.as_path();
    progress.finish();
    for w in &samples.warnings {
        eprintln!("warning: {w}");
    }
    let schema = analysis::detect_schema(&samples);
    let by = if by.is_empty() {
        if schema.hyperparameters.is_empty() {
            anyhow::bail!(
                "{}: no hyperparameter columns found (model, temperature, top_p, ...); name them with --by",
                file.display()
            );
        }
        eprintln!(
            "grouping by {} (detected; choose with --by)",
            schema.hyperparameters.join(", ")
        );
        schema.hyperparameters.clone()
    } else {
        by.to_vec()
    };
    let prompt = match prompt {
        Some(p) => Some(p.clone()),
        None => {
            if let Some(p) = &schema.prompt {
                eprintln!("prompt column '{p}' (detected; choose with --prompt)");
            }
            schema.prompt.clone()
        }
    };
    Ok((samples, by, prompt))
}

fn stats_rows(by: &[String], table: &[SettingRow]) -> (Vec<String>, Vec<Vec<String>>) {
    let header = header(
        by,
        &[
            "count",
            "n",
            "mean",
            "ci_low",
            "ci_high",
            "median",
            "failure_rate",
            "diversity",
            "prompts",
        ],
    );
    let rows = table
        .iter()
        .map(|r| {
            let mut cells = r.setting.clone();
            cells.extend([
                r.count.to_string(),
                r.n.to_string(),
                cell(r.mean),
                cell(r.ci_low),
                cell(r.ci_high),
                cell(r.median),
                cell_opt(r.failure_rate),
                cell_opt(r.diversity),
                r.prompts.map(|p| p.to_string()).unwrap_or_default(),
            ]);
            cells
        })
        .collect();
    (header, rows)
}

pub(super) fn run_stats(cmd: &StatsCommand) -> anyhow::Result<ExitCode> {
    let (samples, by, prompt) = analysis_input(&cmd.a, &cmd.map, cmd.quiet)?;
    let embeddings = if cmd.no_diversity || prompt.is_none() {
        None
    } else {
        let cache = open_cache(&cmd.map, false)?;
        let progress = CliProgress::new(cmd.quiet);
        let (e, id) = crate::pipeline::embed_samples(
            &samples,
            &cmd.map.params(),
            cache.as_ref(),
            &progress,
            &CancelToken::new(),
        )
        .map_err(|e| hints::about_file(e, &samples.path, "embedding for diversity"))?;
        progress.finish();
        trim_cache(cache.as_ref(), false);
        eprintln!("diversity: mean pairwise cosine distance of a prompt's samples ({id})");
        Some(e)
    };
    let table = analysis::settings_table(
        &samples,
        &by,
        &cmd.a.metric,
        prompt.as_deref(),
        embeddings.as_ref(),
    )
    .map_err(hints::analysis_error)?;
    let (header, rows) = stats_rows(&by, &table);
    let result = serde_json::to_value(&table)?;
    show(
        &cmd.a,
        &by,
        prompt.as_deref(),
        (&header, &rows),
        ("settings", result),
    )
}

fn bon_rows(by: &[String], curves: &[Curve]) -> (Vec<String>, Vec<Vec<String>>) {
    let header = header(
        by,
        &["estimator", "n", "mean", "ci_low", "ci_high", "prompts"],
    );
    let rows = curves
        .iter()
        .flat_map(|c| {
            c.points.iter().map(move |p| {
                let mut cells = c.setting.clone();
                cells.extend([
                    c.kind.to_string(),
                    p.n.to_string(),
                    cell(p.mean),
                    cell(p.ci_low),
                    cell(p.ci_high),
                    p.prompts.to_string(),
                ]);
                cells
            })
        })
        .collect();
    (header, rows)
}

pub(super) fn run_bon(cmd: &BonCommand) -> anyhow::Result<ExitCode> {
    let (samples, by, prompt) = analysis_input(&cmd.a, &cmd.map, true)?;
    let prompt = prompt.ok_or_else(|| {
        hints::analysis_error(AnalysisError::NoPromptColumn {
            path: samples.input_label(),
        })
    })?;
    let curves = analysis::best_of_n(&samples, &by, &cmd.a.metric, &prompt)
        .map_err(hints::analysis_error)?;
    if !curves.is_empty() && curves.iter().all(|c| c.points.len() <= 1) {
        eprintln!(
            "note: one sample per prompt and setting: best-of-N needs several; this is the mean"
        );
    }
    let (header, rows) = bon_rows(&by, &curves);
    let result = serde_json::to_value(&curves)?;
    show(
        &cmd.a,
        &by,
        Some(&prompt),
        (&header, &rows),
        ("curves", result),
    )
}

/// The table's header: the grouping columns, then `columns`.
pub(super) fn header(by: &[String], columns: &[&str]) -> Vec<String> {
    let mut header = by.to_vec();
    header.extend(columns.iter().map(|c| c.to_string()));
    header
}

/// Print the table and, with `--output`, write it: CSV rows, or JSON with the inputs and
/// `result` under its `key`.
pub(super) fn show(
    a: &AnalysisArgs,
    by: &[String],
    prompt: Option<&str>,
    (header, rows): (&[String], &[Vec<String>]),
    (key, result): (&str, serde_json::Value),
) -> anyhow::Result<ExitCode> {
    print_table(header, rows);
    if let Some(out) = &a.output {
        let mut json = serde_json::json!({
            "file": a.files.first(),
            "metric": a.metric,
            "by": by,
            "prompt": prompt,
        });
        json[key] = result;
        write_table(out, header, rows, json)?;
    }
    Ok(ExitCode::SUCCESS)
}
