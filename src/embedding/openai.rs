//! Client for any OpenAI-compatible embeddings endpoint (OpenAI, vLLM,
//! text-embeddings-inference, Ollama, llama.cpp): `POST {base}/v1/embeddings` with
//! `{"model", "input": [...]}`, answered by `data[i].embedding` ordered by `data[i].index`.
//!
//! Texts go in batches, several requests in flight on their own threads; 429 and 5xx answers
//! and transport failures are retried with exponential backoff (honouring `Retry-After`), any
//! other failure stops the run with the server's message. The API key is read from an
//! environment variable and appears in no id, error, log or cache entry.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{EmbedError, Embedder, Embeddings};
use crate::progress::{CancelToken, Progress, Stage};

/// The environment variable the key is read from unless told otherwise.
pub const DEFAULT_KEY_ENV: &str = "OPENAI_API_KEY";

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EndpointParams {
    /// Base URL, e.g. `http://127.0.0.1:8080` or `https://api.openai.com` (a trailing `/v1`
    /// is accepted too).
    pub url: String,
    /// The `model` field of the request.
    pub model: String,
    /// Texts per request.
    pub batch_size: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Seconds before a request is abandoned (and retried).
    pub timeout_s: f64,
    /// Retries of one request after a 429, 5xx or transport failure.
    pub max_retries: u32,
    /// Name of the environment variable holding the API key (unset → no Authorization header).
    pub api_key_env: String,
}

impl Default for EndpointParams {
    fn default() -> Self {
        EndpointParams {
            url: String::new(),
            model: "text-embedding-3-small".into(),
            batch_size: 128,
            concurrency: 8,
            timeout_s: 120.0,
            max_retries: 6,
            api_key_env: DEFAULT_KEY_ENV.into(),
        }
    }
}

impl EndpointParams {
    /// The full embeddings URL.
    pub fn endpoint(&self) -> String {
        let base = self.url.trim_end_matches('/');
        if base.ends_with("/v1") {
            format!("{base}/embeddings")
        } else {
            format!("{base}/v1/embeddings")
        }
    }

    pub fn validate(&self) -> Result<(), EmbedError> {
        let bad = |m: String| Err(EmbedError::Params(m));
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return bad(format!(
                "endpoint URL '{}' must start with http:// or https://",
                self.url
            ));
        }
        if self.model.trim().is_empty() {
            return bad("the endpoint needs a model name (--embed-model)".into());
        }
        if self.batch_size == 0 || self.concurrency == 0 {
            return bad("batch size and concurrency must be at least 1".into());
        }
        if !(self.timeout_s > 0.0 && self.timeout_s.is_finite()) {
            return bad("the request timeout must be a positive number of seconds".into());
        }
        Ok(())
    }
}

pub struct EndpointEmbedder {
    params: EndpointParams,
    agent: ureq::Agent,
    /// Read once from the environment; never formatted anywhere.
    key: Option<String>,
    /// Base delay of the retry backoff (tests shorten it).
    backoff: Duration,
    /// Ask for base64 vectors (until a server refuses them).
    base64: AtomicBool,
}

impl std::fmt::Debug for EndpointEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointEmbedder")
            .field("params", &self.params)
            .field("key", &self.key.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(serde::Deserialize)]
struct Item {
    index: Option<usize>,
    embedding: Vector,
}

/// An embedding as floats, or as base64 of little-endian f32 bytes.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Vector {
    Floats(Vec<f32>),
    Base64(String),
}

impl Vector {
    fn into_floats(self) -> Result<Vec<f32>, String> {
        match self {
            Vector::Floats(v) => Ok(v),
            Vector::Base64(s) => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s.as_bytes())
                    .map_err(|e| format!("bad base64 embedding: {e}"))?;
                if bytes.len() % 4 != 0 {
                    return Err(format!(
                        "base64 embedding of {} bytes is not a whole number of float32s",
                        bytes.len()
                    ));
                }
                Ok(bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect())
            }
        }
    }
}

/// What went wrong with one request.
enum Failure {
    /// Worth another try (429, 5xx, timeout, connection trouble), after at least this long.
    Retry(String, Option<Duration>),
    Fatal(String),
}

impl EndpointEmbedder {
    pub fn new(params: EndpointParams) -> Result<Self, EmbedError> {
        params.validate()?;
        let key = std::env::var(&params.api_key_env)
            .ok()
            .filter(|k| !k.trim().is_empty());
        let timeout = Duration::from_secs_f64(params.timeout_s);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_idle_connections_per_host(params.concurrency.max(1) * 2)
            .user_agent(concat!("sample-atlas/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(EndpointEmbedder {
            params,
            agent,
            key,
            backoff: Duration::from_millis(500),
            base64: AtomicBool::new(true),
        })
    }

