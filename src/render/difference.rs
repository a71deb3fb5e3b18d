//! The density difference of two groups of points (A and B, e.g. two temperatures) on the
//! view's pixel grid: each group's points counted into cells of a few pixels (the grid
//! reaches a kernel's width past the view so the edges see the points just outside),
//! Gaussian-smoothed and divided by the group's size (so a group twice as large does not look
//! twice as dense): per cell the share of A `a` and of B `b`. The colour is the difference
//! `a − b` relative to `a + b` — +1 only A, 0 equal, −1 only B, ±0.5 three times the other's
//! share — on a diverging map (red more A, white equal, blue more B), bilinearly upsampled to
//! the pixels; its strength grows with `a + b`, so the map's shape stays visible and empty
//! space stays background, and a faint difference in a sparse corner cannot outshout a dense
//! region.
//!
//! The cells are row-aligned bands, smoothed on rayon's threads when `parallel`; the result
//! does not depend on the thread count.
//!
//! The groups come from a split column (a category, or a number with few values) and two of
//! its values ([`split_columns`], [`pair`]): the app's compare view and `map --compare` share
//! them.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::{Rgba, Viewport, blend, colors};
use crate::dataset::{ColumnKind, MISSING_CODE, Samples};

/// Group of a row: in neither group, in A, in B.
pub const GROUP_NONE: u8 = 0;
pub const GROUP_A: u8 = 1;
pub const GROUP_B: u8 = 2;

/// How the difference is smoothed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiffParams {
    /// Standard deviation of the Gaussian kernel, in pixels.
    pub sigma_px: f32,
}

impl Default for DiffParams {
    fn default() -> Self {
        DiffParams { sigma_px: 8.0 }
    }
}

/// The smoothed shares of A and B on a grid of square cells over (and around) the view.
#[derive(Clone, Debug)]
pub struct DiffGrid {
    pub cols: usize,
    pub rows: usize,
    /// Side of a cell in pixels.
    pub cell_px: usize,
    /// Cells of padding on each side of the view.
    pub pad: usize,
    /// Per cell: smoothed share of A minus smoothed share of B (shares of each group's
    /// rows with finite coordinates, anywhere — not only in the view).
    pub diff: Vec<f32>,
    /// Per cell: share of A plus share of B.
    pub total: Vec<f32>,
    /// Rows in A and in B (with finite coordinates).
    pub n_a: usize,
    pub n_b: usize,
    /// The largest `total` (the colour's strength is relative to it).
    pub peak_total: f32,
}

/// Count, smooth and normalise the two groups of `coords` (`groups[i]` is [`GROUP_A`],
/// [`GROUP_B`] or anything else for neither) on the grid of `view`.
pub fn difference_grid(
    coords: &[[f32; 2]],
    groups: &[u8],
    view: &Viewport,
    params: &DiffParams,
    parallel: bool,
) -> DiffGrid {
    let sigma_px = if params.sigma_px.is_finite() {
        params.sigma_px.clamp(0.5, 200.0)
    } else {
        DiffParams::default().sigma_px
    };
    // Cells of about σ/2.5 pixels: the kernel spans ≥ 15 cells, and the upsampled image is
    // smooth at any σ.
    let cell_px = ((sigma_px / 2.5).round() as usize).clamp(1, 16);
    let sigma_cells = sigma_px / cell_px as f32;
    let radius = (3.0 * sigma_cells).ceil() as usize;
    let pad = radius + 1;
    let (w, h) = (view.width as usize, view.height as usize);
    let cols = w.div_ceil(cell_px) + 2 * pad;
    let rows = h.div_ceil(cell_px) + 2 * pad;
    let mut count_a = vec![0f32; cols * rows];
    let mut count_b = vec![0f32; cols * rows];
    let (mut n_a, mut n_b) = (0usize, 0usize);
    let c = cell_px as f32;
    for (p, &g) in coords.iter().zip(groups) {
        if (g != GROUP_A && g != GROUP_B) || !(p[0].is_finite() && p[1].is_finite()) {
            continue;
        }
        if g == GROUP_A {
            n_a += 1;
        } else {
            n_b += 1;
        }
        let [x, y] = view.to_pixel(*p);
        let (cx, cy) = ((x / c).floor() + pad as f32, (y / c).floor() + pad as f32);
        if !(cx >= 0.0 && cy >= 0.0 && cx < cols as f32 && cy < rows as f32) {
            continue;
        }
        let at = cy as usize * cols + cx as usize;
        if g == GROUP_A {
            count_a[at] += 1.0;
        } else {
            count_b[at] += 1.0;
        }
    }
    let kernel = gaussian_kernel(sigma_cells, radius);
    let smooth = |counts: &mut [f32]| blur(counts, cols, rows, &kernel, parallel);
    smooth(&mut count_a);
    smooth(&mut count_b);
    let inv = |n: usize| if n > 0 { 1.0 / n as f32 } else { 0.0 };
    let (ia, ib) = (inv(n_a), inv(n_b));
    let mut diff = count_a;
    let mut total = count_b;
    for (d, t) in diff.iter_mut().zip(total.iter_mut()) {
        let (sa, sb) = (*d * ia, *t * ib);
        *d = sa - sb;
        *t = sa + sb;
    }
    let peak_total = total.iter().copied().fold(0.0f32, f32::max);
    DiffGrid {
        cols,
        rows,
        cell_px,
        pad,
        diff,
        total,
        n_a,
        n_b,
        peak_total,
    }
}

