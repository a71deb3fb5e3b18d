//! Basins by steepest ascent, saddles between them, and their merging by persistence.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::grid::Grid;
use super::*;

#[derive(Clone, Copy, Debug)]
pub(super) struct Peak {
    pub(super) cell: u32,
    pub(super) density: f32,
}

/// Watershed basins of the density above the floor, and the saddles between them.
pub(super) struct Basins {
    /// Per cell: its basin, or [`UNCLUSTERED`] below the floor.
    pub(super) basin_of_cell: Vec<u32>,
    pub(super) peaks: Vec<Peak>,
    pub(super) rows: Vec<usize>,
    /// (saddle density, basin a, basin b) with a < b, highest saddle first.
    pub(super) edges: Vec<(f32, u32, u32)>,
}

impl Basins {
    pub(super) fn new(grid: &Grid, density: &[f32], counts: &[u32], floor: f32) -> Self {
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
pub(super) struct Merge {
    pub(super) parent: Vec<u32>,
    pub(super) rows: Vec<usize>,
    pub(super) peak_density: Vec<f32>,
}

impl Merge {
    pub(super) fn new(basins: &Basins) -> Self {
        let n = basins.peaks.len();
        Self {
            parent: (0..n as u32).collect(),
            rows: basins.rows.clone(),
            peak_density: basins.peaks.iter().map(|p| p.density).collect(),
        }
    }

    pub(super) fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let up = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = up;
            x = up;
        }
        x
    }

    /// One persistence pass over the saddles (highest first). The surviving root of a merge
    /// is always the elder set's root, so a root id is the basin of the set's peak.
    pub(super) fn run(&mut self, edges: &[(f32, u32, u32)], persistence: f32, min_rows: usize) {
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
pub(super) struct CellLabels {
    pub(super) cell_of_row: Vec<u32>,
    pub(super) fine: Vec<u32>,
    pub(super) coarse_of_fine: Vec<u32>,
    pub(super) peaks: Vec<Peak>,
}

impl CellLabels {
    pub(super) fn empty(n: usize) -> Self {
        Self {
            cell_of_row: vec![UNCLUSTERED; n],
            fine: Vec::new(),
            coarse_of_fine: Vec::new(),
            peaks: Vec::new(),
        }
    }
}
