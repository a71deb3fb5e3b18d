//! A sentence-transformers folder's own description of the model: `modules.json` (which
//! modules run, in order), `1_Pooling/config.json` (how token vectors become one),
//! `sentence_bert_config.json` (max_seq_length), `config.json` (the encoder's sizes) and
//! `config_sentence_transformers.json` (a default prompt). Every file is checked here, so a
//! folder that is not a supported model fails before any text is embedded.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why a folder is not a model we can run: the file, and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderError {
    pub file: PathBuf,
    pub problem: String,
}

impl FolderError {
    pub fn new(file: &Path, problem: impl Into<String>) -> FolderError {
        FolderError {
            file: file.to_path_buf(),
            problem: problem.into(),
        }
    }
}

/// The activation of the feed-forward layers (`hidden_act`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU, x·Φ(x) with the error function (`gelu`).
    Gelu,
    /// The tanh approximation of GELU (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    GeluTanh,
    Relu,
    /// x·σ(x) (`silu`, `swish`).
    Silu,
}

/// The encoder's sizes from `config.json` (BERT family).
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderConfig {
    pub vocab_size: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f32,
    pub activation: Activation,
}

impl EncoderConfig {
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}

/// How token vectors become one vector (sentence-transformers' Pooling module). Several
/// modes may be on; their vectors are concatenated in sentence-transformers' order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Pooling {
    pub cls: bool,
    pub max: bool,
    pub mean: bool,
    pub mean_sqrt_len: bool,
    pub last_token: bool,
}

impl Pooling {
    /// How many hidden-size vectors are concatenated.
    pub fn parts(&self) -> usize {
        [
            self.cls,
            self.max,
            self.mean,
            self.mean_sqrt_len,
            self.last_token,
        ]
        .iter()
        .filter(|&&on| on)
        .count()
    }

    pub fn name(&self) -> String {
        let mut names = Vec::new();
        for (on, name) in [
            (self.cls, "cls"),
            (self.max, "max"),
            (self.mean, "mean"),
            (self.mean_sqrt_len, "mean-sqrt-len"),
            (self.last_token, "last-token"),
        ] {
            if on {
                names.push(name);
            }
        }
        names.join("+")
    }
}

/// Everything the folder says about how to embed a text.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelDescription {
    pub encoder: EncoderConfig,
    pub pooling: Pooling,
    /// Whether a Normalize module follows the pooling (unit-length vectors).
    pub normalize: bool,
    /// Tokens per text, `[CLS]` and `[SEP]` included; longer texts are truncated.
    pub max_seq_length: usize,
    /// Put in front of every text (`config_sentence_transformers.json`'s default prompt).
    pub prompt: String,
    /// The folder holding `model.safetensors`, `tokenizer.json` and `config.json`.
    pub transformer_dir: PathBuf,
}

fn read_json<T: for<'de> Deserialize<'de>>(file: &Path) -> Result<T, FolderError> {
    let bytes = std::fs::read(file).map_err(|e| FolderError::new(file, e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| FolderError::new(file, format!("not valid: {e}")))
}

fn read_optional_json<T: for<'de> Deserialize<'de>>(file: &Path) -> Result<Option<T>, FolderError> {
    if file.is_file() {
        read_json(file).map(Some)
    } else {
        Ok(None)
    }
}

#[derive(Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct PoolingFile {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
    word_embedding_dimension: Option<usize>,
}

#[derive(Deserialize)]
struct SbertFile {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize)]
struct StFile {
    #[serde(default)]
    prompts: std::collections::HashMap<String, String>,
    default_prompt_name: Option<String>,
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    architectures: Vec<String>,
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    #[serde(default = "default_positions")]
    max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default = "default_act")]
    hidden_act: String,
    position_embedding_type: Option<String>,
}

fn default_positions() -> usize {
    512
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}

/// The model types whose encoder is BERT's (same weights, same forward pass).
const BERT_TYPES: &[&str] = &["bert", "minilm"];

