//! Preference pairs: `--text chosen,rejected` maps one point per answer.

use polars::prelude::*;

use crate::cli::{map, read_parquet, stderr, tmp};

#[test]
fn each_answer_of_a_pair_is_a_sample_with_its_row_as_prompt() {
    let dir = tmp();
    let input = dir.path().join("pairs.jsonl");
    let mut text = String::new();
    for i in 0..30 {
        let row = serde_json::json!({
            "id": i,
            "chosen": format!("\n\nHuman: how do I bake bread {i}?\n\nAssistant: Mix flour, water and yeast, then bake."),
            "rejected": format!("\n\nHuman: how do I bake bread {i}?\n\nAssistant: I cannot help with that."),
            "rating": i as f64 / 10.0,
        });
        text.push_str(&format!("{row}\n"));
    }
    // A row without a rejected answer keeps its chosen one (the other is empty, with a
    // warning).
    text.push_str(
        "{\"id\": 30, \"chosen\": \"\\n\\nHuman: hi\\n\\nAssistant: hello\", \"rating\": 1.0}\n",
    );
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("o.parquet");
    let o = map(&input, &out, &["--text", "chosen,rejected"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("62 rows, text column 'answer'"), "{err}");
    assert!(
        err.contains("line 31"),
        "the missing answer is named by its line: {err}"
    );
    let df = read_parquet(&out);
    assert_eq!(df.height(), 62);
    let col = |n: &str| -> Vec<String> {
        df.column(n)
            .unwrap()
            .cast(&DataType::String)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or("null").to_string())
            .collect()
    };
    let source = col("source");
    let prompt = col("prompt_id");
    let answer = col("answer");
    let id = col("id");
    for r in 0..62 {
        assert_eq!(source[r], if r % 2 == 0 { "chosen" } else { "rejected" });
        assert_eq!(prompt[r], (r / 2 + 1).to_string());
        assert_eq!(id[r], (r / 2).to_string());
    }
    assert!(answer[1].contains("I cannot help"), "{}", answer[1]);
    assert!(answer[0].contains("Mix flour"), "{}", answer[0]);
    assert!(df.column("chosen").is_err() && df.column("rejected").is_err());
    // A missing answer column is named with the columns there are.
    let o = map(&input, &out, &["--text", "chosen,preferred"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("preferred") && err.contains("chosen"), "{err}");
}
