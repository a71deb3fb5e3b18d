//! Paired comparison on shared prompts: when settings answered the same prompts, for each pair
//! of settings (or each setting against a baseline) the mean per-prompt difference of a metric
//! with a paired 95% t interval and p-value, win / tie / loss counts, the win rate, and
//! Benjamini–Hochberg q-values across the pairs compared.
//!
//! Conventions:
//! - A setting's value on a prompt is the mean of its samples' metric values there (rows
//!   without a metric value or without a prompt id are left out); for a true/false metric it
//!   is the prompt's pass rate, so differences are differences of pass rates.
//! - A pair is (A, B): with a baseline, A is the baseline and B each other setting; without,
//!   every pair with A before B in the per-setting table's order. The difference is **B − A**,
//!   per prompt, over the prompts both have a value on (the shared prompts).
//! - A **win** is a shared prompt where B is better than A — higher, or lower for a metric
//!   where higher is worse — a **tie** where they are equal (to 1e-12, relative), a **loss**
//!   otherwise. The **win rate** counts a tie as half a win: (wins + ties / 2) / shared.
//! - The interval is the paired t interval of the differences (t with shared − 1 degrees of
//!   freedom), the p-value the two-sided paired t-test of mean difference 0; with fewer than two
//!   shared prompts neither exists. When every difference is the same, p is 1 if it is 0 and 0
//!   otherwise.

use rustc_hash::FxHashMap;

use super::region_stats::Worse;
use super::stats::{bh_qvalues, mean_ci, t_two_sided_p};
use super::{AnalysisError, group_keys, groups, metric_values, string_values};
use crate::dataset::Samples;

#[derive(Debug, thiserror::Error)]
pub enum PairedError {
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(
        "{path}: grouping by {by} gives {settings} setting(s); a paired comparison needs at least 2"
    )]
    TooFewSettings {
        path: String,
        by: String,
        settings: usize,
    },
    #[error("{path}: no setting '{value}' of {by} (settings: {available})")]
    NoSuchBaseline {
        path: String,
        by: String,
        value: String,
        available: String,
    },
    #[error(
        "{path}: no two settings of {by} compared have a value of '{metric}' on the same prompt \
         (prompt column '{prompt}'); nothing to pair"
    )]
    NoSharedPrompts {
        path: String,
        by: String,
        metric: String,
        prompt: String,
    },
}

/// One pair of settings compared on their shared prompts. See the module docs for the
/// conventions.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PairRow {
    /// The first setting (the baseline, when there is one): values of the `by` columns.
    pub a: Vec<String>,
    /// The second setting.
    pub b: Vec<String>,
    /// Prompts both settings have a value on.
    pub shared: usize,
    /// Means over the shared prompts of A's and B's per-prompt values.
    pub mean_a: f64,
    pub mean_b: f64,
    /// Mean per-prompt difference B − A, and its paired 95% t interval.
    pub diff: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Two-sided paired t-test of mean difference 0 (none below 2 shared prompts).
    pub p: Option<f64>,
    /// Benjamini–Hochberg q-value across the rows compared.
    pub q: Option<f64>,
    /// Shared prompts where B is better, equal, worse.
    pub wins: usize,
    pub ties: usize,
    pub losses: usize,
    /// (wins + ties / 2) / shared.
    pub win_rate: f64,
}

/// The paired comparison of a metric's settings.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Paired {
    /// The baseline every row's A is, or none (every pair).
    pub baseline: Option<Vec<String>>,
    /// Whether a win is a higher value of the metric (else a lower one).
    pub higher_is_better: bool,
    /// Settings in the table.
    pub settings: usize,
    pub rows: Vec<PairRow>,
}

/// A setting's display name: its values joined by ",".
pub fn setting_label(setting: &[String]) -> String {
    setting.join(",")
}

/// Whether a setting is the one named by `wanted` (values of the `by` columns): each value
/// equal as text, or as numbers (`0` names the setting `0.0`).
fn names(setting: &[String], wanted: &[String]) -> bool {
    setting.len() == wanted.len()
        && setting.iter().zip(wanted).all(|(s, w)| {
            s == w
                || matches!(
                    (s.trim().parse::<f64>(), w.trim().parse::<f64>()),
                    (Ok(x), Ok(y)) if x == y
                )
        })
}

