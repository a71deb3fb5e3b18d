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
//! Deterministic: no randomness at all (the seed is carried for the configuration), and the
//! parallel steps (binning, smoothing, per-region summaries) compute each value by the same
//! sequential arithmetic whatever the thread count, so results are bit-identical.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::progress::{CancelToken, Progress, Stage};

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

/// The grid geometry: square cells over the layout's bounding box, padded by the kernel.
struct Grid {
    min: [f64; 2],
    cell_size: f64,
    width: usize,
    height: usize,
    sigma_cells: f64,
}

impl Grid {
    fn degenerate() -> Self {
        Self {
            min: [0.0; 2],
            cell_size: 1.0,
            width: 0,
            height: 0,
            sigma_cells: 1.0,
        }
    }

    fn new(coords: &[[f32; 2]], n_finite: usize, params: &RegionParams) -> Self {
        let (lo, hi) = coords
            .iter()
            .filter(|p| p[0].is_finite() && p[1].is_finite())
            .fold(([f64::MAX; 2], [f64::MIN; 2]), |(lo, hi), p| {
                (
                    [lo[0].min(p[0] as f64), lo[1].min(p[1] as f64)],
                    [hi[0].max(p[0] as f64), hi[1].max(p[1] as f64)],
                )
            });
        let mut long = (hi[0] - lo[0]).max(hi[1] - lo[1]);
        if long <= 0.0 || !long.is_finite() {
            long = 1.0; // all rows at one point: any scale will do
        }
        let widen = (BANDWIDTH_REFERENCE_ROWS / n_finite as f64)
            .powf(1.0 / 6.0)
            .max(1.0);
        let sigma = params.bandwidth as f64 * widen * long;
        let pad = KERNEL_RADIUS_SIGMAS * sigma;
        let cells = params.grid_cells as f64;
        let cell_size = (long + 2.0 * pad) / cells;
        let dims = |span: f64| (((span + 2.0 * pad) / cell_size).ceil() as usize).clamp(1, 4096);
        Self {
            min: [lo[0] - pad, lo[1] - pad],
            cell_size,
            width: dims(hi[0] - lo[0]),
            height: dims(hi[1] - lo[1]),
            sigma_cells: sigma / cell_size,
        }
    }

    fn len(&self) -> usize {
        self.width * self.height
    }

    /// The cell a point falls in, or [`UNCLUSTERED`] for a non-finite point.
    fn cell_of(&self, p: &[f32; 2]) -> u32 {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return UNCLUSTERED;
        }
        let x = ((p[0] as f64 - self.min[0]) / self.cell_size) as usize;
        let y = ((p[1] as f64 - self.min[1]) / self.cell_size) as usize;
        (y.min(self.height - 1) * self.width + x.min(self.width - 1)) as u32
    }

    fn center(&self, cell: u32) -> [f32; 2] {
        let (x, y) = (cell as usize % self.width, cell as usize / self.width);
        [
            (self.min[0] + (x as f64 + 0.5) * self.cell_size) as f32,
            (self.min[1] + (y as f64 + 0.5) * self.cell_size) as f32,
        ]
    }

    /// The area within one σ-disc of the kernel, 2πσ², in cells.
    fn kernel_area_cells(&self) -> f64 {
        2.0 * std::f64::consts::PI * self.sigma_cells * self.sigma_cells
    }

    /// Separable Gaussian smoothing of the counts, normalised so that density is rows per cell.
    fn smooth(&self, counts: &[u32]) -> Vec<f32> {
        let radius = (KERNEL_RADIUS_SIGMAS * self.sigma_cells).ceil() as isize;
        let mut kernel: Vec<f32> = (-radius..=radius)
            .map(|i| (-0.5 * (i as f64 / self.sigma_cells).powi(2)).exp() as f32)
            .collect();
        let sum: f32 = kernel.iter().sum();
        kernel.iter_mut().for_each(|k| *k /= sum);
        let (w, h) = (self.width as isize, self.height as isize);
        let mut across = vec![0f32; self.len()];
        across
            .par_chunks_mut(self.width)
            .enumerate()
            .for_each(|(y, out)| {
                let row = &counts[y * self.width..(y + 1) * self.width];
                for (x, o) in out.iter_mut().enumerate() {
                    let mut acc = 0f32;
                    for (k, &kv) in kernel.iter().enumerate() {
                        let sx = x as isize + k as isize - radius;
                        if (0..w).contains(&sx) {
                            acc += kv * row[sx as usize] as f32;
                        }
                    }
                    *o = acc;
                }
            });
        let mut out = vec![0f32; self.len()];
        out.par_chunks_mut(self.width)
            .enumerate()
            .for_each(|(y, out_row)| {
                for (x, o) in out_row.iter_mut().enumerate() {
                    let mut acc = 0f32;
                    for (k, &kv) in kernel.iter().enumerate() {
                        let sy = y as isize + k as isize - radius;
                        if (0..h).contains(&sy) {
                            acc += kv * across[sy as usize * self.width + x];
                        }
                    }
                    *o = acc;
                }
            });
        out
    }

    /// The up-to-8 neighbours of a cell.
    fn neighbours(&self, cell: usize) -> impl Iterator<Item = usize> + '_ {
        let (x, y) = ((cell % self.width) as isize, (cell / self.width) as isize);
        let (w, h) = (self.width as isize, self.height as isize);
        (-1isize..=1)
            .flat_map(move |dy| (-1isize..=1).map(move |dx| (x + dx, y + dy)))
            .filter(move |&(nx, ny)| (nx, ny) != (x, y) && nx >= 0 && ny >= 0 && nx < w && ny < h)
            .map(move |(nx, ny)| (ny * w + nx) as usize)
    }
}

