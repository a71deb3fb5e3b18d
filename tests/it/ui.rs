//! UI tests with egui_kittest: hover shows the tooltip, click selects and opens the detail
//! panel, colouring by a column shows its legend, and a file opened in the app is loaded and
//! mapped by a background job.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sample_atlas::app::{AtlasApp, Command};
use sample_atlas::dataset::{LoadOptions, load};
use sample_atlas::pipeline::MapParams;
use sample_atlas::progress::{CancelToken, NoProgress};

use crate::sample;

/// The chat sample set with points on a circle (a layout we know).
fn app_with_map() -> AtlasApp {
    let samples = load(
        &sample("chat.jsonl"),
        &LoadOptions::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    let n = samples.len();
    let coords = (0..n)
        .map(|i| {
            let a = i as f32 / n as f32 * std::f32::consts::TAU;
            [a.cos() * 10.0, a.sin() * 10.0]
        })
        .collect();
    let mut app = AtlasApp::new(LoadOptions::default(), MapParams::default());
    app.set_map(Arc::new(samples), coords);
    app
}

fn harness(mut app: AtlasApp) -> Harness<'static, AtlasApp> {
    // Tests never touch the user's cache.
    app.state.use_cache = false;
    let mut h = Harness::builder()
        .with_size(egui::vec2(1200.0, 800.0))
        .build_ui_state(|ui, app: &mut AtlasApp| app.show(ui), app);
    h.run_steps(3);
    h
}

fn point_on_screen(h: &Harness<'_, AtlasApp>, row: usize) -> egui::Pos2 {
    let app = h.state();
    app.state
        .view
        .to_screen(app.state.coords.as_ref().unwrap()[row])
}

fn click_at(h: &mut Harness<'_, AtlasApp>, pos: egui::Pos2) {
    h.hover_at(pos);
    h.step();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    h.run_steps(2);
}

#[test]
fn hovering_a_point_shows_its_text_and_metadata() {
    let mut h = harness(app_with_map());
    let pos = point_on_screen(&h, 5);
    h.hover_at(pos);
    h.run_steps(2);
    assert_eq!(h.state().state.hovered, Some(5));
    h.get_by_label_contains("#5 · line 6");
    // The start of the flattened transcript and a metadata value.
    h.get_by_label_contains("system: You are a helpful assistant.");
    h.get_by_label("rating");
    // Moving away hides it.
    h.hover_at(egui::pos2(5.0, 5.0));
    h.run_steps(2);
    assert_eq!(h.state().state.hovered, None);
    assert!(h.query_by_label_contains("#5 · line 6").is_none());
}

#[test]
fn clicking_a_point_selects_it_and_shows_the_whole_sample() {
    let mut h = harness(app_with_map());
    let pos = point_on_screen(&h, 2);
    click_at(&mut h, pos);
    assert_eq!(h.state().state.selected, Some(2));
    h.get_by_label("Sample #2");
    // Chat transcripts are shown turn by turn.
    h.get_by_label("assistant");
    h.get_by_label("Tell me how to hotwire a car.");
    // Closing the panel clears the selection.
    h.get_by_label("Close").click();
    h.run_steps(2);
    assert_eq!(h.state().state.selected, None);
}

#[test]
fn colour_by_a_category_shows_a_legend() {
    let mut h = harness(app_with_map());
    // The default colouring is the score-like column.
    assert_eq!(h.state().state.color_by.as_deref(), Some("rating"));
    h.get_by_label("colour by").click();
    h.run_steps(2);
    h.get_by_label("model").click();
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.state.color_by.as_deref(), Some("model"));
    match &app.state.legend {
        sample_atlas::app::Legend::Categories { entries, .. } => {
            let labels: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
            assert_eq!(labels, ["chat-70b", "chat-8b"]);
            assert_ne!(entries[0].1, entries[1].1, "distinct colours");
        }
        l => panic!("{l:?}"),
    }
    let colors = &app.state.colors;
    assert_ne!(
        colors[0], colors[1],
        "rows of different models get different colours"
    );
    assert_eq!(colors[0], colors[2]);
}

