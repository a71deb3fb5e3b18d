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