/// A normalised Gaussian kernel of `2 radius + 1` taps.
fn gaussian_kernel(sigma: f32, radius: usize) -> Vec<f32> {
    let r = radius as i32;
    let mut k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    for v in &mut k {
        *v /= sum;
    }
    k
}

/// Separable convolution of a `cols × rows` grid with `kernel` (zero outside the grid).
fn blur(grid: &mut [f32], cols: usize, rows: usize, kernel: &[f32], parallel: bool) {
    let r = (kernel.len() / 2) as isize;
    let horizontal = |(src, dst): (&[f32], &mut [f32])| {
        for (x, out) in dst.iter_mut().enumerate() {
            let mut s = 0.0;
            for (k, &kv) in kernel.iter().enumerate() {
                let xx = x as isize + k as isize - r;
                if xx >= 0 && (xx as usize) < cols {
                    s += kv * src[xx as usize];
                }
            }
            *out = s;
        }
    };
    let mut tmp = vec![0f32; grid.len()];
    if parallel {
        grid.par_chunks(cols)
            .zip(tmp.par_chunks_mut(cols))
            .for_each(horizontal);
    } else {
        grid.chunks(cols)
            .zip(tmp.chunks_mut(cols))
            .for_each(horizontal);
    }
    let src = &tmp;
    let vertical = |(y, dst): (usize, &mut [f32])| {
        for (k, &kv) in kernel.iter().enumerate() {
            let yy = y as isize + k as isize - r;
            if yy < 0 || yy as usize >= rows {
                continue;
            }
            let row = &src[yy as usize * cols..(yy as usize + 1) * cols];
            for (o, &v) in dst.iter_mut().zip(row) {
                *o += kv * v;
            }
        }
    };
    grid.fill(0.0);
    if parallel {
        grid.par_chunks_mut(cols).enumerate().for_each(vertical);
    } else {
        grid.chunks_mut(cols).enumerate().for_each(vertical);
    }
}

impl DiffGrid {
    /// Bilinear interpolation of (diff, total) at pixel (x, y) of the view (pixel centres at
    /// +0.5).
    #[inline]
    pub fn at_pixel(&self, x: f32, y: f32) -> (f32, f32) {
        let c = self.cell_px as f32;
        // Cell i's centre is at pixel (i − pad + 0.5) · c.
        let u = (x / c + self.pad as f32 - 0.5).clamp(0.0, (self.cols - 1) as f32);
        let v = (y / c + self.pad as f32 - 0.5).clamp(0.0, (self.rows - 1) as f32);
        let (i0, j0) = (u.floor() as usize, v.floor() as usize);
        let (i1, j1) = ((i0 + 1).min(self.cols - 1), (j0 + 1).min(self.rows - 1));
        let (fu, fv) = (u - i0 as f32, v - j0 as f32);
        let get = |g: &[f32]| {
            let a = g[j0 * self.cols + i0] * (1.0 - fu) + g[j0 * self.cols + i1] * fu;
            let b = g[j1 * self.cols + i0] * (1.0 - fu) + g[j1 * self.cols + i1] * fu;
            a * (1.0 - fv) + b * fv
        };
        (get(&self.diff), get(&self.total))
    }