fn encoder_config(file: &Path) -> Result<EncoderConfig, FolderError> {
    let c: ConfigFile = read_json(file)?;
    let err = |p: String| Err(FolderError::new(file, p));
    let is_bert = c
        .architectures
        .iter()
        .any(|a| a == "BertModel" || a == "BertForMaskedLM")
        || c.model_type
            .as_deref()
            .is_some_and(|t| BERT_TYPES.contains(&t));
    if !is_bert {
        let what = c
            .architectures
            .first()
            .cloned()
            .or(c.model_type.clone())
            .unwrap_or_else(|| "no architecture named".into());
        return err(format!(
            "unsupported architecture '{what}': only BERT-family encoders (BertModel: MiniLM, BGE, E5, GTE, …) are supported"
        ));
    }
    if let Some(p) = c
        .position_embedding_type
        .as_deref()
        .filter(|p| *p != "absolute")
    {
        return err(format!(
            "position_embedding_type '{p}' is not supported (only 'absolute')"
        ));
    }
    let activation = match c.hidden_act.as_str() {
        "gelu" => Activation::Gelu,
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
        "relu" => Activation::Relu,
        "silu" | "swish" => Activation::Silu,
        other => return err(format!("hidden_act '{other}' is not supported")),
    };
    if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
        return err(format!(
            "hidden_size {} is not a multiple of num_attention_heads {}",
            c.hidden_size, c.num_attention_heads
        ));
    }
    if [
        c.vocab_size,
        c.hidden_size,
        c.num_hidden_layers,
        c.intermediate_size,
    ]
    .contains(&0)
    {
        return err("a size is zero".into());
    }
    Ok(EncoderConfig {
        vocab_size: c.vocab_size,
        hidden: c.hidden_size,
        layers: c.num_hidden_layers,
        heads: c.num_attention_heads,
        intermediate: c.intermediate_size,
        max_positions: c.max_position_embeddings,
        type_vocab_size: c.type_vocab_size.max(1),
        layer_norm_eps: c.layer_norm_eps as f32,
        activation,
    })
}

fn pooling(file: &Path, hidden: usize) -> Result<Pooling, FolderError> {
    let p: PoolingFile = read_json(file)?;
    if p.pooling_mode_weightedmean_tokens {
        return Err(FolderError::new(
            file,
            "weighted-mean pooling is not supported",
        ));
    }
    if let Some(d) = p.word_embedding_dimension.filter(|&d| d != hidden) {
        return Err(FolderError::new(
            file,
            format!(
                "word_embedding_dimension {d} disagrees with the encoder's hidden_size {hidden}"
            ),
        ));
    }
    let pooling = Pooling {
        cls: p.pooling_mode_cls_token,
        max: p.pooling_mode_max_tokens,
        mean: p.pooling_mode_mean_tokens,
        mean_sqrt_len: p.pooling_mode_mean_sqrt_len_tokens,
        last_token: p.pooling_mode_lasttoken,
    };
    if pooling.parts() == 0 {
        return Err(FolderError::new(file, "no pooling mode is on"));
    }
    Ok(pooling)
}

/// The modules of `modules.json`: the transformer's folder, the pooling folder, whether a
/// Normalize module is present. A folder without `modules.json` is a bare transformer:
/// mean pooling, no normalisation (sentence-transformers' own fallback).
fn modules(dir: &Path) -> Result<(PathBuf, Option<PathBuf>, bool), FolderError> {
    let file = dir.join("modules.json");
    if !file.is_file() {
        return Ok((dir.to_path_buf(), None, false));
    }
    let entries: Vec<ModuleEntry> = read_json(&file)?;
    let (mut transformer, mut pool, mut normalize) = (None, None, false);
    for m in &entries {
        let short = m.kind.rsplit('.').next().unwrap_or(&m.kind);
        match short {
            "Transformer" if transformer.is_none() && pool.is_none() => {
                transformer = Some(dir.join(&m.path))
            }
            "Pooling" if transformer.is_some() && pool.is_none() => pool = Some(dir.join(&m.path)),
            "Normalize" if pool.is_some() => normalize = true,
            _ => {
                return Err(FolderError::new(
                    &file,
                    format!(
                        "module '{}' is not supported here (supported: Transformer, then Pooling, then optionally Normalize)",
                        m.kind
                    ),
                ));
            }
        }
    }
    let transformer =
        transformer.ok_or_else(|| FolderError::new(&file, "no Transformer module is listed"))?;
    Ok((transformer, pool, normalize))
}

