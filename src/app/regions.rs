//! The Regions window's state and work (its widgets are in `region_panel`): the map's regions (both levels) ranked by how much worse a metric is
//! inside them than outside (`analysis::region_stats::rank_regions`), worst significant
//! first. A click on a row selects the region's rows, zooms to it, and shows its most central
//! samples and what is in it (the run columns' values inside vs outside). The ranking and the
//! composition are computed off the UI thread for large sets. With a compare pair chosen
//! (`compare`), each region also gets A's and B's counts and shares, B / A and a test of the
//! shift (`analysis::region_shift`). The table sorts by any column.

use std::sync::Arc;

use eframe::egui;

use super::background::{INLINE_ROWS, Task};
use super::region_labels::ShownRegions;
use super::{AppState, AtlasApp};
use crate::analysis;
use crate::analysis::region_shift::{RegionShift, region_shifts};
use crate::analysis::region_stats::{
    DEFAULT_MIN_SUPPORT, RegionStat, ValueShare, Worse, default_worse, region_composition,
};
use crate::dataset::Samples;
use crate::render::difference::{GROUP_A, GROUP_B};

/// Which levels the table lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LevelFilter {
    #[default]
    Both,
    Coarse,
    Fine,
}

/// What the window ranks by.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RegionInputs {
    pub metric: Option<String>,
    /// The direction of worse; `None`: from the metric's name.
    pub worse: Option<Worse>,
    pub level: LevelFilter,
}

/// A column of the Regions table (a click on its header sorts by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionColumn {
    Region,
    Level,
    Size,
    Share,
    Inside,
    Outside,
    Lift,
    Ci,
    P,
    Q,
    /// The compare pair's columns: A's and B's rows, their shares, B / A, the shift's p, q.
    CountA,
    CountB,
    ShareA,
    ShareB,
    Ratio,
    ShiftP,
    ShiftQ,
}

/// What the A / B columns are for: the coordinates version and the groups' version.
type ShiftKey = (u64, u64);

/// Each region's A / B statistics (indexed like `Regions::regions`; `None` for a fine region
/// equal to its coarse one), for the pair named by `key`.
pub struct Shifts {
    pub key: super::compare::GroupKey,
    pub by_region: Vec<Option<RegionShift>>,
}

/// What a ranking is for: the coordinates version, the metric and the direction of worse.
type RankKey = (u64, String, Worse);

/// The regions ranked by one metric.
pub struct Ranking {
    pub stats: Vec<RegionStat>,
    pub is_bool: bool,
}

/// What is in one region: (coordinates version, region id) and its run columns' values.
type CompositionKey = (u64, u32);
/// A region's composition (or why there is none) and what it is for.
pub type Composition = (CompositionKey, Result<Arc<Vec<ValueShare>>, String>);

#[derive(Default)]
pub struct RegionsPanel {
    pub open: bool,
    pub inputs: RegionInputs,
    pub ranking: Option<(RankKey, Result<Arc<Ranking>, String>)>,
    rank_task: Task<(RankKey, Result<Ranking, String>)>,
    rank_started: Option<RankKey>,
    /// The region clicked last.
    pub picked: Option<u32>,
    pub composition: Option<Composition>,
    composition_task: Task<(CompositionKey, Result<Vec<ValueShare>, String>)>,
    /// How the table is sorted: (column, ascending); `None`: worst first.
    pub sort: Option<(RegionColumn, bool)>,
    /// The compare pair's statistics per region, and what they are for.
    pub shifts: Option<(ShiftKey, Arc<Shifts>)>,
    shift_task: Task<(ShiftKey, Shifts)>,
    shift_started: Option<ShiftKey>,
}

impl RegionsPanel {
    /// A new file: nothing of the previous one stays (the window stays open or closed).
    pub fn reset(&mut self) {
        *self = RegionsPanel {
            open: self.open,
            ..RegionsPanel::default()
        };
    }

    /// Whether a ranking is being computed.
    pub fn running(&self) -> bool {
        self.rank_task.busy()
    }

    /// A click on a column's header: sort by it, again: reverse.
    pub fn sort_by(&mut self, column: RegionColumn) {
        self.sort = match self.sort {
            Some((c, asc)) if c == column => Some((column, !asc)),
            _ => Some((column, true)),
        };
    }

