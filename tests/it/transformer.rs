//! The transformer embedder against all-MiniLM-L6-v2's reference outputs (an independent
//! numpy implementation): identical token ids, cosine ≥ 0.9999 for every text.

use std::path::Path;

use sample_atlas::embedding::{Embedder, TransformerEmbedder};
use sample_atlas::progress::{CancelToken, NoProgress};

struct Reference {
    texts: Vec<String>,
    ids: Vec<Vec<u32>>,
    vectors: Vec<f32>,
    dims: usize,
}

fn reference(dir: &Path) -> Reference {
    let lines = |f: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.join(f))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let texts = lines("texts.jsonl")
        .iter()
        .map(|v| v["text"].as_str().unwrap().to_string())
        .collect();
    let ids = lines("token_ids.jsonl")
        .iter()
        .map(|v| {
            v["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as u32)
                .collect()
        })
        .collect();
    let e = sample_atlas::embedding::vectors::read_npy(&dir.join("vectors.npy")).unwrap();
    Reference {
        texts,
        ids,
        vectors: e.data,
        dims: e.dims,
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn minilm_matches_the_reference_token_ids_and_vectors() {
    let (Some(model), Some(refdir)) = (crate::minilm_dir(), crate::minilm_reference_dir()) else {
        return;
    };
    let r = reference(&refdir);
    assert_eq!(r.texts.len(), 418);
    let e = TransformerEmbedder::load(&model).unwrap();
    for (i, (t, want)) in r.texts.iter().zip(&r.ids).enumerate() {
        let (got, _) = e.token_ids(t).unwrap();
        assert_eq!(&got, want, "token ids of text {i}");
    }
    let out = e.embed(&r.texts, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(out.dims, r.dims);
    let mut worst = (1.0f64, 0usize);
    for i in 0..r.texts.len() {
        let c = cosine(out.row(i), &r.vectors[i * r.dims..(i + 1) * r.dims]);
        if c < worst.0 {
            worst = (c, i);
        }
    }
    assert!(worst.0 >= 0.9999, "text {} has cosine {}", worst.1, worst.0);
    // Two texts of the reference are longer than 256 tokens.
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("longer than 256 tokens")),
        "{:?}",
        out.warnings
    );
    eprintln!(
        "worst cosine with the reference: {:.7} (text {})",
        worst.0, worst.1
    );
}

fn atlas(args: &[&str]) -> std::process::Output {
    crate::atlas_cmd().args(args).output().expect("binary runs")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `embed` on the reference texts through the real binary writes the reference's vectors.
#[test]
fn embed_command_writes_the_reference_vectors_in_row_order() {
    let (Some(model), Some(refdir)) = (crate::minilm_dir(), crate::minilm_reference_dir()) else {
        return;
    };
    let r = reference(&refdir);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.npy");
    let spec = format!("transformer:{}", model.display());
    let texts = refdir.join("texts.jsonl");
    let o = atlas(&[
        "embed",
        texts.to_str().unwrap(),
        "--text",
        "text",
        "--embedder",
        &spec,
        "-o",
        out.to_str().unwrap(),
        "--no-cache",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("418 rows × 384 dims"), "{err}");
    assert!(err.contains("transformer all-MiniLM-L6-v2"), "{err}");
    assert!(err.contains("longer than 256 tokens"), "{err}");
    let got = sample_atlas::embedding::vectors::read_npy(&out).unwrap();
    assert_eq!((got.len(), got.dims), (418, 384));
    for i in 0..418 {
        let c = cosine(got.row(i), &r.vectors[i * r.dims..(i + 1) * r.dims]);
        assert!(c >= 0.9999, "row {i}: cosine {c}");
    }
}

/// A folder whose files disagree with each other fails before any work, naming the file.
#[test]
fn broken_model_folders_are_refused_naming_the_file() {
    let Some(model) = crate::minilm_dir() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let link = |name: &str, to: &Path| {
        std::os::unix::fs::symlink(model.join(name), to.join(name)).unwrap();
    };
    // config.json claims a larger feed-forward layer than the weights have.
    let shapes = dir.path().join("shapes");
    std::fs::create_dir(&shapes).unwrap();
    link("model.safetensors", &shapes);
    link("tokenizer.json", &shapes);
    let config = std::fs::read_to_string(model.join("config.json"))
        .unwrap()
        .replace("\"intermediate_size\": 1536", "\"intermediate_size\": 1024");
    std::fs::write(shapes.join("config.json"), config).unwrap();
    let e = TransformerEmbedder::load(&shapes).unwrap_err().to_string();
    assert!(e.contains("model.safetensors"), "{e}");
    assert!(
        e.contains("[1536, 384]") && e.contains("[1024, 384]"),
        "{e}"
    );

    // A tokenizer that is not JSON.
    let tok = dir.path().join("tokenizer");
    std::fs::create_dir(&tok).unwrap();
    link("model.safetensors", &tok);
    link("config.json", &tok);
    std::fs::write(tok.join("tokenizer.json"), "{ not json").unwrap();
    let e = TransformerEmbedder::load(&tok).unwrap_err().to_string();
    assert!(
        e.contains("tokenizer.json") && e.contains("cannot load"),
        "{e}"
    );

    // The CLI refuses before loading anything else, with exit code 1 and the file named.
    let input = crate::sample("sweep.jsonl");
    let out = dir.path().join("m.parquet");
    let spec = format!("transformer:{}", shapes.display());
    let o = atlas(&[
        "map",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--embedder",
        &spec,
        "--no-cache",
        "--quiet",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("model.safetensors"), "{}", stderr(&o));
    assert!(!out.exists());
}

/// The same texts in another order and other batches get the same vectors.
#[test]
fn vectors_do_not_depend_on_order_or_batch() {
    let (Some(model), Some(refdir)) = (crate::minilm_dir(), crate::minilm_reference_dir()) else {
        return;
    };
    let r = reference(&refdir);
    let e = TransformerEmbedder::load(&model).unwrap();
    let texts: Vec<String> = r.texts[..120].to_vec();
    let reversed: Vec<String> = texts.iter().rev().cloned().collect();
    let a = e.embed(&texts, &NoProgress, &CancelToken::new()).unwrap();
    let b = e
        .embed(&reversed, &NoProgress, &CancelToken::new())
        .unwrap();
    let one = e
        .embed(&texts[7..8], &NoProgress, &CancelToken::new())
        .unwrap();
    for i in 0..texts.len() {
        let c = cosine(a.row(i), b.row(texts.len() - 1 - i));
        assert!(c > 0.999_999, "text {i}: {c}");
    }
    assert!(cosine(a.row(7), one.row(0)) > 0.999_999);
    // Cancelling stops the work.
    let cancel = CancelToken::new();
    cancel.cancel();
    assert!(matches!(
        e.embed(&texts, &NoProgress, &cancel),
        Err(sample_atlas::embedding::EmbedError::Cancelled)
    ));
}
