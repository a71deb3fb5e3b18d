//! Command-line interface: `sample-atlas [FILE]` opens the app; `sample-atlas map FILE -o
//! OUT.parquet` computes the map headless.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::analysis::{self, Curve, SettingRow};
use crate::cache::Cache;
use crate::dataset::{self, LoadOptions};
use crate::embedding::EndpointParams;
use crate::metrics::MetricOptions;
use crate::pipeline::LoadSpec;
use crate::neighbors::{KnnMethod, Metric};
use crate::pipeline::CacheReport;
use crate::pipeline::{MapParams, VectorSource, compute_map};
use crate::progress::{CancelToken, Progress, Stage};
use crate::projection::UmapParams;

/// Environment variable naming the default embedder (same forms as `--embedder`).
pub const EMBEDDER_ENV: &str = "SAMPLE_ATLAS_EMBEDDER";
/// Environment variable naming the default model2vec model folder.
pub const MODEL2VEC_DIR_ENV: &str = "SAMPLE_ATLAS_MODEL2VEC_DIR";

/// The model2vec model used by default: `$SAMPLE_ATLAS_MODEL2VEC_DIR` when set (an invalid
/// folder then fails loudly rather than falling back), else `models/potion-base-8M` in the
/// platform data directory (e.g. `~/.local/share/sample-atlas/`) when a model is there.
pub fn default_model2vec_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os(MODEL2VEC_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let d = directories::ProjectDirs::from("", "", "sample-atlas")?
        .data_dir()
        .join("models")
        .join("potion-base-8M");
    d.join("model.safetensors").is_file().then_some(d)
}

#[derive(Parser, Debug)]
#[command(
    name = "sample-atlas",
    version,
    about = "Map large sets of sampled LLM texts: load, embed, UMAP, explore.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// A sample set to open in the app (.jsonl, .ndjson, .csv, .parquet).
    pub file: Option<PathBuf>,

    /// Colour the map by this column when it opens (default: a score-like column).
    #[arg(long, value_name = "COLUMN")]
    pub color_by: Option<String>,

    #[command(flatten)]
    pub map: MapArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compute the map headless and write every input column plus x, y as Parquet.
    Map(MapCommand),
    /// Per-setting table of a metric: count, mean with 95% CI, median, failure rate,
    /// diversity.
    Stats(StatsCommand),
    /// Best-of-N curves per setting (pass@N for a true/false metric), unbiased estimators.
    Bon(BonCommand),
}

/// What `stats` and `bon` analyse.
#[derive(Args, Debug)]
pub struct AnalysisArgs {
    /// The sample set (.jsonl, .ndjson, .csv, .parquet).
    pub file: PathBuf,

    /// One row (stats) or curve (bon) per setting of these columns, comma-separated
    /// (default: the detected hyperparameter columns: model, temperature, top_p, ...).
    #[arg(long, value_delimiter = ',', value_name = "COL,COL")]
    pub by: Vec<String>,

    /// The metric: a numeric or true/false column, built-in metric or --metric-expr name.
    /// bon: numbers give the expected best-of-N, true/false gives pass@N.
    #[arg(long, value_name = "COLUMN")]
    pub metric: String,

    /// The prompt id column (default: detected, e.g. prompt_id, question_index).
    #[arg(long, value_name = "COLUMN")]
    pub prompt: Option<String>,

    /// Also write the result: .csv or .json (written atomically).
    #[arg(short, long, value_name = "OUT.csv|OUT.json")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct StatsCommand {
    #[command(flatten)]
    pub a: AnalysisArgs,

    /// Skip the diversity column (it embeds the texts).
    #[arg(long)]
    pub no_diversity: bool,

    /// No progress bars.
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub map: MapArgs,
}

#[derive(Args, Debug)]
pub struct BonCommand {
    #[command(flatten)]
    pub a: AnalysisArgs,

    #[command(flatten)]
    pub map: MapArgs,
}