    /// The compare pair's statistics when they are for these regions and groups.
    pub fn current_shifts(
        &self,
        coords_version: u64,
        groups: Option<&super::compare::Groups>,
    ) -> Option<&Arc<Shifts>> {
        let g = groups?;
        let (key, shifts) = self.shifts.as_ref()?;
        (*key == (coords_version, g.version)).then_some(shifts)
    }

    /// The direction of worse in use.
    pub fn worse(&self) -> Option<Worse> {
        let metric = self.inputs.metric.as_deref()?;
        Some(self.inputs.worse.unwrap_or_else(|| default_worse(metric)))
    }

    /// The ranking when it is for the current regions and inputs.
    pub fn current(&self, coords_version: u64) -> Option<&Result<Arc<Ranking>, String>> {
        let (key, result) = self.ranking.as_ref()?;
        let want = (coords_version, self.inputs.metric.clone()?, self.worse()?);
        (*key == want).then_some(result)
    }
}

/// The metric the window starts with: the colour column when it is a metric, else the
/// Analysis window's (a score-like column), else the first candidate.
fn default_metric(state: &AppState, metrics: &[String]) -> Option<String> {
    let ok = |c: &Option<String>| c.clone().filter(|c| metrics.contains(c));
    ok(&state.paint.color_by)
        .or_else(|| ok(&state.overlays.analysis.inputs.metric))
        .or_else(|| metrics.first().cloned())
}

fn rank(
    samples: &Samples,
    regions: &ShownRegions,
    metric: &str,
    worse: Worse,
) -> Result<Ranking, String> {
    let (values, is_bool) = analysis::metric_values(samples, metric).map_err(|e| e.to_string())?;
    let stats = regions
        .regions
        .rank(&values, is_bool, worse, DEFAULT_MIN_SUPPORT);
    Ok(Ranking { stats, is_bool })
}

/// The A / B statistics of the distinct regions (q-values over them).
fn shifts(regions: &ShownRegions, groups: &super::compare::Groups) -> Shifts {
    let all = &regions.regions.regions.regions;
    let ids = regions.regions.distinct();
    let rows: Vec<&[u32]> = ids.iter().map(|&i| all[i].rows.as_slice()).collect();
    let mut by_region = vec![None; all.len()];
    for mut s in region_shifts(&rows, &groups.of_row, GROUP_A, GROUP_B) {
        let id = ids[s.region];
        s.region = id;
        by_region[id] = Some(s);
    }
    Shifts {
        key: groups.key.clone(),
        by_region,
    }
}

/// Values of each run column shown for a region.
const VALUES_PER_COLUMN: usize = 3;

/// The run columns of `samples` inside `rows` vs outside: the most over-represented values
/// (up to [`VALUES_PER_COLUMN`]) of each hyperparameter column, then of the prompt column
/// (whose many values would otherwise fill the list); q-values across all values. Without run
/// columns, the category columns instead.
fn composition(samples: &Samples, rows: &[u32]) -> Result<Vec<ValueShare>, String> {
    let schema = analysis::detect_schema(samples);
    let mut names: Vec<String> = schema
        .hyperparameters
        .into_iter()
        .chain(schema.prompt)
        .collect();
    if names.is_empty() {
        // No run columns (not a sampling run): the category columns say what a region is.
        names = samples
            .columns
            .iter()
            .filter(|c| matches!(c.kind, crate::dataset::ColumnKind::Category { .. }))
            .map(|c| c.name.clone())
            .collect();
    }
    let mut values = Vec::new();
    for name in &names {
        values.push(analysis::string_values(samples, name).map_err(|e| e.to_string())?);
    }
    let columns: Vec<(&str, &[String])> = names
        .iter()
        .zip(&values)
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let all = region_composition(rows, &columns);
    Ok(names
        .iter()
        .flat_map(|name| {
            all.iter()
                .filter(move |v| &v.column == name)
                .take(VALUES_PER_COLUMN)
                .cloned()
        })
        .collect())
}

