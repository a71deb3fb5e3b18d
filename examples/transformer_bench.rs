//! Transformer embedder throughput: texts/s and GFLOP/s of the encoder on a file's texts.
//!
//! ```text
//! cargo run --release --example transformer_bench -- MODEL_DIR FILE [TEXTS] [THREADS]
//! cargo run --release --example transformer_bench -- precision MODEL_DIR REFERENCE_DIR
//! ```
//!
//! `precision`: the worst and mean cosine with the reference vectors (all-MiniLM-L6-v2's
//! reference folder: texts.jsonl, vectors.npy) of f32 weights and of weights rounded to f16
//! and to int8 (one scale per output row).
//!
//! Embeds the first TEXTS texts of FILE (default 2000) with THREADS rayon threads (default:
//! all cores) and prints texts/s, tokens/s, the mean token count and the encoder's
//! arithmetic rate (2 · parameters of the matrices per token, plus attention).

use std::path::Path;
use std::time::Instant;

use sample_atlas::dataset::{self, LoadOptions};
use sample_atlas::embedding::transformer::Precision;
use sample_atlas::embedding::{Embedder, TransformerEmbedder};
use sample_atlas::progress::{CancelToken, NoProgress};

/// CPU seconds this process has used (user + system), from /proc (Linux; 0 elsewhere). On a
/// shared machine, texts per CPU-second tells the rate the cores would give undisturbed.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // utime and stime are fields 14 and 15 of the line, i.e. 11 and 12 after the state.
    f.get(10)
        .zip(f.get(11))
        .map_or(0.0, |(u, s)| (u + s) / 100.0)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("precision") && args.len() == 3 {
        return precision(Path::new(&args[1]), Path::new(&args[2]));
    }
    if args.len() < 2 {
        eprintln!("usage: transformer_bench MODEL_DIR FILE [TEXTS] [THREADS]");
        std::process::exit(2);
    }
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    if let Some(t) = args.get(3) {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t.parse()?)
            .build_global()?;
    }
    let t = Instant::now();
    let model = TransformerEmbedder::load(Path::new(&args[0]))?;
    println!(
        "model loaded in {:.2} s: {}",
        t.elapsed().as_secs_f64(),
        model.id()
    );
    let cancel = CancelToken::new();
    let samples = dataset::load(
        Path::new(&args[1]),
        &LoadOptions::default(),
        &NoProgress,
        &cancel,
    )?;
    let texts: Vec<String> = samples.texts.iter().take(n).cloned().collect();
    let t = Instant::now();
    let tokens: usize = texts
        .iter()
        .map(|s| model.token_ids(s).map(|(ids, _)| ids.len()).unwrap_or(0))
        .sum();
    let tok_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let cpu0 = cpu_seconds();
    let e = model.embed(&texts, &NoProgress, &cancel)?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let c = model.description().encoder.clone();
    let per_token = 2.0
        * c.layers as f64
        * (4.0 * (c.hidden * c.hidden) as f64 + 2.0 * (c.hidden * c.intermediate) as f64);
    let mean_chars =
        texts.iter().map(|s| s.chars().count()).sum::<usize>() as f64 / texts.len() as f64;
    println!(
        "{} texts ({:.0} chars, {:.1} tokens on average; tokenising alone {:.2} s on one thread), {} threads: {:.2} s, {:.0} texts/s, {:.0} tokens/s, {:.1} GFLOP/s in the matrices; {} dims",
        texts.len(),
        mean_chars,
        tokens as f64 / texts.len() as f64,
        tok_s,
        rayon::current_num_threads(),
        secs,
        texts.len() as f64 / secs,
        tokens as f64 / secs,
        tokens as f64 * per_token / secs / 1e9,
        e.dims
    );
    println!(
        "CPU time {cpu:.2} s ({:.2} cores busy on average): {:.0} texts per CPU-second, {:.1} GFLOP per CPU-second",
        cpu / secs,
        texts.len() as f64 / cpu,
        tokens as f64 * per_token / cpu / 1e9
    );
    Ok(())
}

fn precision(model_dir: &Path, reference: &Path) -> anyhow::Result<()> {
    let texts: Vec<String> = std::fs::read_to_string(reference.join("texts.jsonl"))?
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)?;
            Ok(v["text"].as_str().unwrap_or_default().to_string())
        })
        .collect::<anyhow::Result<_>>()?;
    let want = sample_atlas::embedding::vectors::read_npy(&reference.join("vectors.npy"))?;
    println!("| weights | worst cosine | mean cosine | texts below 0.9999 |");
    println!("|---|---|---|---|");
    for p in [None, Some(Precision::F16), Some(Precision::Int8)] {
        let mut model = TransformerEmbedder::load(model_dir)?;
        if let Some(p) = p {
            model.round_weights(p);
        }
        let got = model.embed(&texts, &NoProgress, &CancelToken::new())?;
        let cos: Vec<f64> = (0..texts.len())
            .map(|i| {
                let (a, b) = (got.row(i), want.row(i));
                let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
                let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
                dot / (n(a) * n(b))
            })
            .collect();
        let worst = cos.iter().copied().fold(1.0, f64::min);
        let mean = cos.iter().sum::<f64>() / cos.len() as f64;
        let below = cos.iter().filter(|&&c| c < 0.9999).count();
        let name = p.map_or("f32".to_string(), |p| format!("{p:?}"));
        println!("| {name} | {worst:.7} | {mean:.7} | {below} |");
    }
    Ok(())
}