#[derive(Args, Debug)]
pub struct MapCommand {
    /// The sample set (.jsonl, .ndjson, .csv, .parquet).
    pub file: PathBuf,

    /// Output Parquet file (written atomically).
    #[arg(short, long, value_name = "OUT.parquet")]
    pub output: PathBuf,

    /// Also write a JSON report: per-stage seconds, rows, dimensions, parameters, warnings.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,

    /// No progress bars.
    #[arg(short, long)]
    pub quiet: bool,

    /// Also draw the map (every point, with its legend) into this PNG file.
    #[arg(long, value_name = "FILE.png")]
    pub png: Option<PathBuf>,

    /// Size of the PNG in pixels.
    #[arg(long, value_name = "WxH", default_value = "1600x1000", value_parser = parse_size)]
    pub png_size: (u32, u32),

    /// Colour the PNG by this column (default: a score-like column, else a small category).
    #[arg(long, value_name = "COLUMN")]
    pub color_by: Option<String>,

    /// Draw the PNG in density mode (brightness by how many points fall on a pixel).
    #[arg(long)]
    pub density: bool,

    #[command(flatten)]
    pub map: MapArgs,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{s}': expected WIDTHxHEIGHT, e.g. 1600x1000"))?;
    let num = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (16..=16_384).contains(n))
            .ok_or_else(|| format!("'{s}': each side must be a whole number from 16 to 16384"))
    };
    Ok((num(w)?, num(h)?))
}

/// Draw the map of `samples` into a PNG (every point, legend, caption).
fn write_png(
    samples: &dataset::Samples,
    coords: &[[f32; 2]],
    color_by: Option<&str>,
    density: bool,
    (width, height): (u32, u32),
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use crate::render::{self, colors, image};
    let column = match color_by {
        Some(c) => {
            let ok = samples
                .column_index(c)
                .is_some_and(|i| samples.columns[i].colorable());
            if !ok {
                let choices: Vec<&str> = samples
                    .columns
                    .iter()
                    .filter(|c| c.colorable())
                    .map(|c| c.name.as_str())
                    .collect();
                anyhow::bail!(
                    "--color-by {c}: no such numeric or category column in {} (choose from: {})",
                    samples.path.display(),
                    choices.join(", ")
                );
            }
            Some(c.to_string())
        }
        None => colors::default_color_column(samples),
    };
    let (point_colors, legend) = colors::point_colors(samples, column.as_deref());
    // Points a little larger on big images, as on a high-DPI screen.
    let scale = (width.min(height) as f32 / 900.0).clamp(1.0, 4.0);
    let pic = image::Picture {
        coords,
        colors: &point_colors,
        classes: None,
        legend: &legend,
        caption: Some(image::caption(
            &samples.path,
            samples.len(),
            column.as_deref(),
        )),
        view: render::Viewport::fit(coords, width, height, 24.0 * scale),
        style: render::Style {
            radius_px: render::Style::radius_for(coords.len()) * scale,
            opacity: 0.85,
            faded_opacity: 0.12,
            mode: if density {
                render::Mode::Density
            } else {
                render::Mode::Points
            },
            background: image::BACKGROUND,
        },
        scale,
    };
    image::render(&pic)?.write_png(out)?;
    Ok(())
}

/// Options shared by the app and `map`.
#[derive(Args, Debug, Clone)]
pub struct MapArgs {
    /// The text column (default: detected).
    #[arg(long, value_name = "COLUMN")]
    pub text: Option<String>,

    /// Seed for all randomness: same seed, same map.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// UMAP neighbourhood size (counting the point itself).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..=1000))]
    pub n_neighbors: u64,

    /// UMAP minimum distance between points in the map (0 to 1).
    #[arg(long, default_value_t = 0.1, value_parser = parse_min_dist)]
    pub min_dist: f32,

    /// Distance between embeddings (for kNN and UMAP).
    #[arg(long, default_value = "cosine", value_parser = ["cosine", "euclidean"])]
    pub distance: String,

    /// UMAP SGD epochs (default: 500 up to 10,000 rows, else 200).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub epochs: Option<u64>,

