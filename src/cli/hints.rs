//! Library errors speak of the text column, the pattern, the prompt column; on the command
//! line they are prefixed with the flag that settles them (`--text`, `--pattern`, `--prompt`).

use crate::analysis::AnalysisError;
use crate::dataset::LoadError;
use crate::metrics::MetricError;
use crate::pipeline::PipelineError;

/// A load error, prefixed with the flag it concerns: `--text VALUE` when the given text
/// column is missing or not text, `--text` when none was found, `--pattern` for a bad regex.
pub(super) fn load_error(err: PipelineError, text_flag: Option<&str>) -> anyhow::Error {
    let flag = match (&err, text_flag) {
        (
            PipelineError::Load(LoadError::MissingColumn { .. } | LoadError::NotText { .. }),
            Some(text),
        ) => Some(format!("--text {text}")),
        (PipelineError::Load(LoadError::NoTextColumn { .. }), _) => Some("--text".to_string()),
        (
            PipelineError::Metric {
                problem: MetricError::Pattern { .. },
                ..
            },
            _,
        ) => Some("--pattern".to_string()),
        _ => None,
    };
    with_flag(err, flag)
}

/// `err` in the context of `what` was being done to `path` — unless the message already names
/// the file (most library errors do), so no message prints the path twice.
pub(super) fn about_file(
    err: impl Into<anyhow::Error>,
    path: &std::path::Path,
    what: &str,
) -> anyhow::Error {
    let err = err.into();
    let shown = path.display().to_string();
    if format!("{err:#}").contains(&shown) {
        err
    } else {
        err.context(format!("{shown}: {what}"))
    }
}

/// An analysis error, prefixed with `--prompt` when no prompt column was found.
pub(super) fn analysis_error(err: AnalysisError) -> anyhow::Error {
    let flag = matches!(err, AnalysisError::NoPromptColumn { .. }).then(|| "--prompt".to_string());
    with_flag(err, flag)
}

fn with_flag<E>(err: E, flag: Option<String>) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let err = anyhow::Error::new(err);
    match flag {
        Some(flag) => err.context(flag),
        None => err,
    }
}
