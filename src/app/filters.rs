//! The filter panel: a text search (plain or regex), a range per numeric column drawn over its
//! histogram (the rows that pass over the whole set), checkboxes with counts per category.
//! Filters are evaluated by `crate::filter` on a worker thread for large sets; while one runs,
//! further edits wait and the newest spec runs next, so a drag never queues up work.

use std::sync::Arc;

use eframe::egui::{self, Color32, Rect, RichText, Sense, pos2, vec2};

use super::AppCommand;
use super::background::{INLINE_ROWS, Task};
use super::scatter::format_number;
use crate::dataset::{ColumnKind, Samples};
use crate::filter::{self, FilterResult, FilterSpec, Histogram, Search};
use crate::util::text::truncate_chars;

/// Category columns with more levels than this get no checkboxes (search them instead).
const MAX_LEVELS: usize = 60;

type Counts = Vec<(String, Vec<usize>, usize)>;

/// What the filter panel edits: the spec and the search field.
#[derive(Clone, Debug, Default)]
pub struct FilterEdit {
    pub spec: FilterSpec,
    pub search: String,
    pub regex: bool,
    pub case_sensitive: bool,
}

#[derive(Default)]
pub struct FilterState {
    pub open: bool,
    pub spec: FilterSpec,
    pub search: String,
    pub regex: bool,
    pub case_sensitive: bool,
    /// The result for `spec` (or the previous spec while the new one computes).
    pub result: Option<Arc<FilterResult>>,
    /// Histograms and category counts of the whole set.
    pub whole: Option<Arc<(Vec<Histogram>, Counts)>>,
    pub error: Option<String>,
    /// Bumped on every edit; the result says which version it is for.
    pub version: u64,
    pub result_version: u64,
    task: Task<(u64, Result<FilterResult, String>)>,
    whole_task: Task<(Vec<Histogram>, Counts)>,
    /// An edit arrived while a filter was running.
    dirty: bool,
    /// Put the keyboard focus into the search field next frame.
    pub focus_search: bool,
}

impl FilterState {
    /// A filter panel shown open.
    pub fn opened() -> FilterState {
        FilterState {
            open: true,
            ..Default::default()
        }
    }

    /// New samples: no filters; the whole set's histograms are computed by the next `poll`.
    pub fn reset_for(&mut self) {
        let open = self.open;
        *self = FilterState {
            open,
            ..Default::default()
        };
    }

    /// Whether any filter is on.
    pub fn active(&self) -> bool {
        !self.spec.is_empty()
    }

    /// Take in the panel's edits (evaluated by [`FilterState::changed`]).
    pub fn edit(&mut self, e: FilterEdit) {
        self.spec = e.spec;
        self.search = e.search;
        self.regex = e.regex;
        self.case_sensitive = e.case_sensitive;
    }

    /// The filter result, when a filter is on and evaluated (for background work).
    pub fn pass_result(&self) -> Option<Arc<FilterResult>> {
        self.result.clone().filter(|_| self.active())
    }

    /// The rows that pass, when a filter is on and evaluated.
    pub fn pass(&self) -> Option<&[bool]> {
        if !self.active() {
            return None;
        }
        self.result.as_ref().map(|r| r.pass.as_slice())
    }

    /// The spec changed: evaluate it (now, or after the running evaluation).
    pub fn changed(&mut self, ctx: &egui::Context, samples: &Arc<Samples>) {
        self.version += 1;
        self.spec.search = (!self.search.is_empty()).then(|| Search {
            text: self.search.clone(),
            regex: self.regex,
            case_sensitive: self.case_sensitive,
        });
        if self.task.busy() {
            self.dirty = true;
        } else {
            self.start(ctx, samples);
        }
    }

    fn start(&mut self, ctx: &egui::Context, samples: &Arc<Samples>) {
        self.dirty = false;
        let (s, spec, version) = (samples.clone(), self.spec.clone(), self.version);
        let previous = self.result.as_ref().and_then(|r| r.search_matches.clone());
        self.task.start(ctx, samples.len() <= INLINE_ROWS, move || {
            let result = filter::apply_after(&s, &spec, previous.as_ref());
            (version, result.map_err(|e| e.to_string()))
        });
    }

    /// Take in finished work; returns true when the rows that pass changed.
    pub fn poll(&mut self, ctx: &egui::Context, samples: &Arc<Samples>) -> bool {
        if self.whole.is_none() && !self.whole_task.busy() {
            let s = samples.clone();
            self.whole_task
                .start(ctx, samples.len() <= INLINE_ROWS, move || {
                    (
                        filter::histograms(&s, None),
                        filter::category_counts(&s, None),
                    )
                });
        }
        if let Some(w) = self.whole_task.poll() {
            self.whole = Some(Arc::new(w));
        }
        let mut changed = false;
        if let Some((version, result)) = self.task.poll() {
            match result {
                Ok(r) => {
                    self.result = Some(Arc::new(r));
                    self.result_version = version;
                    self.error = None;
                    changed = true;
                }
                Err(e) => {
                    self.error = Some(e);
                    self.result_version = version;
                }
            }
            if self.dirty {
                self.start(ctx, samples);
                // An inline evaluation is already done.
                changed |= self.poll(ctx, samples);
            }
        }
        changed
    }