    /// Where the vectors come from: `lexical` (built in, fitted to the texts),
    /// `model2vec:DIR` (a local static model2vec model), `openai:URL` (an OpenAI-compatible
    /// embeddings endpoint, `POST URL/v1/embeddings`), `column:COL` (a list column) or
    /// `npy:FILE` (a .npy matrix). Default: `$SAMPLE_ATLAS_EMBEDDER`, else model2vec with the
    /// model in `$SAMPLE_ATLAS_MODEL2VEC_DIR` or the data dir's `models/potion-base-8M` when
    /// there is one, else lexical.
    #[arg(long, value_name = "SPEC", value_parser = VectorSource::parse,
          conflicts_with_all = ["vectors", "vectors_column", "xy"])]
    pub embedder: Option<VectorSource>,

    /// Model name sent to an `openai:` endpoint.
    #[arg(long, value_name = "NAME", default_value = "text-embedding-3-small")]
    pub embed_model: String,

    /// Texts per request to an `openai:` endpoint.
    #[arg(long, value_name = "N", default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub embed_batch: u64,

    /// Requests in flight at once to an `openai:` endpoint.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub embed_concurrency: u64,

    /// Seconds before a request to an `openai:` endpoint is abandoned and retried.
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    pub embed_timeout: f64,

    /// Environment variable holding the endpoint's API key (never printed or stored).
    #[arg(long, value_name = "VAR", default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,

    /// Vectors for the rows from a .npy matrix (float32/float64, row i = sample i) instead of
    /// the built-in embedder.
    #[arg(long, value_name = "FILE.npy", conflicts_with_all = ["vectors_column", "xy"])]
    pub vectors: Option<PathBuf>,

    /// Vectors from a list column of numbers in the input.
    #[arg(long, value_name = "COLUMN", conflicts_with = "xy")]
    pub vectors_column: Option<String>,

    /// A layout computed elsewhere: the x and y columns. Skips embedding, kNN and UMAP.
    #[arg(long, value_name = "X,Y", value_parser = parse_xy)]
    pub xy: Option<(String, String)>,

    /// Neither read nor write the on-disk cache of embeddings, kNN graphs and layouts.
    #[arg(long)]
    pub no_cache: bool,

    /// Nearest neighbours: exact up to 4,096 rows and NN-descent above (auto), or forced.
    #[arg(long, default_value = "auto", value_parser = ["auto", "exact", "nndescent"])]
    pub knn: String,

    /// Add a metric column computed from other columns, e.g. `adj=score - 0.02 * len_words`
    /// or `ok=is_correct AND NOT refusal` (repeatable; later ones may use earlier ones).
    #[arg(long = "metric-expr", value_name = "NAME=EXPR", value_parser = crate::metrics::parse_metric_expr)]
    pub metric_exprs: Vec<(String, String)>,

    /// Refusal phrases for the `refusal` metric: a file of case-insensitive regexes, one per
    /// line, `#` comments (default: the built-in list, see README).
    #[arg(long, value_name = "FILE")]
    pub refusal_patterns: Option<PathBuf>,

    /// Count the matches of this regex in each text (column `pattern_matches`).
    #[arg(long, value_name = "REGEX")]
    pub pattern: Option<String>,

    /// Do not add the built-in proxy metrics (len_chars, len_words, refusal, repetition,
    /// garbage, distinct_2).
    #[arg(long)]
    pub no_builtin_metrics: bool,

    /// Dimensions of the built-in lexical embedding.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(2..=1024))]
    pub dims: u64,
}

fn parse_xy(s: &str) -> Result<(String, String), String> {
    match s.split(',').map(str::trim).collect::<Vec<_>>()[..] {
        [x, y] if !x.is_empty() && !y.is_empty() => Ok((x.to_string(), y.to_string())),
        _ => Err(format!(
            "expected two column names separated by a comma, got '{s}'"
        )),
    }
}

fn parse_min_dist(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be between 0 and 1, got {v}"))
    }
}