    /// The colour of one pixel: the diverging colour of the relative difference
    /// `diff / (total + ε)` (red = more A; ε, 0.2% of the peak, keeps the last stray point
    /// from reading as "only A"), blended over `background` by the strength of `total`
    /// ([`strength`]).
    #[inline]
    pub fn pixel_colour(&self, diff: f32, total: f32, background: Rgba) -> Rgba {
        let mut out = background;
        if self.peak_total <= 0.0 || total <= 0.0 {
            return out;
        }
        let t = relative(diff, total, self.peak_total);
        blend(
            &mut out,
            colors::diverging(t),
            (strength(total / self.peak_total) * 255.0) as u32,
        );
        out
    }
}

/// `diff / (total + 0.002 · peak)`, in −1..=1.
#[inline]
fn relative(diff: f32, total: f32, peak_total: f32) -> f32 {
    (diff / (total + 0.002 * peak_total)).clamp(-1.0, 1.0)
}

/// The colour's strength (0..=1) at a joint density of `rel` times the peak: logarithmic,
/// full from a tenth of the peak on (the difference, not the density, is what this view
/// shows), a cell at 1% of the peak about half.
#[inline]
pub fn strength(rel: f32) -> f32 {
    ((1.0 + 400.0 * rel.max(0.0)).ln() / 41.0f32.ln()).min(1.0)
}

/// The difference picture of the view: `view.width × view.height` pixels, row-major.
pub fn render(
    coords: &[[f32; 2]],
    groups: &[u8],
    view: &Viewport,
    params: &DiffParams,
    background: Rgba,
    parallel: bool,
) -> Vec<Rgba> {
    let (w, h) = (view.width as usize, view.height as usize);
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let grid = difference_grid(coords, groups, view, params, parallel);
    colorize(&grid, w, h, background, parallel)
}

/// Entries of the colour and strength tables [`colorize`] looks pixels up in (odd: t = 0 has
/// its own entry, the neutral white).
const LUT: usize = 1025;

/// The grid's pixels (as [`DiffGrid::pixel_colour`], with the colour map and the strength
/// curve tabulated and the bilinear weights computed once per row and column).
pub fn colorize(
    grid: &DiffGrid,
    w: usize,
    h: usize,
    background: Rgba,
    parallel: bool,
) -> Vec<Rgba> {
    let mut image = vec![background; w * h];
    if grid.peak_total <= 0.0 {
        return image;
    }
    // Colour of t = −1..=1 and strength of √(total / peak) = 0..=1.
    let colours: Vec<Rgba> = (0..LUT)
        .map(|k| colors::diverging(k as f32 / (LUT - 1) as f32 * 2.0 - 1.0))
        .collect();
    let strengths: Vec<u32> = (0..LUT)
        .map(|k| (strength((k as f32 / (LUT - 1) as f32).powi(2)) * 255.0) as u32)
        .collect();
    let axis = |n: usize, cells: usize| -> Vec<(usize, usize, f32)> {
        let c = grid.cell_px as f32;
        (0..n)
            .map(|p| {
                let u =
                    ((p as f32 + 0.5) / c + grid.pad as f32 - 0.5).clamp(0.0, (cells - 1) as f32);
                let i0 = u.floor() as usize;
                (i0, (i0 + 1).min(cells - 1), u - i0 as f32)
            })
            .collect()
    };
    let (xs, ys) = (axis(w, grid.cols), axis(h, grid.rows));
    let inv_peak = 1.0 / grid.peak_total;
    let top = (LUT - 1) as f32;
    let row = |(y, line): (usize, &mut [Rgba])| {
        let (j0, j1, fv) = ys[y];
        let (d0, d1) = (&grid.diff[j0 * grid.cols..], &grid.diff[j1 * grid.cols..]);
        let (t0, t1) = (&grid.total[j0 * grid.cols..], &grid.total[j1 * grid.cols..]);
        for (px, &(i0, i1, fu)) in line.iter_mut().zip(&xs) {
            let lerp = |r0: &[f32], r1: &[f32]| {
                let a = r0[i0] + (r0[i1] - r0[i0]) * fu;
                let b = r1[i0] + (r1[i1] - r1[i0]) * fu;
                a + (b - a) * fv
            };
            let total = lerp(t0, t1);
            if total <= 0.0 {
                continue;
            }
            let t = relative(lerp(d0, d1), total, grid.peak_total);
            let colour = colours[((t + 1.0) * 0.5 * top).round() as usize];
            let a = strengths[((total * inv_peak).min(1.0).sqrt() * top).round() as usize];
            blend(px, colour, a);
        }
    };
    if parallel {
        image.par_chunks_mut(w).enumerate().for_each(row);
    } else {
        image.chunks_mut(w).enumerate().for_each(row);
    }
    image
}