    /// Clear every filter.
    pub fn clear(&mut self, ctx: &egui::Context, samples: &Arc<Samples>) {
        self.spec = FilterSpec::default();
        self.search.clear();
        self.changed(ctx, samples);
    }
}

/// The filter section of the side panel: the commands its widgets raised (new filters,
/// hide / fade, the search field took the focus).
pub fn filter_section(
    ui: &mut egui::Ui,
    f: &FilterState,
    samples: &Samples,
    hide_filtered: bool,
) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let mut edit = FilterEdit {
        spec: f.spec.clone(),
        search: f.search.clone(),
        regex: f.regex,
        case_sensitive: f.case_sensitive,
    };
    let (mut hide, mut focused) = (hide_filtered, false);
    if edit_filters(ui, f, &mut edit, samples, &mut hide, &mut focused) {
        out.push(AppCommand::SetFilters(edit));
    }
    if hide != hide_filtered {
        out.push(AppCommand::ToggleHideFiltered);
    }
    if focused {
        out.push(AppCommand::SearchFocused);
    }
    out
}

/// The section's widgets, editing `e` (a copy of the filters). Returns whether it changed.
fn edit_filters(
    ui: &mut egui::Ui,
    f: &FilterState,
    e: &mut FilterEdit,
    samples: &Samples,
    hide: &mut bool,
    focused: &mut bool,
) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let l = ui.label("search");
        let search = egui::TextEdit::singleline(&mut e.search)
            .id(egui::Id::unique("atlas-search"))
            .hint_text("texts  ( / )")
            .desired_width(120.0);
        let r = ui.add(search).labelled_by(l.id);
        if f.focus_search {
            r.request_focus();
            *focused = true;
        }
        changed |= r.changed();
        changed |= ui
            .toggle_value(&mut e.regex, ".*")
            .on_hover_text("Regular expression")
            .changed();
        changed |= ui
            .toggle_value(&mut e.case_sensitive, "Aa")
            .on_hover_text("Match case")
            .changed();
    });
    if let Some(e) = &f.error {
        ui.colored_label(ui.visuals().error_fg_color, truncate_chars(e, 300));
    }
    ui.horizontal(|ui| {
        let total = samples.len();
        let passing = match (&f.result, f.active()) {
            (Some(r), true) => r.count,
            _ => total,
        };
        let pending = f.result_version != f.version;
        ui.label(format!(
            "{} of {} pass{}",
            super::panels::thousands(passing),
            super::panels::thousands(total),
            if pending { " …" } else { "" }
        ));
        ui.checkbox(hide, "hide others")
            .on_hover_text("Hide the points filtered out (else they fade) · H");
        if f.active() && ui.small_button("Clear").clicked() {
            e.spec = FilterSpec::default();
            e.search.clear();
            changed = true;
        }
    });
    let Some(whole) = f.whole.clone() else {
        ui.label(RichText::new("counting…").weak());
        return changed;
    };
    let filtered = f.result.clone().filter(|_| f.active());
    for (name, counts, missing) in &whole.1 {
        if counts.len() > MAX_LEVELS || counts.len() < 2 {
            continue;
        }
        let Some(ColumnKind::Category { levels, .. }) =
            samples.column_index(name).map(|i| &samples.columns[i].kind)
        else {
            continue;
        };
        let sub = filtered
            .as_ref()
            .and_then(|r| r.category_counts.iter().find(|c| &c.0 == name));
        let pos = e.spec.categories.iter().position(|c| &c.0 == name);
        let n_on = pos.map_or(levels.len(), |i| {
            e.spec.categories[i].1.iter().filter(|&&b| b).count()
        });
        let title = if n_on == levels.len() {
            format!("{name} ({} values)", levels.len())
        } else {
            format!("{name} ({n_on} of {})", levels.len())
        };
        egui::CollapsingHeader::new(RichText::new(truncate_chars(&title, 40)).strong())
            .id_salt(("filter-cat", name))
            .default_open(levels.len() <= 8)
            .show(ui, |ui| {
                let mut allowed = pos.map_or_else(
                    || vec![true; levels.len()],
                    |i| e.spec.categories[i].1.clone(),
                );
                let mut allow_missing = pos.is_none_or(|i| e.spec.categories[i].2);
                let mut edited = false;
                ui.horizontal(|ui| {
                    if ui.small_button("all").clicked() {
                        allowed.iter_mut().for_each(|a| *a = true);
                        allow_missing = true;
                        edited = true;
                    }
                    if ui.small_button("none").clicked() {
                        allowed.iter_mut().for_each(|a| *a = false);
                        allow_missing = false;
                        edited = true;
                    }
                });
                for (i, level) in levels.iter().enumerate() {
                    let count = match sub {
                        Some(s) => format!("{} / {}", s.1[i], counts[i]),
                        None => counts[i].to_string(),
                    };
                    let label = format!("{}  ({count})", truncate_chars(level, 40));
                    edited |= ui.checkbox(&mut allowed[i], label).changed();
                }
                if *missing > 0 {
                    edited |= ui
                        .checkbox(&mut allow_missing, format!("missing  ({missing})"))
                        .changed();
                }
                if edited {
                    changed = true;
                    let all = allowed.iter().all(|&a| a) && allow_missing;
                    match (pos, all) {
                        (Some(i), true) => {
                            e.spec.categories.remove(i);
                        }
                        (Some(i), false) => {
                            e.spec.categories[i] = (name.clone(), allowed, allow_missing)
                        }
                        (None, false) => {
                            e.spec
                                .categories
                                .push((name.clone(), allowed, allow_missing))
                        }
                        (None, true) => {}
                    }
                }
            });
    }
    for h in &whole.0 {
        let sub = filtered
            .as_ref()
            .and_then(|r| r.histograms.iter().find(|x| x.column == h.column));
        let pos = e.spec.ranges.iter().position(|r| r.0 == h.column);
        let mut range = pos.map(|i| (e.spec.ranges[i].1, e.spec.ranges[i].2));
        ui.horizontal(|ui| {
            if let Some((lo, hi)) = &mut range {
                ui.label(RichText::new(format!("{}:", truncate_chars(&h.column, 28))).strong());
                let speed = ((h.max - h.min) / 200.0).max(1e-6);
                changed |= ui.add(egui::DragValue::new(lo).speed(speed)).changed();
                ui.label("–");
                changed |= ui.add(egui::DragValue::new(hi).speed(speed)).changed();
                if ui
                    .small_button("×")
                    .on_hover_text("Remove this range")
                    .clicked()
                {
                    range = None;
                    changed = true;
                }
            } else {
                ui.label(
                    RichText::new(format!(
                        "{}  {} – {}",
                        truncate_chars(&h.column, 28),
                        format_number(h.min),
                        format_number(h.max)
                    ))
                    .strong(),
                );
            }
        });
        let (new_range, dragged) = histogram(ui, h, sub, range);
        if dragged {
            range = new_range;
            changed = true;
        }
        match (pos, range) {
            (Some(i), Some((lo, hi))) => {
                e.spec.ranges[i] = (h.column.clone(), lo.min(hi), hi.max(lo))
            }
            (Some(i), None) => {
                e.spec.ranges.remove(i);
            }
            (None, Some((lo, hi))) => {
                e.spec
                    .ranges
                    .push((h.column.clone(), lo.min(hi), hi.max(lo)))
            }
            (None, None) => {}
        }
    }
    changed
}