impl MapArgs {
    pub fn params(&self) -> MapParams {
        MapParams {
            embed_dims: self.dims as usize,
            vectors: self.vector_source(),
            xy: self.xy.clone(),
            knn: match self.knn.as_str() {
                "exact" => KnnMethod::Exact,
                "nndescent" => KnnMethod::NnDescent,
                _ => KnnMethod::Auto,
            },
            umap: UmapParams {
                n_neighbors: self.n_neighbors as usize,
                min_dist: self.min_dist,
                metric: self.distance.parse::<Metric>().unwrap_or(Metric::Cosine),
                n_epochs: self.epochs.map(|e| e as usize),
                seed: self.seed,
                ..Default::default()
            },
        }
    }

    /// The embedder named by the flags (or `$SAMPLE_ATLAS_EMBEDDER`), endpoint options filled in.
    pub fn vector_source(&self) -> VectorSource {
        let from_env = || {
            std::env::var(EMBEDDER_ENV)
                .ok()
                .filter(|s| !s.trim().is_empty())
                .and_then(|s| VectorSource::parse(&s).ok())
        };
        let source = match (&self.embedder, &self.vectors, &self.vectors_column) {
            (Some(e), _, _) => e.clone(),
            (None, Some(path), _) => VectorSource::Npy(path.clone()),
            (None, None, Some(col)) => VectorSource::Column(col.clone()),
            (None, None, None) => from_env()
                .or_else(|| default_model2vec_dir().map(VectorSource::Model2Vec))
                .unwrap_or(VectorSource::Lexical),
        };
        match source {
            VectorSource::Endpoint(p) => VectorSource::Endpoint(EndpointParams {
                url: p.url,
                model: self.embed_model.clone(),
                batch_size: self.embed_batch as usize,
                concurrency: self.embed_concurrency as usize,
                timeout_s: self.embed_timeout,
                api_key_env: self.api_key_env.clone(),
                ..p
            }),
            other => other,
        }
    }

    pub fn load_options(&self) -> anyhow::Result<LoadSpec> {
        let refusal_patterns = match &self.refusal_patterns {
            Some(path) => Some(crate::metrics::read_patterns(path).map_err(anyhow::Error::msg)?),
            None => None,
        };
        Ok(LoadSpec {
            options: LoadOptions {
                text_column: self.text.clone(),
            },
            metrics: MetricOptions {
                builtin: !self.no_builtin_metrics,
                refusal_patterns,
                pattern: self.pattern.clone(),
                exprs: self.metric_exprs.clone(),
            },
        })
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Map(cmd)) => run_map(&cmd),
        Some(Command::Stats(cmd)) => run_stats(&cmd),
        Some(Command::Bon(cmd)) => run_bon(&cmd),
        None => open_app(cli.file, cli.color_by, cli.map),
    }
}

#[cfg(feature = "gui")]
fn open_app(
    file: Option<PathBuf>,
    color_by: Option<String>,
    args: MapArgs,
) -> anyhow::Result<ExitCode> {
    crate::app::run(
        file,
        color_by,
        args.load_options()?,
        args.params(),
        !args.no_cache,
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "gui"))]
fn open_app(
    _file: Option<PathBuf>,
    _color_by: Option<String>,
    _args: MapArgs,
) -> anyhow::Result<ExitCode> {
    eprintln!(
        "error: this build has no GUI (built without the `gui` feature); use `sample-atlas map FILE -o OUT.parquet`"
    );
    Ok(ExitCode::from(2))
}

/// indicatif bars on stderr, one per stage.
struct CliProgress {
    multi: MultiProgress,
    bars: Mutex<Vec<(Stage, ProgressBar)>>,
    quiet: bool,
}

impl CliProgress {
    fn new(quiet: bool) -> Self {
        CliProgress {
            multi: MultiProgress::new(),
            bars: Mutex::new(Vec::new()),
            quiet,
        }
    }

    fn finish(&self) {
        if let Ok(bars) = self.bars.lock() {
            for (_, bar) in bars.iter() {
                bar.finish();
            }
        }
    }
}