    /// Shorten the retry backoff (for tests against a local server).
    pub fn with_backoff(mut self, base: Duration) -> Self {
        self.backoff = base;
        self
    }

    pub fn params(&self) -> &EndpointParams {
        &self.params
    }

    /// One request for one batch: the batch's vectors in input order.
    fn request(&self, batch: &[String]) -> Result<Vec<Vec<f32>>, Failure> {
        // Base64 (little-endian f32 bytes) is a quarter of the size of decimal floats and far
        // cheaper to decode; servers that do not know it answer with floats (handled) or
        // reject it, and then the client switches to floats for good.
        let base64 = self.base64.load(Ordering::Relaxed);
        let body = serde_json::json!({
            "model": self.params.model,
            "input": batch,
            "encoding_format": if base64 { "base64" } else { "float" },
        });
        let mut req = self
            .agent
            .post(self.params.endpoint())
            .header("Content-Type", "application/json");
        if let Some(key) = &self.key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        let mut resp = match req.send_json(&body) {
            Ok(r) => r,
            Err(e) => return Err(Failure::Retry(self.scrub(e.to_string()), None)),
        };
        let status = resp.status().as_u16();
        if status != 200 {
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| Duration::from_secs_f64(s.min(600.0)));
            let text = resp
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_string()
                .unwrap_or_default();
            let msg = format!("HTTP {status}: {}", self.scrub(server_message(&text)));
            if base64 && (status == 400 || status == 422) {
                self.base64.store(false, Ordering::Relaxed);
                return Err(Failure::Retry(msg, Some(Duration::ZERO)));
            }
            return if status == 429 || status >= 500 {
                Err(Failure::Retry(msg, retry_after))
            } else {
                Err(Failure::Fatal(msg))
            };
        }
        // Read the whole body, then parse from memory: serde_json reading from the body
        // reader byte by byte was 10x slower than the server.
        let bytes = match resp.body_mut().with_config().limit(1 << 30).read_to_vec() {
            Ok(b) => b,
            Err(e) => return Err(Failure::Retry(self.scrub(e.to_string()), None)),
        };
        let parsed: Response = match serde_json::from_slice(&bytes) {
            Ok(p) => p,
            Err(e) => {
                return Err(Failure::Fatal(format!(
                    "the answer is not an embeddings response: {}",
                    self.scrub(e.to_string())
                )));
            }
        };
        order_items(parsed.data, batch.len()).map_err(Failure::Fatal)
    }

    /// Never let the key through, whatever a server or library echoes back.
    fn scrub(&self, s: String) -> String {
        match &self.key {
            Some(k) if s.contains(k.as_str()) => s.replace(k.as_str(), "<api key>"),
            _ => s,
        }
    }

    /// A request with retries; `Err` is the final message.
    fn request_with_retries(
        &self,
        batch: &[String],
        cancel: &dyn Fn() -> bool,
    ) -> Result<Vec<Vec<f32>>, String> {
        let mut attempt = 0u32;
        loop {
            match self.request(batch) {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(m)) => return Err(m),
                Err(Failure::Retry(m, after)) => {
                    if attempt >= self.params.max_retries {
                        return Err(format!("{m} (gave up after {} attempts)", attempt + 1));
                    }
                    let exp = self.backoff.saturating_mul(1 << attempt.min(10));
                    // Deterministic jitter per batch and attempt spreads out the retries.
                    let jitter = (batch.len() as u64 * 7919 + attempt as u64 * 104_729) % 250;
                    let wait = after.unwrap_or(exp).max(exp / 2)
                        + self.backoff.mul_f64(jitter as f64 / 1000.0);
                    let until = Instant::now() + wait.min(Duration::from_secs(300));
                    while Instant::now() < until {
                        if cancel() {
                            return Err("cancelled".into());
                        }
                        std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
                    }
                    attempt += 1;
                }
            }
        }
    }
}

/// Pull a readable message out of an error body (`{"error": {"message": ...}}` or text).
fn server_message(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let e = v.get("error")?;
            e.get("message")
                .and_then(|m| m.as_str())
                .or_else(|| e.as_str())
                .map(str::to_string)
        });
    let msg = from_json.unwrap_or_else(|| body.trim().to_string());
    let mut msg: String = msg.chars().take(300).collect();
    if msg.is_empty() {
        msg = "(empty body)".into();
    }
    msg
}