#[derive(Clone, Copy, Debug)]
struct Peak {
    cell: u32,
    density: f32,
}

/// Watershed basins of the density above the floor, and the saddles between them.
struct Basins {
    /// Per cell: its basin, or [`UNCLUSTERED`] below the floor.
    basin_of_cell: Vec<u32>,
    peaks: Vec<Peak>,
    rows: Vec<usize>,
    /// (saddle density, basin a, basin b) with a < b, highest saddle first.
    edges: Vec<(f32, u32, u32)>,
}

impl Basins {
    fn new(grid: &Grid, density: &[f32], counts: &[u32], floor: f32) -> Self {
        // `a` is above `b`: higher density, ties to the lower cell index (a strict total order,
        // so there are no plateaus and every climb ends at a unique peak).
        let above =
            |a: usize, b: usize| density[a] > density[b] || (density[a] == density[b] && a < b);
        let valid = |c: usize| density[c] >= floor && density[c] > 0.0;
        let uphill: Vec<u32> = (0..grid.len())
            .into_par_iter()
            .map(|c| {
                if !valid(c) {
                    return UNCLUSTERED;
                }
                let mut best = c;
                for nb in grid.neighbours(c) {
                    if above(nb, best) {
                        best = nb;
                    }
                }
                best as u32
            })
            .collect();
        let mut basin_of_cell = vec![UNCLUSTERED; grid.len()];
        let mut peaks = Vec::new();
        let mut path = Vec::new();
        for c in 0..grid.len() {
            if uphill[c] == UNCLUSTERED || basin_of_cell[c] != UNCLUSTERED {
                continue;
            }
            let mut cur = c;
            while basin_of_cell[cur] == UNCLUSTERED && uphill[cur] as usize != cur {
                path.push(cur);
                cur = uphill[cur] as usize;
            }
            if basin_of_cell[cur] == UNCLUSTERED {
                basin_of_cell[cur] = peaks.len() as u32;
                peaks.push(Peak {
                    cell: cur as u32,
                    density: density[cur],
                });
            }
            let b = basin_of_cell[cur];
            for p in path.drain(..) {
                basin_of_cell[p] = b;
            }
        }
        let mut rows = vec![0usize; peaks.len()];
        for (c, &b) in basin_of_cell.iter().enumerate() {
            if b != UNCLUSTERED {
                rows[b as usize] += counts[c] as usize;
            }
        }
        let mut saddles: FxHashMap<(u32, u32), f32> = FxHashMap::default();
        for c in 0..grid.len() {
            let bc = basin_of_cell[c];
            if bc == UNCLUSTERED {
                continue;
            }
            for nb in grid.neighbours(c).filter(|&nb| nb > c) {
                let bn = basin_of_cell[nb];
                if bn == UNCLUSTERED || bn == bc {
                    continue;
                }
                let s = density[c].min(density[nb]);
                let e = saddles.entry((bc.min(bn), bc.max(bn))).or_insert(s);
                *e = e.max(s);
            }
        }
        let mut edges: Vec<(f32, u32, u32)> =
            saddles.into_iter().map(|((a, b), s)| (s, a, b)).collect();
        edges.sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
        Self {
            basin_of_cell,
            peaks,
            rows,
            edges,
        }
    }
}