impl Progress for CliProgress {
    fn report(&self, stage: Stage, done: u64, total: u64) {
        if self.quiet {
            return;
        }
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = match bars.iter().find(|(s, _)| *s == stage) {
            Some((_, bar)) => bar.clone(),
            None => {
                for (_, b) in bars.iter() {
                    b.finish();
                }
                let bar = self.multi.add(ProgressBar::new(total));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg:>20} [{bar:40}] {pos}/{len} {elapsed_precise}",
                    )
                    .expect("static template")
                    .progress_chars("=> "),
                );
                bar.set_message(stage.label());
                bar.enable_steady_tick(Duration::from_millis(200));
                bars.push((stage, bar.clone()));
                bar
            }
        };
        bar.set_length(total);
        bar.set_position(done.min(total));
    }
}

#[derive(serde::Serialize)]
struct Report<'a> {
    input: &'a Path,
    output: &'a Path,
    format: dataset::Format,
    rows: usize,
    text_column: &'a str,
    text_column_detected: bool,
    coordinate_columns: [String; 2],
    embedder: &'a str,
    embedding_dims: usize,
    knn: KnnMethod,
    epochs: usize,
    params: &'a MapParams,
    cache: CacheReport,
    /// Per-text embedding cache (model2vec, endpoints): texts embedded now vs reused.
    text_cache: Option<crate::embedding::store::TextCacheReport>,
    cache_dir: Option<PathBuf>,
    seconds: Seconds,
    warnings: &'a [String],
}

#[derive(serde::Serialize)]
struct Seconds {
    load: f64,
    embed: f64,
    neighbors: f64,
    layout: f64,
    write: f64,
    total: f64,
}

