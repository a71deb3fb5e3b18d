//! The model2vec and endpoint embedders: a real local HTTP server for the endpoint client,
//! the potion-base-8M model for model2vec, and the per-text cache end to end.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sample_atlas::embedding::{
    EmbedError, Embedder, EndpointEmbedder, EndpointParams, Model2VecEmbedder,
};
use sample_atlas::progress::{CancelToken, NoProgress};

use crate::server::{Answer, TestServer, embeddings_answer, embeddings_answer_for, fake_embedding};

fn texts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("sample number {i} says {}", "a".repeat(i % 7)))
        .collect()
}

fn client(url: &str, key_env: &str) -> EndpointEmbedder {
    EndpointEmbedder::new(EndpointParams {
        url: url.to_string(),
        model: "test-model".into(),
        batch_size: 16,
        concurrency: 3,
        timeout_s: 10.0,
        max_retries: 4,
        api_key_env: key_env.into(),
    })
    .unwrap()
    .with_backoff(Duration::from_millis(5))
}

#[test]
fn endpoint_batches_orders_by_index_and_sends_the_key() {
    let server = TestServer::start(4, |_, s| embeddings_answer_for(s));
    // A variable only this test uses.
    unsafe { std::env::set_var("SAMPLE_ATLAS_TEST_KEY_A", "sk-secret-123") };
    let c = client(&server.url, "SAMPLE_ATLAS_TEST_KEY_A");
    let t = texts(100);
    let e = c.embed(&t, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(e.dims, 4);
    for (i, text) in t.iter().enumerate() {
        assert_eq!(e.row(i), fake_embedding(text).as_slice(), "row {i}");
    }
    let seen = server.requests();
    assert_eq!(seen.len(), 7, "100 texts in batches of 16");
    assert!(seen.iter().all(|s| s.inputs.len() <= 16));
    assert!(seen.iter().all(|s| s.path == "/v1/embeddings"));
    assert!(seen.iter().all(|s| s.model == "test-model"));
    assert!(seen.iter().all(|s| s.encoding_format == "base64"));
    assert!(
        seen.iter()
            .all(|s| s.authorization.as_deref() == Some("Bearer sk-secret-123"))
    );
    // The key is in no id or debug output.
    assert!(!c.id().contains("secret"));
    assert!(!format!("{c:?}").contains("secret"));
}

#[test]
fn endpoint_retries_429_and_5xx_then_succeeds() {
    let server = TestServer::start(2, |n, s| match n {
        0 => Answer {
            status: 429,
            headers: vec![("Retry-After".into(), "0".into())],
            body: r#"{"error": {"message": "rate limited"}}"#.into(),
        },
        1 => Answer::json(503, "overloaded".into()),
        2 => Answer::json(500, r#"{"error": {"message": "boom"}}"#.into()),
        _ => embeddings_answer(&s.inputs, Duration::ZERO),
    });
    let c = client(&server.url, "SAMPLE_ATLAS_TEST_KEY_UNSET");
    let t = texts(10);
    let e = c.embed(&t, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(e.len(), 10);
    assert_eq!(e.row(3), fake_embedding(&t[3]).as_slice());
    assert_eq!(server.requests().len(), 4);
    assert!(server.requests()[0].authorization.is_none());
}

#[test]
fn endpoint_gives_up_after_the_retries_with_the_server_message() {
    let server = TestServer::start(1, |_, _| {
        Answer::json(500, r#"{"error": {"message": "model is loading"}}"#.into())
    });
    let c = client(&server.url, "SAMPLE_ATLAS_TEST_KEY_UNSET");
    let err = c
        .embed(&texts(3), &NoProgress, &CancelToken::new())
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EmbedError::Endpoint { .. }), "{msg}");
    assert!(
        msg.contains("HTTP 500") && msg.contains("model is loading"),
        "{msg}"
    );
    assert!(msg.contains("gave up after 5 attempts"), "{msg}");
    assert_eq!(server.requests().len(), 5);
}

#[test]
fn endpoint_client_errors_are_not_retried_and_never_show_the_key() {
    let server = TestServer::start(1, |_, s| {
        // A server that echoes the key back in its error message.
        let key = s.authorization.clone().unwrap_or_default();
        Answer::json(
            401,
            serde_json::json!({"error": {"message": format!("Incorrect API key provided: {key}")}})
                .to_string(),
        )
    });
    unsafe { std::env::set_var("SAMPLE_ATLAS_TEST_KEY_B", "sk-topsecret-456") };
    let c = client(&server.url, "SAMPLE_ATLAS_TEST_KEY_B");
    let msg = c
        .embed(&texts(3), &NoProgress, &CancelToken::new())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("HTTP 401") && msg.contains("Incorrect API key"),
        "{msg}"
    );
    assert!(!msg.contains("topsecret"), "{msg}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn endpoint_rejects_malformed_answers() {
    for body in [
        "not json",
        r#"{"data": []}"#,
        r#"{"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}]}"#,
        r#"{"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]}"#,
    ] {
        let body = body.to_string();
        let server = TestServer::start(1, move |_, _| Answer::json(200, body.clone()));
        let c = client(&server.url, "SAMPLE_ATLAS_TEST_KEY_UNSET");
        let err = c.embed(&texts(2), &NoProgress, &CancelToken::new());
        assert!(
            matches!(err, Err(EmbedError::Endpoint { .. })),
            "{:?}",
            err.map(|e| e.dims)
        );
        assert_eq!(server.requests().len(), 1, "no retry of a malformed answer");
    }
}

#[test]
fn endpoint_unreachable_is_a_clear_error() {
    // Bind and drop: nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut p = EndpointParams {
        url: format!("http://127.0.0.1:{port}"),
        model: "m".into(),
        max_retries: 1,
        ..Default::default()
    };
    p.timeout_s = 2.0;
    let c = EndpointEmbedder::new(p)
        .unwrap()
        .with_backoff(Duration::from_millis(5));
    let msg = c
        .embed(&texts(2), &NoProgress, &CancelToken::new())
        .unwrap_err()
        .to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(msg.contains("gave up after 2 attempts"), "{msg}");
}

#[test]
fn endpoint_keeps_requests_in_flight_concurrently() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (f, p) = (in_flight.clone(), peak.clone());
    let server = TestServer::start(8, move |_, s| {
        let now = f.fetch_add(1, Ordering::SeqCst) + 1;
        p.fetch_max(now, Ordering::SeqCst);
        let a = embeddings_answer(&s.inputs, Duration::from_millis(30));
        f.fetch_sub(1, Ordering::SeqCst);
        a
    });
    let c = client(&server.url, "SAMPLE_ATLAS_TEST_KEY_UNSET");
    c.embed(&texts(16 * 12), &NoProgress, &CancelToken::new())
        .unwrap();
    assert_eq!(peak.load(Ordering::SeqCst), 3, "concurrency 3");
}

