//! Drawing the map on the CPU: every point (no sampling) into an RGBA image, for the app's map
//! texture and for PNG export. Points are anti-aliased discs stamped from precomputed coverage
//! masks; a density mode shows overplotted regions by how many points fall on each pixel.
//! The work splits into horizontal bands, one per thread, each pixel written by one thread in
//! point order, so the image does not depend on the thread count.

pub mod colors;
pub mod difference;
pub mod image;
pub mod labels;
pub mod legend;
pub mod ood;

use rayon::prelude::*;

/// Straight (not premultiplied) RGBA.
pub type Rgba = [u8; 4];

/// How a point is drawn. Faded points go first, then normal ones, then the ones on top
/// (selected / highlighted); hidden points are not drawn. One byte per point.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PointClass {
    Hidden = 0,
    Faded = 1,
    #[default]
    Normal = 2,
    Top = 3,
}

impl PointClass {
    /// Position in draw order (faded, normal, top); `None` for hidden points.
    #[inline]
    fn draw_rank(self) -> Option<u8> {
        match self {
            PointClass::Hidden => None,
            PointClass::Faded => Some(0),
            PointClass::Normal => Some(1),
            PointClass::Top => Some(2),
        }
    }
}

/// The mapping from layout coordinates to image pixels (x right, y down).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewport {
    /// Layout coordinates at the image centre.
    pub center: [f32; 2],
    pub px_per_unit: f32,
    pub width: u32,
    pub height: u32,
}

impl Viewport {
    /// The view that shows every finite point with `margin_px` to spare.
    pub fn fit(coords: &[[f32; 2]], width: u32, height: u32, margin_px: f32) -> Viewport {
        let (lo, hi) = bounds(coords);
        Viewport::fit_bounds(lo, hi, width, height, margin_px)
    }

    /// The view that shows the box `lo..hi` with `margin_px` to spare.
    pub fn fit_bounds(
        lo: [f32; 2],
        hi: [f32; 2],
        width: u32,
        height: u32,
        margin_px: f32,
    ) -> Viewport {
        if !(lo[0].is_finite() && lo[1].is_finite() && hi[0].is_finite() && hi[1].is_finite()) {
            return Viewport {
                center: [0.0, 0.0],
                px_per_unit: 1.0,
                width,
                height,
            };
        }
        let w = (width as f32 - 2.0 * margin_px).max(10.0);
        let h = (height as f32 - 2.0 * margin_px).max(10.0);
        let span_x = (hi[0] - lo[0]).max(1e-6);
        let span_y = (hi[1] - lo[1]).max(1e-6);
        Viewport {
            center: [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0],
            px_per_unit: (w / span_x).min(h / span_y),
            width,
            height,
        }
    }

    #[inline]
    pub fn to_pixel(&self, p: [f32; 2]) -> [f32; 2] {
        [
            self.width as f32 / 2.0 + (p[0] - self.center[0]) * self.px_per_unit,
            self.height as f32 / 2.0 - (p[1] - self.center[1]) * self.px_per_unit,
        ]
    }
}

