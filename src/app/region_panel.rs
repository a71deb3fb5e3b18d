//! The Regions window's widgets: inputs (metric, direction of worse, level), the ranked table
//! (click a row: select and zoom to the region; click a header: sort by it; with a compare
//! pair, A's and B's counts and shares, B/A and the shift's test), and the clicked region's
//! detail (what is in it, its most central samples).

use eframe::egui::{self, RichText};

use super::region_labels::ShownRegions;
use super::regions::{LevelFilter, Ranking, RegionColumn, RegionsPanel, Shifts};
use super::{AppCommand, AppState};
use crate::analysis::region_shift::RegionShift;
use crate::analysis::region_stats::{DEFAULT_MIN_SUPPORT, RegionStat, Worse};
use crate::analysis::regions::Level;
use crate::dataset::Samples;
use crate::util::text::truncate_chars;

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", v * 100.0)
    } else {
        "–".into()
    }
}

fn num(v: f64) -> String {
    if v.is_finite() {
        crate::render::image::format_number(v as f32)
    } else {
        "–".into()
    }
}

fn pval(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        // Below the smallest double: the test's p-value underflowed to 0.
        Some(v) if v <= 0.0 => "< 1e-300".into(),
        Some(v) if v < 1e-4 => format!("{v:.1e}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// The Regions window.
pub fn window(ctx: &egui::Context, state: &AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let mut open = true;
    let right = ctx.content_rect().right();
    egui::Window::new("Regions")
        .open(&mut open)
        .default_pos(egui::pos2((right - 800.0).max(0.0), 40.0))
        .default_width(760.0)
        .default_height(560.0)
        .show(ctx, |ui| body(ui, state, &mut out));
    if !open {
        out.push(AppCommand::ToggleRegions);
    }
    out
}

fn body(ui: &mut egui::Ui, state: &AppState, out: &mut Vec<AppCommand>) {
    let (Some(samples), Some(regions)) = (state.map.samples.as_ref(), state.current_regions())
    else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Finding the regions of the map…");
        });
        return;
    };
    let p = &state.overlays.regions;
    inputs_row(ui, p, samples, out);
    let Some(result) = p.current(regions.coords_version) else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Ranking the regions…");
        });
        return;
    };
    let ranking = match result {
        Ok(r) => r.clone(),
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
            return;
        }
    };
    let r = &regions.regions.regions;
    let worse_count = ranking
        .stats
        .iter()
        .filter(|s| s.is_significantly_worse())
        .count();
    let test = if ranking.is_bool {
        "Fisher's exact test"
    } else {
        "Welch's t-test"
    };
    let worse = p.worse().unwrap_or(Worse::Lower);
    let what = match (ranking.is_bool, worse) {
        (true, Worse::Lower) => "inside / outside: failure rate (share of false)",
        (true, Worse::Higher) => "inside / outside: failure rate (share of true)",
        (false, Worse::Lower) => "inside / outside: mean (lower is worse)",
        (false, Worse::Higher) => "inside / outside: mean (higher is worse)",
    };
    ui.label(RichText::new(what).small());
    ui.label(
        RichText::new(format!(
            "{} coarse and {} fine regions · {worse_count} significantly worse (q ≤ 0.05) · {test}, \
             Benjamini–Hochberg q over both levels · regions under {DEFAULT_MIN_SUPPORT} rows are not tested (grey)",
            r.count(Level::Coarse),
            r.count(Level::Fine)
        ))
        .small()
        .weak(),
    );
    let groups = state.compare.current();
    let shifts = p.current_shifts(regions.coords_version, groups.map(|g| g.as_ref()));
    if let Some(g) = groups {
        let (col, a, b) = &g.key;
        let line = match shifts {
            Some(_) => format!(
                "A = {col} {a} ({} rows), B = {col} {b} ({} rows): each region's share of A's and of B's rows, \
                 B/A their ratio, two-proportion z test (Fisher's exact test for small counts), \
                 Benjamini–Hochberg q",
                g.n_a, g.n_b
            ),
            None => "Counting A and B in each region…".into(),
        };
        ui.label(RichText::new(line).small().weak());
    }
    ui.separator();
    egui::ScrollArea::both()
        .id_salt("regions-table")
        .max_height(300.0)
        .show(ui, |ui| {
            table(
                ui,
                p,
                regions,
                &ranking,
                test,
                shifts.map(|s| s.as_ref()),
                out,
            )
        });
    if let Some(id) = p.picked {
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("region-detail")
            .show(ui, |ui| detail(ui, state, samples, regions, id, out));
    }
}