/// Union–find over basins; a root holds its set's highest peak (elder rule) and row count.
struct Merge {
    parent: Vec<u32>,
    rows: Vec<usize>,
    peak_density: Vec<f32>,
}

impl Merge {
    fn new(basins: &Basins) -> Self {
        let n = basins.peaks.len();
        Self {
            parent: (0..n as u32).collect(),
            rows: basins.rows.clone(),
            peak_density: basins.peaks.iter().map(|p| p.density).collect(),
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let up = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = up;
            x = up;
        }
        x
    }

    /// One persistence pass over the saddles (highest first). The surviving root of a merge
    /// is always the elder set's root, so a root id is the basin of the set's peak.
    fn run(&mut self, edges: &[(f32, u32, u32)], persistence: f32, min_rows: usize) {
        for &(saddle, a, b) in edges {
            let (ra, rb) = (self.find(a), self.find(b));
            if ra == rb {
                continue;
            }
            let (da, db) = (
                self.peak_density[ra as usize],
                self.peak_density[rb as usize],
            );
            // elder: higher peak, ties to the lower basin id (basins are numbered in cell order)
            let (elder, young) = if da > db || (da == db && ra < rb) {
                (ra, rb)
            } else {
                (rb, ra)
            };
            let peak_young = self.peak_density[young as usize];
            let shallow = peak_young - saddle < persistence * peak_young;
            let small = self.rows[young as usize].min(self.rows[elder as usize]) < min_rows;
            if shallow || small {
                self.parent[young as usize] = elder;
                self.rows[elder as usize] += self.rows[young as usize];
            }
        }
    }
}

/// Per-cell fine labels (a fine set's root basin, or [`UNCLUSTERED`]) and what is needed to
/// turn them into regions.
struct CellLabels {
    cell_of_row: Vec<u32>,
    fine: Vec<u32>,
    coarse_of_fine: Vec<u32>,
    peaks: Vec<Peak>,
}

impl CellLabels {
    fn empty(n: usize) -> Self {
        Self {
            cell_of_row: vec![UNCLUSTERED; n],
            fine: Vec::new(),
            coarse_of_fine: Vec::new(),
            peaks: Vec::new(),
        }
    }
}

