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

/// The metric chosen on opening: a score-like number or true/false column
/// ([`Samples::score_like_column`]: `score`, `reward`, `win_prob`, `preference`, `rating`,
/// `is_correct`, `pass`, `label_confidence`, `toxicity`, `jailbroken`, … or a name holding
/// one, like `reward_score`), never the run's prompt, sample index or hyperparameter
/// columns, an identifier or a monotone integer column. The map's colour on opening
/// (`render::colors::default_color_column`) makes the same choice (the name rule lives in
/// `dataset::columns`, which the renderer may use).
pub fn score_like_column(samples: &Samples, schema: &RunSchema) -> Option<String> {
    let mut excluded: Vec<&str> = schema.hyperparameters.iter().map(String::as_str).collect();
    excluded.extend(schema.prompt.as_deref());
    excluded.extend(schema.sample_index.as_deref());
    samples.score_like_column(&excluded)
}

fn distinct_count(samples: &Samples, name: &str) -> Option<usize> {
    let col = samples.frame.column(name).ok()?;
    col.as_materialized_series().n_unique().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{LoadOptions, load};
    use crate::progress::{CancelToken, NoProgress};

    /// A table of `rows` JSON lines with a `text` column and `fields(i)` for row i.
    fn table(rows: usize, fields: impl Fn(usize) -> String) -> Samples {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let body: String = (0..rows)
            .map(|i| format!("{{\"text\": \"answer number {i}\", {}}}\n", fields(i)))
            .collect();
        std::fs::write(&path, body).unwrap();
        load(
            &path,
            &LoadOptions::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap()
    }

    fn pick(s: &Samples) -> Option<String> {
        score_like_column(s, &detect_schema(s))
    }

    #[test]
    fn a_score_beats_an_instruction_index() {
        // AlpacaEval's shape: instruction_index 0..n in row order, a float preference.
        let s = table(12, |i| {
            format!(
                "\"instruction_index\": {i}, \"score\": {}",
                [0.2, 0.9, 0.5][i % 3]
            )
        });
        assert_eq!(pick(&s).as_deref(), Some("score"));
        let s = table(12, |i| {
            format!(
                "\"instruction_index\": {i}, \"generator\": \"m{}\", \"gpt4_preference\": {}",
                i % 2,
                [0.2, 0.9, 0.5][i % 3]
            )
        });
        assert_eq!(pick(&s).as_deref(), Some("gpt4_preference"));
    }

    #[test]
    fn identifiers_are_never_the_metric() {
        let s = table(10, |i| {
            format!(
                "\"id\": {i}, \"row\": {}, \"question_id\": {}, \"prompt_idx\": {}, \"score_id\": {}",
                i * 2,
                i / 3,
                i % 4,
                (i * 7) % 5
            )
        });
        assert_eq!(pick(&s), None);
        assert_eq!(s.score_like_column(&[]), None);
        // An unnamed counter (pandas' index) or one named like a score but counting rows.
        let s = table(10, |i| {
            format!("\"Unnamed: 0\": {i}, \"score\": {}", 100 - i)
        });
        assert_eq!(pick(&s), None, "a monotone integer column is not a score");
        // The same values out of order are a score.
        let s = table(10, |i| format!("\"rating\": {}", (i * 7) % 10));
        assert_eq!(pick(&s).as_deref(), Some("rating"));
    }

    #[test]
    fn label_confidence_not_label_and_whole_names_first() {
        let s = table(8, |i| {
            format!(
                "\"label\": {}, \"label_confidence\": {}",
                i % 2,
                0.5 + i as f64 / 20.0
            )
        });
        assert_eq!(pick(&s).as_deref(), Some("label_confidence"));
        // The earliest name of the list wins (`score` before `reward`), a whole name before
        // one holding it.
        let s = table(8, |i| {
            format!(
                "\"toxicity\": {}, \"reward\": {}, \"reward_score\": {}, \"score\": {}",
                i % 2,
                (i * 3) % 4,
                i % 3,
                (i * 5) % 7
            )
        });
        assert_eq!(pick(&s).as_deref(), Some("score"));
        let s = table(8, |i| {
            format!(
                "\"toxicity\": {}, \"reward\": {}, \"reward_score\": {}",
                i % 2,
                (i * 3) % 4,
                i % 3
            )
        });
        assert_eq!(pick(&s).as_deref(), Some("reward_score"));
        let s = table(8, |i| {
            format!("\"toxicity\": {}, \"rewardScore\": {}", i % 2, i % 3)
        });
        assert_eq!(pick(&s).as_deref(), Some("rewardScore"), "camelCase words");
    }

    #[test]
    fn true_false_counts_and_text_does_not() {
        let s = table(6, |i| {
            format!(
                "\"passed\": {}, \"model\": \"m{}\", \"correct\": \"{}\"",
                i % 2 == 0,
                i % 2,
                ["yes", "no"][i % 2]
            )
        });
        assert_eq!(
            pick(&s).as_deref(),
            Some("passed"),
            "a string 'correct' is no metric"
        );
        // Words must match whole: `passage`, `incorrect` hold no score name.
        let s = table(6, |i| {
            format!("\"passage_len\": {}, \"incorrect\": {}", i * i % 5, i % 2)
        });
        assert_eq!(pick(&s), None);
    }
}
