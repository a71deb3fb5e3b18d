//! Sampling-run analysis: which columns describe the run (prompt id, sample index,
//! hyperparameters), a per-setting table of a metric, and best-of-N / pass@N curves with the
//! unbiased estimators from all k samples of a prompt.
//!
//! - [`schema`]: detect the run's columns by name and shape.
//! - [`stats`]: confidence intervals, medians, Fisher / Welch tests, q-values.
//! - [`settings`]: the per-setting table of a metric.
//! - [`best_of_n`]: best-of-N and pass@N curves.
//! - [`paired`]: settings compared on the prompts they share (paired differences, wins).
//! - [`regions`]: regions of the 2-D layout (density-grid clustering, two levels, noise).
//! - [`labels`]: region labels from distinctive terms (c-TF-IDF).
//! - [`region_stats`]: regions ranked by a metric (tests, q-values), a region's composition.
//!
//! This file: the columns an analysis reads (group keys, metric values) and its errors.

pub mod best_of_n;
pub mod labels;
pub mod paired;
pub mod region_shift;
pub mod region_stats;
pub mod regions;
pub mod schema;
pub mod settings;
pub mod stats;

use rustc_hash::FxHashMap;

use polars::prelude::DataType;

use crate::dataset::Samples;

pub use best_of_n::{Curve, CurvePoint, best_of_n, expected_max, pass_at};
pub use labels::{LabelError, UNCLUSTERED, label_text, region_terms};
pub use paired::{PairRow, Paired, PairedError, paired_table, setting_label};
pub use region_stats::{
    DEFAULT_MIN_SUPPORT, RegionStat, ValueShare, Worse, default_worse, rank_regions,
    region_composition, worse_from_name,
};
pub use schema::{RunSchema, detect_schema};
pub use settings::{SettingRow, settings_table};
pub use stats::{mean_ci, median, t975};

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("{path}: no column named '{column}' (columns: {available})")]
    MissingColumn {
        path: String,
        column: String,
        available: String,
    },
    #[error("{path}: column '{column}' holds {dtype}; the metric must be numbers or true/false")]
    NotNumeric {
        path: String,
        column: String,
        dtype: String,
    },
    #[error(
        "{path}: no prompt column found (looked for {}); name the prompt column",
        schema::PROMPT_NAMES.join(", ")
    )]
    NoPromptColumn { path: String },
}

/// Each row's group key: the values of the `by` columns as text (missing → "null").
pub fn group_keys(samples: &Samples, by: &[String]) -> Result<Vec<Vec<String>>, AnalysisError> {
    let cols = by
        .iter()
        .map(|name| string_values(samples, name))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..samples.len())
        .map(|r| cols.iter().map(|c| c[r].clone()).collect())
        .collect())
}

fn missing(samples: &Samples, column: &str) -> AnalysisError {
    AnalysisError::MissingColumn {
        path: samples.path.display().to_string(),
        column: column.to_string(),
        available: samples
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A column's values as display text, one per row.
pub fn string_values(samples: &Samples, name: &str) -> Result<Vec<String>, AnalysisError> {
    let col = samples
        .frame
        .column(name)
        .map_err(|_| missing(samples, name))?;
    let s = col
        .as_materialized_series()
        .cast(&DataType::String)
        .map_err(|_| missing(samples, name))?;
    let ca = s.str().map_err(|_| missing(samples, name))?;
    Ok(ca.iter().map(|v| v.unwrap_or("null").to_string()).collect())
}

/// A metric column as numbers (true = 1, false = 0; missing and non-finite → `None`), and
/// whether it is boolean.
pub fn metric_values(
    samples: &Samples,
    name: &str,
) -> Result<(Vec<Option<f64>>, bool), AnalysisError> {
    let col = samples
        .frame
        .column(name)
        .map_err(|_| missing(samples, name))?;
    let s = col.as_materialized_series();
    let is_bool = s.dtype() == &DataType::Boolean;
    if !(is_bool || s.dtype().is_primitive_numeric()) {
        return Err(AnalysisError::NotNumeric {
            path: samples.path.display().to_string(),
            column: name.to_string(),
            dtype: s.dtype().to_string(),
        });
    }
    let f = s
        .cast(&DataType::Float64)
        .map_err(|_| missing(samples, name))?;
    let ca = f.f64().map_err(|_| missing(samples, name))?;
    Ok((
        ca.iter().map(|v| v.filter(|x| x.is_finite())).collect(),
        is_bool,
    ))
}

/// Rows grouped by key, groups in natural order of their key.
pub fn groups(keys: &[Vec<String>]) -> Vec<(Vec<String>, Vec<u32>)> {
    let mut map: FxHashMap<&[String], Vec<u32>> = FxHashMap::default();
    for (r, k) in keys.iter().enumerate() {
        map.entry(k.as_slice()).or_default().push(r as u32);
    }
    let mut out: Vec<(Vec<String>, Vec<u32>)> =
        map.into_iter().map(|(k, v)| (k.to_vec(), v)).collect();
    out.sort_by(|a, b| {
        a.0.iter()
            .zip(&b.0)
            .map(|(x, y)| crate::util::text::natural_cmp(x, y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}
