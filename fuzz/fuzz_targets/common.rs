//! What each fuzz target does with its bytes, shared with the stable corpus test
//! (`tests/it/fuzz_corpus.rs`). Errors are fine; a panic (or a hang) is a finding.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use sample_atlas::dataset::{self, LoadOptions, Samples};
use sample_atlas::metrics::expr::Expr;
use sample_atlas::progress::{CancelToken, NoProgress};

/// libfuzzer-sys installs a panic hook that aborts at once, so under the fuzzer a panic the
/// loader itself catches (`dataset::read::polars_read` turns a panic inside polars into a parse
/// error, as the binary does) aborted as a crash. Each target restores the default hook at its
/// start: a caught panic then unwinds to its `catch_unwind` as in production, and a panic that
/// leaves the target still aborts (libfuzzer-sys catches it at its entry and calls `abort`),
/// so it is still a finding.
pub fn production_panic_hook() {
    drop(std::panic::take_hook());
}

/// A file name in a private temporary folder (one per process and target).
fn scratch(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("sample-atlas-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temporary folder");
        d
    });
    dir.join(name)
}

/// Load `bytes` as a file named `name` (the extension picks the format), then touch what the
/// app touches: every row's location, fields and chat turns.
pub fn load_bytes(bytes: &[u8], name: &str) {
    let path = scratch(name);
    std::fs::write(&path, bytes).expect("write the case");
    if let Ok(s) = dataset::load(
        &path,
        &LoadOptions::default(),
        &NoProgress,
        &CancelToken::new(),
    ) {
        walk(&s);
    }
}

fn walk(s: &Samples) {
    for row in 0..s.len().min(64) {
        let _ = s.locate(row);
        let _ = s.row_fields(row, 200);
        let _ = s.chat_turns(row);
    }
}

/// A small table every expression is evaluated on (numbers, a boolean, text, nulls).
fn frame() -> &'static Samples {
    static F: OnceLock<Samples> = OnceLock::new();
    F.get_or_init(|| {
        let path = scratch("frame.jsonl");
        std::fs::write(
            &path,
            concat!(
                "{\"text\":\"a b\",\"score\":1.5,\"n\":3,\"ok\":true,\"model\":\"x\"}\n",
                "{\"text\":\"\",\"score\":null,\"n\":-2,\"ok\":false,\"model\":\"y\"}\n",
                "{\"text\":\"c\",\"score\":0.0,\"n\":0,\"ok\":null,\"model\":null}\n",
            ),
        )
        .expect("write the frame");
        dataset::load(
            &path,
            &LoadOptions::default(),
            &NoProgress,
            &CancelToken::new(),
        )
        .expect("the frame loads")
    })
}

/// Parse `bytes` as a metric expression and evaluate it on a small table.
pub fn expr(bytes: &[u8]) {
    let Ok(src) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(e) = Expr::parse(src) {
        let _ = e.columns();
        let _ = e.eval(&frame().frame, "fuzz");
    }
}
