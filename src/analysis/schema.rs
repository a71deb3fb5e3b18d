//! Which columns describe a sampling run: the prompt id, the sample index and the
//! hyperparameters, found by name (case-insensitive) and shape.

use crate::dataset::{ColumnKind, Samples};

/// Names that usually hold the prompt id, most specific first.
pub(crate) const PROMPT_NAMES: &[&str] = &[
    "prompt_id",
    "prompt_idx",
    "prompt_index",
    "question_id",
    "question_index",
    "question_idx",
    "problem_id",
    "task_id",
    "example_id",
    "item_id",
    "instance_id",
    "prompt",
    "question",
    "problem",
    "instruction",
];
const SAMPLE_NAMES: &[&str] = &[
    "sample_idx",
    "sample_index",
    "sample_id",
    "sample",
    "completion_idx",
    "completion_index",
    "generation_idx",
    "attempt",
];
/// Hyperparameters of a sampling run.
const HYPER_NAMES: &[&str] = &[
    "model",
    "temperature",
    "temp",
    "top_p",
    "top_k",
    "min_p",
    "typical_p",
    "best_of",
    "n",
    "max_tokens",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "sampler",
    "decoding",
    "system_prompt_id",
    "params",
    "method",
];

/// A numeric column with at most this many distinct values can be a hyperparameter.
const MAX_SETTINGS: usize = 50;

/// The columns that describe a sampling run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RunSchema {
    pub prompt: Option<String>,
    pub sample_index: Option<String>,
    pub hyperparameters: Vec<String>,
}

/// Detect the run's columns by name (case-insensitive) and shape: a prompt column repeats
/// values; hyperparameters are columns with few distinct values.
pub fn detect_schema(samples: &Samples) -> RunSchema {
    let find = |names: &[&str], ok: &dyn Fn(&str) -> bool| {
        names.iter().find_map(|want| {
            samples
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(want) && ok(&c.name))
                .map(|c| c.name.clone())
        })
    };
    let n = samples.len();
    let repeats = |name: &str| distinct_count(samples, name).is_some_and(|d| d < n && d > 0);
    let prompt = find(PROMPT_NAMES, &|c| c != samples.text_column && repeats(c));
    let sample_index = find(SAMPLE_NAMES, &|c| c != samples.text_column);
    let hyperparameters = HYPER_NAMES
        .iter()
        .filter_map(|want| {
            samples
                .columns
                .iter()
                .find(|c| {
                    let few = match c.kind {
                        ColumnKind::Category { .. } => true,
                        ColumnKind::Numeric { .. } => {
                            distinct_count(samples, &c.name).is_some_and(|d| d <= MAX_SETTINGS)
                        }
                        _ => false,
                    };
                    c.name.eq_ignore_ascii_case(want) && few && Some(&c.name) != prompt.as_ref()
                })
                .map(|c| c.name.clone())
        })
        .collect();
    RunSchema {
        prompt,
        sample_index,
        hyperparameters,
    }
}

fn distinct_count(samples: &Samples, name: &str) -> Option<usize> {
    let col = samples.frame.column(name).ok()?;
    col.as_materialized_series().n_unique().ok()
}
