//! The command line: clap types, their value parsers, and how the flags become load options
//! and map parameters.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::dataset::LoadOptions;
use crate::defaults;
use crate::embedding::EndpointParams;
use crate::metrics::MetricOptions;
use crate::neighbors::{KnnMethod, Metric};
use crate::pipeline::LoadSpec;
use crate::pipeline::{MapParams, VectorSource};
use crate::projection::UmapParams;

#[derive(Parser, Debug)]
#[command(
    name = "sample-atlas",
    version,
    about = "Map large sets of sampled LLM texts: load, embed, UMAP, explore.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<CliCommand>,

    /// A sample set to open in the app: a file (.jsonl, .json, .csv, .tsv, .parquet; the text
    /// ones optionally .gz / .zst), a folder of parts or a glob.
    pub file: Option<PathBuf>,

    /// Colour the map by this column when it opens (default: a score-like column).
    #[arg(long, value_name = "COLUMN")]
    pub color_by: Option<String>,

    #[command(flatten)]
    pub map: MapArgs,
}

/// A headless command (without one, `sample-atlas [FILE]` opens the app).
#[derive(Subcommand, Debug)]
pub enum CliCommand {
    /// Compute the map headless and write every input column plus x, y as Parquet.
    Map(MapCommand),
    /// Per-setting table of a metric: count, mean with 95% CI, median, failure rate,
    /// diversity.
    Stats(StatsCommand),
    /// Best-of-N curves per setting (pass@N for a true/false metric), unbiased estimators.
    Bon(BonCommand),
    /// Settings compared on the prompts they share: per pair (or against --baseline) the mean
    /// per-prompt difference B − A with a paired 95% CI, p and q-values, wins / ties / losses.
    Compare(CompareCommand),
    /// The map's regions ranked by a metric: inside vs outside, lift, 95% CI, p and q-values.
    Regions(RegionsCommand),
    /// The on-disk cache: where it is, its size by stage kind, its entries; `cache clear`
    /// empties it.
    Cache(CacheCommand),
    /// Write the vectors of any embedder, in input row order: a float32 .npy matrix, or
    /// Parquet with the input's columns plus an `embedding` list column.
    Embed(EmbedCommand),
}

#[derive(Args, Debug)]
pub struct CacheCommand {
    #[command(subcommand)]
    pub action: Option<CacheAction>,
}

#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheAction {
    /// Remove every cache entry (and killed runs' temporaries) and print what was removed.
    Clear,
}

#[derive(Args, Debug)]
pub struct EmbedCommand {
    /// The sample set: a file (.jsonl, .json, .csv, .tsv, .parquet, each also as .gz /
    /// .zst), a folder of parts or a glob (quoted). Several are read as one table with a
    /// `source` column.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output: OUT.npy (float32, rows × dims) or OUT.parquet (written atomically).
    #[arg(short, long, value_name = "OUT.npy|OUT.parquet")]
    pub output: PathBuf,

    /// No progress bars.
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub map: MapArgs,
}

#[derive(Args, Debug)]
pub struct RegionsCommand {
    /// The sample set: a file (.jsonl, .json, .csv, .tsv, .parquet; the text ones optionally
    /// .gz / .zst), a folder of parts or a glob (quoted). Several are read as one table with a
    /// `source` column.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The metric: a numeric or true/false column, built-in metric or --metric-expr name.
    #[arg(long, value_name = "COLUMN")]
    pub metric: String,

    /// Which direction of the metric is bad (default: from its name — is_correct, score,
    /// reward → lower; refusal, garbage, repetition, toxicity → higher).
    #[arg(long, value_enum)]
    pub worse: Option<WorseArg>,

    /// Show only the regions of one level (default: both; the q-values always cover both).
    #[arg(long, value_enum)]
    pub level: Option<LevelArg>,

    /// Regions with fewer rows with a value are shown but not tested.
    #[arg(long, value_name = "ROWS", default_value_t = crate::analysis::region_stats::DEFAULT_MIN_SUPPORT)]
    pub min_support: usize,

    /// Also write the table: .csv or .json (written atomically).
    #[arg(short, long, value_name = "OUT.csv|OUT.json")]
    pub output: Option<PathBuf>,

    /// No progress bars.
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub map: MapArgs,
}

/// `--worse`: which direction of a metric is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WorseArg {
    Higher,
    Lower,
}

/// `--level`: coarse regions or the finer ones inside them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    Coarse,
    Fine,
}

/// What `stats` and `bon` analyse.
#[derive(Args, Debug)]
pub struct AnalysisArgs {
    /// The sample set: a file (.jsonl, .json, .csv, .tsv, .parquet; the text ones optionally
    /// .gz / .zst), a folder of parts or a glob (quoted). Several are read as one table with a
    /// `source` column.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

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
pub struct CompareCommand {
    #[command(flatten)]
    pub a: AnalysisArgs,

    /// Compare every setting against this one: its values of the --by columns, comma-separated
    /// (e.g. `chat-8b` or `chat-8b,0.5`). Default: every pair of settings.
    #[arg(long, value_name = "SETTING")]
    pub baseline: Option<String>,

    /// Which direction of the metric is bad, for wins and losses (default: from its name —
    /// is_correct, score, reward → lower; refusal, toxicity, length → higher).
    #[arg(long, value_enum)]
    pub worse: Option<WorseArg>,

    #[command(flatten)]
    pub map: MapArgs,
}

#[derive(Args, Debug)]
pub struct MapCommand {
    /// The sample set: a file (.jsonl, .json, .csv, .tsv, .parquet; the text ones optionally
    /// .gz / .zst), a folder of parts or a glob (quoted). Several are read as one table with a
    /// `source` column.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

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