/// Put the answer's items in input order, checking that each input got one vector and that
/// all vectors have the same, non-zero length and finite values.
fn order_items(items: Vec<Item>, n: usize) -> Result<Vec<Vec<f32>>, String> {
    if items.len() != n {
        return Err(format!("asked for {n} embeddings, got {}", items.len()));
    }
    let mut out: Vec<Option<Vec<f32>>> = vec![None; n];
    for (pos, item) in items.into_iter().enumerate() {
        let i = item.index.unwrap_or(pos);
        if i >= n || out[i].is_some() {
            return Err(format!("embedding index {i} is out of range or repeated"));
        }
        let v = item.embedding.into_floats()?;
        if v.is_empty() || v.iter().any(|v| !v.is_finite()) {
            return Err(format!("embedding {i} is empty or not finite"));
        }
        out[i] = Some(v);
    }
    let out: Vec<Vec<f32>> = out.into_iter().map(|v| v.unwrap_or_default()).collect();
    let d = out[0].len();
    if let Some(i) = out.iter().position(|v| v.len() != d) {
        return Err(format!(
            "embeddings have different lengths ({d} and {} at index {i})",
            out[i].len()
        ));
    }
    Ok(out)
}

impl Embedder for EndpointEmbedder {
    fn id(&self) -> String {
        format!(
            "endpoint {} model {}",
            self.params.endpoint(),
            self.params.model
        )
    }

    fn embed(
        &self,
        texts: &[String],
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<Embeddings, EmbedError> {
        let batches: Vec<&[String]> = texts.chunks(self.params.batch_size).collect();
        let results: Vec<Mutex<Option<Vec<Vec<f32>>>>> =
            batches.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<String>> = Mutex::new(None);
        let stop = || cancel.is_cancelled() || failed.load(Ordering::Relaxed);
        progress.report(Stage::Embed, 0, batches.len() as u64);
        let workers = self.params.concurrency.min(batches.len()).max(1);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        if stop() {
                            return;
                        }
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        if b >= batches.len() {
                            return;
                        }
                        match self.request_with_retries(batches[b], &stop) {
                            Ok(v) => {
                                *results[b].lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
                                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                                progress.report(Stage::Embed, d as u64, batches.len() as u64);
                            }
                            Err(m) => {
                                let first = b * self.params.batch_size;
                                let mut slot =
                                    first_error.lock().unwrap_or_else(|e| e.into_inner());
                                if slot.is_none() && !cancel.is_cancelled() {
                                    *slot = Some(format!(
                                        "texts {first}..{}: {m}",
                                        first + batches[b].len()
                                    ));
                                }
                                failed.store(true, Ordering::Relaxed);
                                return;
                            }
                        }
                    }
                });
            }
        });
        if cancel.is_cancelled() {
            return Err(EmbedError::Cancelled);
        }
        if let Some(m) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(EmbedError::Endpoint {
                url: self.params.endpoint(),
                problem: m,
            });
        }
        let mut dims = 0;
        let mut data = Vec::new();
        for (b, slot) in results.into_iter().enumerate() {
            let vectors = slot
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_default();
            for v in vectors {
                if dims == 0 {
                    dims = v.len();
                    data.reserve(texts.len() * dims);
                } else if v.len() != dims {
                    return Err(EmbedError::Endpoint {
                        url: self.params.endpoint(),
                        problem: format!(
                            "batch {b} has {}-dimensional embeddings, earlier ones {dims}",
                            v.len()
                        ),
                    });
                }
                data.extend_from_slice(&v);
            }
        }
        Ok(Embeddings {
            dims,
            data,
            warnings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_url_forms() {
        let p = |url: &str| EndpointParams {
            url: url.into(),
            ..Default::default()
        };
        assert_eq!(
            p("http://h:1").endpoint(),
            "http://h:1/v1/embeddings".to_string()
        );
        assert_eq!(p("http://h:1/").endpoint(), "http://h:1/v1/embeddings");
        assert_eq!(p("http://h:1/v1/").endpoint(), "http://h:1/v1/embeddings");
        assert!(p("h:1").validate().is_err());
    }

    #[test]
    fn items_are_put_in_index_order_and_checked() {
        let item = |index, v: Vec<f32>| Item {
            index: Some(index),
            embedding: Vector::Floats(v),
        };
        let out = order_items(vec![item(1, vec![2.0]), item(0, vec![1.0])], 2).unwrap();
        assert_eq!(out, vec![vec![1.0], vec![2.0]]);
        assert!(order_items(vec![item(0, vec![1.0])], 2).is_err());
        assert!(order_items(vec![item(0, vec![1.0]), item(0, vec![1.0])], 2).is_err());
        assert!(order_items(vec![item(0, vec![1.0]), item(1, vec![1.0, 2.0])], 2).is_err());
        assert!(order_items(vec![item(0, vec![f32::NAN])], 1).is_err());
    }

    #[test]
    fn server_messages_are_extracted() {
        assert_eq!(
            server_message(r#"{"error": {"message": "bad model", "type": "x"}}"#),
            "bad model"
        );
        assert_eq!(server_message(r#"{"error": "nope"}"#), "nope");
        assert_eq!(server_message("  plain text "), "plain text");
        assert_eq!(server_message(""), "(empty body)");
    }
}
