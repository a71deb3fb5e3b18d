//! UI tests with egui_kittest: hover shows the tooltip, click selects and opens the detail
//! panel, colouring by a column shows its legend, and a file opened in the app is loaded and
//! mapped by a background job.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sample_atlas::app::{AppCommand, AtlasApp};
use sample_atlas::pipeline::MapParams;
use sample_atlas::pipeline::{LoadSpec, load_samples};
use sample_atlas::progress::{CancelToken, NoProgress};

use crate::sample;

/// The chat sample set with points on a circle (a layout we know).
fn app_with_map() -> AtlasApp {
    let samples = load_samples(
        &sample("chat.jsonl"),
        &LoadSpec::default(),
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
    let mut app = AtlasApp::new(LoadSpec::default(), MapParams::default());
    app.set_map(Arc::new(samples), coords);
    app
}

fn harness(mut app: AtlasApp) -> Harness<'static, AtlasApp> {
    // Tests never touch the user's cache.
    app.state.config.cache_cap = None;
    // A glyph missing from the app's own strings fails the test (kittest panics on it) —
    // except where user texts are shown: the sweep has emoji that no bundled font draws,
    // which the app shows as boxes.
    let user_emoji = app.state.map.samples.as_ref().is_some_and(|s| {
        s.texts
            .iter()
            .any(|t| t.chars().any(|c| c as u32 >= 0x1F000))
    });
    let mut builder = Harness::builder().with_size(egui::vec2(1200.0, 800.0));
    if user_emoji {
        builder = builder.allow_missing_glyphs();
    }
    let mut h = builder.build_ui_state(|ui, app: &mut AtlasApp| app.show(ui), app);
    h.run_steps(3);
    h
}

fn point_on_screen(h: &Harness<'_, AtlasApp>, row: usize) -> egui::Pos2 {
    let app = h.state();
    app.state
        .view
        .to_screen(app.state.map.coords.as_ref().unwrap()[row])
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
    assert_eq!(h.state().state.focus.hovered, Some(5));
    h.get_by_label_contains("#5 · line 6");
    // The start of the flattened transcript and a metadata value.
    h.get_by_label_contains("system: You are a helpful assistant.");
    // The tooltip's field and the colour bar's title (the colouring is by rating).
    assert_eq!(h.get_all_by_label("rating").count(), 2);
    // Moving away hides it.
    h.hover_at(egui::pos2(5.0, 5.0));
    h.run_steps(2);
    assert_eq!(h.state().state.focus.hovered, None);
    assert!(h.query_by_label_contains("#5 · line 6").is_none());
}

#[test]
fn clicking_a_point_selects_it_and_shows_the_whole_sample() {
    let mut h = harness(app_with_map());
    let pos = point_on_screen(&h, 2);
    click_at(&mut h, pos);
    assert_eq!(h.state().state.focus.selected, Some(2));
    h.get_by_label("Sample #2");
    // Chat transcripts are shown turn by turn.
    h.get_by_label("assistant");
    h.get_by_label("Tell me how to hotwire a car.");
    // Closing the panel clears the selection.
    h.get_by_label("Close").click();
    h.run_steps(2);
    assert_eq!(h.state().state.focus.selected, None);
}

#[test]
fn the_detail_panel_shows_the_prompt_above_a_plain_sample() {
    let mut h = harness(sweep_app());
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, AppCommand::Select(Some(7)));
    h.run_steps(3);
    let samples = h.state().state.map.samples.clone().unwrap();
    let turns = samples.chat_turns(7).unwrap();
    h.get_by_label("Sample #7");
    // The prompt column's name and value, then the sample under the text column's name.
    h.get_by_label("prompt");
    h.get_by_label("completion");
    let prompt = h.get_by_label(turns[0].1.as_str()).rect();
    let sample = h.get_by_label(turns[1].1.as_str()).rect();
    assert!(prompt.top() < sample.top(), "{prompt:?} {sample:?}");
}

#[test]
fn colour_by_a_category_shows_a_legend() {
    let mut h = harness(app_with_map());
    // The default colouring is the score-like column.
    assert_eq!(h.state().state.paint.color_by.as_deref(), Some("rating"));
    h.get_by_label("colour by").click();
    h.run_steps(2);
    h.get_by_label("model").click();
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.state.paint.color_by.as_deref(), Some("model"));
    match &app.state.paint.legend {
        sample_atlas::app::Legend::Categories { entries, .. } => {
            let labels: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
            assert_eq!(labels, ["chat-70b", "chat-8b"]);
            assert_ne!(entries[0].1, entries[1].1, "distinct colours");
        }
        l => panic!("{l:?}"),
    }
    let colors = &app.state.paint.colors;
    assert_ne!(
        colors[0], colors[1],
        "rows of different models get different colours"
    );
    assert_eq!(colors[0], colors[2]);
}

#[test]
fn opening_a_file_loads_and_maps_it_in_the_background() {
    let app = AtlasApp::new(
        LoadSpec::default(),
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
        .apply(&ctx, AppCommand::Open(sample("chat.jsonl")));
    let start = Instant::now();
    while !h.state().state.map.layout_done {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the job finishes"
        );
        assert!(
            h.state().state.job.error.is_none(),
            "{:?}",
            h.state().state.job.error
        );
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.state.map.samples.as_ref().unwrap().len(), 40);
    let coords = app.state.map.coords.as_ref().unwrap();
    assert_eq!(coords.len(), 40);
    assert!(coords.iter().all(|c| c[0].is_finite() && c[1].is_finite()));
    assert!(!app.state.job.running());
    h.get_by_label("40 samples");
}

#[test]
fn a_bad_file_shows_an_error_not_a_crash() {
    let mut h = harness(AtlasApp::new(LoadSpec::default(), MapParams::default()));
    let ctx = h.ctx.clone();
    h.state_mut()
        .apply(&ctx, AppCommand::Open(sample("bad/truncated.parquet")));
    let start = Instant::now();
    while h.state().state.job.error.is_none() {
        assert!(start.elapsed() < Duration::from_secs(30));
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.run_steps(2);
    h.get_by_label_contains("truncated.parquet: could not read Parquet");
    assert!(h.state().state.map.samples.is_none());
}

#[test]
fn a_running_job_can_be_cancelled_from_the_status_bar() {
    let mut h = harness(AtlasApp::new(LoadSpec::default(), MapParams::default()));
    let ctx = h.ctx.clone();
    h.state_mut()
        .apply(&ctx, AppCommand::Open(sample("sweep.jsonl")));
    h.run_steps(1);
    assert!(h.state().state.job.running());
    h.get_by_label("Cancel").click();
    let start = Instant::now();
    while h.state().state.job.running() {
        assert!(start.elapsed() < Duration::from_secs(30), "the job stops");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
    assert_eq!(h.state().state.job.error.as_deref(), Some("cancelled"));
    assert!(!h.state().state.map.layout_done);
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
        h.state().state.config.params.vectors,
        VectorSource::Model2Vec(_)
    ));
    let Some(model) = crate::model2vec_dir() else {
        return;
    };
    // The field may be prefilled with an installed default: start from an empty one.
    h.state_mut().state.config.params.vectors = VectorSource::Model2Vec(Default::default());
    h.run_steps(1);
    let field = h.get_by_label("model folder");
    field.click();
    h.run_steps(1);
    h.get_by_label("model folder")
        .type_text(model.to_str().unwrap());
    h.run_steps(2);
    assert_eq!(
        h.state().state.config.params.vectors,
        VectorSource::Model2Vec(model.clone())
    );
    h.get_by_label("Recompute map").click();
    let start = Instant::now();
    h.run_steps(2);
    while h.state().state.job.running() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the job finishes"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        h.state().state.job.error.is_none(),
        "{:?}",
        h.state().state.job.error
    );
    let embedder = h.state().state.map.embedder.clone().unwrap();
    assert!(
        embedder.starts_with("model2vec potion-base-8M"),
        "{embedder}"
    );
    h.run_steps(2);
    h.get_by_label("256 dims");
}

