//! Regions of the 2-D layout: density-grid clustering in two nested levels, with noise kept
//! as an explicit "unclustered" group per level.
//!
//! The method (persistence-based clustering on a grid, in the spirit of ToMATo and of
//! Embedding Atlas's density clustering):
//! 1. **Density grid.** Rows are counted into square cells, `grid_cells` on the layout's long
//!    side, and the counts smoothed by a separable Gaussian of `bandwidth` × the long side
//!    (widened as n^(-1/6) below 100k rows, Scott's rule). Density is in rows per cell.
//! 2. **Basins.** Every cell above a small absolute floor (`min_kernel_rows` rows within a
//!    kernel) climbs to its highest 8-neighbour; the cells that reach the same local maximum
//!    form a basin (watershed by steepest ascent, ties broken by cell index).
//! 3. **Saddles.** Between two adjacent basins the saddle is the highest `min(density)` over
//!    their touching cell pairs.
//! 4. **Merging.** Saddles are visited from the highest down (union–find, elder rule): the
//!    set with the lower peak is merged into the other when its relative prominence
//!    `(peak − saddle) / peak` is below the level's persistence, or when either set holds
//!    fewer rows than the level's minimum. The fine level is the pass with
//!    `fine_persistence`; the coarse level continues the same union–find with
//!    `coarse_persistence`, so every fine region lies in exactly one coarse region.
//!    Because merging depends on ratios of smoothed densities, nudging a parameter moves
//!    only the few saddles near its threshold: no HDBSCAN-like cliffs.
//! 5. **Noise.** A cell below `noise_ratio` × its coarse region's peak is unclustered, and
//!    then every fine region left with fewer than `min_rows` rows and every coarse region
//!    left with fewer than the coarse minimum (isolated specks, faint rims): unclustered at
//!    both levels. Rows with non-finite coordinates too.
//!
//! Files: `grid.rs` (step 1), `merge.rs` (steps 2–5 on cells), `assemble.rs` (cells to
//! regions: rows, levels, summaries), `tests.rs`.
//!
//! Deterministic: no randomness at all (the seed is carried for the configuration), and the
//! parallel steps (binning, smoothing, per-region summaries) compute each value by the same
//! sequential arithmetic whatever the thread count, so results are bit-identical.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::progress::{CancelToken, Progress, Stage};

mod assemble;
mod grid;
mod merge;
#[cfg(test)]
mod tests;

use assemble::assemble;
use grid::Grid;
use merge::{Basins, CellLabels, Merge};

/// A row in no region at that level (in [`Regions::coarse_of_row`] / [`Regions::fine_of_row`]).
pub const UNCLUSTERED: u32 = u32::MAX;

/// Rows above which the bandwidth is used as given; below, it widens as (100k / n)^(1/6).
const BANDWIDTH_REFERENCE_ROWS: f64 = 100_000.0;
/// The Gaussian kernel is cut at this many standard deviations.
const KERNEL_RADIUS_SIGMAS: f64 = 3.0;
/// Most central rows kept per region.
const CENTRAL_ROWS: usize = 5;
/// Progress steps reported under [`Stage::Regions`].
const STEPS: u64 = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Coarse,
    Fine,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Region {
    /// Index into [`Regions::regions`]; unique across both levels.
    pub id: u32,
    pub level: Level,
    /// For a fine region, the coarse region containing it (for the fine unclustered group,
    /// the coarse unclustered group). `None` for coarse regions.
    pub parent: Option<u32>,
    /// True for the explicit "unclustered" group of its level (noise).
    pub unclustered: bool,
    /// Sorted row indices.
    pub rows: Vec<u32>,
    /// Mean of the rows' coordinates, in layout coordinates.
    pub centroid: [f32; 2],
    /// The centre of the region's densest cell, in layout coordinates: a label placed here
    /// sits on the region even when it is not convex. For the unclustered group: the centroid.
    pub peak: [f32; 2],
    /// Bounding box of the rows: min_x, min_y, max_x, max_y.
    pub extent: [f32; 4],
    /// Up to 5 most central rows: closest to the density peak (ties by row index), nearest first.
    pub central: Vec<u32>,
    /// The smoothed density at the peak, in rows per grid cell (0 for the unclustered group).
    pub peak_density: f32,
}

/// Both levels of regions of one layout.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Regions {
    /// Coarse regions first (largest first), then the coarse unclustered group if any rows are
    /// unclustered, then the fine regions (grouped by parent in coarse order, largest first
    /// within a parent), then the fine unclustered group.
    pub regions: Vec<Region>,
    /// Per row: the [`Region::id`] of its coarse region, or [`UNCLUSTERED`] (never the id of the
    /// unclustered group).
    pub coarse_of_row: Vec<u32>,
    /// Per row: the [`Region::id`] of its fine region, or [`UNCLUSTERED`].
    pub fine_of_row: Vec<u32>,
}

