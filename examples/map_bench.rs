//! Map interaction bench: for each size, the work behind one frame of the map at N points.
//!
//!     cargo run --release --example map_bench -- [N ...]          (default: 100000 1000000)
//!     cargo run --release --example map_bench -- write N FILE.parquet   (a test set with x, y)
//!
//! Prints, per N: rendering every point into a 1280×800 map (points and density mode,
//! on rayon's threads, off the UI thread), the app's UI-thread frame time while panning with
//! the pointer over the map (egui layout + hover pick + drawing the texture, measured through
//! egui_kittest without a GPU), building the picking grid, one hover pick, box and lasso
//! selection, and filter updates (range, category, plain and regex search) with their
//! histograms. Setup (data generation, loading) is outside every timing; each number is the
//! median of several runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use eframe::egui;
use polars::prelude::*;
use rand::{Rng, SeedableRng};
use sample_atlas::app::AtlasApp;
use sample_atlas::dataset::{ColumnKind, LoadOptions, Samples, load};
use sample_atlas::filter::{self, FilterSpec, Search};
use sample_atlas::pipeline::MapParams;
use sample_atlas::progress::{CancelToken, NoProgress};
use sample_atlas::render::{self, Mode, Style, Viewport, colors};
use sample_atlas::spatial::GridIndex;

const WORDS: &[&str] = &[
    "the", "model", "answer", "refuse", "sorry", "cannot", "step", "first", "total", "loaves",
    "function", "return", "story", "dragon", "advice", "sleep", "water", "compute", "sure", "here",
    "is", "a", "list", "of", "reasons", "why", "this", "works", "error", "value",
];

/// A clustered 2-D layout with a sampling-run table: text, model, temperature, score, x, y.
fn write_set(n: usize, path: &Path) -> anyhow::Result<()> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(11);
    let clusters: Vec<([f32; 2], f32)> = (0..60)
        .map(|_| {
            (
                [rng.random_range(-40.0..40.0), rng.random_range(-30.0..30.0)],
                rng.random_range(0.3..3.0),
            )
        })
        .collect();
    let normal = rand_distr::Normal::new(0.0f32, 1.0).unwrap();
    let (mut xs, mut ys, mut texts, mut models, mut temps, mut scores) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let c = rng.random_range(0..clusters.len());
        let (center, spread) = clusters[c];
        let dx: f32 = rng.sample(normal);
        let dy: f32 = rng.sample(normal);
        xs.push(center[0] + dx * spread);
        ys.push(center[1] + dy * spread);
        let len = rng.random_range(8..40);
        let words: Vec<&str> = (0..len)
            .map(|k| WORDS[(c * 7 + k * 3 + rng.random_range(0..5)) % WORDS.len()])
            .collect();
        texts.push(format!("{} #{i}", words.join(" ")));
        models.push(["tiny-1b", "chat-8b", "chat-70b", "base-8b"][c % 4]);
        temps.push([0.0f32, 0.5, 1.0, 1.5][rng.random_range(0..4)]);
        scores.push((c as f32 / 60.0 + rng.random_range(-0.2..0.2f32)).clamp(0.0, 1.0));
    }
    let mut df = df!(
        "text" => texts, "model" => models, "temperature" => temps, "score" => scores,
        "x" => xs, "y" => ys
    )?;
    let tmp = path.with_extension("tmp");
    ParquetWriter::new(std::fs::File::create(&tmp)?).finish(&mut df)?;
    std::fs::rename(tmp, path)?;
    Ok(())
}

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn coords_of(samples: &Samples) -> Vec<[f32; 2]> {
    let col = |name: &str| match &samples.columns[samples.column_index(name).unwrap()].kind {
        ColumnKind::Numeric { values, .. } => values.clone(),
        _ => panic!("{name} is numeric"),
    };
    let (x, y) = (col("x"), col("y"));
    x.into_iter().zip(y).map(|(a, b)| [a, b]).collect()
}