/// The bundled sweep with points on a spiral.
fn sweep_app() -> AtlasApp {
    let samples = load_samples(
        &sample("sweep.jsonl"),
        &LoadSpec::default(),
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
    let mut app = AtlasApp::new(LoadSpec::default(), MapParams::default());
    app.set_map(Arc::new(samples), coords);
    app
}

fn wait_for_analysis(h: &mut Harness<'_, AtlasApp>) {
    let start = Instant::now();
    h.run_steps(2);
    while h.state().state.overlays.analysis.running()
        || h.state().state.overlays.analysis.result.is_none()
    {
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
    let inputs = h.state().state.overlays.analysis.inputs.clone();
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
    assert_eq!(h.state().state.overlays.analysis.inputs.by, vec!["model"]);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "chat-8b")
        .click();
    h.run_steps(2);
    let hl = h.state().state.focus.selection.as_ref().expect("selected");
    assert_eq!(hl.count(), 768);
    assert_eq!(hl.label, "model = chat-8b");
    h.get_by_label_contains("768 selected (model = chat-8b)");
    h.get_by_label("Clear").click();
    h.run_steps(1);
    assert!(h.state().state.focus.selection.is_none());
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
    let err = h.state().state.overlays.analysis.new_error.clone().unwrap();
    assert!(err.contains("did you mean 'len_words'"), "{err}");
    h.get_by_label_contains("no column named 'len_wrds'");
    // Fix the typo: select all, retype.
    h.state_mut().state.overlays.analysis.new_expr = "score - 0.02 * len_words".into();
    h.run_steps(1);
    h.get_by_label("Add metric").click();
    wait_for_analysis(&mut h);
    let s = &h.state().state;
    assert!(s.overlays.analysis.new_error.is_none());
    let samples = s.map.samples.as_ref().unwrap();
    assert!(samples.column_index("adj").is_some());
    assert_eq!(s.paint.color_by.as_deref(), Some("adj"));
    assert_eq!(s.overlays.analysis.inputs.metric.as_deref(), Some("adj"));
}

/// Drag with the primary button from `a` to `b` (screen positions), holding `modifiers`.
fn drag(h: &mut Harness<'_, AtlasApp>, a: egui::Pos2, b: egui::Pos2, modifiers: egui::Modifiers) {
    h.event(egui::Event::ModifiersChanged(modifiers));
    h.hover_at(a);
    h.step();
    h.event(egui::Event::PointerButton {
        pos: a,
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers,
    });
    h.step();
    for k in 1..=8 {
        let t = k as f32 / 8.0;
        h.hover_at(a + (b - a) * t);
        h.step();
    }
    h.event(egui::Event::PointerButton {
        pos: b,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers,
    });
    h.step();
    h.event(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
    h.run_steps(2);
}

/// Rows whose layout x lies in `lo..=hi` and y in `ylo..=yhi`.
fn rows_in(app: &AtlasApp, x: (f32, f32), y: (f32, f32)) -> Vec<u32> {
    let coords = app.state.map.coords.as_ref().unwrap();
    (0..coords.len() as u32)
        .filter(|&r| {
            let p = coords[r as usize];
            p[0] >= x.0 && p[0] <= x.1 && p[1] >= y.0 && p[1] <= y.1
        })
        .collect()
}

#[test]
fn box_select_then_add_and_subtract_with_modifiers() {
    let mut h = harness(sweep_app());
    // The Box tool from the keyboard.
    h.key_press(egui::Key::B);
    h.run_steps(2);
    assert_eq!(h.state().state.view.tool, sample_atlas::app::Tool::Box);
    let to_screen = |h: &Harness<'_, AtlasApp>, p: [f32; 2]| h.state().state.view.to_screen(p);
    let (a, b) = (to_screen(&h, [-3.0, -3.0]), to_screen(&h, [0.0, 3.0]));
    drag(&mut h, a, b, egui::Modifiers::NONE);
    let expected = rows_in(h.state(), (-3.0, 0.0), (-3.0, 3.0));
    assert!(expected.len() > 50, "{}", expected.len());
    let selected = |h: &Harness<'_, AtlasApp>| {
        h.state()
            .state
            .focus
            .selection
            .as_ref()
            .map(|s| s.rows.to_vec())
            .unwrap_or_default()
    };
    // Screen rounding may move the edges by a fraction of a pixel: compare with a tolerance.
    let close = |got: &[u32], want: &[u32]| got.len().abs_diff(want.len()) <= 2;
    let got = selected(&h);
    assert!(
        close(&got, &expected),
        "{} vs {}",
        got.len(),
        expected.len()
    );
    assert!(
        h.state().state.overlays.table.open,
        "the selection table opens"
    );
    h.get_by_label_contains(&format!("{} selected (box)", got.len()));
    // Shift adds a second box; Ctrl subtracts one.
    let (c, d) = (to_screen(&h, [0.5, -3.0]), to_screen(&h, [3.0, 3.0]));
    drag(&mut h, c, d, egui::Modifiers::SHIFT);
    let mut both = expected.clone();
    both.extend(rows_in(h.state(), (0.5, 3.0), (-3.0, 3.0)));
    both.sort_unstable();
    let got = selected(&h);
    assert!(close(&got, &both), "{} vs {}", got.len(), both.len());
    let (e, f) = (to_screen(&h, [-4.0, -4.0]), to_screen(&h, [4.0, 0.0]));
    drag(&mut h, e, f, egui::Modifiers::COMMAND);
    let top: Vec<u32> = both
        .iter()
        .copied()
        .filter(|&r| h.state().state.map.coords.as_ref().unwrap()[r as usize][1] > 0.0)
        .collect();
    let got = selected(&h);
    assert!(close(&got, &top), "{} vs {}", got.len(), top.len());
    // Selected points are drawn on top, the rest fade.
    let classes = h.state().state.paint.classes.clone();
    for r in 0..classes.len() {
        let want = if got.binary_search(&(r as u32)).is_ok() {
            sample_atlas::render::PointClass::Top
        } else {
            sample_atlas::render::PointClass::Faded
        };
        assert_eq!(classes[r], want, "row {r}");
    }
    // Escape clears the selection.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.state().state.focus.selection.is_none());
}

#[test]
fn a_lasso_selects_the_points_inside_it() {
    let mut h = harness(sweep_app());
    h.key_press(egui::Key::L);
    h.run_steps(1);
    // A triangle drawn point by point.
    let corners = [[-4.0f32, -4.0], [4.0, -4.0], [0.0, 4.0]];
    let screen: Vec<egui::Pos2> = corners
        .iter()
        .map(|p| h.state().state.view.to_screen(*p))
        .collect();
    h.hover_at(screen[0]);
    h.step();
    h.event(egui::Event::PointerButton {
        pos: screen[0],
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    h.step();
    for k in 0..3 {
        let (a, b) = (screen[k], screen[(k + 1) % 3]);
        for s in 1..=10 {
            h.hover_at(a + (b - a) * (s as f32 / 10.0));
            h.step();
        }
    }
    h.event(egui::Event::PointerButton {
        pos: screen[0],
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(3);
    let coords = h.state().state.map.coords.clone().unwrap();
    let expected = (0..coords.len())
        .filter(|&r| sample_atlas::spatial::point_in_polygon(coords[r], &corners))
        .count();
    let sel = h
        .state()
        .state
        .focus
        .selection
        .as_ref()
        .expect("a lasso selection");
    assert_eq!(sel.label, "lasso");
    assert!(
        sel.count().abs_diff(expected) <= 3,
        "{} vs {expected}",
        sel.count()
    );
}

#[test]
fn filters_fade_the_rows_filtered_out_and_count_live() {
    let mut h = harness(sweep_app());
    h.run_steps(2);
    h.get_by_label_contains("2,304 of 2,304 pass");
    // Untick one family: its 384 rows fade.
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "math  (384)")
        .click();
    h.run_steps(3);
    h.get_by_label_contains("1,920 of 2,304 pass");
    let app = h.state();
    let samples = app.state.map.samples.clone().unwrap();
    let family = samples.column_index("family").unwrap();
    let sample_atlas::dataset::ColumnKind::Category { levels, codes, .. } =
        &samples.columns[family].kind
    else {
        panic!("family is a category")
    };
    let math = levels.iter().position(|l| l == "math").unwrap() as u32;
    for (r, &c) in codes.iter().enumerate() {
        let want = if c == math {
            sample_atlas::render::PointClass::Faded
        } else {
            sample_atlas::render::PointClass::Normal
        };
        assert_eq!(app.state.paint.classes[r], want, "row {r}");
    }
    // A text search combines with it; "hide others" hides instead of fading.
    h.get_by_label("search").click();
    h.run_steps(1);
    h.get_by_label("search").type_text("sure");
    h.run_steps(3);
    let expected = samples
        .texts
        .iter()
        .zip(codes)
        .filter(|(t, c)| **c != math && t.to_lowercase().contains("sure"))
        .count();
    assert!(expected > 0 && expected < 1920);
    h.get_by_label_contains(&format!("{expected} of 2,304 pass"));
    h.get_by_label("hide others").click();
    h.run_steps(2);
    let hidden = h
        .state()
        .state
        .paint
        .classes
        .iter()
        .filter(|&&c| c == sample_atlas::render::PointClass::Hidden)
        .count();
    assert_eq!(hidden, 2304 - expected);
    // A hidden point cannot be hovered.
    let row = h
        .state()
        .state
        .paint
        .classes
        .iter()
        .position(|&c| c == sample_atlas::render::PointClass::Hidden)
        .unwrap();
    let pos = point_on_screen(&h, row);
    h.hover_at(pos);
    h.run_steps(2);
    assert_ne!(h.state().state.focus.hovered, Some(row));
}

#[test]
fn shortcuts_cycle_colours_show_help_and_step_through_points() {
    let mut h = harness(sweep_app());
    let before = h.state().state.paint.color_by.clone();
    h.key_press(egui::Key::C);
    h.run_steps(2);
    let after = h.state().state.paint.color_by.clone();
    assert_ne!(before, after, "C colours by the next column");
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::C);
    h.run_steps(2);
    assert_eq!(h.state().state.paint.color_by, before, "Shift+C goes back");
    h.event(egui::Event::Text("?".into()));
    h.run_steps(2);
    assert!(
        h.state().state.overlays.show_help,
        "? opens the shortcut list"
    );
    h.run_steps(3);
    h.get_by_label("colour by the next / previous column");
    h.get_by_label("/  or  Ctrl+F");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(!h.state().state.overlays.show_help);
    // N selects the first sample, then the next; ] steps within the same prompt.
    h.key_press(egui::Key::N);
    h.run_steps(1);
    h.key_press(egui::Key::N);
    h.run_steps(2);
    assert_eq!(h.state().state.focus.selected, Some(1));
    h.event(egui::Event::Text("]".into()));
    h.run_steps(2);
    let samples = h.state().state.map.samples.clone().unwrap();
    let next = h.state().state.focus.selected.unwrap();
    assert_ne!(next, 1);
    let prompt = |r: usize| {
        samples
            .row_fields(r, 100)
            .into_iter()
            .find(|f| f.0 == "prompt_id")
            .unwrap()
            .1
    };
    assert_eq!(prompt(next), prompt(1));
    h.get_by_label_contains("prompt_id 3 of");
    // F hides the filters.
    assert!(h.state().state.overlays.filters.open);
    h.key_press(egui::Key::F);
    h.run_steps(2);
    assert!(!h.state().state.overlays.filters.open);
}

#[test]
fn a_png_of_the_view_and_the_selection_export_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(sweep_app());
    h.state_mut().apply(
        &egui::Context::default(),
        AppCommand::Highlight("model = chat-8b".into(), (0..768).collect()),
    );
    let png = dir.path().join("view.png");
    let out = dir.path().join("sel.csv");
    let ctx = egui::Context::default();
    h.state_mut().apply(&ctx, AppCommand::SavePng(png.clone()));
    h.state_mut().wait_for_map_work(&ctx);
    assert!(
        h.state()
            .state
            .job
            .notice
            .as_deref()
            .unwrap()
            .starts_with("saved the map")
    );
    h.state_mut()
        .apply(&ctx, AppCommand::ExportSelection(out.clone()));
    h.state_mut().wait_for_map_work(&ctx);
    assert_eq!(
        h.state().state.job.notice.as_deref().unwrap(),
        format!("saved 768 rows to {}", out.display())
    );
    assert!(
        h.state().state.job.error.is_none(),
        "{:?}",
        h.state().state.job.error
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv.lines().count(), 769, "header + 768 rows");
    assert!(csv.lines().next().unwrap().ends_with(",x,y"));
}

#[test]
fn view_settings_are_remembered_per_file() {
    let mut app = sweep_app();
    let ctx = egui::Context::default();
    app.apply(&ctx, AppCommand::SetColorBy(Some("family".into())));
    app.apply(&ctx, AppCommand::ToggleDensity);
    app.state.view.point_scale = 2.5;
    // Another file: its own defaults.
    let chat = load_samples(
        &sample("chat.jsonl"),
        &LoadSpec::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    let n = chat.len();
    app.set_map(Arc::new(chat), vec![[0.0, 0.0]; n]);
    app.state.view.density = false;
    app.state.view.point_scale = 1.0;
    // What eframe stores survives a round trip, and reopening the sweep restores its view.
    app.apply(&ctx, AppCommand::SetColorBy(Some("model".into())));
    let sweep = sweep_app().state.map.samples.clone().unwrap();
    let coords = vec![[0.0, 0.0]; sweep.len()];
    let stored = {
        app.set_map(sweep.clone(), coords.clone());
        serde_json::to_string(&app.persisted).unwrap()
    };
    let mut fresh = AtlasApp::new(LoadSpec::default(), MapParams::default());
    fresh.persisted = serde_json::from_str(&stored).unwrap();
    fresh.set_map(sweep, coords);
    assert_eq!(fresh.state.paint.color_by.as_deref(), Some("family"));
    assert!(fresh.state.view.density);
    assert_eq!(fresh.state.view.point_scale, 2.5);
    assert_eq!(app.state.paint.color_by.as_deref(), Some("family"));
}

#[test]
fn the_selection_table_sorts_by_a_column() {
    let mut h = harness(sweep_app());
    let ctx = egui::Context::default();
    h.state_mut().apply(
        &ctx,
        AppCommand::Highlight("first rows".into(), (0..300).collect()),
    );
    h.state_mut().apply(&ctx, AppCommand::ToggleTable);
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "score")
        .click();
    h.run_steps(2);
    let samples = h.state().state.map.samples.clone().unwrap();
    let score = match &samples.columns[samples.column_index("score").unwrap()].kind {
        sample_atlas::dataset::ColumnKind::Numeric { values, .. } => values.clone(),
        _ => panic!(),
    };
    let order = h.state().state.overlays.table.order.clone().unwrap().1;
    assert_eq!(order.len(), 300);
    assert!(
        order
            .windows(2)
            .all(|w| score[w[0] as usize] <= score[w[1] as usize])
    );
    h.get_by_role_and_label(egui::accesskit::Role::Button, "score (asc)")
        .click();
    h.run_steps(2);
    let order = h.state().state.overlays.table.order.clone().unwrap().1;
    assert!(
        order
            .windows(2)
            .all(|w| score[w[0] as usize] >= score[w[1] as usize])
    );
    h.get_by_role_and_label(egui::accesskit::Role::Button, "score (desc)");
}

/// Step until the map's regions (and, with the Regions window open, its ranking) are there.
fn wait_for_regions(h: &mut Harness<'_, AtlasApp>) {
    let start = Instant::now();
    loop {
        h.step();
        let s = &h.state().state;
        let ready = s.current_regions().is_some_and(|r| {
            let panel = &s.overlays.regions;
            !panel.open || panel.current(r.coords_version).is_some()
        });
        if ready {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "regions are computed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

#[test]
fn the_regions_window_ranks_regions_and_a_row_click_selects_one() {
    let mut h = harness(sweep_app());
    wait_for_regions(&mut h);
    // The top bar's button opens it, G closes and reopens it.
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Regions")
        .click();
    wait_for_regions(&mut h);
    assert!(h.state().state.overlays.regions.open);
    h.key_press(egui::Key::G);
    h.run_steps(2);
    assert!(!h.state().state.overlays.regions.open, "G closes it");
    h.key_press(egui::Key::G);
    wait_for_regions(&mut h);
    assert!(h.state().state.overlays.regions.open, "G opens it");
    let s = &h.state().state;
    assert_eq!(s.overlays.regions.inputs.metric.as_deref(), Some("score"));
    let regions = s.current_regions().unwrap().clone();
    let ranking = match s.overlays.regions.current(regions.coords_version) {
        Some(Ok(r)) => r.clone(),
        other => panic!("no ranking: {:?}", other.map(|r| r.as_ref().err())),
    };
    // One row per distinct region (a fine region equal to its coarse one is ranked once).
    assert_eq!(ranking.stats.len(), regions.regions.distinct().len());
    h.get_by_label_contains("Welch's t-test");
    // Click the first row: its rows are selected and what is in it is shown.
    let first = &ranking.stats[0];
    let label = &regions.regions.labels[first.region];
    let shown: String = label.chars().take(48).collect();
    h.get_all_by_label(&shown).next().expect("the row").click();
    h.run_steps(2);
    h.state_mut().wait_for_regions(&egui::Context::default());
    h.run_steps(2);
    let sel = h.state().state.focus.selection.as_ref().expect("selected");
    assert_eq!(sel.count(), first.size);
    assert_eq!(
        h.state().state.overlays.regions.picked,
        Some(regions.regions.regions.regions[first.region].id)
    );
    h.get_by_label_contains("Most central samples");
    assert!(
        h.get_all_by_label_contains(" outside, q ").next().is_some(),
        "what is in the region"
    );
}

#[test]
fn region_labels_toggle_by_key_and_in_the_side_panel() {
    let mut h = harness(sweep_app());
    wait_for_regions(&mut h);
    assert!(h.state().state.view.region_labels);
    h.key_press(egui::Key::M);
    h.run_steps(2);
    assert!(!h.state().state.view.region_labels, "M hides the labels");
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "region labels")
        .click();
    h.run_steps(2);
    assert!(
        h.state().state.view.region_labels,
        "the checkbox shows them"
    );
    h.event(egui::Event::Text("?".into()));
    h.run_steps(3);
    h.get_by_label("show / hide the region labels on the map");
}

/// Step `h` until a label containing `text` is shown (or fail after `secs`).
fn wait_for_label(h: &mut Harness<'_, AtlasApp>, text: &str, secs: u64) {
    let start = Instant::now();
    while h.query_by_label_contains(text).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "no label with '{text}' after {secs} s"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Choosing the transformer embedder shows how long it would take before anything starts;
/// a folder that is not a model shows what is wrong with it.
#[test]
fn transformer_choice_shows_an_estimate_or_the_folder_problem() {
    let Some(model) = crate::minilm_dir() else {
        return;
    };
    let mut app = app_with_map();
    let n = app.state.map.samples.as_ref().unwrap().len();
    app.state.config.params.vectors = sample_atlas::pipeline::VectorSource::Transformer(model);
    let mut h = harness(app);
    wait_for_label(&mut h, &format!("for {n} texts on this machine"), 60);
    h.get_by_label_contains("≈ ");
    assert!(!h.state().state.job.running(), "nothing started");

    let bad = tempfile::tempdir().unwrap();
    h.state_mut().state.config.params.vectors =
        sample_atlas::pipeline::VectorSource::Transformer(bad.path().to_path_buf());
    wait_for_label(&mut h, "config.json: missing", 30);
}

/// Pin a sample of the sweep: the same prompt's answer from the next model (same temperature
/// and top_p) opens beside it, both texts shown with their fields; Unpin shows one again.
#[test]
fn a_pinned_sample_and_the_next_models_answer_side_by_side() {
    let mut h = harness(sweep_app());
    let ctx = h.ctx.clone();
    h.run_steps(3);
    h.state_mut().apply(&ctx, AppCommand::Select(Some(0)));
    h.run_steps(3);
    assert!(
        h.state().state.focus.same_prompt.is_some(),
        "prompt rows found"
    );
    let samples = h.state().state.map.samples.clone().unwrap();
    // Independently: the first later row of prompt math-1 from another model at row 0's
    // temperature and top_p.
    let value = |col: &str, r: usize| {
        samples
            .frame
            .column(col)
            .unwrap()
            .get(r)
            .unwrap()
            .to_string()
    };
    let want = (1..samples.len())
        .find(|&r| {
            value("prompt_id", r) == value("prompt_id", 0)
                && value("model", r) != value("model", 0)
                && value("temperature", r) == value("temperature", 0)
                && value("top_p", r) == value("top_p", 0)
        })
        .unwrap();
    h.get_by_label("Pin").click();
    h.run_steps(3);
    assert_eq!(h.state().state.focus.pin.as_ref().map(|p| p.row), Some(0));
    assert_eq!(h.state().state.focus.selected, Some(want));
    h.get_by_label("Pinned #0");
    h.get_by_label(format!("Sample #{want}").as_str());
    for r in [0, want] {
        let turns = samples.chat_turns(r).unwrap();
        // The prompt (shown in both columns) and each sample's own text.
        assert!(h.query_all_by_label(turns[0].1.as_str()).count() >= 1);
        assert!(
            h.query_all_by_label(turns[1].1.as_str()).count() >= 1,
            "text of row {r}"
        );
        let model = value("model", r).trim_matches('"').to_string();
        assert!(
            h.query_all_by_label(model.as_str()).count() >= 1,
            "fields of row {r}"
        );
    }
    // Another sample opens beside the same pin.
    h.state_mut().apply(&ctx, AppCommand::Select(Some(5)));
    h.run_steps(3);
    h.get_by_label("Pinned #0");
    h.get_by_label("Sample #5");
    h.get_by_label("Unpin").click();
    h.run_steps(3);
    assert!(h.state().state.focus.pin.is_none());
    assert!(h.query_by_label("Pinned #0").is_none());
    h.get_by_label("Sample #5");
    h.get_by_label("Pin");
}

/// Untick these group-by columns and wait for the new tables.
fn untick(h: &mut Harness<'_, AtlasApp>, columns: &[&str]) {
    for c in columns {
        h.get_by_role_and_label(egui::accesskit::Role::CheckBox, c)
            .click();
        h.run_steps(1);
    }
    wait_for_analysis(h);
}

#[test]
fn the_paired_table_compares_models_and_takes_a_baseline() {
    let mut h = harness(sweep_app());
    h.get_by_label("Analysis").click();
    wait_for_analysis(&mut h);
    untick(&mut h, &["temperature", "top_p"]);
    h.get_by_label("Paired on shared prompts");
    let a = &h.state().state.overlays.analysis;
    let pairs: Vec<(String, String, usize)> = a
        .pairs_in_order()
        .iter()
        .map(|r| (r.a.join(","), r.b.join(","), r.shared))
        .collect();
    assert_eq!(
        pairs,
        [
            ("base-8b".into(), "chat-8b".into(), 24),
            ("base-8b".into(), "tiny-1b".into(), 24),
            ("chat-8b".into(), "tiny-1b".into(), 24),
        ]
    );
    // chat-8b − base-8b on the 24 prompts (the CLI test checks it against the raw rows).
    h.get_by_label("+0.094");
    // Against chat-8b: the two others as B, both worse.
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "baseline")
        .click();
    h.run_steps(2);
    h.get_by_label("model = chat-8b").click();
    wait_for_analysis(&mut h);
    let a = &h.state().state.overlays.analysis;
    assert_eq!(a.inputs.baseline, Some(vec!["chat-8b".to_string()]));
    let pairs = a.pairs_in_order();
    assert_eq!(pairs.len(), 2);
    assert!(pairs.iter().all(|r| r.a == ["chat-8b"] && r.diff < 0.0));
    h.get_by_label("-0.094");
    h.get_by_label_contains("A is the baseline (model = chat-8b)");
    // Grouping by other columns drops the baseline.
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "temperature")
        .click();
    wait_for_analysis(&mut h);
    assert_eq!(h.state().state.overlays.analysis.inputs.baseline, None);
    assert_eq!(h.state().state.overlays.analysis.pairs_in_order().len(), 66);
}

#[test]
fn analysis_tables_sort_by_any_column_and_many_curves_fold() {
    let mut h = harness(sweep_app());
    h.get_by_label("Analysis").click();
    wait_for_analysis(&mut h);
    // 24 settings: the curves are listed below the plot, not in a legend over it.
    h.get_by_label("24 curves");
    let means = |h: &Harness<'_, AtlasApp>| -> Vec<f64> {
        let a = &h.state().state.overlays.analysis;
        a.settings_in_order().iter().map(|r| r.mean).collect()
    };
    let unsorted = means(&h);
    assert!(
        unsorted.windows(2).any(|w| w[0] > w[1]),
        "not already sorted"
    );
    h.get_by_role_and_label(egui::accesskit::Role::Button, "mean")
        .click();
    h.run_steps(2);
    let m = means(&h);
    assert_eq!(m.len(), 24);
    assert!(m.windows(2).all(|w| w[0] <= w[1]), "{m:?}");
    h.get_by_role_and_label(egui::accesskit::Role::Button, "mean (asc)")
        .click();
    h.run_steps(2);
    let m = means(&h);
    assert!(m.windows(2).all(|w| w[0] >= w[1]), "{m:?}");
    h.get_by_role_and_label(egui::accesskit::Role::Button, "mean (desc)");
    // A setting column sorts as text, naturally.
    h.get_by_role_and_label(egui::accesskit::Role::Button, "model")
        .click();
    h.run_steps(2);
    let models: Vec<String> = h
        .state()
        .state
        .overlays
        .analysis
        .settings_in_order()
        .iter()
        .map(|r| r.setting[0].clone())
        .collect();
    assert!(models.windows(2).all(|w| w[0] <= w[1]), "{models:?}");
    // The paired table: by the difference, then reversed.
    let diffs = |h: &Harness<'_, AtlasApp>| -> Vec<f64> {
        let a = &h.state().state.overlays.analysis;
        a.pairs_in_order().iter().map(|r| r.diff).collect()
    };
    assert_eq!(diffs(&h).len(), 24 * 23 / 2);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "B − A")
        .click();
    h.run_steps(2);
    let d = diffs(&h);
    assert!(d.windows(2).all(|w| w[0] <= w[1]));
    h.get_by_role_and_label(egui::accesskit::Role::Button, "B − A (asc)")
        .click();
    h.run_steps(2);
    let d = diffs(&h);
    assert!(d.windows(2).all(|w| w[0] >= w[1]));
    // The settings table kept its own sort.
    h.get_by_role_and_label(egui::accesskit::Role::Button, "model (asc)");
}