impl Regions {
    /// The regions of one level (the unclustered group included, last).
    pub fn level(&self, level: Level) -> impl Iterator<Item = &Region> {
        self.regions.iter().filter(move |r| r.level == level)
    }

    /// How many real (not unclustered) regions a level has.
    pub fn count(&self, level: Level) -> usize {
        self.level(level).filter(|r| !r.unclustered).count()
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RegionParams {
    /// The configuration's seed. The method uses no randomness; it is carried so that the
    /// regions are keyed by the same configuration as the layout.
    pub seed: u64,
    /// Grid cells on the layout's long side (16..=4096).
    pub grid_cells: u32,
    /// Gaussian smoothing σ as a fraction of the layout's long side (at ≥ 100k rows; widened
    /// as n^(-1/6) below). Larger → smoother density, fewer peaks.
    pub bandwidth: f32,
    /// Coarse level: a peak whose relative prominence over its saddle is below this merges
    /// into its higher neighbour (0..1). The main knob for the number of coarse regions.
    pub coarse_persistence: f32,
    /// Fine level: the same, lower (≤ `coarse_persistence`).
    pub fine_persistence: f32,
    /// Cells below this fraction of their coarse region's peak density are unclustered (0..1).
    pub noise_ratio: f32,
    /// Cells with less than this many rows within a kernel's reach are unclustered.
    pub min_kernel_rows: f32,
    /// Smallest fine region, in rows.
    pub min_rows: u32,
    /// Smallest coarse region as a share of all rows (at least `min_rows`).
    pub min_coarse_share: f32,
}

impl Default for RegionParams {
    fn default() -> Self {
        Self {
            seed: 42,
            grid_cells: 320,
            bandwidth: 0.01,
            coarse_persistence: 0.5,
            fine_persistence: 0.2,
            noise_ratio: 0.02,
            min_kernel_rows: 2.0,
            min_rows: 20,
            min_coarse_share: 0.001,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegionError {
    #[error("region parameter {name} = {value}: expected {expected}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("region computation cancelled")]
    Cancelled,
}

impl RegionParams {
    /// Checks every parameter once, up front.
    pub fn validate(&self) -> Result<(), RegionError> {
        fn bad(name: &'static str, value: impl ToString, expected: &'static str) -> RegionError {
            RegionError::InvalidParameter {
                name,
                value: value.to_string(),
                expected,
            }
        }
        if !(16..=4096).contains(&self.grid_cells) {
            return Err(bad("grid_cells", self.grid_cells, "16..=4096"));
        }
        if !(self.bandwidth > 0.0 && self.bandwidth <= 0.25) {
            return Err(bad("bandwidth", self.bandwidth, "a fraction in (0, 0.25]"));
        }
        if !(0.0..1.0).contains(&self.coarse_persistence) {
            return Err(bad(
                "coarse_persistence",
                self.coarse_persistence,
                "0 ≤ p < 1",
            ));
        }
        if !(0.0..=self.coarse_persistence).contains(&self.fine_persistence) {
            return Err(bad(
                "fine_persistence",
                self.fine_persistence,
                "0 ≤ p ≤ coarse_persistence",
            ));
        }
        if !(0.0..1.0).contains(&self.noise_ratio) {
            return Err(bad("noise_ratio", self.noise_ratio, "0 ≤ r < 1"));
        }
        if !(self.min_kernel_rows >= 0.0 && self.min_kernel_rows.is_finite()) {
            return Err(bad(
                "min_kernel_rows",
                self.min_kernel_rows,
                "a finite number ≥ 0",
            ));
        }
        if self.min_rows == 0 {
            return Err(bad("min_rows", self.min_rows, "at least 1"));
        }
        if !(0.0..=1.0).contains(&self.min_coarse_share) {
            return Err(bad("min_coarse_share", self.min_coarse_share, "0..=1"));
        }
        Ok(())
    }
}

/// Clusters a 2-D layout into coarse and fine regions (see the module docs).
pub fn find_regions(
    coords: &[[f32; 2]],
    params: &RegionParams,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Regions, RegionError> {
    params.validate()?;
    let step = |done: u64| -> Result<(), RegionError> {
        if cancel.is_cancelled() {
            return Err(RegionError::Cancelled);
        }
        progress.report(Stage::Regions, done, STEPS);
        Ok(())
    };
    step(0)?;
    let n = coords.len();
    let n_finite = coords
        .par_iter()
        .filter(|p| p[0].is_finite() && p[1].is_finite())
        .count();
    if n_finite == 0 {
        let out = assemble(coords, &CellLabels::empty(n), &Grid::degenerate());
        step(STEPS)?;
        return Ok(out);
    }
    let grid = Grid::new(coords, n_finite, params);
    let cell_of_row: Vec<u32> = coords.par_iter().map(|p| grid.cell_of(p)).collect();
    let mut counts = vec![0u32; grid.len()];
    for &c in &cell_of_row {
        if c != UNCLUSTERED {
            counts[c as usize] += 1;
        }
    }
    let density = grid.smooth(&counts);
    step(1)?;

    let floor = params.min_kernel_rows / grid.kernel_area_cells() as f32;
    let basins = Basins::new(&grid, &density, &counts, floor);
    step(2)?;

    let min_coarse_rows = (params.min_rows as usize)
        .max((params.min_coarse_share as f64 * n_finite as f64).ceil() as usize);
    let mut merge = Merge::new(&basins);
    merge.run(
        &basins.edges,
        params.fine_persistence,
        params.min_rows as usize,
    );
    let fine_set: Vec<u32> = (0..basins.peaks.len() as u32)
        .map(|b| merge.find(b))
        .collect();
    merge.run(&basins.edges, params.coarse_persistence, min_coarse_rows);
    let coarse_set: Vec<u32> = (0..basins.peaks.len() as u32)
        .map(|b| merge.find(b))
        .collect();
    step(3)?;

    // Noise: cells below `noise_ratio` × their coarse region's peak (a set's root basin holds
    // its peak), then sets left with too few rows, fine first.
    let mut fine: Vec<u32> = basins
        .basin_of_cell
        .iter()
        .enumerate()
        .map(|(cell, &b)| {
            if b == UNCLUSTERED {
                return UNCLUSTERED;
            }
            let peak = basins.peaks[coarse_set[b as usize] as usize].density;
            if density[cell] < params.noise_ratio * peak {
                UNCLUSTERED
            } else {
                fine_set[b as usize]
            }
        })
        .collect();
    let rows_per_set = |fine: &[u32], set_of: &dyn Fn(u32) -> u32| {
        let mut rows = vec![0usize; basins.peaks.len()];
        for (cell, &f) in fine.iter().enumerate() {
            if f != UNCLUSTERED {
                rows[set_of(f) as usize] += counts[cell] as usize;
            }
        }
        rows
    };
    let fine_rows = rows_per_set(&fine, &|f| f);
    for f in fine.iter_mut() {
        if *f != UNCLUSTERED && fine_rows[*f as usize] < params.min_rows as usize {
            *f = UNCLUSTERED;
        }
    }
    let coarse_rows = rows_per_set(&fine, &|f| coarse_set[f as usize]);
    for f in fine.iter_mut() {
        if *f != UNCLUSTERED && coarse_rows[coarse_set[*f as usize] as usize] < min_coarse_rows {
            *f = UNCLUSTERED;
        }
    }
    let labels = CellLabels {
        cell_of_row,
        fine,
        coarse_of_fine: coarse_set,
        peaks: basins.peaks,
    };
    step(4)?;
    let out = assemble(coords, &labels, &grid);
    step(STEPS)?;
    Ok(out)
}

/// Adjusted Rand index of a clustering `pred` against the truth, from the contingency table (Hubert & Arabie 1985):
/// (Σ C(n_ij,2) − E) / (½(Σ C(a_i,2) + Σ C(b_j,2)) − E), E = Σ C(a_i,2) Σ C(b_j,2) / C(n,2).
pub fn adjusted_rand_index(truth: &[u32], pred: &[u32]) -> f64 {
    let c2 = |x: f64| x * (x - 1.0) / 2.0;
    let mut table: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    let mut a: FxHashMap<u32, f64> = FxHashMap::default();
    let mut b: FxHashMap<u32, f64> = FxHashMap::default();
    for (&t, &p) in truth.iter().zip(pred) {
        *table.entry((t, p)).or_default() += 1.0;
        *a.entry(t).or_default() += 1.0;
        *b.entry(p).or_default() += 1.0;
    }
    let index: f64 = table.values().map(|&x| c2(x)).sum();
    let sa: f64 = a.values().map(|&x| c2(x)).sum();
    let sb: f64 = b.values().map(|&x| c2(x)).sum();
    let expected = sa * sb / c2(truth.len() as f64);
    let max = 0.5 * (sa + sb);
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}