// The groups: a split column (a category, or a number with few values) and two of its values.

/// A number column with more distinct values than this is not offered as a split column.
pub const MAX_SPLIT_VALUES: usize = 64;

/// How rows match a value: a category code or a number's bits.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ValueKey {
    Code(u32),
    Number(u32),
}

/// One value of a split column.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitValue {
    pub label: String,
    pub count: usize,
    key: ValueKey,
}

/// A column the rows can be split by, with its values (in natural order).
#[derive(Clone, Debug, PartialEq)]
pub struct SplitColumn {
    pub name: String,
    pub values: Vec<SplitValue>,
}

/// The columns `samples` can be split by: category columns (2 or more levels) and number
/// columns with 2..=[`MAX_SPLIT_VALUES`] distinct values, each with its values in natural
/// order and their counts.
pub fn split_columns(samples: &Samples) -> Vec<SplitColumn> {
    let mut out = Vec::new();
    for c in &samples.columns {
        let values = match &c.kind {
            ColumnKind::Category { levels, counts, .. } => levels
                .iter()
                .zip(counts)
                .enumerate()
                .filter(|(_, (_, n))| **n > 0)
                .map(|(i, (l, n))| SplitValue {
                    label: l.clone(),
                    count: *n,
                    key: ValueKey::Code(i as u32),
                })
                .collect(),
            ColumnKind::Numeric { values, .. } => {
                let mut counts: FxHashMap<u32, usize> = FxHashMap::default();
                for v in values.iter().filter(|v| v.is_finite()) {
                    // −0 and 0 are one value.
                    *counts.entry((v + 0.0).to_bits()).or_default() += 1;
                    if counts.len() > MAX_SPLIT_VALUES {
                        break;
                    }
                }
                if counts.len() > MAX_SPLIT_VALUES {
                    continue;
                }
                let mut v: Vec<(u32, usize)> = counts.into_iter().collect();
                v.sort_by(|a, b| f32::from_bits(a.0).total_cmp(&f32::from_bits(b.0)));
                v.into_iter()
                    .map(|(bits, n)| SplitValue {
                        label: super::image::format_number(f32::from_bits(bits)),
                        count: n,
                        key: ValueKey::Number(bits),
                    })
                    .collect()
            }
            ColumnKind::Text | ColumnKind::Other => continue,
        };
        let mut values: Vec<SplitValue> = values;
        if values.len() < 2 {
            continue;
        }
        if matches!(c.kind, ColumnKind::Category { .. }) {
            values.sort_by(|a, b| crate::util::text::natural_cmp(&a.label, &b.label));
        }
        out.push(SplitColumn {
            name: c.name.clone(),
            values,
        });
    }
    out
}

/// Each row's group for values `a` and `b` of `column`.
pub fn row_groups(
    samples: &Samples,
    column: &SplitColumn,
    a: &SplitValue,
    b: &SplitValue,
) -> Vec<u8> {
    let Some(info) = samples.columns.iter().find(|c| c.name == column.name) else {
        return vec![GROUP_NONE; samples.len()];
    };
    let of = |key: ValueKey, k: ValueKey| key == k;
    match &info.kind {
        ColumnKind::Category { codes, .. } => codes
            .iter()
            .map(|&c| {
                let k = ValueKey::Code(c);
                if c == MISSING_CODE {
                    GROUP_NONE
                } else if of(a.key, k) {
                    GROUP_A
                } else if of(b.key, k) {
                    GROUP_B
                } else {
                    GROUP_NONE
                }
            })
            .collect(),
        ColumnKind::Numeric { values, .. } => values
            .iter()
            .map(|v| {
                if !v.is_finite() {
                    return GROUP_NONE;
                }
                let k = ValueKey::Number((v + 0.0).to_bits());
                if of(a.key, k) {
                    GROUP_A
                } else if of(b.key, k) {
                    GROUP_B
                } else {
                    GROUP_NONE
                }
            })
            .collect(),
        _ => vec![GROUP_NONE; samples.len()],
    }
}

