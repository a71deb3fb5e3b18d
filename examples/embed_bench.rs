//! Embedder bench: throughput and map quality per embedder, and endpoint-client saturation.
//!
//! ```text
//! cargo run --release --example embed_bench -- quality FILE LABEL_COLUMN [every=N] [EMBEDDER ...]
//! cargo run --release --example embed_bench -- endpoint [SERVER_THREADS] [TEXTS]
//! ```
//!
//! `quality`: for the built-in lexical embedder and each EMBEDDER named (`model2vec:DIR`,
//! `transformer:DIR`, or a bare DIR for model2vec), embed every text — or every N-th row with
//! `every=N` — (texts/s), then the kNN(15) agreement of LABEL_COLUMN in the embedding space and in
//! the 2-D UMAP map (share of each point's 15 neighbours with its label; NN-descent above
//! 10k rows, as the app does).
//!
//! `endpoint`: a local OpenAI-compatible server with SERVER_THREADS workers, each answer
//! costing 2 ms + 50 µs per text (a stand-in for a GPU model) and carrying 384-d vectors.
//! Its capacity is measured first with an ideal load generator (4 × threads connections that
//! only read the bytes, base64 vectors as the client asks for), then the atlas client embeds
//! the same texts with the default settings and with other numbers of requests in flight.

#[path = "../tests/it/server.rs"]
#[allow(dead_code)]
mod server;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sample_atlas::dataset::{self, LoadOptions};
use sample_atlas::embedding::{
    Embedder, EndpointEmbedder, EndpointParams, LexicalEmbedder, LexicalParams, Model2VecEmbedder,
    TransformerEmbedder,
};
use sample_atlas::neighbors::{KnnMethod, KnnParams, Metric, knn};
use sample_atlas::progress::{CancelToken, NoProgress};
use sample_atlas::projection::quality::label_agreement;
use sample_atlas::projection::{UmapParams, umap_layout};
use sample_atlas::util::linalg::Rows;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("quality") if args.len() >= 3 => quality(&args[1], &args[2], &args[3..]),
        Some("endpoint") => endpoint(
            args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4),
            args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50_000),
        ),
        _ => {
            eprintln!(
                "usage: embed_bench quality FILE LABEL_COLUMN [every=N] [EMBEDDER ...] | endpoint [THREADS] [TEXTS]"
            );
            std::process::exit(2)
        }
    }
}

/// The embedders named on the command line (after the built-in lexical one).
fn named_embedders(specs: &[String]) -> anyhow::Result<Vec<Box<dyn Embedder>>> {
    let mut out: Vec<Box<dyn Embedder>> = Vec::new();
    for spec in specs.iter().filter(|s| !s.starts_with("every=")) {
        let e: Box<dyn Embedder> = match spec.split_once(':') {
            Some(("transformer", dir)) => {
                Box::new(TransformerEmbedder::load(std::path::Path::new(dir))?)
            }
            Some(("model2vec", dir)) => {
                Box::new(Model2VecEmbedder::load(std::path::Path::new(dir))?)
            }
            _ => Box::new(Model2VecEmbedder::load(std::path::Path::new(spec))?),
        };
        out.push(e);
    }
    Ok(out)
}

