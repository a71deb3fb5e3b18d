//! `compare`: settings paired on shared prompts, checked against a computation from the raw
//! JSON lines of the bundled sweep.

use std::collections::BTreeMap;

use crate::cli::{atlas, stderr, tmp};
use crate::sample;

/// Per-prompt mean score of each model, read from the sweep's raw lines: model → prompt →
/// mean.
fn sweep_prompt_means(metric: &str) -> BTreeMap<String, BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(sample("sweep.jsonl")).unwrap();
    let mut acc: BTreeMap<String, BTreeMap<String, (f64, f64)>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let x = match &v[metric] {
            serde_json::Value::Bool(b) => f64::from(u8::from(*b)),
            other => other.as_f64().unwrap(),
        };
        let e = acc
            .entry(v["model"].as_str().unwrap().to_string())
            .or_default()
            .entry(v["prompt_id"].as_str().unwrap().to_string())
            .or_default();
        e.0 += x;
        e.1 += 1.0;
    }
    acc.into_iter()
        .map(|(m, ps)| (m, ps.into_iter().map(|(p, (s, n))| (p, s / n)).collect()))
        .collect()
}

/// ln Γ(x) for x a positive multiple of 1/2 (exact recurrences down to Γ(1) = 1, Γ(½) = √π).
fn ln_gamma_half(x: f64) -> f64 {
    let mut x = x;
    let mut acc = 0.0;
    while x > 1.0 {
        x -= 1.0;
        acc += x.ln();
    }
    if (x - 0.5).abs() < 1e-12 {
        acc + std::f64::consts::PI.sqrt().ln()
    } else {
        acc
    }
}

/// Two-sided p of Student's t with integer `df`: Simpson's rule on the density from |t| to 60
/// (the tail beyond is far below the tolerance for these df).
fn t_two_sided_by_integration(t: f64, df: f64) -> f64 {
    let c = (ln_gamma_half((df + 1.0) / 2.0)
        - ln_gamma_half(df / 2.0)
        - 0.5 * (df * std::f64::consts::PI).ln())
    .exp();
    let f = |x: f64| c * (1.0 + x * x / df).powf(-(df + 1.0) / 2.0);
    let (a, b, n) = (t.abs(), 60.0, 200_000);
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for i in 1..n {
        let x = a + i as f64 * h;
        s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(x);
    }
    2.0 * s * h / 3.0
}

#[test]
fn compare_matches_a_computation_from_the_raw_rows() {
    let dir = tmp();
    let json_out = dir.path().join("pairs.json");
    let csv_out = dir.path().join("pairs.csv");
    for o in [&json_out, &csv_out] {
        let r = atlas(&[
            "compare",
            sample("sweep.jsonl").to_str().unwrap(),
            "--by",
            "model",
            "--metric",
            "score",
            "-o",
            o.to_str().unwrap(),
        ]);
        assert!(r.status.success(), "{}", stderr(&r));
        let err = stderr(&r);
        assert!(err.contains("prompt column 'prompt_id' (detected"), "{err}");
        assert!(err.contains("B − A"), "{err}");
        // stdout is the table alone: a header and one line per pair.
        let out = String::from_utf8_lossy(&r.stdout);
        assert_eq!(out.lines().count(), 4, "{out}");
        assert!(
            out.lines()
                .next()
                .unwrap()
                .trim_start()
                .starts_with("a_model")
        );
    }
    let csv = std::fs::read_to_string(&csv_out).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "a_model,b_model,shared,mean_a,mean_b,diff,ci_low,ci_high,p,q,wins,ties,losses,win_rate"
    );
    let pairs: Vec<(String, String)> = lines
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[0].to_string(), c[1].to_string())
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("base-8b", "chat-8b"),
        ("base-8b", "tiny-1b"),
        ("chat-8b", "tiny-1b"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(pairs, want);

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_out).unwrap()).unwrap();
    assert_eq!(report["metric"], "score");
    assert_eq!(report["prompt"], "prompt_id");
    let c = &report["comparison"];
    assert_eq!(c["settings"], 3);
    assert_eq!(c["higher_is_better"], true);
    assert!(c["baseline"].is_null());
    let rows = c["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    // base-8b (A) against chat-8b (B), from the raw lines.
    let means = sweep_prompt_means("score");
    let (a, b) = (&means["base-8b"], &means["chat-8b"]);
    let d: Vec<f64> = a.iter().map(|(p, x)| b[p] - x).collect();
    let n = d.len() as f64;
    assert_eq!(n, 24.0);
    let mean = d.iter().sum::<f64>() / n;
    let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let se = sd / n.sqrt();
    let r = &rows[0];
    let num = |k: &str| r[k].as_f64().unwrap();
    assert_eq!(r["a"][0], "base-8b");
    assert_eq!(r["shared"], 24);
    assert!((num("diff") - mean).abs() < 1e-12, "{r}");
    assert!((num("mean_a") - a.values().sum::<f64>() / n).abs() < 1e-12);
    // t(0.975, 23) = 2.069 from the textbook table.
    assert!((num("ci_low") - (mean - 2.069 * se)).abs() < 1e-9, "{r}");
    assert!((num("ci_high") - (mean + 2.069 * se)).abs() < 1e-9, "{r}");
    let p = t_two_sided_by_integration(mean / se, n - 1.0);
    assert!(
        (num("p") - p).abs() < 1e-7 * p.max(1e-3),
        "{} vs {p}",
        num("p")
    );
    let wins = d.iter().filter(|x| **x > 0.0).count();
    let losses = d.iter().filter(|x| **x < 0.0).count();
    assert_eq!(r["wins"], wins);
    assert_eq!(r["losses"], losses);
    assert_eq!(r["ties"], 24 - wins - losses);
    let rate = (wins as f64 + (24 - wins - losses) as f64 / 2.0) / 24.0;
    assert!((num("win_rate") - rate).abs() < 1e-12);
    // BH over three p-values: the largest keeps its p.
    let ps: Vec<f64> = rows.iter().map(|r| r["p"].as_f64().unwrap()).collect();
    let (imax, pmax) = ps
        .iter()
        .enumerate()
        .max_by(|x, y| x.1.total_cmp(y.1))
        .unwrap();
    assert!((rows[imax]["q"].as_f64().unwrap() - pmax).abs() < 1e-15);
}

