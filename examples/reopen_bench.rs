//! Reopening a large file: the load stage with and without its cache entry.
//!
//!     cargo run --release --example reopen_bench -- [FILE ...]
//!     cargo run --release --example reopen_bench -- --once FILE   (one load, in a new process)
//!
//! Without a file it writes a 1M-row JSON lines sampling sweep (prompt id and text, text,
//! model, temperature, score, is_correct; ~290 MB) to the temporary directory first. Prints:
//! hashing the input (the cache key), a load without a cache, the first load with an empty
//! cache (load + storing the table), reopening (the table read from the cache; median of 3),
//! and the stored table written and read back with each Parquet compression. Setup (writing
//! the input) is outside every timing.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use sample_atlas::cache::{Cache, CacheUse, StageKind, file_hash};
use sample_atlas::pipeline::{LoadSpec, TABLE_CACHE_MIN_BYTES, load_inputs, load_inputs_with};
use sample_atlas::progress::{CancelToken, NoProgress};

/// A sweep of `n` rows: 5,000 prompts, 4 models, 4 temperatures, texts of 8–28 words.
fn write_sweep(n: usize, path: &Path) -> std::io::Result<()> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    let words: Vec<String> = (0..3000)
        .map(|_| {
            let len = rng.random_range(2..=9);
            (0..len)
                .map(|_| letters[rng.random_range(0..26)] as char)
                .collect()
        })
        .collect();
    let sentence = |rng: &mut rand_pcg::Pcg64, k: usize| -> String {
        (0..k)
            .map(|_| words[rng.random_range(0..words.len())].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let prompts: Vec<String> = (0..5000).map(|_| sentence(&mut rng, 8) + "?").collect();
    let models = ["tiny-1b", "base-8b", "chat-8b", "big-70b"];
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for i in 0..n {
        let k = rng.random_range(8..=28);
        let temperature = [0.0, 0.5, 1.0, 1.5][(i / 4) % 4];
        let row = serde_json::json!({
            "prompt_id": i % 5000,
            "prompt": prompts[i % 5000],
            "text": sentence(&mut rng, k),
            "model": models[i % 4],
            "temperature": temperature,
            "score": (rng.random::<f64>() * 1e4).round() / 1e4,
            "is_correct": rng.random::<f64>() < 0.6,
        });
        writeln!(out, "{row}")?;
    }
    out.flush()
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(file: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::metadata(file)?.len();
    println!("{} ({:.0} MB)", file.display(), bytes as f64 / 1e6);
    assert!(
        bytes >= TABLE_CACHE_MIN_BYTES,
        "below the caching threshold"
    );
    let input = [file.to_path_buf()];
    let spec = LoadSpec::default();
    let cancel = CancelToken::new();

    let hash = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                file_hash(file).map(|_| secs(t))
            })
            .collect::<Result<_, _>>()?,
    );
    println!("  hash the input (BLAKE3): {hash:.3} s");

    let t = Instant::now();
    let fresh = load_inputs(&input, &spec, None, &NoProgress, &cancel)?;
    println!(
        "  load without a cache: {:.2} s ({} rows, {} columns with the built-in metrics)",
        secs(t),
        fresh.len(),
        fresh.frame.width()
    );

    let dir = tempfile::tempdir()?;
    let cache = Cache::open(dir.path().to_path_buf())?;
    let min = TABLE_CACHE_MIN_BYTES;
    let t = Instant::now();
    let (_, used) = load_inputs_with(&input, &spec, Some(&cache), min, &NoProgress, &cancel)?;
    let first = secs(t);
    assert_eq!(used, CacheUse::Miss);
    let entry = cache
        .list(StageKind::Table)
        .pop()
        .expect("the table was stored");
    let entry_bytes = std::fs::metadata(&entry)?.len();
    println!(
        "  first load with an empty cache (load + store the table): {first:.2} s; entry {:.0} MB",
        entry_bytes as f64 / 1e6
    );

    let mut reopen = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let (s, used) = load_inputs_with(&input, &spec, Some(&cache), min, &NoProgress, &cancel)?;
        reopen.push(secs(t));
        assert_eq!(used, CacheUse::Hit);
        assert_eq!(
            (s.len(), s.frame.width()),
            (fresh.len(), fresh.frame.width())
        );
        assert!(s.frame.equals_missing(&fresh.frame), "the same table");
    }
    println!(
        "  reopen (table from the cache): {:.2} s median of 3 ({})",
        median(reopen.clone()),
        reopen
            .iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // The parts of a reopen, each alone: read the entry, check its checksum, rebuild the
    // texts from the text column (the Parquet read is below).
    let t = Instant::now();
    let raw = std::fs::read(&entry)?;
    let read_entry = secs(t);
    let t = Instant::now();
    let sum = blake3::Hasher::new().update_rayon(&raw).finalize();
    let check = secs(t);
    let t = Instant::now();
    let texts = sample_atlas::dataset::plain_texts(&fresh.frame, &fresh.text_column);
    let rebuild = secs(t);
    println!(
        "    of which: hash the input {hash:.3} s, read the entry {read_entry:.3} s, its checksum {check:.3} s, texts from the column {rebuild:.3} s ({} texts, checksum {})",
        texts.map_or(0, |t| t.len()),
        &sum.to_hex()[..8]
    );
    drop(raw);

    println!(
        "  the table ({} columns) as Parquet in memory:",
        fresh.frame.width()
    );
    for (name, c) in [
        ("uncompressed", ParquetCompression::Uncompressed),
        ("lz4", ParquetCompression::Lz4Raw),
        ("snappy", ParquetCompression::Snappy),
        ("zstd", ParquetCompression::Zstd(None)),
    ] {
        let mut buf = Vec::new();
        let mut frame = fresh.frame.clone();
        let t = Instant::now();
        ParquetWriter::new(&mut buf)
            .with_compression(c)
            .finish(&mut frame)?;
        let write = secs(t);
        let read = median(
            (0..3)
                .map(|_| {
                    let t = Instant::now();
                    ParquetReader::new(std::io::Cursor::new(&buf[..]))
                        .finish()
                        .map(|_| secs(t))
                })
                .collect::<Result<_, _>>()?,
        );
        println!(
            "    {name:>12}: {:>4.0} MB, write {write:.2} s, read {read:.3} s",
            buf.len() as f64 / 1e6
        );
    }
    Ok(())
}

/// One reopen in this (fresh) process, with the cache in `$SAMPLE_ATLAS_CACHE_DIR` (or the
/// default one): what a command pays when it starts on a cached file.
fn reopen_once(file: &Path) -> anyhow::Result<()> {
    let cache = Cache::open(Cache::default_dir().expect("a cache directory"))?;
    let t = Instant::now();
    let (s, used) = load_inputs_with(
        &[file.to_path_buf()],
        &LoadSpec::default(),
        Some(&cache),
        TABLE_CACHE_MIN_BYTES,
        &NoProgress,
        &CancelToken::new(),
    )?;
    println!(
        "{}: {used:?} in {:.2} s ({} rows)",
        file.display(),
        secs(t),
        s.len()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut files: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if files.first().is_some_and(|f| f.as_os_str() == "--once") {
        return files[1..].iter().try_for_each(|f| reopen_once(f));
    }
    let _written;
    if files.is_empty() {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("sweep-1m.jsonl");
        write_sweep(1_000_000, &path)?;
        files.push(path);
        _written = dir;
    }
    for f in &files {
        bench(f)?;
    }
    Ok(())
}