fn quality(file: &str, label: &str, rest: &[String]) -> anyhow::Result<()> {
    let cancel = CancelToken::new();
    let every: usize = rest
        .iter()
        .find_map(|s| s.strip_prefix("every="))
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1)
        .max(1);
    let mut samples = dataset::load(
        std::path::Path::new(file),
        &LoadOptions::default(),
        &NoProgress,
        &cancel,
    )?;
    if every > 1 {
        let keep: Vec<u32> = (0..samples.len() as u32).step_by(every).collect();
        let idx = polars::prelude::IdxCa::from_vec("idx".into(), keep.clone());
        samples.frame = samples.frame.take(&idx)?;
        let texts: Vec<String> = keep
            .iter()
            .map(|&i| samples.texts[i as usize].clone())
            .collect();
        samples.texts = std::sync::Arc::new(texts);
    }
    let n = samples.len();
    let col = samples
        .frame
        .column(label)?
        .cast(&polars::prelude::DataType::String)?;
    let mut codes = std::collections::HashMap::new();
    let labels: Vec<u32> = col
        .str()?
        .iter()
        .map(|v| {
            let next = codes.len() as u32;
            *codes.entry(v.unwrap_or("").to_string()).or_insert(next)
        })
        .collect();
    println!(
        "{file}: {n} rows, text '{}', {} labels in '{label}'",
        samples.text_column,
        codes.len()
    );
    let mut embedders: Vec<Box<dyn Embedder>> =
        vec![Box::new(LexicalEmbedder::new(LexicalParams {
            dims: 128,
            seed: 42,
            ..Default::default()
        }))];
    embedders.extend(named_embedders(rest)?);
    println!(
        "| embedder | dims | embed s | texts/s | kNN agreement, embedding | kNN agreement, 2-D map | map s |"
    );
    println!("|---|---|---|---|---|---|---|");
    for e in &embedders {
        let t = Instant::now();
        let emb = e.embed(&samples.texts, &NoProgress, &cancel)?;
        let embed_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let g = knn(
            Rows::new(&emb.data, emb.dims).unwrap(),
            &KnnParams {
                k: 15,
                metric: Metric::Cosine,
                method: KnnMethod::Auto,
                seed: 42,
            },
            &NoProgress,
            &cancel,
        )?;
        let a_emb = label_agreement(&g, &labels);
        let layout = umap_layout(
            Rows::new(&emb.data, emb.dims).unwrap(),
            &g,
            &UmapParams::default(),
            &NoProgress,
            &cancel,
        )?;
        let map_s = t.elapsed().as_secs_f64();
        let flat: Vec<f32> = layout.iter().flat_map(|p| [p[0], p[1]]).collect();
        let g2 = knn(
            Rows::new(&flat, 2).unwrap(),
            &KnnParams {
                k: 15,
                metric: Metric::Euclidean,
                method: KnnMethod::Auto,
                seed: 42,
            },
            &NoProgress,
            &cancel,
        )?;
        let a_map = label_agreement(&g2, &labels);
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.3} | {:.3} | {:.1} |",
            e.id(),
            emb.dims,
            embed_s,
            n as f64 / embed_s,
            a_emb,
            a_map,
            map_s
        );
    }
    // What agreement a label-blind neighbourhood would have: Σ share².
    let mut counts = vec![0usize; codes.len()];
    for &l in &labels {
        counts[l as usize] += 1;
    }
    let chance: f64 = counts.iter().map(|&c| (c as f64 / n as f64).powi(2)).sum();
    println!("chance agreement (random neighbours): {chance:.3}");
    Ok(())
}

const DIMS: usize = 384;

fn endpoint(threads: usize, n: usize) -> anyhow::Result<()> {
    let texts: Vec<String> = (0..n)
        .map(|i| {
            format!("sampled completion number {i}: the model says something moderately long here")
        })
        .collect();
    let vector: Vec<f32> = (0..DIMS).map(|d| (d as f32 * 0.37).sin() * 0.05).collect();
    let handler = move |_: usize, s: &server::Seen| {
        std::thread::sleep(Duration::from_micros(2000 + 50 * s.inputs.len() as u64));
        // Floats or base64, as the request asks (OpenAI, vLLM and TEI do both).
        let v = server::encode_vector(&vector, s.encoding_format == "base64");
        let data: Vec<serde_json::Value> = (0..s.inputs.len())
            .map(|i| serde_json::json!({"object": "embedding", "index": i, "embedding": v}))
            .collect();
        server::Answer::json(
            200,
            serde_json::json!({"object": "list", "data": data, "model": "bench"}).to_string(),
        )
    };
    let srv = server::TestServer::start(threads, handler);
    let batch = 128;

    // Capacity: an ideal client (many connections, reads bytes without parsing).
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_idle_connections_per_host(64)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let batches: Vec<&[String]> = texts.chunks(batch).collect();
    let next = AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads * 4 {
            s.spawn(|| {
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= batches.len() {
                        return;
                    }
                    let body = serde_json::json!({"model": "bench", "input": batches[b], "encoding_format": "base64"});
                    let mut r = agent
                        .post(format!("{}/v1/embeddings", srv.url))
                        .send_json(&body)
                        .expect("request");
                    let _ = r
                        .body_mut()
                        .with_config()
                        .limit(1 << 30)
                        .read_to_vec()
                        .expect("body");
                }
            });
        }
    });
    let capacity = n as f64 / t.elapsed().as_secs_f64();
    println!(
        "server: {threads} threads, 2 ms + 50 us/text per request, {DIMS}-d vectors, batches of {batch}"
    );
    println!(
        "capacity (ideal client, {} connections): {capacity:.0} texts/s",
        threads * 4
    );

    for concurrency in [EndpointParams::default().concurrency, threads, threads * 4] {
        let c = EndpointEmbedder::new(EndpointParams {
            url: srv.url.clone(),
            model: "bench".into(),
            batch_size: batch,
            concurrency,
            ..Default::default()
        })?;
        let t = Instant::now();
        let e = c.embed(&texts, &NoProgress, &CancelToken::new())?;
        let rate = n as f64 / t.elapsed().as_secs_f64();
        assert_eq!(e.len(), n);
        println!(
            "atlas client, {concurrency} in flight: {rate:.0} texts/s = {:.0}% of capacity",
            100.0 * rate / capacity
        );
    }
    Ok(())
}