/// Builds the regions of both levels from the per-cell labels.
fn assemble(coords: &[[f32; 2]], labels: &CellLabels, grid: &Grid) -> Regions {
    let n = coords.len();
    // Per row: its fine set (a root basin) or UNCLUSTERED.
    let fine_set_of_row: Vec<u32> = labels
        .cell_of_row
        .par_iter()
        .map(|&c| {
            if c == UNCLUSTERED {
                UNCLUSTERED
            } else {
                labels.fine[c as usize]
            }
        })
        .collect();
    let n_basins = labels.peaks.len();
    let mut fine_rows: Vec<Vec<u32>> = vec![Vec::new(); n_basins];
    let mut coarse_size = vec![0usize; n_basins];
    let mut noise = Vec::new();
    for (r, &f) in fine_set_of_row.iter().enumerate() {
        if f == UNCLUSTERED {
            noise.push(r as u32);
        } else {
            fine_rows[f as usize].push(r as u32);
            coarse_size[labels.coarse_of_fine[f as usize] as usize] += 1;
        }
    }
    // Coarse sets in order: largest first, ties by root basin id.
    let mut coarse_sets: Vec<u32> = (0..n_basins as u32)
        .filter(|&c| coarse_size[c as usize] > 0)
        .collect();
    coarse_sets.sort_by(|&a, &b| {
        coarse_size[b as usize]
            .cmp(&coarse_size[a as usize])
            .then(a.cmp(&b))
    });
    let mut fine_by_coarse: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for f in 0..n_basins as u32 {
        if !fine_rows[f as usize].is_empty() {
            fine_by_coarse
                .entry(labels.coarse_of_fine[f as usize])
                .or_default()
                .push(f);
        }
    }

    // Plan the ids: coarse, coarse noise, fine, fine noise.
    struct Plan {
        level: Level,
        parent: Option<u32>,
        set: Option<u32>, // None: the unclustered group
    }
    let mut plan: Vec<Plan> = Vec::new();
    let mut coarse_id = vec![UNCLUSTERED; n_basins];
    for &c in &coarse_sets {
        coarse_id[c as usize] = plan.len() as u32;
        plan.push(Plan {
            level: Level::Coarse,
            parent: None,
            set: Some(c),
        });
    }
    let coarse_noise_id = (!noise.is_empty()).then(|| {
        plan.push(Plan {
            level: Level::Coarse,
            parent: None,
            set: None,
        });
        plan.len() as u32 - 1
    });
    let mut fine_id = vec![UNCLUSTERED; n_basins];
    for &c in &coarse_sets {
        let mut fines = fine_by_coarse.remove(&c).unwrap_or_default();
        fines.sort_by(|&a, &b| {
            fine_rows[b as usize]
                .len()
                .cmp(&fine_rows[a as usize].len())
                .then(a.cmp(&b))
        });
        for f in fines {
            fine_id[f as usize] = plan.len() as u32;
            plan.push(Plan {
                level: Level::Fine,
                parent: Some(coarse_id[c as usize]),
                set: Some(f),
            });
        }
    }
    if coarse_noise_id.is_some() {
        plan.push(Plan {
            level: Level::Fine,
            parent: coarse_noise_id,
            set: None,
        });
    }

    let mut coarse_rows: Vec<Vec<u32>> = vec![Vec::new(); n_basins];
    let mut coarse_of_row = vec![UNCLUSTERED; n];
    let mut fine_of_row = vec![UNCLUSTERED; n];
    for (r, &f) in fine_set_of_row.iter().enumerate() {
        if f != UNCLUSTERED {
            let c = labels.coarse_of_fine[f as usize];
            coarse_rows[c as usize].push(r as u32);
            coarse_of_row[r] = coarse_id[c as usize];
            fine_of_row[r] = fine_id[f as usize];
        }
    }

    let regions: Vec<Region> = plan
        .into_par_iter()
        .enumerate()
        .map(|(id, p)| {
            let rows: &[u32] = match (p.set, p.level) {
                (Some(s), Level::Coarse) => &coarse_rows[s as usize],
                (Some(s), Level::Fine) => &fine_rows[s as usize],
                (None, _) => &noise,
            };
            summarise(
                coords,
                rows,
                id as u32,
                p.level,
                p.parent,
                p.set.map(|s| (grid, labels.peaks[s as usize])),
            )
        })
        .collect();
    Regions {
        regions,
        coarse_of_row,
        fine_of_row,
    }
}