fn run_map(cmd: &MapCommand) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let params = cmd.map.params();
    params.validate()?;
    let progress = CliProgress::new(cmd.quiet);
    let cancel = CancelToken::new();

    let t = Instant::now();
    let samples = crate::pipeline::load_samples(&cmd.file, &cmd.map.load_options()?, &progress, &cancel)?;
    let load_s = t.elapsed().as_secs_f64();
    progress.multi.suspend(|| {
        if samples.format == dataset::Format::Npy {
            eprintln!("{}: {} rows of vectors", cmd.file.display(), samples.len());
        } else {
            eprintln!(
                "{}: {} rows, text column '{}'{}",
                cmd.file.display(),
                samples.len(),
                samples.text_column,
                if samples.text_column_detected {
                    " (detected; choose another with --text)"
                } else {
                    ""
                }
            );
        }
        for w in &samples.warnings {
            eprintln!("warning: {w}");
        }
    });

    let cache = if cmd.map.no_cache {
        None
    } else {
        let cache = Cache::open_default();
        if cache.is_none() {
            eprintln!("warning: no usable cache directory; caching is off");
        }
        cache
    };
    let result = compute_map(&samples, &params, cache.as_ref(), &progress, &cancel)
        .with_context(|| format!("{}: computing the map", cmd.file.display()))?;

    let t = Instant::now();
    progress.report(Stage::Write, 0, 1);
    let (xn, yn) =
        dataset::write_map_parquet(&samples.frame, &result.coords, &cmd.file, &cmd.output)?;
    if let Some(png) = &cmd.png {
        write_png(
            &samples,
            &result.coords,
            cmd.color_by.as_deref(),
            cmd.density,
            cmd.png_size,
            png,
        )
        .with_context(|| format!("{}: drawing the map", png.display()))?;
    }
    progress.report(Stage::Write, 1, 1);
    let write_s = t.elapsed().as_secs_f64();
    progress.finish();
    for w in &result.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!("embedder: {}", result.embedder);
    if let Some(tc) = result.text_cache {
        eprintln!(
            "embedded {} new texts, {} from the cache, {} repeated texts embedded once",
            tc.embedded, tc.reused, tc.duplicates
        );
    }
    if let Some(png) = &cmd.png {
        eprintln!("drew the map into {}", png.display());
    }
    if (xn.as_str(), yn.as_str()) != ("x", "y") {
        eprintln!("note: the input has x/y columns; coordinates are in '{xn}', '{yn}'");
    }

    let mut warnings = samples.warnings.clone();
    warnings.extend(result.warnings.iter().cloned());
    let seconds = Seconds {
        load: load_s,
        embed: result.timings.embed_s,
        neighbors: result.timings.neighbors_s,
        layout: result.timings.layout_s,
        write: write_s,
        total: start.elapsed().as_secs_f64(),
    };
    eprintln!(
        "wrote {} ({} rows) in {:.2} s: load {:.2}, embed {:.2}, kNN {:.2}, UMAP {:.2}, write {:.2}",
        cmd.output.display(),
        samples.len(),
        seconds.total,
        seconds.load,
        seconds.embed,
        seconds.neighbors,
        seconds.layout,
        seconds.write
    );
    if let Some(path) = &cmd.report {
        let report = Report {
            input: &cmd.file,
            output: &cmd.output,
            format: samples.format,
            rows: samples.len(),
            text_column: &samples.text_column,
            text_column_detected: samples.text_column_detected,
            coordinate_columns: [xn, yn],
            embedder: &result.embedder,
            embedding_dims: result.embedding_dims,
            knn: result.knn,
            epochs: result.epochs,
            params: &params,
            cache: result.cache,
            text_cache: result.text_cache,
            cache_dir: cache.as_ref().map(|c| c.dir().to_path_buf()),
            seconds,
            warnings: &warnings,
        };
        let json = serde_json::to_vec_pretty(&report)?;
        write_atomic(path, &json)
            .with_context(|| format!("{}: writing the report", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Write `bytes` to `path` through a temporary file in the same directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".sample-atlas-")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Load for an analysis command and settle the grouping and prompt columns.
fn analysis_input(
    a: &AnalysisArgs,
    args: &MapArgs,
    quiet: bool,
) -> anyhow::Result<(dataset::Samples, Vec<String>, Option<String>)> {
    let (file, by, prompt) = (a.file.as_path(), &a.by[..], a.prompt.as_ref());
    if a.output.as_deref() == Some(file) {
        anyhow::bail!("{}: refusing to overwrite the input", file.display());
    }
    let progress = CliProgress::new(quiet);
    let samples = crate::pipeline::load_samples(file, &args.load_options()?, &progress, &CancelToken::new())?;
    progress.finish();
    for w in &samples.warnings {
        eprintln!("warning: {w}");
    }
    let schema = analysis::detect_schema(&samples);
    let by = if by.is_empty() {
        if schema.hyperparameters.is_empty() {
            anyhow::bail!(
                "{}: no hyperparameter columns found (model, temperature, top_p, ...); name them with --by",
                file.display()
            );
        }
        eprintln!(
            "grouping by {} (detected; choose with --by)",
            schema.hyperparameters.join(", ")
        );
        schema.hyperparameters.clone()
    } else {
        by.to_vec()
    };
    let prompt = match prompt {
        Some(p) => Some(p.clone()),
        None => {
            if let Some(p) = &schema.prompt {
                eprintln!("prompt column '{p}' (detected; choose with --prompt)");
            }
            schema.prompt.clone()
        }
    };
    Ok((samples, by, prompt))
}

fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        "".into()
    } else {
        format!("{v:.4}")
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(fmt_num).unwrap_or_default()
}

/// Print rows of cells as an aligned text table.
fn print_table(header: &[String], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(header));
    for r in rows {
        println!("{}", line(r));
    }
}