#[test]
fn map_with_an_endpoint_embeds_only_new_texts_on_rerun() {
    let server = TestServer::start(2, |_, s| embeddings_answer(&s.inputs, Duration::ZERO));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let input = dir.path().join("in.jsonl");
    let lines: Vec<String> = (0..60)
        .map(|i| {
            format!(
                r#"{{"text": "text {i} {}", "score": {i}}}"#,
                "word ".repeat(i % 9)
            )
        })
        .collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    let run = |report: &str| {
        let out = dir.path().join("out.parquet");
        let report = dir.path().join(report);
        let o = crate::atlas_cmd()
            .args([
                "map",
                input.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
                "--quiet",
            ])
            .args(["--embedder", &format!("openai:{}", server.url)])
            .args(["--embed-model", "fake", "--embed-batch", "25"])
            .args(["--report", report.to_str().unwrap()])
            .env(sample_atlas::cache::CACHE_DIR_ENV, &cache)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
        r
    };
    let first = run("r1.json");
    assert_eq!(first["text_cache"]["embedded"], 60);
    assert_eq!(server.requests().len(), 3);
    assert_eq!(first["embedding_dims"], 4);

    // Two new lines and one changed: only those three texts go to the server.
    let mut lines2 = lines.clone();
    lines2[5] = r#"{"text": "an edited text", "score": 5}"#.into();
    lines2.push(r#"{"text": "new one", "score": 1}"#.into());
    lines2.push(r#"{"text": "another new one", "score": 2}"#.into());
    std::fs::write(&input, lines2.join("\n")).unwrap();
    let second = run("r2.json");
    assert_eq!(second["text_cache"]["embedded"], 3);
    assert_eq!(second["text_cache"]["reused"], 59);
    let seen = server.requests();
    assert_eq!(seen.len(), 4);
    let mut sent = seen[3].inputs.clone();
    sent.sort();
    assert_eq!(sent, vec!["an edited text", "another new one", "new one"]);

    // Unchanged file, new UMAP parameter: nothing is embedded.
    let before = server.requests().len();
    let o = crate::atlas_cmd()
        .args(["map", input.to_str().unwrap(), "-o"])
        .arg(dir.path().join("o3.parquet"))
        .args(["--quiet", "--min-dist", "0.3"])
        .args(["--embedder", &format!("openai:{}", server.url)])
        .args(["--embed-model", "fake"])
        .env(sample_atlas::cache::CACHE_DIR_ENV, &cache)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(server.requests().len(), before);
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn model2vec_embeds_meaning_not_just_words() {
    let Some(dir) = crate::model2vec_dir() else {
        return;
    };
    let m = Model2VecEmbedder::load(&dir).unwrap();
    assert_eq!(m.dims(), 256);
    let t: Vec<String> = [
        "I cannot help with that request.",
        "Sorry, I am unable to assist with this.",
        "The integral of x squared is x cubed over three.",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let e = m.embed(&t, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(e.len(), 4);
    assert!(e.data.iter().all(|v| v.is_finite()));
    // Unit length (the model normalises), except the empty text.
    for i in 0..3 {
        let norm: f32 = e.row(i).iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "row {i}: {norm}");
    }
    // Two refusals with no content word in common are closer than a refusal and maths.
    let refusals = cosine(e.row(0), e.row(1));
    let other = cosine(e.row(0), e.row(2));
    assert!(refusals > other + 0.2, "{refusals} vs {other}");
    // Deterministic, and the id names the model and its fingerprint.
    let again = m.embed(&t, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(e.data, again.data);
    assert!(
        m.id()
            .starts_with("model2vec potion-base-8M (256 dims, model ")
    );
}

#[test]
fn model2vec_folder_errors_name_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let err = Model2VecEmbedder::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    assert!(err.contains("missing model.safetensors"), "{err}");
    let Some(model) = crate::model2vec_dir() else {
        return;
    };
    // A folder with a damaged model file.
    for f in ["tokenizer.json", "config.json"] {
        std::fs::copy(model.join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(
        dir.path().join("model.safetensors"),
        b"not a safetensors file",
    )
    .unwrap();
    let err = Model2VecEmbedder::load(dir.path()).unwrap_err().to_string();
    assert!(err.starts_with("model2vec model "), "{err}");
}

#[test]
fn map_with_model2vec_end_to_end() {
    let Some(model) = crate::model2vec_dir() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let o = crate::atlas_cmd()
        .args(["map"])
        .arg(crate::sample("sweep.jsonl"))
        .arg("-o")
        .arg(&out)
        .args(["--quiet", "--no-cache", "--embedder"])
        .arg(format!("model2vec:{}", model.display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("embedder: model2vec potion-base-8M"), "{err}");
    assert!(out.is_file());
}

#[test]
fn endpoint_falls_back_to_floats_when_base64_is_refused() {
    let server = TestServer::start(2, |_, s| {
        if s.encoding_format == "base64" {
            Answer::json(
                400,
                r#"{"error": {"message": "unknown encoding_format"}}"#.into(),
            )
        } else {
            embeddings_answer_for(s)
        }
    });
    let c = client(&server.url, "SAMPLE_ATLAS_TEST_KEY_UNSET");
    let t = texts(40);
    let e = c.embed(&t, &NoProgress, &CancelToken::new()).unwrap();
    for (i, text) in t.iter().enumerate() {
        assert_eq!(e.row(i), fake_embedding(text).as_slice());
    }
    let seen = server.requests();
    let refused = seen
        .iter()
        .filter(|s| s.encoding_format == "base64")
        .count();
    assert!(
        (1..=3).contains(&refused),
        "switches after the first refusals: {refused}"
    );
    assert_eq!(
        seen.len() - refused,
        3,
        "40 texts in 3 batches of 16, as floats"
    );
}