impl AtlasApp {
    /// Keep the Regions window's ranking up to date (while it is open) and take in finished
    /// rankings and compositions.
    pub(super) fn poll_regions_panel(&mut self, ctx: &egui::Context) {
        let s = &mut self.state;
        let (Some(samples), Some(regions)) = (s.map.samples.clone(), s.current_regions().cloned())
        else {
            return;
        };
        let metrics = super::analysis::metric_columns(&samples);
        let keep = s
            .overlays
            .regions
            .inputs
            .metric
            .as_ref()
            .is_some_and(|m| metrics.contains(m));
        if !keep {
            s.overlays.regions.inputs.metric = default_metric(s, &metrics);
        }
        let p = &mut s.overlays.regions;
        if let Some((key, result)) = p.rank_task.poll() {
            p.ranking = Some((key, result.map(Arc::new)));
        }
        if let Some((key, result)) = p.composition_task.poll() {
            p.composition = Some((key, result.map(Arc::new)));
        }
        if let Some((key, shifts)) = p.shift_task.poll() {
            p.shifts = Some((key, Arc::new(shifts)));
        }
        if let Some(groups) = s.compare.current().cloned()
            && p.open
        {
            let key: ShiftKey = (regions.coords_version, groups.version);
            let shown = p.shifts.as_ref().is_some_and(|(k, _)| *k == key);
            if !shown && p.shift_started != Some(key) {
                p.shift_started = Some(key);
                let regions = regions.clone();
                p.shift_task
                    .start(ctx, samples.len() <= INLINE_ROWS, move || {
                        (key, shifts(&regions, &groups))
                    });
                if let Some((key, shifts)) = p.shift_task.poll() {
                    p.shifts = Some((key, Arc::new(shifts)));
                }
            }
        }
        let (Some(metric), Some(worse)) = (p.inputs.metric.clone(), p.worse()) else {
            return;
        };
        let key: RankKey = (regions.coords_version, metric.clone(), worse);
        let shown = p.ranking.as_ref().is_some_and(|(k, _)| *k == key);
        if !p.open || shown || p.rank_started.as_ref() == Some(&key) {
            return;
        }
        p.rank_started = Some(key.clone());
        p.rank_task
            .start(ctx, samples.len() <= INLINE_ROWS, move || {
                let result = rank(&samples, &regions, &metric, worse);
                (key, result)
            });
        if let Some((key, result)) = p.rank_task.poll() {
            p.ranking = Some((key, result.map(Arc::new)));
        }
    }

    /// A region's row was clicked: select its rows, zoom to it, and look at what is in it.
    pub(super) fn pick_region(&mut self, ctx: &egui::Context, id: u32) {
        let s = &mut self.state;
        let (Some(samples), Some(regions)) = (s.map.samples.clone(), s.current_regions().cloned())
        else {
            return;
        };
        let Some(region) = regions.regions.regions.regions.get(id as usize) else {
            return;
        };
        let label = format!("region {}", regions.regions.labels[id as usize]);
        let rows = region.rows.clone();
        let e = region.extent;
        s.view.fit(([e[0], e[1]], [e[2], e[3]]));
        s.view.auto_fit = false;
        let p = &mut s.overlays.regions;
        p.picked = Some(id);
        let key = (regions.coords_version, id);
        if p.composition.as_ref().is_none_or(|(k, _)| *k != key) {
            let inline = samples.len() <= INLINE_ROWS;
            let region_rows = rows.clone();
            p.composition_task.start(ctx, inline, move || {
                (key, composition(&samples, &region_rows))
            });
            if let Some((key, result)) = p.composition_task.poll() {
                p.composition = Some((key, result.map(Arc::new)));
            }
        }
        self.set_selection(ctx, label, rows);
    }

    /// Wait for the regions and the Regions window's work (tests and benches).
    pub fn wait_for_regions(&mut self, ctx: &egui::Context) {
        let s = &mut self.state;
        s.map.regions_task.finish();
        s.overlays.regions.rank_task.finish();
        s.overlays.regions.composition_task.finish();
        s.overlays.regions.shift_task.finish();
        self.poll_tasks(ctx);
        self.state.overlays.regions.shift_task.finish();
        self.state.overlays.regions.rank_task.finish();
        self.poll_tasks(ctx);
    }
}