fn inputs_row(ui: &mut egui::Ui, p: &RegionsPanel, samples: &Samples, out: &mut Vec<AppCommand>) {
    let metrics = super::analysis::metric_columns(samples);
    let mut inputs = p.inputs.clone();
    ui.horizontal(|ui| {
        ui.label("metric");
        egui::ComboBox::from_id_salt("regions-metric")
            .selected_text(inputs.metric.clone().unwrap_or_else(|| "none".into()))
            .show_ui(ui, |ui| {
                for m in &metrics {
                    if ui
                        .selectable_label(inputs.metric.as_ref() == Some(m), m)
                        .clicked()
                    {
                        inputs.metric = Some(m.clone());
                        inputs.worse = None;
                    }
                }
            });
        if let Some(mut worse) = p.worse() {
            ui.label("worse:");
            ui.radio_value(&mut worse, Worse::Higher, "higher");
            ui.radio_value(&mut worse, Worse::Lower, "lower");
            if Some(worse) != p.worse() {
                inputs.worse = Some(worse);
            }
        }
        ui.separator();
        ui.label("level");
        for (level, name) in [
            (LevelFilter::Both, "both"),
            (LevelFilter::Coarse, "coarse"),
            (LevelFilter::Fine, "fine"),
        ] {
            ui.radio_value(&mut inputs.level, level, name);
        }
    });
    if inputs != p.inputs {
        out.push(AppCommand::SetRegionInputs(inputs));
    }
}

/// A row of the table: a region's ranking statistics and, with a compare pair, its A / B
/// statistics.
struct Row<'a> {
    stat: &'a RegionStat,
    shift: Option<&'a RegionShift>,
}

/// The value `column` sorts by (text columns by their text, numbers by value; missing and
/// NaN values sort last either way).
enum Key<'a> {
    Text(&'a str),
    Number(Option<f64>),
}

fn sort_key<'a>(row: &Row<'a>, column: RegionColumn, regions: &'a ShownRegions) -> Key<'a> {
    use RegionColumn as C;
    let s = row.stat;
    let num = |v: f64| Key::Number(Some(v).filter(|v| !v.is_nan()));
    let shift = |f: fn(&RegionShift) -> f64| num(row.shift.map_or(f64::NAN, f));
    let shift_p = |f: fn(&RegionShift) -> Option<f64>| Key::Number(row.shift.and_then(f));
    match column {
        C::Region => Key::Text(&regions.regions.labels[s.region]),
        C::Level => Key::Text(match regions.regions.regions.regions[s.region].level {
            Level::Coarse => "coarse",
            Level::Fine => "fine",
        }),
        C::Size => num(s.size as f64),
        C::Share => num(s.share),
        C::Inside => num(s.inside),
        C::Outside => num(s.outside),
        C::Lift => num(s.lift),
        C::Ci => num(s.ci_low),
        C::P => Key::Number(s.p),
        C::Q => Key::Number(s.q),
        C::CountA => shift(|x| x.n_a as f64),
        C::CountB => shift(|x| x.n_b as f64),
        C::ShareA => shift(|x| x.share_a),
        C::ShareB => shift(|x| x.share_b),
        C::Ratio => shift(|x| x.ratio),
        C::ShiftP => shift_p(|x| x.p),
        C::ShiftQ => shift_p(|x| x.q),
    }
}

