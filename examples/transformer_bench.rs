//! Transformer embedder throughput: texts/s and GFLOP/s of the encoder on a file's texts.
//!
//! ```text
//! cargo run --release --example transformer_bench -- MODEL_DIR FILE [TEXTS] [THREADS]
//! ```
//!
//! Embeds the first TEXTS texts of FILE (default 2000) with THREADS rayon threads (default:
//! all cores) and prints texts/s, tokens/s, the mean token count and the encoder's
//! arithmetic rate (2 · parameters of the matrices per token, plus attention).

use std::path::Path;
use std::time::Instant;

use sample_atlas::dataset::{self, LoadOptions};
use sample_atlas::embedding::{Embedder, TransformerEmbedder};
use sample_atlas::progress::{CancelToken, NoProgress};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
    let e = model.embed(&texts, &NoProgress, &cancel)?;
    let secs = t.elapsed().as_secs_f64();
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
    Ok(())
}
