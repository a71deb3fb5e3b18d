//! Library errors speak of columns and patterns; on the command line they also name the flag
//! that settles them.

use anyhow::anyhow;

use crate::analysis::AnalysisError;
use crate::dataset::LoadError;
use crate::metrics::MetricError;

/// A load error, with the flag that chose the text column or the pattern (or would choose it).
pub(super) fn load_error(err: LoadError, text_flag: Option<&str>) -> anyhow::Error {
    match (&err, text_flag) {
        (LoadError::MissingColumn { .. } | LoadError::NotText { .. }, Some(text)) => {
            anyhow::Error::new(err).context(format!("--text {text}"))
        }
        (LoadError::NoTextColumn { .. }, _) => {
            anyhow!("{err}; name one with --text COLUMN")
        }
        (
            LoadError::Metric {
                problem: MetricError::Pattern { .. },
                ..
            },
            _,
        ) => anyhow::Error::new(err).context("--pattern"),
        _ => err.into(),
    }
}

/// An analysis error, with the flag that names the prompt column.
pub(super) fn analysis_error(err: AnalysisError) -> anyhow::Error {
    match err {
        AnalysisError::NoPromptColumn { .. } => anyhow!("{err}; name one with --prompt"),
        _ => err.into(),
    }
}