/// Read and check the folder's description (not the weights or the tokenizer).
pub fn describe(dir: &Path) -> Result<ModelDescription, FolderError> {
    if !dir.is_dir() {
        return Err(FolderError::new(
            dir,
            "no such folder (expected a sentence-transformers model folder with config.json, model.safetensors and tokenizer.json)",
        ));
    }
    let (transformer_dir, pool_dir, normalize) = modules(dir)?;
    for name in ["config.json", "model.safetensors", "tokenizer.json"] {
        let f = transformer_dir.join(name);
        if !f.is_file() {
            return Err(FolderError::new(&f, "missing"));
        }
    }
    let encoder = encoder_config(&transformer_dir.join("config.json"))?;
    let pooling = match pool_dir {
        Some(p) => pooling(&p.join("config.json"), encoder.hidden)?,
        None => Pooling {
            mean: true,
            ..Pooling::default()
        },
    };
    let sbert = transformer_dir.join("sentence_bert_config.json");
    let max_seq_length = read_optional_json::<SbertFile>(&sbert)?
        .and_then(|s| s.max_seq_length)
        .unwrap_or(encoder.max_positions)
        .min(encoder.max_positions);
    if max_seq_length < 2 {
        return Err(FolderError::new(&sbert, "max_seq_length is below 2"));
    }
    let st = dir.join("config_sentence_transformers.json");
    let prompt = match read_optional_json::<StFile>(&st)? {
        Some(StFile {
            prompts,
            default_prompt_name: Some(name),
        }) => prompts.get(&name).cloned().ok_or_else(|| {
            FolderError::new(
                &st,
                format!("default_prompt_name '{name}' is not among its prompts"),
            )
        })?,
        _ => String::new(),
    };
    Ok(ModelDescription {
        encoder,
        pooling,
        normalize,
        max_seq_length,
        prompt,
        transformer_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        dir
    }

    const CONFIG: &str = r#"{"architectures":["BertModel"],"vocab_size":10,"hidden_size":8,
        "num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,
        "max_position_embeddings":32,"hidden_act":"gelu"}"#;

    fn with(extra: &[(&'static str, &'static str)]) -> tempfile::TempDir {
        let mut files = vec![
            ("config.json", CONFIG),
            ("model.safetensors", "x"),
            ("tokenizer.json", "{}"),
        ];
        files.extend_from_slice(extra);
        folder(&files)
    }

    #[test]
    fn a_full_sentence_transformers_folder_is_described() {
        let dir = with(&[
            (
                "modules.json",
                r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                   {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                   {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#,
            ),
            (
                "1_Pooling/config.json",
                r#"{"word_embedding_dimension":8,"pooling_mode_cls_token":true}"#,
            ),
            ("sentence_bert_config.json", r#"{"max_seq_length":512}"#),
            (
                "config_sentence_transformers.json",
                r#"{"prompts":{"query":"query: "},"default_prompt_name":"query"}"#,
            ),
        ]);
        let d = describe(dir.path()).unwrap();
        assert!(d.normalize);
        assert_eq!(d.pooling.name(), "cls");
        // Capped at the position table's size.
        assert_eq!(d.max_seq_length, 32);
        assert_eq!(d.prompt, "query: ");
        assert_eq!(d.encoder.head_dim(), 4);
        assert_eq!(d.encoder.activation, Activation::Gelu);
    }

    #[test]
    fn a_bare_transformer_folder_means_mean_pooling_without_normalising() {
        let dir = with(&[]);
        let d = describe(dir.path()).unwrap();
        assert!(!d.normalize);
        assert_eq!(d.pooling.name(), "mean");
        assert_eq!(d.max_seq_length, 32);
    }

    #[test]
    fn unsupported_folders_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let e = describe(&dir.path().join("nope")).unwrap_err();
        assert!(e.problem.contains("no such folder"), "{e:?}");

        let dir = folder(&[("config.json", CONFIG), ("model.safetensors", "x")]);
        let e = describe(dir.path()).unwrap_err();
        assert_eq!(e.file, dir.path().join("tokenizer.json"));
        assert_eq!(e.problem, "missing");

        let gpt = r#"{"architectures":["GPT2Model"],"vocab_size":10,"hidden_size":8,
            "num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16}"#;
        let dir = folder(&[
            ("config.json", gpt),
            ("model.safetensors", "x"),
            ("tokenizer.json", "{}"),
        ]);
        let e = describe(dir.path()).unwrap_err();
        assert_eq!(e.file, dir.path().join("config.json"));
        assert!(e.problem.contains("GPT2Model"), "{e:?}");

        let dir = with(&[
            (
                "modules.json",
                r#"[{"path":"","type":"sentence_transformers.models.Transformer"},
               {"path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
               {"path":"2_Dense","type":"sentence_transformers.models.Dense"}]"#,
            ),
            (
                "1_Pooling/config.json",
                r#"{"pooling_mode_mean_tokens":true}"#,
            ),
        ]);
        let e = describe(dir.path()).unwrap_err();
        assert!(e.problem.contains("Dense"), "{e:?}");
        assert_eq!(e.file, dir.path().join("modules.json"));

        let dir = with(&[
            (
                "modules.json",
                r#"[{"path":"","type":"sentence_transformers.models.Transformer"},
                   {"path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]"#,
            ),
            (
                "1_Pooling/config.json",
                r#"{"word_embedding_dimension":384,"pooling_mode_mean_tokens":true}"#,
            ),
        ]);
        let e = describe(dir.path()).unwrap_err();
        assert!(e.problem.contains("disagrees"), "{e:?}");
    }
}