/// Mean of each prompt's values: (prompt id, mean), sorted by id.
fn prompt_means(
    rows: &[u32],
    prompt_ids: &[Option<u32>],
    values: &[Option<f64>],
) -> Vec<(u32, f64)> {
    let mut v: Vec<(u32, f64)> = rows
        .iter()
        .filter_map(|&r| Some((prompt_ids[r as usize]?, values[r as usize]?)))
        .collect();
    v.sort_by_key(|&(p, _)| p);
    let mut out: Vec<(u32, f64)> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let p = v[i].0;
        let (mut sum, mut n) = (0.0, 0usize);
        while i < v.len() && v[i].0 == p {
            sum += v[i].1;
            n += 1;
            i += 1;
        }
        out.push((p, sum / n as f64));
    }
    out
}

/// Whether two per-prompt values are equal (a tie), allowing for rounding in their means.
fn tie(a: f64, b: f64) -> bool {
    (b - a).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

/// The statistics of B against A over their shared prompts (both sorted by prompt id).
fn compare(
    a: (&[String], &[(u32, f64)]),
    b: (&[String], &[(u32, f64)]),
    higher_is_better: bool,
) -> PairRow {
    let (mut i, mut j) = (0, 0);
    let (xa, xb) = (a.1, b.1);
    let mut diffs = Vec::new();
    let (mut sum_a, mut sum_b) = (0.0, 0.0);
    let (mut wins, mut ties, mut losses) = (0, 0, 0);
    while i < xa.len() && j < xb.len() {
        match xa[i].0.cmp(&xb[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let (va, vb) = (xa[i].1, xb[j].1);
                sum_a += va;
                sum_b += vb;
                diffs.push(vb - va);
                if tie(va, vb) {
                    ties += 1;
                } else if (vb > va) == higher_is_better {
                    wins += 1;
                } else {
                    losses += 1;
                }
                i += 1;
                j += 1;
            }
        }
    }
    let shared = diffs.len();
    let (diff, ci_low, ci_high) = mean_ci(&diffs);
    let p = (shared >= 2).then(|| {
        let var = diffs.iter().map(|d| (d - diff).powi(2)).sum::<f64>() / (shared - 1) as f64;
        let se = (var / shared as f64).sqrt();
        if se > 0.0 {
            t_two_sided_p(diff / se, (shared - 1) as f64)
        } else if diff == 0.0 {
            1.0
        } else {
            0.0
        }
    });
    let n = shared as f64;
    PairRow {
        a: a.0.to_vec(),
        b: b.0.to_vec(),
        shared,
        mean_a: sum_a / n,
        mean_b: sum_b / n,
        diff,
        ci_low,
        ci_high,
        p,
        q: None,
        wins,
        ties,
        losses,
        win_rate: (wins as f64 + ties as f64 / 2.0) / n,
    }
}

/// The paired comparison of `metric` between the settings of the `by` columns on the prompts
/// of the `prompt` column: every pair, or each setting against `baseline` (values of the `by`
/// columns). `worse` says which direction of the metric is bad (for wins and losses).
pub fn paired_table(
    samples: &Samples,
    by: &[String],
    metric: &str,
    prompt: Option<&str>,
    baseline: Option<&[String]>,
    worse: Worse,
) -> Result<Paired, PairedError> {
    let path = samples.input_label();
    let prompt = prompt.ok_or_else(|| AnalysisError::NoPromptColumn { path: path.clone() })?;
    let keys = group_keys(samples, by)?;
    let (values, _) = metric_values(samples, metric)?;
    let prompt_text = string_values(samples, prompt)?;
    // Rows without a prompt id belong to no prompt (two of them are not "the same prompt").
    let has_prompt: Vec<bool> = match samples.frame.column(prompt) {
        Ok(c) => c
            .as_materialized_series()
            .is_not_null()
            .iter()
            .map(|v| v == Some(true))
            .collect(),
        Err(_) => vec![true; samples.len()],
    };
    let mut ids: FxHashMap<&str, u32> = FxHashMap::default();
    let prompt_ids: Vec<Option<u32>> = prompt_text
        .iter()
        .zip(&has_prompt)
        .map(|(p, &ok)| {
            ok.then(|| {
                let next = ids.len() as u32;
                *ids.entry(p.as_str()).or_insert(next)
            })
        })
        .collect();
    let by_label = if by.is_empty() {
        "no column".to_string()
    } else {
        by.join(", ")
    };
    let settings = groups(&keys);
    if settings.len() < 2 {
        return Err(PairedError::TooFewSettings {
            path,
            by: by_label,
            settings: settings.len(),
        });
    }
    let means: Vec<Vec<(u32, f64)>> = settings
        .iter()
        .map(|(_, rows)| prompt_means(rows, &prompt_ids, &values))
        .collect();
    let higher_is_better = worse == Worse::Lower;
    let side = |i: usize| (settings[i].0.as_slice(), means[i].as_slice());
    let base_index = match baseline {
        Some(base) => Some(
            settings
                .iter()
                .position(|(s, _)| names(s, base))
                .ok_or_else(|| PairedError::NoSuchBaseline {
                    path: path.clone(),
                    by: by_label.clone(),
                    value: setting_label(base),
                    available: settings
                        .iter()
                        .map(|(s, _)| setting_label(s))
                        .collect::<Vec<_>>()
                        .join("; "),
                })?,
        ),
        None => None,
    };
    let pairs: Vec<(usize, usize)> = match base_index {
        Some(k) => (0..settings.len())
            .filter(|&j| j != k)
            .map(|j| (k, j))
            .collect(),
        None => (0..settings.len())
            .flat_map(|i| (i + 1..settings.len()).map(move |j| (i, j)))
            .collect(),
    };
    let mut rows: Vec<PairRow> = pairs
        .into_iter()
        .map(|(i, j)| compare(side(i), side(j), higher_is_better))
        .collect();
    if rows.iter().all(|r| r.shared == 0) {
        return Err(PairedError::NoSharedPrompts {
            path,
            by: by_label,
            metric: metric.to_string(),
            prompt: prompt.to_string(),
        });
    }
    let q = bh_qvalues(&rows.iter().map(|r| r.p).collect::<Vec<_>>());
    for (r, q) in rows.iter_mut().zip(q) {
        r.q = q;
    }
    Ok(Paired {
        baseline: base_index.map(|k| settings[k].0.clone()),
        higher_is_better,
        settings: settings.len(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples from JSON lines (a `text` column is added).
    fn samples_of(lines: &[serde_json::Value]) -> (tempfile::TempDir, Samples) {
        let body: String = lines
            .iter()
            .map(|l| {
                let mut l = l.clone();
                l["text"] = serde_json::json!("an answer");
                format!("{l}\n")
            })
            .collect();
        crate::testing::samples_from_jsonl(&body)
    }

    fn row(model: &str, prompt: &str, score: Option<f64>) -> serde_json::Value {
        serde_json::json!({"model": model, "prompt_id": prompt, "score": score})
    }

    /// The hand-worked table: A and B share p1..p5 (A has two samples on p1, mean 0.3; B has
    /// a sample without a score on p2); p6 is A's only, p7 B's only.
    fn hand_table() -> Vec<serde_json::Value> {
        vec![
            row("A", "p1", Some(0.2)),
            row("A", "p1", Some(0.4)),
            row("A", "p2", Some(0.5)),
            row("A", "p3", Some(0.6)),
            row("A", "p4", Some(0.1)),
            row("A", "p5", Some(0.9)),
            row("A", "p6", Some(0.7)),
            row("B", "p1", Some(0.5)),
            row("B", "p2", Some(0.5)),
            row("B", "p2", None),
            row("B", "p3", Some(0.9)),
            row("B", "p4", Some(0.4)),
            row("B", "p5", Some(0.8)),
            row("B", "p7", Some(0.3)),
        ]
    }

    fn by_model() -> Vec<String> {
        vec!["model".to_string()]
    }

    #[test]
    fn a_hand_worked_pair_matches_the_textbook_paired_t() {
        let (_dir, s) = samples_of(&hand_table());
        let t = paired_table(
            &s,
            &by_model(),
            "score",
            Some("prompt_id"),
            None,
            Worse::Lower,
        )
        .unwrap();
        assert_eq!(t.settings, 2);
        assert!(t.higher_is_better);
        let [r] = t.rows.as_slice() else {
            panic!("one pair: {:?}", t.rows)
        };
        assert_eq!(
            (r.a.as_slice(), r.b.as_slice()),
            (&["A".to_string()][..], &["B".to_string()][..])
        );
        // Differences B − A on p1..p5: 0.2, 0.0, 0.3, 0.3, −0.1.
        assert_eq!(r.shared, 5);
        assert!((r.mean_a - 2.4 / 5.0).abs() < 1e-12, "{}", r.mean_a);
        assert!((r.mean_b - 3.1 / 5.0).abs() < 1e-12, "{}", r.mean_b);
        assert!((r.diff - 0.14).abs() < 1e-12);
        // Σ(d − d̄)² = 0.132, s² = 0.033, se = √(0.033 / 5); t(0.975, 4) = 2.776.
        let se = (0.033f64 / 5.0).sqrt();
        assert!(
            (r.ci_low - (0.14 - 2.776 * se)).abs() < 1e-9,
            "{}",
            r.ci_low
        );
        assert!(
            (r.ci_high - (0.14 + 2.776 * se)).abs() < 1e-9,
            "{}",
            r.ci_high
        );
        // Student's t with 4 df in closed form: F(t) = 1/2 + (3/8) u (1 − u² / 12),
        // u = t / √(1 + t² / 4).
        let tstat = 0.14 / se;
        let u = tstat / (1.0 + tstat * tstat / 4.0).sqrt();
        let cdf = 0.5 + 3.0 / 8.0 * u * (1.0 - u * u / 12.0);
        let p = 2.0 * (1.0 - cdf);
        assert!((r.p.unwrap() - p).abs() < 1e-9, "{:?} vs {p}", r.p);
        // Wins p1, p3, p4; tie p2; loss p5.
        assert_eq!((r.wins, r.ties, r.losses), (3, 1, 1));
        assert!((r.win_rate - 3.5 / 5.0).abs() < 1e-12);
        // One test: q = p.
        assert_eq!(r.q, r.p);
    }

    #[test]
    fn against_a_baseline_the_sign_and_the_wins_turn_round() {
        let (_dir, s) = samples_of(&hand_table());
        let base = vec!["B".to_string()];
        let t = paired_table(
            &s,
            &by_model(),
            "score",
            Some("prompt_id"),
            Some(&base),
            Worse::Lower,
        )
        .unwrap();
        let r = &t.rows[0];
        assert_eq!((r.a[0].as_str(), r.b[0].as_str()), ("B", "A"));
        assert!((r.diff + 0.14).abs() < 1e-12);
        assert_eq!((r.wins, r.ties, r.losses), (1, 1, 3));
        assert_eq!(t.baseline.as_deref(), Some(&base[..]));
        // Higher is worse: the same differences, wins and losses swapped.
        let t = paired_table(
            &s,
            &by_model(),
            "score",
            Some("prompt_id"),
            None,
            Worse::Higher,
        )
        .unwrap();
        let r = &t.rows[0];
        assert!((r.diff - 0.14).abs() < 1e-12);
        assert_eq!((r.wins, r.ties, r.losses), (1, 1, 3));
        assert!(!t.higher_is_better);
    }

    #[test]
    fn true_false_metrics_compare_pass_rates() {
        let b = |model: &str, prompt: &str, ok: bool| serde_json::json!({"model": model, "prompt_id": prompt, "is_correct": ok});
        // Pass rates: A p1 1/2, p2 0, p3 1; B p1 1, p2 1/2, p3 1 → diffs 0.5, 0.5, 0.
        let (_dir, s) = samples_of(&[
            b("A", "p1", true),
            b("A", "p1", false),
            b("A", "p2", false),
            b("A", "p3", true),
            b("B", "p1", true),
            b("B", "p2", true),
            b("B", "p2", false),
            b("B", "p3", true),
        ]);
        let t = paired_table(
            &s,
            &by_model(),
            "is_correct",
            Some("prompt_id"),
            None,
            Worse::Lower,
        )
        .unwrap();
        let r = &t.rows[0];
        assert_eq!(r.shared, 3);
        assert!((r.diff - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.mean_a - 0.5).abs() < 1e-12 && (r.mean_b - 2.5 / 3.0).abs() < 1e-12);
        assert_eq!((r.wins, r.ties, r.losses), (2, 1, 0));
        // d = 0.5, 0.5, 0: s² = 1/12, se = √(1/36) = 1/6, t(0.975, 2) = 4.303.
        assert!((r.ci_high - (1.0 / 3.0 + 4.303 / 6.0)).abs() < 1e-9);
        // t = 2 with 2 df: two-sided p = 1 − t / √(2 + t²) = 1 − 2 / √6.
        assert!((r.p.unwrap() - (1.0 - 2.0 / 6f64.sqrt())).abs() < 1e-9);
    }

    /// Per-prompt means of `model` computed directly from the rows (prompt → mean).
    fn direct_means(
        rows: &[(String, String, Option<f64>)],
        model: &str,
    ) -> std::collections::BTreeMap<String, f64> {
        let mut acc: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
        for (m, p, v) in rows {
            if m == model
                && let Some(v) = v
            {
                let e = acc.entry(p.clone()).or_default();
                e.0 += v;
                e.1 += 1.0;
            }
        }
        acc.into_iter().map(|(p, (s, n))| (p, s / n)).collect()
    }

    #[test]
    fn every_pair_matches_enumeration_and_q_values_follow_bh() {
        // Three models on 12 prompts with 1–3 samples each, some prompts and values missing;
        // values on a coarse grid so that ties happen.
        let mut state = 99u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let models = ["a", "b", "c"];
        let mut rows: Vec<(String, String, Option<f64>)> = Vec::new();
        for (mi, m) in models.iter().enumerate() {
            for p in 0..12 {
                if next() % 7 == 0 {
                    continue; // this model skipped the prompt
                }
                for _ in 0..1 + next() % 3 {
                    let v = (next() % 5) as f64 / 4.0 + 0.1 * mi as f64 * (p % 2) as f64;
                    let v = (next() % 11 != 0).then_some(v);
                    rows.push((m.to_string(), format!("q{p}"), v));
                }
            }
        }
        let lines: Vec<serde_json::Value> = rows.iter().map(|(m, p, v)| row(m, p, *v)).collect();
        let (_dir, s) = samples_of(&lines);
        let t = paired_table(
            &s,
            &by_model(),
            "score",
            Some("prompt_id"),
            None,
            Worse::Lower,
        )
        .unwrap();
        // Settings in order a, b, c: pairs (a, b), (a, c), (b, c).
        let want_pairs = [("a", "b"), ("a", "c"), ("b", "c")];
        assert_eq!(t.rows.len(), 3);
        // The table exercises ties, wins and losses.
        assert!(
            t.rows
                .iter()
                .all(|r| r.shared >= 5 && r.wins > 0 && r.losses > 0)
        );
        assert!(t.rows.iter().any(|r| r.ties > 0));
        for (r, (a, b)) in t.rows.iter().zip(want_pairs) {
            assert_eq!((r.a[0].as_str(), r.b[0].as_str()), (a, b));
            let (ma, mb) = (direct_means(&rows, a), direct_means(&rows, b));
            let shared: Vec<(f64, f64)> = ma
                .iter()
                .filter_map(|(p, &x)| mb.get(p).map(|&y| (x, y)))
                .collect();
            assert_eq!(r.shared, shared.len());
            let wins = shared.iter().filter(|(x, y)| y - x > 1e-9).count();
            let losses = shared.iter().filter(|(x, y)| x - y > 1e-9).count();
            assert_eq!((r.wins, r.losses), (wins, losses), "{a} {b}");
            assert_eq!(r.ties, shared.len() - wins - losses);
            let n = shared.len() as f64;
            let d: Vec<f64> = shared.iter().map(|(x, y)| y - x).collect();
            let mean = d.iter().sum::<f64>() / n;
            assert!((r.diff - mean).abs() < 1e-12);
            let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            // t(0.975, df) for df = 1..=11, from the textbook table.
            let t975 = [
                12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
            ][shared.len() - 2];
            assert!((r.ci_high - mean - t975 * sd / n.sqrt()).abs() < 1e-9);
        }
        // BH by hand: sort p, q_(3) = p_(3), q_(2) = min(q_(3), 3/2 p_(2)), q_(1) = min(q_(2), 3 p_(1)).
        let mut p: Vec<(f64, usize)> = t.rows.iter().map(|r| r.p.unwrap()).zip(0..).collect();
        p.sort_by(|x, y| x.0.total_cmp(&y.0));
        let q3 = p[2].0.min(1.0);
        let q2 = q3.min(1.5 * p[1].0);
        let q1 = q2.min(3.0 * p[0].0);
        for ((_, i), q) in p.iter().zip([q1, q2, q3]) {
            assert!((t.rows[*i].q.unwrap() - q).abs() < 1e-12);
        }
    }

    #[test]
    fn what_cannot_be_paired_says_why() {
        let (_dir, s) = samples_of(&hand_table());
        let err = |r: Result<Paired, PairedError>| r.unwrap_err().to_string();
        let e = paired_table(&s, &by_model(), "score", None, None, Worse::Lower).unwrap_err();
        assert!(matches!(
            e,
            PairedError::Analysis(AnalysisError::NoPromptColumn { .. })
        ));
        let e = err(paired_table(
            &s,
            &[],
            "score",
            Some("prompt_id"),
            None,
            Worse::Lower,
        ));
        assert!(e.contains("1 setting(s)"), "{e}");
        let base = vec!["C".to_string()];
        let e = err(paired_table(
            &s,
            &by_model(),
            "score",
            Some("prompt_id"),
            Some(&base),
            Worse::Lower,
        ));
        assert!(
            e.contains("no setting 'C' of model (settings: A; B)"),
            "{e}"
        );
        let e = err(paired_table(
            &s,
            &by_model(),
            "nope",
            Some("prompt_id"),
            None,
            Worse::Lower,
        ));
        assert!(e.contains("no column named 'nope'"), "{e}");
        // Disjoint prompts: nothing to pair.
        let (_dir, s) = samples_of(&[
            row("A", "p1", Some(1.0)),
            row("A", "p1", Some(0.0)),
            row("B", "p2", Some(1.0)),
            row("B", "p2", Some(0.5)),
        ]);
        let e = err(paired_table(
            &s,
            &by_model(),
            "score",
            Some("prompt_id"),
            None,
            Worse::Lower,
        ));
        assert!(e.contains("nothing to pair"), "{e}");
        // One shared prompt: a difference but no interval or p-value.
        let (_dir, s) = samples_of(&[
            row("A", "p1", Some(1.0)),
            row("A", "p2", Some(0.0)),
            row("B", "p1", Some(0.5)),
            row("B", "p3", Some(0.5)),
        ]);
        let t = paired_table(
            &s,
            &by_model(),
            "score",
            Some("prompt_id"),
            None,
            Worse::Lower,
        )
        .unwrap();
        let r = &t.rows[0];
        assert_eq!((r.shared, r.losses), (1, 1));
        assert!(
            (r.diff + 0.5).abs() < 1e-12 && r.ci_low.is_nan() && r.p.is_none() && r.q.is_none()
        );
    }

    #[test]
    fn a_constant_difference_is_certain_and_none_is_no_evidence() {
        let (_dir, s) = samples_of(&[
            row("A", "p1", Some(0.25)),
            row("A", "p2", Some(0.5)),
            row("B", "p1", Some(0.25)),
            row("B", "p2", Some(0.5)),
            row("C", "p1", Some(0.75)),
            row("C", "p2", Some(1.0)),
        ]);
        let t = paired_table(
            &s,
            &by_model(),
            "score",
            Some("prompt_id"),
            None,
            Worse::Lower,
        )
        .unwrap();
        assert_eq!(t.rows[0].p, Some(1.0)); // A vs B: identical
        assert_eq!(t.rows[0].ties, 2);
        assert_eq!(t.rows[1].p, Some(0.0)); // A vs C: +0.5 on both
        assert_eq!(t.rows[1].wins, 2);
    }
}