impl SplitColumn {
    /// The value `text` names: its label, or for a number column the same number however it
    /// is written (`0.50` is `0.5`).
    pub fn find(&self, text: &str) -> Option<&SplitValue> {
        let text = text.trim();
        self.values.iter().find(|v| v.label == text).or_else(|| {
            let n: f32 = text.parse().ok()?;
            let bits = (n + 0.0).to_bits();
            self.values.iter().find(|v| v.key == ValueKey::Number(bits))
        })
    }
}

/// Why two values of a column cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("no column '{column}' with 2 to {MAX_SPLIT_VALUES} values to compare by (choose from: {})", .choices.join(", "))]
    Column {
        column: String,
        choices: Vec<String>,
    },
    #[error("column '{column}' has no value '{value}' (its values: {})", .values.join(", "))]
    Value {
        column: String,
        value: String,
        values: Vec<String>,
    },
    #[error("A and B are both '{0}': compare two different values")]
    Same(String),
}

/// Two values of a split column and each row's group.
#[derive(Clone, Debug)]
pub struct Pair {
    pub column: String,
    /// The values' labels (as the legend shows them).
    pub a: String,
    pub b: String,
    /// [`GROUP_A`], [`GROUP_B`] or [`GROUP_NONE`] per row.
    pub of_row: Vec<u8>,
    pub n_a: usize,
    pub n_b: usize,
}