/// Write a table as CSV or JSON (by the file's extension), atomically.
fn write_table(
    path: &Path,
    header: &[String],
    rows: &[Vec<String>],
    json: serde_json::Value,
) -> anyhow::Result<()> {
    let bytes = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => serde_json::to_vec_pretty(&json)?,
        Some(e) if e.eq_ignore_ascii_case("csv") => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(header)?;
            for r in rows {
                w.write_record(r)?;
            }
            w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?
        }
        _ => anyhow::bail!("{}: the output must end in .csv or .json", path.display()),
    };
    write_atomic(path, &bytes).with_context(|| format!("{}: writing", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn stats_rows(by: &[String], table: &[SettingRow]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = by.to_vec();
    for h in [
        "count",
        "n",
        "mean",
        "ci_low",
        "ci_high",
        "median",
        "failure_rate",
        "diversity",
        "prompts",
    ] {
        header.push(h.into());
    }
    let rows = table
        .iter()
        .map(|r| {
            let mut cells = r.setting.clone();
            cells.extend([
                r.count.to_string(),
                r.n.to_string(),
                fmt_num(r.mean),
                fmt_num(r.ci_low),
                fmt_num(r.ci_high),
                fmt_num(r.median),
                fmt_opt(r.failure_rate),
                fmt_opt(r.diversity),
                r.prompts.map(|p| p.to_string()).unwrap_or_default(),
            ]);
            cells
        })
        .collect();
    (header, rows)
}

fn run_stats(cmd: &StatsCommand) -> anyhow::Result<ExitCode> {
    let (samples, by, prompt) = analysis_input(&cmd.a, &cmd.map, cmd.quiet)?;
    let embeddings = if cmd.no_diversity || prompt.is_none() {
        None
    } else {
        let cache = if cmd.map.no_cache {
            None
        } else {
            Cache::open_default()
        };
        let progress = CliProgress::new(cmd.quiet);
        let (e, id) = crate::pipeline::embed_samples(
            &samples,
            &cmd.map.params(),
            cache.as_ref(),
            &progress,
            &CancelToken::new(),
        )
        .with_context(|| format!("{}: embedding for diversity", cmd.a.file.display()))?;
        progress.finish();
        eprintln!("diversity: mean pairwise cosine distance of a prompt's samples ({id})");
        Some(e)
    };
    let table = analysis::settings_table(
        &samples,
        &by,
        &cmd.a.metric,
        prompt.as_deref(),
        embeddings.as_ref(),
    )?;
    let (header, rows) = stats_rows(&by, &table);
    print_table(&header, &rows);
    if let Some(out) = &cmd.a.output {
        let json = serde_json::json!({
            "file": cmd.a.file,
            "metric": cmd.a.metric,
            "by": by,
            "prompt": prompt,
            "settings": table,
        });
        write_table(out, &header, &rows, json)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn bon_rows(by: &[String], curves: &[Curve]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = by.to_vec();
    for h in ["estimator", "n", "mean", "ci_low", "ci_high", "prompts"] {
        header.push(h.into());
    }
    let rows = curves
        .iter()
        .flat_map(|c| {
            c.points.iter().map(move |p| {
                let mut cells = c.setting.clone();
                cells.extend([
                    c.kind.to_string(),
                    p.n.to_string(),
                    fmt_num(p.mean),
                    fmt_num(p.ci_low),
                    fmt_num(p.ci_high),
                    p.prompts.to_string(),
                ]);
                cells
            })
        })
        .collect();
    (header, rows)
}

fn run_bon(cmd: &BonCommand) -> anyhow::Result<ExitCode> {
    let (samples, by, prompt) = analysis_input(&cmd.a, &cmd.map, true)?;
    let prompt = prompt.ok_or_else(|| analysis::AnalysisError::NoPromptColumn {
        path: cmd.a.file.display().to_string(),
    })?;
    let curves = analysis::best_of_n(&samples, &by, &cmd.a.metric, &prompt)?;
    let (header, rows) = bon_rows(&by, &curves);
    print_table(&header, &rows);
    if let Some(out) = &cmd.a.output {
        let json = serde_json::json!({
            "file": cmd.a.file,
            "metric": cmd.a.metric,
            "by": by,
            "prompt": prompt,
            "curves": curves,
        });
        write_table(out, &header, &rows, json)?;
    }
    Ok(ExitCode::SUCCESS)
}