/// `a` before `b` when sorting by `column` (ascending or not); missing values last.
fn compare_rows(a: &Key<'_>, b: &Key<'_>, ascending: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let dir = |o: Ordering| if ascending { o } else { o.reverse() };
    match (a, b) {
        (Key::Text(x), Key::Text(y)) => dir(crate::util::text::natural_cmp(x, y)),
        (Key::Number(Some(x)), Key::Number(Some(y))) => dir(x.total_cmp(y)),
        (Key::Number(Some(_)), Key::Number(None)) => Ordering::Less,
        (Key::Number(None), Key::Number(Some(_))) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// The header button of a column: its name, with the sort direction when sorted by it.
fn header(
    ui: &mut egui::Ui,
    p: &RegionsPanel,
    column: RegionColumn,
    name: &str,
    tip: &str,
    out: &mut Vec<AppCommand>,
) {
    let text = match p.sort {
        Some((c, asc)) if c == column => format!("{name} ({})", if asc { "asc" } else { "desc" }),
        _ => name.to_string(),
    };
    if ui
        .add(egui::Button::new(RichText::new(text).strong()).frame(false))
        .on_hover_text(format!("{tip} (click to sort, again to reverse)"))
        .clicked()
    {
        out.push(AppCommand::SortRegions(column));
    }
}

fn table(
    ui: &mut egui::Ui,
    p: &RegionsPanel,
    regions: &ShownRegions,
    ranking: &Ranking,
    test: &str,
    shifts: Option<&Shifts>,
    out: &mut Vec<AppCommand>,
) {
    use RegionColumn as C;
    let all = &regions.regions.regions.regions;
    let what = if ranking.is_bool {
        "failure rate"
    } else {
        "mean"
    };
    let mut rows: Vec<Row<'_>> = ranking
        .stats
        .iter()
        .filter(|s| match p.inputs.level {
            LevelFilter::Both => true,
            LevelFilter::Coarse => all[s.region].level == Level::Coarse,
            LevelFilter::Fine => all[s.region].level == Level::Fine,
        })
        .map(|s| Row {
            stat: s,
            shift: shifts
                .and_then(|sh| sh.by_region.get(s.region))
                .and_then(Option::as_ref),
        })
        .collect();
    if let Some((column, ascending)) = p.sort {
        // A stable sort: ties keep the ranking's order.
        rows.sort_by(|a, b| {
            compare_rows(
                &sort_key(a, column, regions),
                &sort_key(b, column, regions),
                ascending,
            )
        });
    }
    let pair = shifts.map(|s| s.key.clone());
    // The pair's columns (when chosen) come right after the region's size: they are what
    // the comparison is about, and stay in view in a narrow window.
    let mut columns: Vec<(RegionColumn, &str, String)> = vec![
        (
            C::Region,
            "region",
            "The region's distinctive terms; click to select it".into(),
        ),
        (
            C::Level,
            "level",
            "coarse regions, and the finer ones inside them".into(),
        ),
        (C::Size, "size", "rows in the region".into()),
        (C::Share, "share", "share of all rows".into()),
    ];
    if let Some((col, a, b)) = &pair {
        let a = format!("A ({col} = {a})");
        let b = format!("B ({col} = {b})");
        columns.extend([
            (C::CountA, "A n", format!("rows of {a} in the region")),
            (C::CountB, "B n", format!("rows of {b} in the region")),
            (
                C::ShareA,
                "A share",
                format!("share of {a}'s rows that are in the region"),
            ),
            (
                C::ShareB,
                "B share",
                format!("share of {b}'s rows that are in the region"),
            ),
            (
                C::Ratio,
                "B/A",
                "B share / A share: 3 = B has 3× A's share here".into(),
            ),
            (
                C::ShiftP,
                "p A/B",
                "two-proportion z test of A share = B share (Fisher's exact test for small counts)"
                    .into(),
            ),
            (
                C::ShiftQ,
                "q A/B",
                "Benjamini–Hochberg over all regions of both levels".into(),
            ),
        ]);
    }
    columns.extend([
        (C::Inside, "inside", what.into()),
        (C::Outside, "outside", what.into()),
        (C::Lift, "lift", "inside / outside".into()),
        (C::Ci, "95% CI", "of inside − outside".into()),
        (C::P, "p", test.into()),
        (
            C::Q,
            "q",
            "Benjamini–Hochberg over all regions of both levels".into(),
        ),
    ]);
    egui::Grid::new("regions-grid")
        .striped(true)
        .num_columns(columns.len())
        .show(ui, |ui| {
            for (column, name, tip) in &columns {
                header(ui, p, *column, name, tip, out);
            }
            ui.end_row();
            for row in &rows {
                let s = row.stat;
                let region = &all[s.region];
                let label = &regions.regions.labels[s.region];
                let mut text = RichText::new(truncate_chars(label, 48));
                if !s.tested {
                    text = text.weak();
                } else if s.is_significantly_worse() {
                    text = text.color(ui.visuals().warn_fg_color);
                }
                let picked = p.picked == Some(region.id);
                if ui
                    .selectable_label(picked, text)
                    .on_hover_text(label)
                    .clicked()
                {
                    out.push(AppCommand::PickRegion(region.id));
                }
                let cell = |ui: &mut egui::Ui, t: String| {
                    if s.tested {
                        ui.label(t);
                    } else {
                        ui.label(RichText::new(t).weak());
                    }
                };
                let value = |v: f64| if ranking.is_bool { pct(v) } else { num(v) };
                let level = match region.level {
                    Level::Coarse => "coarse",
                    Level::Fine => "fine",
                };
                cell(ui, level.into());
                cell(ui, s.size.to_string());
                cell(ui, pct(s.share));
                if pair.is_some() {
                    match row.shift {
                        Some(x) => {
                            let significant = x.q.is_some_and(|q| q <= 0.05);
                            let strong = |ui: &mut egui::Ui, t: String| {
                                if significant {
                                    ui.label(RichText::new(t).strong());
                                } else {
                                    ui.label(t);
                                }
                            };
                            ui.label(x.n_a.to_string());
                            ui.label(x.n_b.to_string());
                            ui.label(pct(x.share_a));
                            ui.label(pct(x.share_b));
                            strong(ui, ratio(x.ratio));
                            ui.label(pval(x.p));
                            strong(ui, pval(x.q));
                        }
                        None => {
                            for _ in 0..7 {
                                ui.label("–");
                            }
                        }
                    }
                }
                cell(ui, value(s.inside));
                cell(ui, value(s.outside));
                cell(
                    ui,
                    if s.lift.is_finite() {
                        format!("{:.2}", s.lift)
                    } else {
                        "–".into()
                    },
                );
                cell(ui, format!("{} … {}", value(s.ci_low), value(s.ci_high)));
                cell(ui, pval(s.p));
                cell(ui, pval(s.q));
                ui.end_row();
            }
        });
}

/// B / A: two decimals, "∞" when only B is there.
fn ratio(v: f64) -> String {
    if v.is_infinite() {
        "∞".into()
    } else if v.is_finite() {
        format!("{v:.2}")
    } else {
        "–".into()
    }
}

fn detail(
    ui: &mut egui::Ui,
    state: &AppState,
    samples: &Samples,
    regions: &ShownRegions,
    id: u32,
    out: &mut Vec<AppCommand>,
) {
    let Some(region) = regions.regions.regions.regions.get(id as usize) else {
        return;
    };
    ui.label(RichText::new(&regions.regions.labels[id as usize]).strong());
    ui.label(
        RichText::new(
            "What is in it (run columns, or categories, inside vs outside; Fisher's exact test)",
        )
        .weak(),
    );
    let p = &state.overlays.regions;
    match &p.composition {
        Some(((v, r), Ok(shares))) if *v == regions.coords_version && *r == id => {
            if shares.is_empty() {
                ui.label(
                    "No run or category columns (model, temperature, prompt, …) in this file.",
                );
            }
            for v in shares.iter().take(12) {
                let line = format!(
                    "{} = {}: {} inside vs {} outside, q {}",
                    v.column,
                    truncate_chars(&v.value, 40),
                    pct(v.inside_share),
                    pct(v.outside_share),
                    pval(Some(v.q))
                );
                if v.is_significantly_over() {
                    ui.label(line);
                } else {
                    ui.label(RichText::new(line).weak());
                }
            }
        }
        Some(((v, r), Err(e))) if *v == regions.coords_version && *r == id => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        _ => {
            ui.spinner();
        }
    }
    ui.add_space(4.0);
    ui.label(RichText::new("Most central samples (click to open)").weak());
    for &row in region.central.iter().take(5) {
        let text = samples.texts.get(row as usize).map_or("", String::as_str);
        let preview = truncate_chars(&text.replace('\n', " "), 110).to_string();
        if ui
            .add(egui::Button::selectable(false, format!("#{row}  {preview}")).truncate())
            .on_hover_text(truncate_chars(text, 600))
            .clicked()
        {
            out.push(AppCommand::Select(Some(row as usize)));
        }
    }
}
