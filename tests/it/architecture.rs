//! The module graph written down in `src/lib.rs` holds: no module uses one above it (no
//! circle), and the compute modules know neither the CLI nor the app.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its non-test code names as `crate::…` (or
/// `super::…` from a file directly under `src/`).
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            if module == "lib" || module == "main" || module == "testing" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = without_test_modules(&text);
            let code = code.as_str();
            let uses = graph.entry(module.clone()).or_default();
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    uses.insert(name);
                }
            }
        }
    }
    graph
}

/// `text` without its `#[cfg(test)] mod … { … }` blocks: unit tests may use fixtures from
/// anywhere; only shipped code counts.
fn without_test_modules(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]\nmod ") {
        out.push_str(&rest[..at]);
        rest = match rest[at..].find("\n}\n") {
            Some(end) => &rest[at + end + 3..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

#[test]
fn the_module_graph_has_no_circle() {
    let graph = module_graph();
    // Kahn's algorithm: repeatedly remove modules whose uses are all removed.
    let mut left = graph.clone();
    let mut order = Vec::new();
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|(_, uses)| uses.iter().all(|u| !left.contains_key(u)))
            .map(|(m, _)| m.clone())
            .collect();
        assert!(
            !ready.is_empty(),
            "the modules {:?} use each other in a circle: {left:?}",
            left.keys().collect::<Vec<_>>()
        );
        for m in ready {
            left.remove(&m);
            order.push(m);
        }
    }
    assert!(order.len() > 10, "found the modules: {order:?}");
}

#[test]
fn compute_modules_know_neither_the_cli_nor_the_app() {
    let graph = module_graph();
    for (module, uses) in &graph {
        if module == "app" || module == "cli" {
            continue;
        }
        assert!(
            !uses.contains("app") && !uses.contains("cli"),
            "{module} uses {uses:?}"
        );
    }
    assert!(!graph["cli"].contains("app"), "cli uses the app");
    assert!(!graph["app"].contains("cli"), "the app uses the cli");
    for bottom in ["util", "progress"] {
        assert!(
            graph[bottom].is_empty(),
            "{bottom} uses {:?}",
            graph[bottom]
        );
    }
}