#[test]
fn best_of_n_with_one_sample_per_prompt_says_so() {
    let mut h = harness(sweep_app());
    h.get_by_label("Analysis").click();
    wait_for_analysis(&mut h);
    h.get_by_label_contains("Expected best-of-N per setting");
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "sample_index")
        .click();
    wait_for_analysis(&mut h);
    h.get_by_label(
        "Best-of-N: one sample per prompt and setting: best-of-N needs several; this is the mean.",
    );
    assert!(
        h.query_by_label_contains("Expected best-of-N per setting")
            .is_none()
    );
}

/// Step until the compare view's work and the map's render are done.
fn wait_for_compare(h: &mut Harness<'_, AtlasApp>) {
    let start = Instant::now();
    loop {
        h.state_mut().wait_for_compare(&egui::Context::default());
        h.run_steps(2);
        let s = &h.state().state;
        if !s.compare.busy() && !s.paint.canvas.busy() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "compare work ends"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

/// The sweep's temperature column as numbers.
fn temperatures(app: &AtlasApp) -> Vec<f32> {
    let samples = app.state.map.samples.clone().unwrap();
    match &samples.columns[samples.column_index("temperature").unwrap()].kind {
        sample_atlas::dataset::ColumnKind::Numeric { values, .. } => values.clone(),
        _ => panic!("temperature is numeric"),
    }
}

#[test]
fn the_compare_view_draws_the_density_difference_with_a_bar_naming_a_and_b() {
    use egui::accesskit::Role;
    let mut h = harness(sweep_app());
    h.get_by_label("Compare").click();
    wait_for_compare(&mut h);
    assert!(h.state().state.compare.inputs.on);
    h.get_by_role_and_label(Role::ComboBox, "split by").click();
    h.run_steps(2);
    h.get_by_label("temperature").click();
    wait_for_compare(&mut h);
    for (combo, value) in [("A (red)", "1.5 (576)"), ("B (blue)", "0.5 (576)")] {
        h.get_by_role_and_label(Role::ComboBox, combo).click();
        h.run_steps(2);
        h.get_by_label(value).click();
        wait_for_compare(&mut h);
    }
    let s = &h.state().state;
    let groups = s.compare.current().expect("the pair's groups").clone();
    assert_eq!(groups.key.1, "1.5");
    assert_eq!(groups.key.2, "0.5");
    assert_eq!((groups.n_a, groups.n_b), (576, 576));
    // The map shows the difference, and its legend names both values under the bar's ends.
    let drawn = s.paint.canvas.drawn.expect("a render");
    assert_eq!(drawn.difference.map(|d| d.0), Some(groups.version));
    h.get_by_label("temperature: share of A vs share of B");
    let a = h.get_by_label("A = 1.5 (576)").rect();
    let b = h.get_by_label("B = 0.5 (576)").rect();
    assert!(b.left() < a.left(), "B under the blue (left) end");
    for tick in ["only B", "3× B", "equal", "3× A", "only A"] {
        h.get_by_label(tick);
    }

    // "A" shows only A's points: the other temperatures are hidden, the legend is the
    // colouring's again.
    h.get_by_role_and_label(Role::RadioButton, "A").click();
    wait_for_compare(&mut h);
    let app = h.state();
    let temps = temperatures(app);
    for (c, t) in app.state.paint.classes.iter().zip(&temps) {
        assert_eq!(*c == sample_atlas::render::PointClass::Hidden, *t != 1.5);
    }
    assert!(app.state.paint.canvas.drawn.unwrap().difference.is_none());
    assert!(h.query_by_label("A = 1.5 (576)").is_none());
    // Closing the section shows every point again.
    h.get_by_label("Compare").click();
    wait_for_compare(&mut h);
    assert!(
        h.state()
            .state
            .paint
            .classes
            .iter()
            .all(|c| *c != sample_atlas::render::PointClass::Hidden)
    );
}

/// The sweep laid out as one blob per prompt family, wider at higher temperatures (so the
/// two temperatures fill the regions differently).
fn sweep_blobs_app() -> AtlasApp {
    let samples = load_samples(
        &sample("sweep.jsonl"),
        &LoadSpec::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    let codes = match &samples.columns[samples.column_index("family").unwrap()].kind {
        sample_atlas::dataset::ColumnKind::Category { codes, .. } => codes.clone(),
        _ => panic!("family is a category"),
    };
    let temps = match &samples.columns[samples.column_index("temperature").unwrap()].kind {
        sample_atlas::dataset::ColumnKind::Numeric { values, .. } => values.clone(),
        _ => panic!("temperature is numeric"),
    };
    // A seeded LCG and Box–Muller: Gaussian offsets.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let coords = (0..samples.len())
        .map(|i| {
            let angle = codes[i] as f32 * std::f32::consts::TAU / 6.0;
            let spread = 1.0 + 1.5 * temps[i];
            let r = (-2.0 * uniform().ln()).sqrt() as f32 * spread;
            let t = (uniform() * std::f64::consts::TAU) as f32;
            [
                angle.cos() * 20.0 + r * t.cos(),
                angle.sin() * 20.0 + r * t.sin(),
            ]
        })
        .collect();
    let mut app = AtlasApp::new(LoadSpec::default(), MapParams::default());
    app.set_map(Arc::new(samples), coords);
    app
}

/// The values shown in the Regions table's rows, top to bottom, for a row key.
fn regions_table_order(
    h: &Harness<'_, AtlasApp>,
    key: impl Fn(
        &sample_atlas::analysis::RegionStat,
        Option<&sample_atlas::analysis::region_shift::RegionShift>,
    ) -> f64,
) -> Vec<f64> {
    let s = &h.state().state;
    let regions = s.current_regions().unwrap().clone();
    let ranking = match s.overlays.regions.current(regions.coords_version) {
        Some(Ok(r)) => r.clone(),
        _ => panic!("no ranking"),
    };
    let shifts = s
        .overlays
        .regions
        .current_shifts(
            regions.coords_version,
            s.compare.current().map(|g| g.as_ref()),
        )
        .cloned();
    let mut shown: Vec<(f32, f64)> = Vec::new();
    for st in &ranking.stats {
        let label: String = regions.regions.labels[st.region].chars().take(48).collect();
        let nodes: Vec<_> = h.get_all_by_label(&label).collect();
        // Labels shared by two regions cannot say which row is which.
        if nodes.len() != 1 {
            continue;
        }
        let shift = shifts
            .as_ref()
            .and_then(|s| s.by_region[st.region].as_ref());
        shown.push((nodes[0].rect().top(), key(st, shift)));
    }
    shown.sort_by(|a, b| a.0.total_cmp(&b.0));
    shown.into_iter().map(|(_, v)| v).collect()
}

#[test]
fn the_regions_table_shows_a_and_b_and_sorts_by_any_column() {
    use egui::accesskit::Role;
    use sample_atlas::app::CompareInputs;
    let mut h = harness(sweep_blobs_app());
    let ctx = h.ctx.clone();
    let on = CompareInputs {
        on: true,
        ..Default::default()
    };
    h.state_mut()
        .apply(&ctx, AppCommand::SetCompare(on.clone()));
    wait_for_compare(&mut h);
    let pair = CompareInputs {
        column: Some("temperature".into()),
        a: Some("0.5".into()),
        b: Some("1.5".into()),
        ..on
    };
    // A new column first picks its own A and B; then the pair asked for.
    h.state_mut()
        .apply(&ctx, AppCommand::SetCompare(pair.clone()));
    h.state_mut().apply(&ctx, AppCommand::SetCompare(pair));
    wait_for_compare(&mut h);
    h.state_mut().apply(&ctx, AppCommand::ToggleRegions);
    let start = Instant::now();
    loop {
        wait_for_regions(&mut h);
        h.state_mut().wait_for_regions(&egui::Context::default());
        h.run_steps(2);
        let s = &h.state().state;
        let v = s.current_regions().unwrap().coords_version;
        if s.overlays
            .regions
            .current_shifts(v, s.compare.current().map(|g| g.as_ref()))
            .is_some()
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "A/B columns computed"
        );
    }
    h.get_by_label_contains("A = temperature 0.5 (576 rows), B = temperature 1.5 (576 rows)");
    for header in ["A n", "B n", "A share", "B share", "B/A", "p A/B", "q A/B"] {
        h.get_by_role_and_label(Role::Button, header);
    }
    // Each region's counts add up to the groups' sizes over one level.
    let s = &h.state().state;
    let regions = s.current_regions().unwrap().clone();
    let temps = temperatures(h.state());
    let shifts = s
        .overlays
        .regions
        .current_shifts(
            regions.coords_version,
            s.compare.current().map(|g| g.as_ref()),
        )
        .unwrap()
        .clone();
    for (i, r) in regions.regions.regions.regions.iter().enumerate() {
        if let Some(x) = &shifts.by_region[i] {
            let a = r
                .rows
                .iter()
                .filter(|&&row| temps[row as usize] == 0.5)
                .count();
            let b = r
                .rows
                .iter()
                .filter(|&&row| temps[row as usize] == 1.5)
                .count();
            assert_eq!((x.n_a, x.n_b), (a, b), "region {i}");
        }
    }

    // Sorting: by size, then reversed; by B/A.
    let sorted = |v: &[f64], ascending: bool| {
        v.windows(2).all(|w| {
            if ascending {
                w[0] <= w[1]
            } else {
                w[0] >= w[1]
            }
        })
    };
    h.get_by_role_and_label(Role::Button, "size").click();
    h.run_steps(3);
    let sizes = regions_table_order(&h, |s, _| s.size as f64);
    assert!(sizes.len() >= 3, "{sizes:?}");
    assert!(sorted(&sizes, true), "{sizes:?}");
    h.get_by_role_and_label(Role::Button, "size (asc)").click();
    h.run_steps(3);
    let sizes = regions_table_order(&h, |s, _| s.size as f64);
    assert!(sorted(&sizes, false), "{sizes:?}");
    h.get_by_role_and_label(Role::Button, "B/A").click();
    h.run_steps(3);
    let ratios: Vec<f64> = regions_table_order(&h, |_, x| x.map_or(f64::NAN, |x| x.ratio))
        .into_iter()
        .filter(|r| !r.is_nan())
        .collect();
    assert!(sorted(&ratios, true), "{ratios:?}");
    h.get_by_role_and_label(Role::Button, "B/A (asc)");
}

#[test]
fn a_legend_with_30_categories_folds_to_the_12_largest_and_unfolds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("topics.jsonl");
    // Topic t{k} has 40 − k rows: t0 is the largest, t29 the smallest.
    let mut lines = Vec::new();
    for k in 0..30 {
        for j in 0..(40 - k) {
            lines.push(format!(r#"{{"text":"sample {k} {j}","topic":"t{k}"}}"#));
        }
    }
    std::fs::write(&path, lines.join("\n")).unwrap();
    let samples = load_samples(
        &path,
        &LoadSpec::default(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    let n = samples.len();
    let coords = (0..n).map(|i| [(i % 37) as f32, (i / 37) as f32]).collect();
    let mut app = AtlasApp::new(LoadSpec::default(), MapParams::default());
    app.set_map(Arc::new(samples), coords);
    let mut h = harness(app);
    let ctx = h.ctx.clone();
    h.state_mut()
        .apply(&ctx, AppCommand::SetColorBy(Some("topic".into())));
    h.state_mut().wait_for_map_work(&ctx);
    h.run_steps(3);
    // The 12 largest are listed, the rest folded into a button.
    h.get_by_label("t0");
    h.get_by_label("t11");
    assert!(h.query_by_label("t12").is_none());
    assert!(h.query_by_label("t29").is_none());
    h.get_by_label("+ 18 more").click();
    h.run_steps(3);
    assert!(h.state().state.view.legend_expanded);
    // Unfolded: every category, in a scrollable list.
    h.get_by_label("t12");
    h.get_by_label("t29");
    h.get_by_label("30 values");
    h.get_by_label("show fewer").click();
    h.run_steps(3);
    assert!(h.query_by_label("t29").is_none());
    h.get_by_label("+ 18 more");
}

/// The chat set's first 10 lines, chat-70b's answers relabelled chat-1b (a model the set
/// does not have), as `name` in `dir`.
fn more_chat(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(sample("chat.jsonl")).unwrap();
    let lines: Vec<String> = text
        .lines()
        .take(10)
        .map(|l| l.replace("\"chat-70b\"", "\"chat-1b\""))
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// A file dropped on the window.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Step until the running job ends (without an error).
fn wait_for_job(h: &mut Harness<'_, AtlasApp>) {
    let start = Instant::now();
    while h.state().state.job.running() {
        assert!(start.elapsed() < Duration::from_secs(60), "the job ends");
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.run_steps(3);
    let s = &h.state().state;
    assert!(s.job.error.is_none(), "{:?}", s.job.error);
    assert!(s.map.layout_done);
}

/// A category column's (level, count) pairs.
fn level_counts(samples: &sample_atlas::dataset::Samples, column: &str) -> Vec<(String, usize)> {
    let i = samples.column_index(column).expect("the column");
    let sample_atlas::dataset::ColumnKind::Category { levels, codes, .. } =
        &samples.columns[i].kind
    else {
        panic!("{column} is a category")
    };
    let mut out: Vec<(String, usize)> = levels
        .iter()
        .enumerate()
        .map(|(k, l)| (l.clone(), codes.iter().filter(|&&c| c == k as u32).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    out.sort();
    out
}

#[test]
fn adding_a_file_maps_the_union_and_keeps_the_filters_and_colouring() {
    let dir = tempfile::tempdir().unwrap();
    let more = more_chat(dir.path(), "more.jsonl");
    let mut app = app_with_map();
    app.state.config.params.umap.n_epochs = Some(50);
    let mut h = harness(app);
    // Colour by model, and filter chat-70b out.
    h.get_by_label("colour by").click();
    h.run_steps(2);
    h.get_by_label("model").click();
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "chat-70b  (20)")
        .click();
    h.run_steps(3);
    h.get_by_label_contains("20 of 40 pass");
    // "Add file…" is there (its dialog is native); drop the file with Shift held instead.
    h.get_by_label("Add file…");
    h.event(egui::Event::ModifiersChanged(egui::Modifiers::SHIFT));
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(more.clone())));
    h.step();
    h.event(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
    assert!(h.state().state.job.running());
    // The shown set stays until the new table is read.
    assert_eq!(h.state().state.map.samples.as_ref().unwrap().len(), 40);
    wait_for_job(&mut h);

    let app = h.state();
    let samples = app.state.map.samples.clone().unwrap();
    assert_eq!(samples.len(), 50);
    assert_eq!(app.state.map.coords.as_ref().unwrap().len(), 50);
    assert_eq!(app.state.map.files, vec![sample("chat.jsonl"), more]);
    assert_eq!(
        level_counts(&samples, "source"),
        [
            ("chat.jsonl".to_string(), 40),
            ("more.jsonl".to_string(), 10)
        ]
    );
    assert_eq!(app.state.paint.color_by.as_deref(), Some("model"));
    // The filter kept chat-70b out by name: the new model (chat-1b) passes.
    let i = samples.column_index("model").unwrap();
    let sample_atlas::dataset::ColumnKind::Category { levels, codes, .. } =
        &samples.columns[i].kind
    else {
        panic!("model is a category")
    };
    for (r, &c) in codes.iter().enumerate() {
        let want = if levels[c as usize] == "chat-70b" {
            sample_atlas::render::PointClass::Faded
        } else {
            sample_atlas::render::PointClass::Normal
        };
        assert_eq!(app.state.paint.classes[r], want, "row {r}");
    }
    h.get_by_label_contains("30 of 50 pass");
    h.get_by_label("2 files");
    h.get_by_label_contains("2 files: chat.jsonl, more.jsonl");
}

#[test]
fn placing_a_file_onto_the_map_keeps_its_points_and_flags_ood() {
    let dir = tempfile::tempdir().unwrap();
    let more = more_chat(dir.path(), "new.jsonl");
    let app = app_with_map();
    let before: Vec<[u32; 2]> = app
        .state
        .map
        .coords
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| [c[0].to_bits(), c[1].to_bits()])
        .collect();
    let mut h = harness(app);
    h.get_by_label("Place file onto this map…");
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, AppCommand::PlaceOnto(more));
    assert!(h.state().state.job.running());
    wait_for_job(&mut h);

    let app = h.state();
    let samples = app.state.map.samples.clone().unwrap();
    let coords = app.state.map.coords.clone().unwrap();
    assert_eq!((samples.len(), coords.len()), (50, 50));
    let reference: Vec<[u32; 2]> = coords[..40]
        .iter()
        .map(|c| [c[0].to_bits(), c[1].to_bits()])
        .collect();
    assert_eq!(reference, before, "REF's points did not move");
    assert!(
        coords[40..]
            .iter()
            .all(|c| c[0].is_finite() && c[1].is_finite())
    );
    let ood = samples.frame.column("ood").expect("an ood column");
    let ood: Vec<Option<bool>> = ood.bool().expect("true/false").iter().collect();
    assert_eq!(ood.len(), 50);
    assert!(
        ood[..40].iter().all(|o| *o == Some(false)),
        "REF is not ood"
    );
    assert!(ood[40..].iter().all(|o| o.is_some()));
    assert_eq!(
        level_counts(&samples, "source"),
        [
            ("chat.jsonl".to_string(), 40),
            ("new.jsonl".to_string(), 10)
        ]
    );
    assert!(
        app.state
            .job
            .notice
            .as_deref()
            .unwrap()
            .starts_with("placed 10 samples of"),
        "{:?}",
        app.state.job.notice
    );
    // Placing again while the map is shown works from the new set (REF = all 50).
    assert_eq!(app.state.map.files.len(), 2);
}

#[test]
fn save_png_in_the_compare_view_saves_the_difference() {
    use sample_atlas::app::CompareInputs;
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(sweep_blobs_app());
    let ctx = egui::Context::default();
    let save = |h: &mut Harness<'_, AtlasApp>, name: &str| {
        let path = dir.path().join(name);
        h.state_mut().apply(&ctx, AppCommand::SavePng(path.clone()));
        h.state_mut().wait_for_map_work(&ctx);
        let s = &h.state().state;
        assert!(s.job.error.is_none(), "{:?}", s.job.error);
        crate::compare_png::read_png(&path)
    };
    // The points (coloured by score: viridis, never red).
    let (w, hgt, plain) = save(&mut h, "points.png");
    assert_eq!(crate::compare_png::red_and_blue(w, hgt, &plain).0, 0);
    // Compare temperature 1.5 (A) with 0.5 (B): the blobs are wider at 1.5.
    let mut inputs = CompareInputs {
        on: true,
        ..CompareInputs::default()
    };
    for step in 0..3 {
        match step {
            1 => inputs.column = Some("temperature".into()),
            2 => (inputs.a, inputs.b) = (Some("1.5".into()), Some("0.5".into())),
            _ => {}
        }
        h.state_mut()
            .apply(&ctx, AppCommand::SetCompare(inputs.clone()));
        wait_for_compare(&mut h);
    }
    let key = h.state().state.compare.current().map(|g| g.key.clone());
    assert_eq!(
        key,
        Some(("temperature".into(), "1.5".into(), "0.5".into()))
    );
    let (w2, h2, diff) = save(&mut h, "difference.png");
    assert_eq!((w2, h2), (w, hgt), "the same view");
    let (red, blue) = crate::compare_png::red_and_blue(w2, h2, &diff);
    assert!(red > 200 && blue > 200, "red {red}, blue {blue}");
}

#[test]
fn a_placement_can_be_cancelled_and_the_map_stays() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("again.jsonl");
    std::fs::copy(sample("sweep.jsonl"), &copy).unwrap();
    let mut h = harness(sweep_app());
    let before = h.state().state.map.coords.clone().unwrap();
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, AppCommand::PlaceOnto(copy));
    h.run_steps(1);
    assert!(h.state().state.job.running());
    // Cancel it while it runs.
    h.get_by_label("Cancel").click();
    let start = Instant::now();
    while h.state().state.job.running() {
        assert!(start.elapsed() < Duration::from_secs(30), "the job stops");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
    let s = &h.state().state;
    assert_eq!(s.job.error.as_deref(), Some("cancelled"));
    assert_eq!(s.map.samples.as_ref().unwrap().len(), 2304);
    assert_eq!(s.map.files, vec![sample("sweep.jsonl")]);
    assert!(Arc::ptr_eq(s.map.coords.as_ref().unwrap(), &before));
    assert!(s.map.layout_done);
}

#[test]
fn side_by_side_shows_a_and_b_in_two_panes_sharing_one_view() {
    use egui::accesskit::Role;
    use sample_atlas::render::difference::{GROUP_A, GROUP_B};
    let mut h = harness(sweep_app());
    h.get_by_label("Compare").click();
    wait_for_compare(&mut h);
    h.get_by_role_and_label(Role::ComboBox, "split by").click();
    h.run_steps(2);
    h.get_by_label("temperature").click();
    wait_for_compare(&mut h);
    for (combo, value) in [("A (red)", "1.5 (576)"), ("B (blue)", "0.5 (576)")] {
        h.get_by_role_and_label(Role::ComboBox, combo).click();
        h.run_steps(2);
        h.get_by_label(value).click();
        wait_for_compare(&mut h);
    }
    let single = h.state().state.view.rect;
    h.get_by_role_and_label(Role::CheckBox, "Side by side")
        .click();
    wait_for_compare(&mut h);

    // Two panes, each titled with its group and its count: A's left of B's.
    let a = h.get_by_label("A · temperature = 1.5 · 576 rows").rect();
    let b = h.get_by_label("B · temperature = 0.5 · 576 rows").rect();
    assert!(a.right() < b.left(), "A's pane left of B's");
    let s = &h.state().state;
    let groups = s.compare.current().expect("the pair's groups").clone();
    let pane = s.view.rect;
    assert!(
        (pane.width() * 2.0 - single.width()).abs() < 10.0,
        "a pane is half the map: {} of {}",
        pane.width(),
        single.width()
    );
    // Each pane is its own render, of its group, at the pane's size; no difference.
    let left = s.paint.canvas.drawn.expect("the left pane's render");
    let right = s.paint.canvas.right.as_ref().and_then(|r| r.drawn);
    let right = right.expect("the right pane's render");
    assert_eq!(left.pane, Some((groups.version, GROUP_A)));
    assert_eq!(right.pane, Some((groups.version, GROUP_B)));
    assert!(left.difference.is_none() && right.difference.is_none());
    assert_eq!(left.view.width as f32, pane.width().round());

    // Hover in the left pane finds A's rows only, at the same layout spot as in the right
    // pane (the left pane is the right one moved left by its width and the 4-point gap).
    let temps = temperatures(h.state());
    let coords = h.state().state.map.coords.clone().unwrap();
    let row = (0..coords.len()).find(|&i| temps[i] == 1.5).unwrap();
    let in_right = h.state().state.view.to_screen(coords[row]);
    let in_left = in_right - egui::vec2(pane.width() + 4.0, 0.0);
    h.hover_at(in_left);
    h.run_steps(2);
    let hovered = h
        .state()
        .state
        .focus
        .hovered
        .expect("an A point under the pointer");
    assert_eq!(groups.of_row[hovered], GROUP_A);
    h.hover_at(in_right);
    h.run_steps(2);
    if let Some(r) = h.state().state.focus.hovered {
        assert_eq!(
            groups.of_row[r], GROUP_B,
            "the right pane picks only B's rows"
        );
    }

    // Zoom over the right pane: the one view zooms, and both panes render it.
    let before = h.state().state.view.px_per_unit;
    h.hover_at(pane.center());
    h.event(egui::Event::Zoom(2.0));
    h.run_steps(1);
    wait_for_compare(&mut h);
    let s = &h.state().state;
    assert!((s.view.px_per_unit / before - 2.0).abs() < 1e-3);
    let ppp = h.ctx.pixels_per_point();
    let left = s.paint.canvas.drawn.unwrap().view;
    let right = s.paint.canvas.right.as_ref().unwrap().drawn.unwrap().view;
    assert!((left.px_per_unit - s.view.px_per_unit * ppp).abs() < 1e-3);
    assert_eq!(left, right, "both panes show the same view");

    // Save PNG: both panes side by side in one picture.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sbs.png");
    let job = h.state().png_job(1.0).expect("a map to save");
    assert!(job(&path).unwrap().contains("side by side"));
    let (w, hgt, _) = crate::compare_png::read_png(&path);
    assert_eq!((w, hgt), (left.width * 2 + 4, left.height));

    // Off again: one map, no titles, no second pane.
    h.get_by_role_and_label(Role::CheckBox, "Side by side")
        .click();
    wait_for_compare(&mut h);
    assert!(
        h.query_by_label("A · temperature = 1.5 · 576 rows")
            .is_none()
    );
    let s = &h.state().state;
    assert!(s.paint.canvas.right.is_none());
    assert_eq!(s.paint.canvas.drawn.unwrap().pane, None);
    assert!((s.view.rect.width() - single.width()).abs() < 1.0);
}

/// Rows of `samples/sweep.jsonl` of model `a` or `b` on the prompts both have an
/// `is_correct` value on, read from the file itself (line order = row order).
fn sweep_pair_rows(a: &str, b: &str) -> (Vec<u32>, usize) {
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(sample("sweep.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let answered = |model: &str| -> std::collections::BTreeSet<String> {
        lines
            .iter()
            .filter(|l| l["model"] == model && !l["is_correct"].is_null())
            .map(|l| l["prompt"].as_str().unwrap().to_string())
            .collect()
    };
    let shared: std::collections::BTreeSet<String> =
        answered(a).intersection(&answered(b)).cloned().collect();
    let rows = (0..lines.len() as u32)
        .filter(|&i| {
            let l = &lines[i as usize];
            (l["model"] == a || l["model"] == b) && shared.contains(l["prompt"].as_str().unwrap())
        })
        .collect();
    (rows, shared.len())
}

#[test]
fn a_paired_row_click_selects_both_settings_samples_on_their_shared_prompts() {
    use egui::accesskit::Role;
    let mut h = harness(sweep_app());
    h.get_by_label("Analysis").click();
    wait_for_analysis(&mut h);
    untick(&mut h, &["temperature", "top_p"]);
    // is_correct: only the math, factual and code prompts have a value.
    h.get_by_role_and_label(Role::ComboBox, "metric").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "is_correct").click();
    wait_for_analysis(&mut h);
    let pairs = h.state().state.overlays.analysis.pairs_in_order();
    assert_eq!(pairs.len(), 3);
    assert_eq!(
        (pairs[0].a.join(","), pairs[0].b.join(",")),
        ("base-8b".into(), "chat-8b".into())
    );
    let shared = pairs[0].shared;

    // A click on the first row's "shared" cell.
    let (want, n_shared) = sweep_pair_rows("base-8b", "chat-8b");
    assert_eq!(n_shared, shared);
    assert!(
        n_shared > 0 && n_shared < 24,
        "some prompts are not shared: {n_shared}"
    );
    let table_top = h.get_by_label("Paired on shared prompts").rect().top();
    let cell = h
        .get_all_by_label(&shared.to_string())
        .map(|n| n.rect())
        .filter(|r| r.top() > table_top)
        .min_by(|a, b| a.top().total_cmp(&b.top()))
        .unwrap();
    click_at(&mut h, cell.center());
    let sel = h
        .state()
        .state
        .focus
        .selection
        .as_ref()
        .expect("a selection");
    assert_eq!(*sel.rows, want);
    assert_eq!(
        sel.label,
        format!("model = base-8b and model = chat-8b on {n_shared} shared prompts")
    );

    // The third row's "shared" cell: chat-8b against tiny-1b.
    let pairs = h.state().state.overlays.analysis.pairs_in_order();
    assert_eq!(
        (pairs[2].a.join(","), pairs[2].b.join(",")),
        ("chat-8b".into(), "tiny-1b".into())
    );
    let (want, n_shared) = sweep_pair_rows("chat-8b", "tiny-1b");
    assert_eq!(
        pairs.iter().map(|p| p.shared).collect::<Vec<_>>(),
        [n_shared; 3]
    );
    let mut cells: Vec<egui::Rect> = h
        .get_all_by_label(&n_shared.to_string())
        .map(|n| n.rect())
        .filter(|r| r.top() > table_top)
        .collect();
    cells.sort_by(|x, y| x.top().total_cmp(&y.top()));
    click_at(&mut h, cells[2].center());
    let sel = h
        .state()
        .state
        .focus
        .selection
        .as_ref()
        .expect("a selection");
    assert_eq!(*sel.rows, want);
}