    /// Draw the PNG as the density difference of two values of a column instead of the
    /// points, as the app's compare view does: COL=A,B (e.g. `temperature=1.5,0.5`, or with
    /// several inputs `source=new.jsonl,old.jsonl`). Red where A's share of the points is
    /// larger, blue where B's, with its colour bar.
    #[arg(long, value_name = "COL=A,B", requires = "png", conflicts_with_all = ["density", "color_by"],
          value_parser = parse_compare)]
    pub compare: Option<CompareArg>,

    /// Place FILE's samples onto the map of REF without moving REF's points: REF is a sample
    /// set (mapped now, or its map read from the cache) or a map file written by `map` (its
    /// x/y columns are the layout). The output holds REF's rows (coordinates unchanged),
    /// then the new rows, a `source` column and `ood` (new samples unlike anything in REF).
    #[arg(long, value_name = "REF")]
    pub onto: Option<PathBuf>,

    #[command(flatten)]
    pub map: MapArgs,
}

/// `--compare COL=A,B`: the column and the values as written (a value may hold a comma: the
/// split that names two of the column's values is found once the data is read).
#[derive(Clone, Debug, PartialEq)]
pub struct CompareArg {
    pub column: String,
    pub values: String,
}

fn parse_compare(s: &str) -> Result<CompareArg, String> {
    let usage = || format!("'{s}': expected COL=A,B, e.g. temperature=1.5,0.5");
    let (column, values) = s.split_once('=').ok_or_else(usage)?;
    let column = column.trim();
    if column.is_empty() || !values.contains(',') {
        return Err(usage());
    }
    Ok(CompareArg {
        column: column.to_string(),
        values: values.to_string(),
    })
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

/// Options shared by the app and `map`.
#[derive(Args, Debug, Clone)]
pub struct MapArgs {
    /// The text column (default: detected).
    #[arg(long, value_name = "COLUMN")]
    pub text: Option<String>,

    /// The CSV delimiter: one character, or `tab` (default: sniffed among , ; tab |).
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

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
    #[arg(long, value_enum, default_value_t = Distance::Cosine)]
    pub distance: Distance,

    /// UMAP SGD epochs (default: 500 up to 10,000 rows, else 200).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub epochs: Option<u64>,

    /// Where the vectors come from: `lexical` (built in, fitted to the texts),
    /// `model2vec:DIR` (a local static model2vec model), `transformer:DIR` (a local
    /// sentence-transformers model of the BERT family, e.g. all-MiniLM-L6-v2, BGE, E5;
    /// slower, better maps), `openai:URL` (an OpenAI-compatible
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

    /// Cap on the on-disk cache, in GB: after the run the least recently used entries beyond
    /// it are evicted (default: `$SAMPLE_ATLAS_CACHE_MAX_GB`, else 4).
    #[arg(long = "cache-max-gb", value_name = "GB", value_parser = crate::cache::parse_gb)]
    pub cache_max_bytes: Option<u64>,

    /// Nearest neighbours: exact up to 4,096 rows and NN-descent above (auto), or forced.
    #[arg(long, value_enum, default_value_t = Knn::Auto)]
    pub knn: Knn,

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

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => {
            Ok(s.as_bytes()[0])
        }
        _ => Err(format!(
            "'{s}': expected one ASCII character (not a quote or line break), or `tab`"
        )),
    }
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
            knn: self.knn.into(),
            umap: UmapParams {
                n_neighbors: self.n_neighbors as usize,
                min_dist: self.min_dist,
                metric: self.distance.into(),
                n_epochs: self.epochs.map(|e| e as usize),
                seed: self.seed,
                ..Default::default()
            },
        }
    }

    /// The embedder named by the flags (or `$SAMPLE_ATLAS_EMBEDDER`), endpoint options filled in.
    pub fn vector_source(&self) -> VectorSource {
        let source = match (&self.embedder, &self.vectors, &self.vectors_column) {
            (Some(e), _, _) => e.clone(),
            (None, Some(path), _) => VectorSource::Npy(path.clone()),
            (None, None, Some(col)) => VectorSource::Column(col.clone()),
            (None, None, None) => defaults::default_vector_source(),
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

    /// How the load stage reads the file and which metric columns it adds.
    pub fn load_options(&self) -> anyhow::Result<LoadSpec> {
        let refusal_patterns = match &self.refusal_patterns {
            Some(path) => Some(crate::metrics::read_patterns(path).map_err(anyhow::Error::msg)?),
            None => None,
        };
        Ok(LoadSpec {
            options: LoadOptions {
                text_column: self.text.clone(),
                delimiter: self.delimiter,
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

/// `--distance`: the compute side's [`Metric`], named for the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Distance {
    Cosine,
    Euclidean,
}

impl From<Distance> for Metric {
    fn from(d: Distance) -> Metric {
        match d {
            Distance::Cosine => Metric::Cosine,
            Distance::Euclidean => Metric::Euclidean,
        }
    }
}

/// `--knn`: the compute side's [`KnnMethod`], named for the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Knn {
    Auto,
    Exact,
    #[value(name = "nndescent")]
    NnDescent,
}

impl From<Knn> for KnnMethod {
    fn from(k: Knn) -> KnnMethod {
        match k {
            Knn::Auto => KnnMethod::Auto,
            Knn::Exact => KnnMethod::Exact,
            Knn::NnDescent => KnnMethod::NnDescent,
        }
    }
}