#[test]
fn opening_a_file_loads_and_maps_it_in_the_background() {
    let app = AtlasApp::new(
        LoadOptions::default(),
        MapParams {
            umap: sample_atlas::projection::UmapParams {
                n_epochs: Some(100),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let mut h = harness(app);
    h.get_by_label_contains("drop a file here");
    let ctx = h.ctx.clone();
    h.state_mut()
        .apply(&ctx, Command::Open(sample("chat.jsonl")));
    let start = Instant::now();
    while !h.state().state.layout_done {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the job finishes"
        );
        assert!(
            h.state().state.error.is_none(),
            "{:?}",
            h.state().state.error
        );
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.state.samples.as_ref().unwrap().len(), 40);
    let coords = app.state.coords.as_ref().unwrap();
    assert_eq!(coords.len(), 40);
    assert!(coords.iter().all(|c| c[0].is_finite() && c[1].is_finite()));
    assert!(!app.state.job_running);
    h.get_by_label("40 samples");
}

#[test]
fn a_bad_file_shows_an_error_not_a_crash() {
    let mut h = harness(AtlasApp::new(LoadOptions::default(), MapParams::default()));
    let ctx = h.ctx.clone();
    h.state_mut()
        .apply(&ctx, Command::Open(sample("bad/truncated.parquet")));
    let start = Instant::now();
    while h.state().state.error.is_none() {
        assert!(start.elapsed() < Duration::from_secs(30));
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.run_steps(2);
    h.get_by_label_contains("truncated.parquet: could not read Parquet");
    assert!(h.state().state.samples.is_none());
}

#[test]
fn a_running_job_can_be_cancelled_from_the_status_bar() {
    let mut h = harness(AtlasApp::new(LoadOptions::default(), MapParams::default()));
    let ctx = h.ctx.clone();
    h.state_mut()
        .apply(&ctx, Command::Open(sample("sweep.jsonl")));
    h.run_steps(1);
    assert!(h.state().state.job_running);
    h.get_by_label("Cancel").click();
    let start = Instant::now();
    while h.state().state.job_running {
        assert!(start.elapsed() < Duration::from_secs(30), "the job stops");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
    assert_eq!(h.state().state.error.as_deref(), Some("cancelled"));
    assert!(!h.state().state.layout_done);
    assert!(h.query_by_label("Cancel").is_none());
}

#[test]
fn choosing_model2vec_in_the_side_panel_recomputes_with_it() {
    use sample_atlas::pipeline::VectorSource;
    let mut h = harness(app_with_map());
    h.get_by_label("embedder").click();
    h.run_steps(2);
    h.get_by_label("model2vec folder").click();
    h.run_steps(2);
    assert!(matches!(
        h.state().state.params.vectors,
        VectorSource::Model2Vec(_)
    ));
    let model = std::env::var_os("SAMPLE_ATLAS_MODEL2VEC_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/models/potion-base-8M")
        });
    if !model.join("model.safetensors").is_file() {
        eprintln!("skipped the recompute: no model at {}", model.display());
        return;
    }
    // The field may be prefilled with an installed default: start from an empty one.
    h.state_mut().state.params.vectors = VectorSource::Model2Vec(Default::default());
    h.run_steps(1);
    let field = h.get_by_label("model folder");
    field.click();
    h.run_steps(1);
    h.get_by_label("model folder")
        .type_text(model.to_str().unwrap());
    h.run_steps(2);
    assert_eq!(
        h.state().state.params.vectors,
        VectorSource::Model2Vec(model.clone())
    );
    h.get_by_label("Recompute map").click();
    let start = Instant::now();
    h.run_steps(2);
    while h.state().state.job_running {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the job finishes"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        h.state().state.error.is_none(),
        "{:?}",
        h.state().state.error
    );
    let embedder = h.state().state.embedder.clone().unwrap();
    assert!(
        embedder.starts_with("model2vec potion-base-8M"),
        "{embedder}"
    );
    h.run_steps(2);
    h.get_by_label("256 dims");
}

/// The bundled sweep with points on a spiral.
fn sweep_app() -> AtlasApp {
    let samples = load(
        &sample("sweep.jsonl"),
        &LoadOptions::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    let coords = (0..samples.len())
        .map(|i| {
            let a = i as f32 * 0.1;
            [a.cos() * (1.0 + a * 0.05), a.sin() * (1.0 + a * 0.05)]
        })
        .collect();
    let mut app = AtlasApp::new(LoadOptions::default(), MapParams::default());
    app.set_map(Arc::new(samples), coords);
    app
}

fn wait_for_analysis(h: &mut Harness<'_, AtlasApp>) {
    let start = Instant::now();
    h.run_steps(2);
    while h.state().state.analysis.running || h.state().state.analysis.result.is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "analysis finishes"
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run_steps(2);
}

#[test]
fn analysis_table_highlights_a_setting_and_plots_best_of_n() {
    let mut h = harness(sweep_app());
    h.get_by_label("Analysis").click();
    wait_for_analysis(&mut h);
    let inputs = h.state().state.analysis.inputs.clone();
    assert_eq!(inputs.by, vec!["model", "temperature", "top_p"]);
    assert_eq!(inputs.prompt.as_deref(), Some("prompt_id"));
    assert_eq!(inputs.metric.as_deref(), Some("score"));
    h.get_by_label_contains("Expected best-of-N per setting");
    // Group by model only: three rows; click chat-8b.
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "temperature")
        .click();
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "top_p")
        .click();
    wait_for_analysis(&mut h);
    assert_eq!(h.state().state.analysis.inputs.by, vec!["model"]);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "chat-8b")
        .click();
    h.run_steps(2);
    let hl = h.state().state.highlight.as_ref().expect("highlighted");
    assert_eq!(hl.count, 768);
    assert_eq!(hl.label, "model = chat-8b");
    h.get_by_label_contains("768 highlighted (model = chat-8b)");
    h.get_by_label("Clear").click();
    h.run_steps(1);
    assert!(h.state().state.highlight.is_none());
}

#[test]
fn a_new_metric_from_an_expression_becomes_a_column() {
    let mut h = harness(sweep_app());
    h.get_by_label("Analysis").click();
    wait_for_analysis(&mut h);
    h.get_by_label("name").click();
    h.get_by_label("name").type_text("adj");
    h.get_by_label("=").click();
    h.get_by_label("=").type_text("score - 0.02 * len_wrds");
    h.run_steps(1);
    h.get_by_label("Add metric").click();
    h.run_steps(2);
    let err = h.state().state.analysis.new_error.clone().unwrap();
    assert!(err.contains("did you mean 'len_words'"), "{err}");
    h.get_by_label_contains("no column named 'len_wrds'");
    // Fix the typo: select all, retype.
    h.state_mut().state.analysis.new_expr = "score - 0.02 * len_words".into();
    h.run_steps(1);
    h.get_by_label("Add metric").click();
    wait_for_analysis(&mut h);
    let s = &h.state().state;
    assert!(s.analysis.new_error.is_none());
    let samples = s.samples.as_ref().unwrap();
    assert!(samples.column_index("adj").is_some());
    assert_eq!(s.color_by.as_deref(), Some("adj"));
    assert_eq!(s.analysis.inputs.metric.as_deref(), Some("adj"));
}