/// A histogram (whole set in grey, passing rows in the accent colour) with the range shaded;
/// dragging across it sets the range, a double click removes it.
fn histogram(
    ui: &mut egui::Ui,
    whole: &Histogram,
    sub: Option<&Histogram>,
    range: Option<(f32, f32)>,
) -> (Option<(f32, f32)>, bool) {
    let width = ui.available_width().clamp(120.0, 320.0);
    let (rect, response) = ui.allocate_exact_size(vec2(width, 34.0), Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let span = (whole.max - whole.min).max(1e-12);
    let x_of = |v: f32| rect.left() + (v - whole.min) / span * rect.width();
    let v_of = |x: f32| whole.min + (x - rect.left()) / rect.width() * span;
    if let Some((lo, hi)) = range {
        let r = Rect::from_x_y_ranges(
            x_of(lo).max(rect.left())..=x_of(hi).min(rect.right()),
            rect.y_range(),
        );
        painter.rect_filled(r, 0.0, ui.visuals().selection.bg_fill.gamma_multiply(0.35));
    }
    let max = whole.counts.iter().copied().max().unwrap_or(0).max(1) as f32;
    let bins = whole.counts.len().max(1);
    let bar_w = rect.width() / bins as f32;
    let height = |c: u32| (c as f32 / max).sqrt() * (rect.height() - 2.0);
    let grey = ui.visuals().weak_text_color().gamma_multiply(0.6);
    let accent = ui.visuals().selection.stroke.color;
    for (k, &c) in whole.counts.iter().enumerate() {
        let x0 = rect.left() + k as f32 * bar_w;
        let bar = |c: u32, color: Color32| {
            if c > 0 {
                painter.rect_filled(
                    Rect::from_min_max(
                        pos2(x0 + 0.5, rect.bottom() - height(c)),
                        pos2(x0 + bar_w - 0.5, rect.bottom()),
                    ),
                    0.0,
                    color,
                );
            }
        };
        bar(c, grey);
        if let Some(s) = sub {
            bar(s.counts[k], accent);
        }
    }
    let mut out = range;
    let mut dragged = false;
    if response.dragged()
        && let (Some(origin), Some(now)) = (
            ui.input(|i| i.pointer.press_origin()),
            response.interact_pointer_pos(),
        )
    {
        let (a, b) = (
            v_of(origin.x.clamp(rect.left(), rect.right())),
            v_of(now.x.clamp(rect.left(), rect.right())),
        );
        out = Some((a.min(b), a.max(b)));
        dragged = true;
    }
    if response.double_clicked() {
        out = None;
        dragged = true;
    }
    response.on_hover_text("Drag to filter a range; double-click to clear");
    (out, dragged)
}
