//! `compare`: settings compared on the prompts they share — per pair, or each against a
//! baseline — with paired differences, intervals, p and q-values, wins and the win rate.

use std::process::ExitCode;

use super::analysis::{analysis_input, show};
use super::args::{CompareCommand, WorseArg};
use super::hints;
use crate::analysis::region_stats::{Worse, default_worse};
use crate::analysis::{self, Paired, PairedError};
use crate::util::format::{cell, cell_opt};

/// A paired-comparison error, prefixed with the flag that settles it.
fn paired_error(err: PairedError) -> anyhow::Error {
    match err {
        PairedError::Analysis(e) => hints::analysis_error(e),
        e @ PairedError::NoSuchBaseline { .. } => anyhow::Error::new(e).context("--baseline"),
        e @ PairedError::TooFewSettings { .. } => anyhow::Error::new(e).context("--by"),
        e => anyhow::Error::new(e),
    }
}

/// The table: A's and B's values of the `by` columns, then the statistics.
fn rows(by: &[String], paired: &Paired) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = by.iter().map(|b| format!("a_{b}")).collect();
    header.extend(by.iter().map(|b| format!("b_{b}")));
    header.extend(
        [
            "shared", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "p", "q", "wins", "ties",
            "losses", "win_rate",
        ]
        .map(String::from),
    );
    let sci = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3e}"));
    let rows = paired
        .rows
        .iter()
        .map(|r| {
            let mut cells = r.a.clone();
            cells.extend(r.b.iter().cloned());
            cells.extend([
                r.shared.to_string(),
                cell(r.mean_a),
                cell(r.mean_b),
                cell(r.diff),
                cell(r.ci_low),
                cell(r.ci_high),
                sci(r.p),
                sci(r.q),
                r.wins.to_string(),
                r.ties.to_string(),
                r.losses.to_string(),
                cell_opt(Some(r.win_rate)),
            ]);
            cells
        })
        .collect();
    (header, rows)
}

pub(super) fn run_compare(cmd: &CompareCommand) -> anyhow::Result<ExitCode> {
    let (samples, by, prompt) = analysis_input(&cmd.a, &cmd.map, true)?;
    let worse = match cmd.worse {
        Some(WorseArg::Higher) => Worse::Higher,
        Some(WorseArg::Lower) => Worse::Lower,
        None => default_worse(&cmd.a.metric),
    };
    let baseline: Option<Vec<String>> = cmd
        .baseline
        .as_ref()
        .map(|b| b.split(',').map(|v| v.trim().to_string()).collect());
    let paired = analysis::paired_table(
        &samples,
        &by,
        &cmd.a.metric,
        prompt.as_deref(),
        baseline.as_deref(),
        worse,
    )
    .map_err(paired_error)?;
    let better = if paired.higher_is_better {
        "higher"
    } else {
        "lower"
    };
    let against = match &paired.baseline {
        Some(b) => format!(
            "each setting (B) against {} (A)",
            analysis::setting_label(b)
        ),
        None => "every pair of settings (A before B)".to_string(),
    };
    eprintln!(
        "{against}: diff = mean over shared prompts of B − A, a setting's value on a prompt being the mean of its samples there; \
         95% paired t interval, two-sided paired t p, q: Benjamini–Hochberg over the {} rows; \
         win: B {better} ('{}'; set with --worse), a tie counts half in win_rate",
        paired.rows.len(),
        cmd.a.metric,
    );
    let (header, rows) = rows(&by, &paired);
    let result = serde_json::to_value(&paired)?;
    show(
        &cmd.a,
        &by,
        prompt.as_deref(),
        (&header, &rows),
        ("comparison", result),
    )
}