/// The rows of values `a` and `b` of `column` (see [`SplitColumn::find`]), or which of the
/// three is not there.
pub fn pair(samples: &Samples, column: &str, a: &str, b: &str) -> Result<Pair, SplitError> {
    let columns = split_columns(samples);
    let Some(split) = columns.iter().find(|c| c.name == column) else {
        return Err(SplitError::Column {
            column: column.to_string(),
            choices: columns.iter().map(|c| c.name.clone()).collect(),
        });
    };
    let find = |value: &str| {
        split.find(value).ok_or_else(|| SplitError::Value {
            column: column.to_string(),
            value: value.trim().to_string(),
            values: split
                .values
                .iter()
                .take(20)
                .map(|v| v.label.clone())
                .collect(),
        })
    };
    let (va, vb) = (find(a)?, find(b)?);
    if va.key == vb.key {
        return Err(SplitError::Same(va.label.clone()));
    }
    let of_row = row_groups(samples, split, va, vb);
    Ok(Pair {
        column: column.to_string(),
        a: va.label.clone(),
        b: vb.label.clone(),
        n_a: of_row.iter().filter(|&&g| g == GROUP_A).count(),
        n_b: of_row.iter().filter(|&&g| g == GROUP_B).count(),
        of_row,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(w: u32, h: u32) -> Viewport {
        Viewport {
            center: [0.0, 0.0],
            px_per_unit: 1.0,
            width: w,
            height: h,
        }
    }

    const BG: Rgba = [0, 0, 0, 255];

    #[test]
    fn one_point_spreads_as_a_gaussian_and_keeps_its_mass() {
        // Cells of 2 px (σ 5 px → 2.5 cells); the point at pixel (50.5, 50.5) is cell (25, 25)
        // plus the padding.
        let v = view(100, 100);
        let p = DiffParams { sigma_px: 5.0 };
        let g = difference_grid(&[[0.5, -0.5]], &[GROUP_A], &v, &p, false);
        assert_eq!(g.cell_px, 2);
        assert_eq!((g.n_a, g.n_b), (1, 0));
        let at = |i: usize, j: usize| g.diff[(j + g.pad) * g.cols + i + g.pad];
        // The whole share (1 point of 1) is on the grid: the kernel is normalised.
        let sum: f32 = g.diff.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "{sum}");
        // The textbook Gaussian: one σ (2.5 cells) away the value is e^{-1/2} of the peak,
        // checked at 5 cells along an axis: e^{-2}.
        let peak = at(25, 25);
        assert!((at(30, 25) / peak - (-2.0f32).exp()).abs() < 0.01);
        assert!((at(25, 20) / peak - (-2.0f32).exp()).abs() < 0.01);
        // The discrete normalised peak: 1 / (2π σ²) for σ = 2.5 cells (within 2%).
        let expect = 1.0 / (2.0 * std::f32::consts::PI * 2.5 * 2.5);
        assert!((peak / expect - 1.0).abs() < 0.02, "{peak} vs {expect}");
        assert!(
            g.total
                .iter()
                .zip(&g.diff)
                .all(|(t, d)| (t - d).abs() < 1e-9)
        );
    }

    #[test]
    fn equal_shares_cancel_whatever_the_group_sizes() {
        // B has 10 times A's rows at the same places: the same shares, no difference.
        let v = view(60, 40);
        let spots = [[-10.0, 3.0], [5.0, -7.0], [20.0, 10.0]];
        let mut coords = Vec::new();
        let mut groups = Vec::new();
        for s in spots {
            coords.push(s);
            groups.push(GROUP_A);
            for _ in 0..10 {
                coords.push(s);
                groups.push(GROUP_B);
            }
        }
        // Rows in neither group count nowhere.
        coords.push([0.0, 0.0]);
        groups.push(GROUP_NONE);
        let g = difference_grid(&coords, &groups, &v, &DiffParams::default(), false);
        assert_eq!((g.n_a, g.n_b), (3, 30));
        let max = g.diff.iter().fold(0.0f32, |m, d| m.max(d.abs()));
        assert!(max < 1e-6, "{max}");
        // Drawn white (equal) where the points are, background far from them.
        let img = render(&coords, &groups, &v, &DiffParams::default(), BG, false);
        let [px, py] = v.to_pixel(spots[2]);
        let c = img[py as usize * 60 + px as usize];
        assert!(c[0] > 200 && c[0] == c[1] && c[1] == c[2], "{c:?}");
        // One more A point at one spot: a difference, drawn red there.
        coords.push(spots[2]);
        groups.push(GROUP_A);
        let img = render(&coords, &groups, &v, &DiffParams::default(), BG, false);
        let c = img[py as usize * 60 + px as usize];
        assert!(c[0] > c[2] + 40, "{c:?}");
    }

    #[test]
    fn more_a_is_red_more_b_is_blue_and_the_map_follows_the_view() {
        let v = view(80, 40);
        let coords = [[-20.0, 0.0], [20.0, 0.0]];
        let groups = [GROUP_A, GROUP_B];
        let p = DiffParams { sigma_px: 4.0 };
        let img = render(&coords, &groups, &v, &p, BG, false);
        let at = |img: &[Rgba], x: usize, y: usize| img[y * 80 + x];
        let left = at(&img, 20, 20);
        let right = at(&img, 60, 20);
        assert!(left[0] > left[2] + 60, "A's side is red: {left:?}");
        assert!(right[2] > right[0] + 60, "B's side is blue: {right:?}");
        assert_eq!(at(&img, 40, 2), BG, "nothing between and above them");
        // Panned by 10 layout units (10 px): the same picture 10 px to the left.
        let panned = Viewport {
            center: [10.0, 0.0],
            ..v
        };
        let img2 = render(&coords, &groups, &panned, &p, BG, false);
        for x in 0..70 {
            assert_eq!(at(&img2, x, 20), at(&img, x + 10, 20), "x {x}");
        }
    }

    #[test]
    fn the_tabulated_colours_match_the_exact_ones() {
        let coords: Vec<[f32; 2]> = (0..400)
            .map(|i| {
                [
                    (i as f32 * 0.37).sin() * 30.0,
                    (i as f32 * 0.11).cos() * 15.0,
                ]
            })
            .collect();
        let groups: Vec<u8> = (0..400)
            .map(|i| if i % 3 == 0 { GROUP_A } else { GROUP_B })
            .collect();
        let v = view(90, 50);
        let g = difference_grid(&coords, &groups, &v, &DiffParams { sigma_px: 6.0 }, false);
        let img = colorize(&g, 90, 50, BG, false);
        let mut coloured = 0;
        for y in 0..50 {
            for x in 0..90 {
                let (d, t) = g.at_pixel(x as f32 + 0.5, y as f32 + 0.5);
                let want = g.pixel_colour(d, t, BG);
                let got = img[y * 90 + x];
                coloured += usize::from(want != BG);
                for c in 0..3 {
                    assert!(
                        (want[c] as i32 - got[c] as i32).abs() <= 3,
                        "{x},{y}: {want:?} {got:?}"
                    );
                }
            }
        }
        assert!(coloured > 1000, "{coloured}");
    }

    #[test]
    fn threads_give_the_same_picture() {
        let coords: Vec<[f32; 2]> = (0..3000)
            .map(|i| {
                let t = i as f32 * 0.618;
                [(t * 7.3).sin() * 40.0, (t * 3.1).cos() * 25.0]
            })
            .collect();
        let groups: Vec<u8> = (0..3000).map(|i| (i % 3) as u8).collect();
        let v = view(123, 77);
        let p = DiffParams::default();
        let one = render(&coords, &groups, &v, &p, BG, false);
        let many = render(&coords, &groups, &v, &p, BG, true);
        assert!(one == many);
        assert!(render(&coords, &groups, &view(0, 5), &p, BG, true).is_empty());
    }

    #[test]
    fn split_columns_are_categories_and_numbers_with_few_values() {
        let samples = crate::pipeline::load_samples(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/sweep.jsonl")),
            &crate::pipeline::LoadSpec::default(),
            &crate::progress::NoProgress,
            &crate::progress::CancelToken::new(),
        )
        .unwrap();
        let cols = split_columns(&samples);
        let temp = cols
            .iter()
            .find(|c| c.name == "temperature")
            .expect("temperature");
        let labels: Vec<&str> = temp.values.iter().map(|v| v.label.as_str()).collect();
        assert!(
            labels.contains(&"0.5") && labels.contains(&"1.5"),
            "{labels:?}"
        );
        assert_eq!(
            temp.values.iter().map(|v| v.count).sum::<usize>(),
            samples.len()
        );
        // The score has too many values; the id is one per row.
        assert!(cols.iter().all(|c| c.name != "score" && c.name != "id"));
        let a = temp.values.iter().find(|v| v.label == "1.5").unwrap();
        let b = temp.values.iter().find(|v| v.label == "0.5").unwrap();
        let groups = row_groups(&samples, temp, a, b);
        let ColumnKind::Numeric { values, .. } =
            &samples.columns[samples.column_index("temperature").unwrap()].kind
        else {
            panic!("temperature is numeric");
        };
        for (g, v) in groups.iter().zip(values) {
            let want = if *v == 1.5 {
                GROUP_A
            } else if *v == 0.5 {
                GROUP_B
            } else {
                GROUP_NONE
            };
            assert_eq!(*g, want);
        }
        assert_eq!(groups.iter().filter(|&&g| g == GROUP_A).count(), a.count);
    }

    #[test]
    fn a_pair_is_found_by_label_or_number_and_misses_are_named() {
        let samples = crate::pipeline::load_samples(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/sweep.jsonl")),
            &crate::pipeline::LoadSpec::default(),
            &crate::progress::NoProgress,
            &crate::progress::CancelToken::new(),
        )
        .unwrap();
        // The temperatures straight from the table, not through the column description.
        let temps: Vec<Option<f64>> = samples
            .frame
            .column("temperature")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect();
        let p = pair(&samples, "temperature", "1.50", " 0.5").unwrap();
        assert_eq!((p.a.as_str(), p.b.as_str()), ("1.5", "0.5"));
        for (g, t) in p.of_row.iter().zip(&temps) {
            let want = match t {
                Some(t) if *t == 1.5 => GROUP_A,
                Some(t) if *t == 0.5 => GROUP_B,
                _ => GROUP_NONE,
            };
            assert_eq!(*g, want);
        }
        let n = |v: f64| temps.iter().filter(|t| **t == Some(v)).count();
        assert_eq!((p.n_a, p.n_b), (n(1.5), n(0.5)));
        // A category by its label.
        let m = pair(&samples, "model", "tiny-1b", "chat-8b").unwrap();
        assert!(m.n_a > 0 && m.n_b > 0 && m.n_a + m.n_b < samples.len());
        let e = pair(&samples, "nope", "a", "b").unwrap_err().to_string();
        assert!(e.starts_with("no column 'nope' with 2 to 64 values"), "{e}");
        assert!(e.contains("temperature"), "{e}");
        let e = pair(&samples, "model", "tiny-1b", "huge")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("column 'model' has no value 'huge' (its values: "),
            "{e}"
        );
        let e = pair(&samples, "temperature", "0.5", "0.50")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "A and B are both '0.5': compare two different values");
    }
}