fn bench(n: usize) -> anyhow::Result<()> {
    let path = std::env::temp_dir().join(format!("atlas-map-bench-{n}.parquet"));
    if !path.exists() {
        write_set(n, &path)?;
    }
    let options = LoadOptions {
        text_column: Some("text".into()),
        ..Default::default()
    };
    let samples = Arc::new(load(&path, &options, &NoProgress, &CancelToken::new())?);
    let coords = coords_of(&samples);
    let (point_colors, _) = colors::point_colors(&samples, Some("score"));
    println!("n = {n} ({} threads)", rayon::current_num_threads());

    // Rendering (a worker thread's job in the app).
    let view = Viewport::fit(&coords, 1280, 800, 24.0);
    let style = Style {
        radius_px: Style::radius_for(n),
        opacity: 0.85,
        faded_opacity: 0.12,
        mode: Mode::Points,
        background: [12, 12, 12, 255],
    };
    let classes = vec![render::PointClass::Normal; n];
    let mut lit = 0;
    let points_ms = median_ms(5, || {
        let img = render::rasterize(&coords, &point_colors, Some(&classes), &view, &style, true);
        lit = img.iter().filter(|p| p[0] != 12).count();
    });
    assert!(lit > 10_000, "the points are drawn ({lit} pixels)");
    let density = Style {
        mode: Mode::Density,
        ..style
    };
    let density_ms = median_ms(5, || {
        render::rasterize(
            &coords,
            &point_colors,
            Some(&classes),
            &view,
            &density,
            true,
        );
    });
    println!(
        "  render 1280x800, all points: {points_ms:.1} ms (density mode {density_ms:.1} ms), {lit} pixels lit"
    );

    // Picking.
    let mut index = None;
    let build_ms = median_ms(3, || index = Some(GridIndex::build(&coords)));
    let index = index.unwrap();
    let mut rng = rand_pcg::Pcg64::seed_from_u64(5);
    let radius = (Style::radius_for(n) + 3.0) / view.px_per_unit;
    let queries: Vec<[f32; 2]> = (0..100_000)
        .map(|_| {
            let p = coords[rng.random_range(0..n)];
            [
                p[0] + rng.random_range(-radius..radius),
                p[1] + rng.random_range(-radius..radius),
            ]
        })
        .collect();
    let t = Instant::now();
    let hits = queries
        .iter()
        .filter(|q| index.nearest(&coords, **q, radius, |_| true).is_some())
        .count();
    let pick_us = t.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
    assert!(hits > queries.len() / 2);
    // The worst case: the densest spot of the map.
    let worst_us = {
        let t = Instant::now();
        for _ in 0..1000 {
            index.nearest(&coords, [0.0, 0.0], radius * 4.0, |_| true);
        }
        t.elapsed().as_secs_f64() * 1e3
    };
    println!(
        "  picking grid build {build_ms:.1} ms; hover pick {pick_us:.2} µs (mean of 100k at the fitted zoom, {hits} hits), {worst_us:.2} µs with a 4x radius"
    );

    // Selection.
    let mut count = 0;
    let box_ms = median_ms(5, || {
        count = index.in_box(&coords, [-20.0, -15.0], [20.0, 15.0]).len()
    });
    let lasso: Vec<[f32; 2]> = (0..200)
        .map(|k| {
            let t = k as f32 / 200.0 * std::f32::consts::TAU;
            let r = 20.0 + 6.0 * (5.0 * t).sin();
            [r * t.cos(), r * t.sin() * 0.8]
        })
        .collect();
    let mut lasso_count = 0;
    let lasso_ms = median_ms(5, || lasso_count = index.in_polygon(&coords, &lasso).len());
    println!(
        "  box select {box_ms:.1} ms ({count} rows); lasso (200 vertices) {lasso_ms:.1} ms ({lasso_count} rows)"
    );

    // Filters (with every numeric column's histogram and the category counts).
    let model = samples.column_index("model").unwrap();
    let ColumnKind::Category { levels, .. } = &samples.columns[model].kind else {
        unreachable!()
    };
    let specs = [
        (
            "range",
            FilterSpec {
                ranges: vec![("score".into(), 0.2, 0.6)],
                ..Default::default()
            },
        ),
        (
            "range + category",
            FilterSpec {
                ranges: vec![("score".into(), 0.2, 0.6)],
                categories: vec![(
                    "model".into(),
                    (0..levels.len()).map(|i| i % 2 == 0).collect(),
                    true,
                )],
                ..Default::default()
            },
        ),
        (
            "plain search",
            FilterSpec {
                search: Some(Search {
                    text: "dragon".into(),
                    regex: false,
                    case_sensitive: false,
                }),
                ..Default::default()
            },
        ),
        (
            "regex search",
            FilterSpec {
                search: Some(Search {
                    text: r"sorry.*cannot|refuse\w*".into(),
                    regex: true,
                    case_sensitive: false,
                }),
                ..Default::default()
            },
        ),
    ];
    for (name, spec) in &specs {
        let mut passing = 0;
        let ms = median_ms(5, || passing = filter::apply(&samples, spec).unwrap().count);
        println!("  filter update, {name}: {ms:.1} ms ({passing} pass)");
    }

    // Typing a search one character at a time: each step searches only what the previous
    // one matched.
    let mut previous = None;
    let mut last_ms = 0.0;
    for typed in ["d", "dr", "dra", "drag", "drago", "dragon"] {
        let spec = FilterSpec {
            search: Some(Search {
                text: typed.into(),
                regex: false,
                case_sensitive: false,
            }),
            ..Default::default()
        };
        let mut r = None;
        last_ms = median_ms(3, || {
            r = Some(filter::apply_after(&samples, &spec, previous.as_ref()).unwrap())
        });
        previous = r.and_then(|r| r.search_matches);
    }
    println!(
        "  filter update, typing 'dragon' (search narrowed by the previous keystroke): {last_ms:.1} ms for the last key"
    );

    // The UI thread: frames of the whole app with the pointer moving over the map while it
    // pans (each frame: layout, hover pick, the texture placed; renders run on a worker).
    let mut app = AtlasApp::new(Default::default(), MapParams::default());
    app.state.config.cache_cap = None;
    app.set_map(samples.clone(), coords.clone());
    let mut h = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_ui_state(|ui, app: &mut AtlasApp| app.show(ui), app);
    h.run_steps(3);
    let settle = |h: &mut egui_kittest::Harness<'_, AtlasApp>| {
        let t = Instant::now();
        while (h.state().state.paint.canvas.busy() || h.state().state.map.index.is_none())
            && t.elapsed().as_secs() < 60
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
            h.step();
        }
        h.step();
    };
    settle(&mut h);
    let map = h.state().state.view.rect;
    let mut frame_ms = Vec::new();
    for k in 0..40 {
        let p = map.center()
            + egui::vec2(
                (k as f32 * 0.7).sin() * 200.0,
                (k as f32 * 0.3).cos() * 150.0,
            );
        h.hover_at(p);
        let t = Instant::now();
        h.step();
        frame_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    frame_ms.sort_by(f64::total_cmp);
    let hovered = h.state().state.focus.hovered.is_some();
    println!(
        "  UI thread, hover frames: median {:.2} ms, max {:.2} ms (last hover found a point: {hovered})",
        frame_ms[frame_ms.len() / 2],
        frame_ms[frame_ms.len() - 1]
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("write") {
        let n: usize = args
            .get(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(1_000_000);
        let out = PathBuf::from(
            args.get(2)
                .cloned()
                .unwrap_or_else(|| "map-bench.parquet".into()),
        );
        write_set(n, &out)?;
        println!("wrote {n} rows to {}", out.display());
        return Ok(());
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        args.iter().filter_map(|a| a.parse().ok()).collect()
    };
    for n in sizes {
        bench(n)?;
    }
    Ok(())
}