#[test]
fn against_a_baseline_each_setting_is_b() {
    // `0` names the setting 0.0; a true/false metric compares pass rates (is_correct is set on
    // the 12 prompts with a checkable answer, so those are the shared ones).
    let r = atlas(&[
        "compare",
        sample("sweep.jsonl").to_str().unwrap(),
        "--by",
        "temperature",
        "--metric",
        "is_correct",
        "--baseline",
        "0",
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    let out = String::from_utf8_lossy(&r.stdout);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0][..3], ["a_temperature", "b_temperature", "shared"]);
    assert_eq!(lines.len(), 4, "{out}");
    for (l, t) in lines[1..].iter().zip(["0.5", "1.0", "1.5"]) {
        assert_eq!((l[0], l[1], l[2]), ("0.0", t, "12"), "{out}");
        let diff: f64 = l[5].parse().unwrap();
        let (ma, mb): (f64, f64) = (l[3].parse().unwrap(), l[4].parse().unwrap());
        assert!((diff - (mb - ma)).abs() < 2e-4, "{out}");
        assert!((0.0..=1.0).contains(&ma) && (0.0..=1.0).contains(&mb));
    }
}

#[test]
fn bad_baselines_and_missing_prompts_fail_with_the_flag() {
    let r = atlas(&[
        "compare",
        sample("sweep.jsonl").to_str().unwrap(),
        "--by",
        "model",
        "--metric",
        "score",
        "--baseline",
        "gpt-9",
    ]);
    assert_eq!(r.status.code(), Some(1));
    let err = stderr(&r);
    assert!(
        err.contains("--baseline")
            && err.contains("no setting 'gpt-9' of model")
            && err.contains("base-8b; chat-8b; tiny-1b"),
        "{err}"
    );
    assert!(r.stdout.is_empty());
    // The chat sample has no prompt column.
    let r = atlas(&[
        "compare",
        sample("chat.jsonl").to_str().unwrap(),
        "--by",
        "model",
        "--metric",
        "rating",
    ]);
    assert_eq!(r.status.code(), Some(1));
    let err = stderr(&r);
    assert!(
        err.contains("--prompt") && err.contains("no prompt column"),
        "{err}"
    );
    // A flag clap does not know is a usage error.
    let r = atlas(&[
        "compare",
        sample("sweep.jsonl").to_str().unwrap(),
        "--metric",
        "score",
        "--worse",
        "sideways",
    ]);
    assert_eq!(r.status.code(), Some(2));
}

#[test]
fn bon_with_one_sample_per_prompt_says_so() {
    // Grouped down to single samples, every prompt has one per setting.
    let r = atlas(&[
        "bon",
        sample("sweep.jsonl").to_str().unwrap(),
        "--by",
        "model,temperature,top_p,sample_index",
        "--metric",
        "score",
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("one sample per prompt and setting: best-of-N needs several"),
        "{}",
        stderr(&r)
    );
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(out.lines().next().unwrap().contains("estimator"));
    // Several samples: no note.
    let r = atlas(&[
        "bon",
        sample("sweep.jsonl").to_str().unwrap(),
        "--by",
        "model",
        "--metric",
        "score",
    ]);
    assert!(r.status.success());
    assert!(!stderr(&r).contains("one sample per prompt"));
}