/// One region's summary: centroid, extent, peak and most central rows.
fn summarise(
    coords: &[[f32; 2]],
    rows: &[u32],
    id: u32,
    level: Level,
    parent: Option<u32>,
    peak: Option<(&Grid, Peak)>,
) -> Region {
    let mut sum = [0f64; 2];
    let mut extent = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    let mut finite = 0usize;
    for &r in rows {
        let p = coords[r as usize];
        if !(p[0].is_finite() && p[1].is_finite()) {
            continue;
        }
        finite += 1;
        sum[0] += p[0] as f64;
        sum[1] += p[1] as f64;
        extent = [
            extent[0].min(p[0]),
            extent[1].min(p[1]),
            extent[2].max(p[0]),
            extent[3].max(p[1]),
        ];
    }
    let centroid = if finite == 0 {
        extent = [0.0; 4];
        [0.0; 2]
    } else {
        [
            (sum[0] / finite as f64) as f32,
            (sum[1] / finite as f64) as f32,
        ]
    };
    let (peak_xy, peak_density) = match peak {
        Some((grid, pk)) => (grid.center(pk.cell), pk.density),
        None => (centroid, 0.0),
    };
    // The CENTRAL_ROWS rows nearest the peak, ties by row index: a small sorted buffer.
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(CENTRAL_ROWS + 1);
    for &r in rows {
        let p = coords[r as usize];
        let d = (p[0] - peak_xy[0]).powi(2) + (p[1] - peak_xy[1]).powi(2);
        if !d.is_finite() {
            continue;
        }
        if best.len() == CENTRAL_ROWS && d >= best[CENTRAL_ROWS - 1].0 {
            continue; // rows ascend, so an equal distance loses to the earlier row
        }
        let at = best.partition_point(|&(bd, _)| bd <= d);
        best.insert(at, (d, r));
        best.truncate(CENTRAL_ROWS);
    }
    Region {
        id,
        level,
        parent,
        unclustered: peak.is_none(),
        rows: rows.to_vec(),
        centroid,
        peak: peak_xy,
        extent,
        central: best.into_iter().map(|(_, r)| r).collect(),
        peak_density,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, Normal};

    /// The truth label of background noise.
    const NOISE: u32 = u32::MAX;

    /// Seeded 2-D Gaussian blobs of unequal size and spread in a 100 × 100 box, plus 2 %
    /// uniform background noise (truth [`NOISE`]).
    fn blobs(n: usize, seed: u64) -> (Vec<[f32; 2]>, Vec<u32>) {
        // (centre x, centre y, σ, share of rows)
        let spec = [
            (20.0, 20.0, 4.0, 0.30),
            (70.0, 25.0, 2.0, 0.20),
            (25.0, 75.0, 6.0, 0.20),
            (75.0, 75.0, 1.0, 0.10),
            (50.0, 50.0, 1.5, 0.08),
            (88.0, 50.0, 3.0, 0.07),
            (50.0, 92.0, 0.8, 0.03),
        ];
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        let unit = Normal::new(0.0f32, 1.0).unwrap();
        let (mut xy, mut truth) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (k, &(cx, cy, s, share)) in spec.iter().enumerate() {
            for _ in 0..(share * n as f64) as usize {
                xy.push([
                    cx + s * unit.sample(&mut rng),
                    cy + s * unit.sample(&mut rng),
                ]);
                truth.push(k as u32);
            }
        }
        while xy.len() < n {
            xy.push([rng.random_range(0.0..100.0), rng.random_range(0.0..100.0)]);
            truth.push(NOISE);
        }
        (xy, truth)
    }

    fn run(xy: &[[f32; 2]], p: &RegionParams) -> Regions {
        find_regions(xy, p, &NoProgress, &CancelToken::new()).unwrap()
    }

    #[test]
    fn ari_matches_hand_computed_cases() {
        // sklearn's docs: adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]) = 4/7.
        assert!((adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 4.0 / 7.0).abs() < 1e-12);
        // Table [[2,1,0],[0,1,2]]: index 2, rows 3+3, columns 1+1+1, C(6,2) = 15:
        // E = 6·3/15 = 1.2, max = 4.5, ARI = 0.8 / 3.3 = 8/33.
        let got = adjusted_rand_index(&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 2, 2]);
        assert!((got - 8.0 / 33.0).abs() < 1e-12, "{got}");
        // Renaming labels changes nothing; identical partitions score 1.
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1, 2], &[7, 7, 3, 3, 9]), 1.0);
    }

    #[test]
    fn blobs_of_unequal_size_and_density_are_found() {
        let (xy, truth) = blobs(30_000, 1);
        let r = run(&xy, &RegionParams::default());
        let coarse = adjusted_rand_index(&truth, &r.coarse_of_row);
        let fine = adjusted_rand_index(&truth, &r.fine_of_row);
        assert_eq!(r.count(Level::Coarse), 7, "{:?}", sizes(&r, Level::Coarse));
        assert!(coarse >= 0.9, "coarse ARI {coarse}");
        assert!(fine >= 0.9, "fine ARI {fine}");
        // Most background noise is unclustered, and most blob rows are not.
        let noise_kept = (0..xy.len())
            .filter(|&i| truth[i] == NOISE && r.coarse_of_row[i] == UNCLUSTERED)
            .count() as f64
            / truth.iter().filter(|&&t| t == NOISE).count() as f64;
        let blob_lost = (0..xy.len())
            .filter(|&i| truth[i] != NOISE && r.coarse_of_row[i] == UNCLUSTERED)
            .count() as f64
            / xy.len() as f64;
        assert!(noise_kept > 0.7, "noise unclustered: {noise_kept}");
        assert!(blob_lost < 0.05, "blob rows unclustered: {blob_lost}");
    }

    fn sizes(r: &Regions, level: Level) -> Vec<usize> {
        r.level(level).map(|g| g.rows.len()).collect()
    }

    #[test]
    fn fine_regions_split_shallow_saddles_inside_coarse_ones() {
        // Two far groups, each two equal blobs 3 effective σ apart: the density between the
        // pair dips to ~0.64 of the peaks, below fine (0.8) but above coarse (0.5) merging.
        let mut rng = rand_pcg::Pcg64::seed_from_u64(5);
        let unit = Normal::new(0.0f32, 1.0).unwrap();
        let mut xy = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (6.7, 0.0), (60.0, 10.0), (60.0, 16.7)] {
            for _ in 0..5_000 {
                xy.push([
                    cx + 2.0 * unit.sample(&mut rng),
                    cy + 2.0 * unit.sample(&mut rng),
                ]);
            }
        }
        let r = run(&xy, &RegionParams::default());
        assert_eq!(r.count(Level::Coarse), 2, "{:?}", sizes(&r, Level::Coarse));
        assert_eq!(r.count(Level::Fine), 4, "{:?}", sizes(&r, Level::Fine));
        // Each coarse region holds two fine ones, each mostly one blob.
        for c in r.level(Level::Coarse).filter(|g| !g.unclustered) {
            let kids = r
                .level(Level::Fine)
                .filter(|f| f.parent == Some(c.id))
                .count();
            assert_eq!(kids, 2);
        }
        let truth: Vec<u32> = (0..xy.len() as u32).map(|i| i / 5_000).collect();
        assert!(adjusted_rand_index(&truth, &r.fine_of_row) > 0.8);
    }

    #[test]
    fn levels_nest_and_the_tables_agree() {
        let (xy, _) = blobs(20_000, 2);
        let r = run(&xy, &RegionParams::default());
        assert_eq!(r.coarse_of_row.len(), xy.len());
        assert_eq!(r.fine_of_row.len(), xy.len());
        let mut seen = vec![0u8; xy.len()];
        for (i, g) in r.regions.iter().enumerate() {
            assert_eq!(g.id as usize, i);
            assert!(!g.rows.is_empty());
            assert!(g.rows.windows(2).all(|w| w[0] < w[1]), "rows sorted");
            assert!(
                g.central.len() <= 5 && g.central.iter().all(|c| g.rows.binary_search(c).is_ok())
            );
            let [x0, y0, x1, y1] = g.extent;
            assert!(
                x0 <= g.centroid[0]
                    && g.centroid[0] <= x1
                    && y0 <= g.centroid[1]
                    && g.centroid[1] <= y1
            );
            let per_row = match g.level {
                Level::Coarse => &r.coarse_of_row,
                Level::Fine => &r.fine_of_row,
            };
            let want = if g.unclustered { UNCLUSTERED } else { g.id };
            assert!(g.rows.iter().all(|&row| per_row[row as usize] == want));
            if g.level == Level::Fine {
                let parent = &r.regions[g.parent.unwrap() as usize];
                assert_eq!(parent.level, Level::Coarse);
                assert_eq!(parent.unclustered, g.unclustered);
                assert!(
                    g.rows
                        .iter()
                        .all(|row| parent.rows.binary_search(row).is_ok())
                );
            } else {
                assert_eq!(g.parent, None);
            }
            for &row in &g.rows {
                seen[row as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&s| s == 2), "every row once per level");
        // A row unclustered at one level is unclustered at the other.
        assert!(
            (0..xy.len())
                .all(|i| (r.coarse_of_row[i] == UNCLUSTERED) == (r.fine_of_row[i] == UNCLUSTERED))
        );
        assert_eq!(r.level(Level::Coarse).filter(|g| g.unclustered).count(), 1);
    }

    #[test]
    fn central_rows_are_the_nearest_to_the_peak() {
        let (xy, _) = blobs(5_000, 3);
        let r = run(&xy, &RegionParams::default());
        for g in r.regions.iter().filter(|g| !g.unclustered) {
            let d = |row: u32| {
                let p = xy[row as usize];
                (p[0] - g.peak[0]).powi(2) + (p[1] - g.peak[1]).powi(2)
            };
            let mut all: Vec<u32> = g.rows.clone();
            all.sort_by(|&a, &b| d(a).total_cmp(&d(b)).then(a.cmp(&b)));
            assert_eq!(g.central, all[..5.min(all.len())]);
        }
    }

    #[test]
    fn bit_identical_on_one_thread_and_many() {
        let (xy, _) = blobs(40_000, 4);
        let p = RegionParams::default();
        let many = run(&xy, &p);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| run(&xy, &p));
        assert!(many == one, "same input, same regions on 1 thread");
        assert!(many == run(&xy, &p), "same input, same regions twice");
    }

    #[test]
    fn nudging_a_parameter_by_5_percent_changes_the_count_little() {
        // Many blobs of mixed spread and some bridging noise: plenty of saddles near any threshold.
        let mut rng = rand_pcg::Pcg64::seed_from_u64(6);
        let unit = Normal::new(0.0f32, 1.0).unwrap();
        let mut xy = Vec::new();
        for k in 0..40 {
            let (cx, cy) = (
                rng.random_range(0.0..100.0f32),
                rng.random_range(0.0..100.0f32),
            );
            let s = 0.5 + (k % 5) as f32;
            for _ in 0..rng.random_range(200..2_000) {
                xy.push([
                    cx + s * unit.sample(&mut rng),
                    cy + s * unit.sample(&mut rng),
                ]);
            }
        }
        for _ in 0..2_000 {
            xy.push([rng.random_range(0.0..100.0), rng.random_range(0.0..100.0)]);
        }
        let base = RegionParams::default();
        let counts = |p: &RegionParams| {
            let r = run(&xy, p);
            (r.count(Level::Coarse) as i64, r.count(Level::Fine) as i64)
        };
        let (c0, f0) = counts(&base);
        assert!(c0 >= 10 && f0 >= c0, "coarse {c0}, fine {f0}");
        // Persistence and noise_ratio: within one region or 10 %. The bandwidth moves every
        // density value at once (and its grid alignment), so it gets 15 %.
        let close = |a: i64, b: i64| (a - b).abs() <= 1.max(b / 10);
        let near = |a: i64, b: i64| (a - b).abs() <= 2.max(b * 15 / 100);
        for factor in [0.95f32, 1.05] {
            let bw = RegionParams {
                bandwidth: base.bandwidth * factor,
                ..base.clone()
            };
            let (c, f) = counts(&bw);
            assert!(
                near(c, c0) && near(f, f0),
                "{bw:?}: coarse {c0} → {c}, fine {f0} → {f}"
            );
            let nudged = [
                RegionParams {
                    coarse_persistence: base.coarse_persistence * factor,
                    ..base.clone()
                },
                RegionParams {
                    fine_persistence: base.fine_persistence * factor,
                    ..base.clone()
                },
                RegionParams {
                    noise_ratio: base.noise_ratio * factor,
                    ..base.clone()
                },
            ];
            for p in &nudged {
                let (c, f) = counts(p);
                assert!(
                    close(c, c0) && close(f, f0),
                    "{p:?}: coarse {c0} → {c}, fine {f0} → {f}"
                );
            }
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let p = RegionParams::default();
        let empty = run(&[], &p);
        assert!(empty.regions.is_empty() && empty.coarse_of_row.is_empty());
        // One point, and many identical points: too few rows / one region.
        let one = run(&[[1.0, 2.0]], &p);
        assert_eq!(one.coarse_of_row, vec![UNCLUSTERED]);
        assert!(one.regions.iter().all(|g| g.unclustered));
        let same = run(&vec![[3.0, 3.0]; 500], &p);
        assert_eq!(same.count(Level::Coarse), 1);
        assert!(same.coarse_of_row.iter().all(|&c| c == 0));
        // Non-finite coordinates are unclustered, the rest clustered as usual.
        let (mut xy, _) = blobs(5_000, 7);
        xy[10] = [f32::NAN, 1.0];
        xy[20] = [f32::INFINITY, 0.0];
        let r = run(&xy, &p);
        assert_eq!(r.coarse_of_row[10], UNCLUSTERED);
        assert_eq!(r.fine_of_row[20], UNCLUSTERED);
        assert!(r.count(Level::Coarse) >= 5);
        assert!(
            r.regions
                .iter()
                .all(|g| g.centroid.iter().chain(&g.extent).all(|v| v.is_finite()))
        );
    }

    #[test]
    fn bad_parameters_and_cancellation_are_errors() {
        let xy = vec![[0.0, 0.0]; 10];
        let bad = RegionParams {
            fine_persistence: 0.9,
            ..RegionParams::default()
        };
        let err = find_regions(&xy, &bad, &NoProgress, &CancelToken::new()).unwrap_err();
        assert!(err.to_string().contains("fine_persistence"), "{err}");
        let bad = RegionParams {
            bandwidth: f32::NAN,
            ..RegionParams::default()
        };
        assert!(find_regions(&xy, &bad, &NoProgress, &CancelToken::new()).is_err());
        let cancel = CancelToken::new();
        cancel.cancel();
        let got = find_regions(&xy, &RegionParams::default(), &NoProgress, &cancel);
        assert!(matches!(got, Err(RegionError::Cancelled)));
    }

    #[test]
    fn progress_reaches_its_total_and_coarse_regions_come_largest_first() {
        struct Last(std::sync::Mutex<Vec<(Stage, u64, u64)>>);
        impl Progress for Last {
            fn report(&self, stage: Stage, done: u64, total: u64) {
                self.0.lock().unwrap().push((stage, done, total));
            }
        }
        let sink = Last(Default::default());
        let (xy, _) = blobs(5_000, 8);
        let r = find_regions(&xy, &RegionParams::default(), &sink, &CancelToken::new()).unwrap();
        let seen = sink.0.into_inner().unwrap();
        assert!(seen.iter().all(|s| s.0 == Stage::Regions));
        assert_eq!(seen.last().map(|s| s.1 == s.2), Some(true));
        let coarse: Vec<usize> = r
            .level(Level::Coarse)
            .filter(|g| !g.unclustered)
            .map(|g| g.rows.len())
            .collect();
        assert!(coarse.windows(2).all(|w| w[0] >= w[1]), "{coarse:?}");
    }

    #[test]
    fn params_round_trip_through_serde_with_defaults() {
        let p: RegionParams = serde_json::from_str(r#"{"seed": 7, "bandwidth": 0.02}"#).unwrap();
        assert_eq!(
            p,
            RegionParams {
                seed: 7,
                bandwidth: 0.02,
                ..RegionParams::default()
            }
        );
        let back: RegionParams = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
