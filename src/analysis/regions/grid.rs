//! The density grid of a layout: rows counted into cells and smoothed by a Gaussian.

use rayon::prelude::*;

use super::*;

/// The grid geometry: square cells over the layout's bounding box, padded by the kernel.
pub(super) struct Grid {
    pub(super) min: [f64; 2],
    pub(super) cell_size: f64,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) sigma_cells: f64,
}

impl Grid {
    pub(super) fn degenerate() -> Self {
        Self {
            min: [0.0; 2],
            cell_size: 1.0,
            width: 0,
            height: 0,
            sigma_cells: 1.0,
        }
    }

    pub(super) fn new(coords: &[[f32; 2]], n_finite: usize, params: &RegionParams) -> Self {
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

    pub(super) fn len(&self) -> usize {
        self.width * self.height
    }

    /// The cell a point falls in, or [`UNCLUSTERED`] for a non-finite point.
    pub(super) fn cell_of(&self, p: &[f32; 2]) -> u32 {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return UNCLUSTERED;
        }
        let x = ((p[0] as f64 - self.min[0]) / self.cell_size) as usize;
        let y = ((p[1] as f64 - self.min[1]) / self.cell_size) as usize;
        (y.min(self.height - 1) * self.width + x.min(self.width - 1)) as u32
    }

    pub(super) fn center(&self, cell: u32) -> [f32; 2] {
        let (x, y) = (cell as usize % self.width, cell as usize / self.width);
        [
            (self.min[0] + (x as f64 + 0.5) * self.cell_size) as f32,
            (self.min[1] + (y as f64 + 0.5) * self.cell_size) as f32,
        ]
    }

    /// The area within one σ-disc of the kernel, 2πσ², in cells.
    pub(super) fn kernel_area_cells(&self) -> f64 {
        2.0 * std::f64::consts::PI * self.sigma_cells * self.sigma_cells
    }

    /// Separable Gaussian smoothing of the counts, normalised so that density is rows per cell.
    pub(super) fn smooth(&self, counts: &[u32]) -> Vec<f32> {
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
    pub(super) fn neighbours(&self, cell: usize) -> impl Iterator<Item = usize> + '_ {
        let (x, y) = ((cell % self.width) as isize, (cell / self.width) as isize);
        let (w, h) = (self.width as isize, self.height as isize);
        (-1isize..=1)
            .flat_map(move |dy| (-1isize..=1).map(move |dx| (x + dx, y + dy)))
            .filter(move |&(nx, ny)| (nx, ny) != (x, y) && nx >= 0 && ny >= 0 && nx < w && ny < h)
            .map(move |(nx, ny)| (ny * w + nx) as usize)
    }
}