/// The box around the finite points (infinite when there are none).
pub fn bounds(coords: &[[f32; 2]]) -> ([f32; 2], [f32; 2]) {
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in coords {
        for a in 0..2 {
            if p[a].is_finite() {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
    }
    (lo, hi)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every point as a disc, later points over earlier ones.
    #[default]
    Points,
    /// Each pixel shows the mean colour of the points on it, brighter where more points fall.
    Density,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    pub radius_px: f32,
    /// Opacity of normal points (0..=1).
    pub opacity: f32,
    /// Opacity of faded points (0..=1).
    pub faded_opacity: f32,
    pub mode: Mode,
    pub background: Rgba,
}

impl Style {
    /// The default point radius for `n` points (pixels at scale 1).
    pub fn radius_for(n: usize) -> f32 {
        match n {
            0..=2_000 => 4.0,
            2_001..=20_000 => 3.0,
            20_001..=200_000 => 2.0,
            _ => 1.4,
        }
    }
}

/// Sub-pixel positions per axis for which a coverage stamp is precomputed.
const SUBPIXEL: usize = 4;

/// Coverage masks of a disc for each sub-pixel position: (dx, dy, coverage 1..=255).
struct Stamps {
    masks: Vec<Vec<(i32, i32, u32)>>,
    reach: i32,
}

impl Stamps {
    fn new(radius_px: f32) -> Stamps {
        let r = radius_px.clamp(0.3, 64.0);
        let reach = (r + 1.0).ceil() as i32;
        let mut masks = Vec::with_capacity(SUBPIXEL * SUBPIXEL);
        for qy in 0..SUBPIXEL {
            for qx in 0..SUBPIXEL {
                let cx = (qx as f32 + 0.5) / SUBPIXEL as f32;
                let cy = (qy as f32 + 0.5) / SUBPIXEL as f32;
                let mut mask = Vec::new();
                for dy in -reach..=reach {
                    for dx in -reach..=reach {
                        let ex = dx as f32 + 0.5 - cx;
                        let ey = dy as f32 + 0.5 - cy;
                        // Coverage falls off over one pixel at the rim.
                        let cov = (r + 0.5 - (ex * ex + ey * ey).sqrt()).clamp(0.0, 1.0);
                        let c = (cov * 255.0).round() as u32;
                        if c > 0 {
                            mask.push((dx, dy, c));
                        }
                    }
                }
                masks.push(mask);
            }
        }
        Stamps { masks, reach }
    }

    /// The integer pixel and the index of the sub-pixel mask for a point at pixel position `p`.
    #[inline]
    fn locate(&self, p: [f32; 2]) -> Option<(i32, i32, usize)> {
        if !(p[0].is_finite() && p[1].is_finite()) || p[0].abs() > 1e8 || p[1].abs() > 1e8 {
            return None;
        }
        let (fx, fy) = (p[0].floor(), p[1].floor());
        let qx = (((p[0] - fx) * SUBPIXEL as f32) as usize).min(SUBPIXEL - 1);
        let qy = (((p[1] - fy) * SUBPIXEL as f32) as usize).min(SUBPIXEL - 1);
        Some((fx as i32, fy as i32, qy * SUBPIXEL + qx))
    }
}

/// `dst + (src − dst) · a / 255` per channel, rounded.
#[inline]
fn blend(dst: &mut Rgba, src: Rgba, a: u32) {
    for c in 0..3 {
        let d = dst[c] as i32;
        let s = src[c] as i32;
        let v = d + ((s - d) * a as i32 + if s >= d { 127 } else { -127 }) / 255;
        dst[c] = v as u8;
    }
}

/// Rows per band: a band's pixels (16 × 1280 × 4 bytes = 80 KB) stay in the L2 cache while
/// its points are drawn.
const BAND_ROWS: usize = 16;

/// One point to draw: its pixel, sub-pixel stamp, opacity and colour (10 bytes).
#[derive(Clone, Copy)]
struct Entry {
    x: i16,
    y: i16,
    /// Index of the sub-pixel stamp.
    q: u8,
    /// Opacity 1..=255, or 0 for "accumulate into the density".
    a: u8,
    color: Rgba,
}

/// Draw every point into a `view.width × view.height` image (row-major, top row first).
/// `classes[i]` says how point i is drawn (all [`PointClass::Normal`] when `None`). `parallel` runs on rayon's threads — never from a UI thread.
///
/// Points are transformed once, binned by 16-row band in draw order (faded, normal, top; row
/// order within a class), and each band is drawn from its own list: every pixel sees its
/// points in the same order as a plain loop would, and a band's pixels stay in cache.
pub fn rasterize(
    coords: &[[f32; 2]],
    colors: &[Rgba],
    classes: Option<&[PointClass]>,
    view: &Viewport,
    style: &Style,
    parallel: bool,
) -> Vec<Rgba> {
    let (w, h) = (view.width as usize, view.height as usize);
    let mut image = vec![style.background; w * h];
    if w == 0 || h == 0 || w > i16::MAX as usize / 2 || h > i16::MAX as usize / 2 {
        return image;
    }
    let stamps = Stamps::new(style.radius_px);
    let reach = stamps.reach;
    let alpha = |o: f32| (o.clamp(0.0, 1.0) * 255.0).round() as u8;
    let class_of = |i: usize| {
        classes.map_or(PointClass::Normal, |c| {
            c.get(i).copied().unwrap_or_default()
        })
    };
    let (faded_a, normal_a) = (alpha(style.faded_opacity), alpha(style.opacity));
    let density = style.mode == Mode::Density;
    // Opacity per class rank (0 = accumulate density).
    let class_alpha = [
        faded_a,
        if density { 0 } else { normal_a },
        if density { 0 } else { 255 },
    ];
    let entry_of = |i: usize| -> Option<(u8, Entry)> {
        let rank = class_of(i).draw_rank()?;
        let a = class_alpha[rank as usize];
        if a == 0 && rank == 0 {
            return None;
        }
        let (px, py, q) = stamps.locate(view.to_pixel(coords[i]))?;
        if px + reach < 0 || py + reach < 0 || px - reach >= w as i32 || py - reach >= h as i32 {
            return None;
        }
        Some((
            rank,
            Entry {
                x: px as i16,
                y: py as i16,
                q: q as u8,
                a,
                color: colors.get(i).copied().unwrap_or(colors::DEFAULT_POINT),
            },
        ))
    };
    // Transformed points in row order, in chunks (one pass, in parallel when allowed).
    const CHUNK: usize = 65_536;
    let chunk_entries = |start: usize| -> Vec<(u8, Entry)> {
        (start..(start + CHUNK).min(coords.len()))
            .filter_map(entry_of)
            .collect()
    };
    let chunks: Vec<Vec<(u8, Entry)>> = if parallel {
        (0..coords.len().div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| chunk_entries(c * CHUNK))
            .collect()
    } else {
        (0..coords.len().div_ceil(CHUNK))
            .map(|c| chunk_entries(c * CHUNK))
            .collect()
    };
    let (binned, starts) = bin_by_band(chunks, h, reach);
    let draw_band = |(b, band): (usize, &mut [Rgba])| {
        let list = &binned[starts[b]..starts[b + 1]];
        draw_band(list, &stamps, style, band, w, (b * BAND_ROWS) as i32);
    };
    if parallel {
        image
            .par_chunks_mut(BAND_ROWS * w)
            .enumerate()
            .for_each(draw_band);
    } else {
        image
            .chunks_mut(BAND_ROWS * w)
            .enumerate()
            .for_each(draw_band);
    }
    image
}

/// Stable counting sort of the transformed points by (band, class rank): each band's list
/// is its faded, then normal, then top points, each in row order. A stamp crossing a band
/// edge goes in both bands. Returns the lists end to end and where each band's starts.
fn bin_by_band(chunks: Vec<Vec<(u8, Entry)>>, h: usize, reach: i32) -> (Vec<Entry>, Vec<usize>) {
    let bands = h.div_ceil(BAND_ROWS);
    let band_range = |e: &Entry| {
        let lo = (e.y as i32 - reach).max(0) as usize / BAND_ROWS;
        let hi = ((e.y as i32 + reach).min(h as i32 - 1)).max(0) as usize / BAND_ROWS;
        lo..=hi.min(bands - 1)
    };
    let mut starts = vec![0usize; bands * 3 + 1];
    for (rank, e) in chunks.iter().flatten() {
        for b in band_range(e) {
            starts[b * 3 + *rank as usize + 1] += 1;
        }
    }
    for k in 0..bands * 3 {
        starts[k + 1] += starts[k];
    }
    let mut next = starts.clone();
    let blank = Entry {
        x: 0,
        y: 0,
        q: 0,
        a: 0,
        color: [0; 4],
    };
    let mut binned = vec![blank; starts[bands * 3]];
    for (rank, e) in chunks.iter().flatten() {
        for b in band_range(e) {
            let slot = &mut next[b * 3 + *rank as usize];
            binned[*slot] = *e;
            *slot += 1;
        }
    }
    drop(chunks);
    let starts: Vec<usize> = (0..=bands).map(|b| starts[b * 3]).collect();
    (binned, starts)
}

/// Draw `list` (in order) into the band whose first row is `y0`.
fn draw_band(list: &[Entry], stamps: &Stamps, style: &Style, band: &mut [Rgba], w: usize, y0: i32) {
    let rows = (band.len() / w) as i32;
    let y1 = y0 + rows;
    let density = style.mode == Mode::Density;
    let mut sums: Vec<[u32; 4]> = if density {
        vec![[0; 4]; band.len()]
    } else {
        Vec::new()
    };
    let reach = stamps.reach;
    for e in list {
        let mask = &stamps.masks[e.q as usize];
        let (px, py) = (e.x as i32, e.y as i32);
        let inside = px >= reach && px + reach < w as i32 && py - reach >= y0 && py + reach < y1;
        if inside && e.a > 0 {
            // The whole stamp is in the band: no per-pixel checks.
            let base = (py - y0) as usize * w + px as usize;
            for &(dx, dy, cov) in mask {
                let idx = (base as isize + dy as isize * w as isize + dx as isize) as usize;
                blend(&mut band[idx], e.color, (cov * e.a as u32 + 127) / 255);
            }
            continue;
        }
        for &(dx, dy, cov) in mask {
            let (x, y) = (px + dx, py + dy);
            if x < 0 || x >= w as i32 || y < y0 || y >= y1 {
                continue;
            }
            let idx = (y - y0) as usize * w + x as usize;
            if e.a > 0 {
                blend(&mut band[idx], e.color, (cov * e.a as u32 + 127) / 255);
            } else {
                let s = &mut sums[idx];
                for (sum, &c) in s.iter_mut().zip(&e.color[..3]) {
                    *sum = sum.saturating_add(c as u32 * cov);
                }
                s[3] = s[3].saturating_add(cov);
            }
        }
    }
    if density {
        // Brightness by log density relative to a point's full coverage (255): one point is
        // faint, ~50 overlapping points are full strength.
        let full = (1.0f32 + 50.0).ln();
        for (dst, s) in band.iter_mut().zip(&sums) {
            if s[3] == 0 {
                continue;
            }
            let mean = [
                (s[0] / s[3]) as u8,
                (s[1] / s[3]) as u8,
                (s[2] / s[3]) as u8,
                255,
            ];
            let count = s[3] as f32 / 255.0;
            let strength = (0.25 + 0.75 * (1.0 + count).ln() / full).min(1.0);
            let a = (strength * style.opacity.clamp(0.0, 1.0).max(0.3) * 255.0) as u32;
            blend(dst, mean, a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(mode: Mode) -> Style {
        Style {
            radius_px: 2.0,
            opacity: 1.0,
            faded_opacity: 0.2,
            mode,
            background: [0, 0, 0, 255],
        }
    }

    fn blobs(n: usize) -> (Vec<[f32; 2]>, Vec<Rgba>) {
        let coords = (0..n)
            .map(|i| {
                let t = i as f32 * 0.618;
                [(t * 7.3).sin() * 10.0, (t * 3.1).cos() * 6.0]
            })
            .collect();
        let colors = (0..n).map(|i| colors::category(i % 5)).collect();
        (coords, colors)
    }

    #[test]
    fn a_point_is_drawn_where_it_is_and_nowhere_else() {
        let view = Viewport {
            center: [0.0, 0.0],
            px_per_unit: 10.0,
            width: 40,
            height: 30,
        };
        let img = rasterize(
            &[[1.0, 1.0]],
            &[[255, 0, 0, 255]],
            None,
            &view,
            &style(Mode::Points),
            false,
        );
        // Layout (1, 1) is pixel (30, 5): right of centre, above it.
        assert_eq!(view.to_pixel([1.0, 1.0]), [30.0, 5.0]);
        let at = |x: usize, y: usize| img[y * 40 + x];
        assert_eq!(at(30, 5), [255, 0, 0, 255]);
        assert_eq!(at(29, 4), [255, 0, 0, 255]);
        assert_eq!(at(10, 20), [0, 0, 0, 255]);
        let lit = img.iter().filter(|p| p[0] > 0).count();
        // A disc of radius 2 covers about 4π pixels.
        assert!((10..=24).contains(&lit), "{lit} pixels lit");
    }

    #[test]
    fn bands_give_the_same_image_as_one_thread() {
        let (coords, colors) = blobs(5_000);
        let view = Viewport::fit(&coords, 203, 151, 4.0);
        let all = [
            PointClass::Hidden,
            PointClass::Faded,
            PointClass::Normal,
            PointClass::Top,
        ];
        let classes: Vec<PointClass> = (0..coords.len()).map(|i| all[i % 4]).collect();
        for mode in [Mode::Points, Mode::Density] {
            let s = style(mode);
            let one = rasterize(&coords, &colors, Some(&classes), &view, &s, false);
            let many = rasterize(&coords, &colors, Some(&classes), &view, &s, true);
            assert!(one == many, "{mode:?}");
        }
    }

    #[test]
    fn top_points_cover_normal_ones_and_hidden_ones_are_not_drawn() {
        let view = Viewport {
            center: [0.0, 0.0],
            px_per_unit: 1.0,
            width: 20,
            height: 20,
        };
        let coords = [[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]];
        let colors = [[255, 0, 0, 255], [0, 0, 255, 255], [0, 255, 0, 255]];
        // The red point comes first but is on top; the green one is hidden.
        let img = rasterize(
            &coords,
            &colors,
            Some(&[PointClass::Top, PointClass::Normal, PointClass::Hidden]),
            &view,
            &style(Mode::Points),
            false,
        );
        assert_eq!(img[10 * 20 + 10], [255, 0, 0, 255]);
        assert!(img.iter().all(|p| p[1] == 0), "hidden point drawn");
    }

    #[test]
    fn density_is_brighter_where_points_pile_up() {
        let view = Viewport {
            center: [0.0, 0.0],
            px_per_unit: 1.0,
            width: 30,
            height: 10,
        };
        let mut coords = vec![[-10.0, 0.0]];
        coords.extend(std::iter::repeat_n([10.0, 0.0], 40));
        let colors = vec![[200, 200, 200, 255]; coords.len()];
        let img = rasterize(&coords, &colors, None, &view, &style(Mode::Density), false);
        let lone = img[5 * 30 + 5][0];
        let pile = img[5 * 30 + 25][0];
        assert!(lone > 0 && pile > lone, "lone {lone}, pile {pile}");
    }

    #[test]
    fn non_finite_and_far_points_are_skipped() {
        let view = Viewport::fit(&[[0.0, 0.0], [1.0, 1.0]], 16, 16, 2.0);
        let coords = [[f32::NAN, 0.0], [1e30, 1e30], [0.5, 0.5]];
        let img = rasterize(
            &coords,
            &[[255, 255, 255, 255]; 3],
            None,
            &view,
            &style(Mode::Points),
            false,
        );
        assert!(img.iter().any(|p| p[0] == 255));
    }
}
