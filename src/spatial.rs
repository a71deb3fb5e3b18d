//! A uniform grid over a 2-D layout for picking (nearest point to the cursor) and region
//! selection (box, lasso) without touching every point.

/// Points bucketed into square cells; each cell's rows are contiguous in `rows`.
#[derive(Clone, Debug)]
pub struct GridIndex {
    origin: [f32; 2],
    cell: f32,
    nx: usize,
    ny: usize,
    /// `starts[c]..starts[c + 1]` indexes `rows` for cell c (row-major, y up).
    starts: Vec<u32>,
    rows: Vec<u32>,
    len: usize,
}

/// A closed polygon in layout coordinates (the lasso).
pub type Polygon = [[f32; 2]];

impl GridIndex {
    /// Bucket the finite points of `coords` (about 4 per cell on average).
    pub fn build(coords: &[[f32; 2]]) -> GridIndex {
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        let mut finite = 0usize;
        for p in coords {
            if p[0].is_finite() && p[1].is_finite() {
                finite += 1;
                for a in 0..2 {
                    lo[a] = lo[a].min(p[a]);
                    hi[a] = hi[a].max(p[a]);
                }
            }
        }
        if finite == 0 {
            return GridIndex {
                origin: [0.0, 0.0],
                cell: 1.0,
                nx: 1,
                ny: 1,
                starts: vec![0, 0],
                rows: Vec::new(),
                len: coords.len(),
            };
        }
        let span = [(hi[0] - lo[0]).max(1e-6), (hi[1] - lo[1]).max(1e-6)];
        let cells = (finite / 4).clamp(1, 1 << 22) as f32;
        let cell = ((span[0] * span[1]) / cells)
            .sqrt()
            .max(span[0].max(span[1]) / 4096.0);
        let nx = ((span[0] / cell).floor() as usize + 1).min(4097);
        let ny = ((span[1] / cell).floor() as usize + 1).min(4097);
        let mut index = GridIndex {
            origin: lo,
            cell,
            nx,
            ny,
            starts: vec![0; nx * ny + 1],
            rows: Vec::with_capacity(finite),
            len: coords.len(),
        };
        // Counting sort by cell.
        let cell_of: Vec<u32> = coords
            .iter()
            .map(|p| match index.cell_of(*p) {
                Some(c) => c as u32,
                None => u32::MAX,
            })
            .collect();
        for &c in &cell_of {
            if c != u32::MAX {
                index.starts[c as usize + 1] += 1;
            }
        }
        for c in 0..nx * ny {
            index.starts[c + 1] += index.starts[c];
        }
        let mut next = index.starts.clone();
        index.rows = vec![0; finite];
        for (i, &c) in cell_of.iter().enumerate() {
            if c != u32::MAX {
                let slot = &mut next[c as usize];
                index.rows[*slot as usize] = i as u32;
                *slot += 1;
            }
        }
        index
    }

    /// How many points the index was built over (finite or not).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn cell_xy(&self, p: [f32; 2]) -> (isize, isize) {
        (
            ((p[0] - self.origin[0]) / self.cell).floor() as isize,
            ((p[1] - self.origin[1]) / self.cell).floor() as isize,
        )
    }

    fn cell_of(&self, p: [f32; 2]) -> Option<usize> {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return None;
        }
        let (cx, cy) = self.cell_xy(p);
        let cx = cx.clamp(0, self.nx as isize - 1) as usize;
        let cy = cy.clamp(0, self.ny as isize - 1) as usize;
        Some(cy * self.nx + cx)
    }

    fn cell_rows(&self, cx: usize, cy: usize) -> &[u32] {
        let c = cy * self.nx + cx;
        &self.rows[self.starts[c] as usize..self.starts[c + 1] as usize]
    }

    /// Visit the rows of every cell overlapping the box `lo..hi`.
    fn for_cells_in(&self, lo: [f32; 2], hi: [f32; 2], mut f: impl FnMut(&[u32])) {
        let (x0, y0) = self.cell_xy(lo);
        let (x1, y1) = self.cell_xy(hi);
        let cx = |v: isize| v.clamp(0, self.nx as isize - 1) as usize;
        let cy = |v: isize| v.clamp(0, self.ny as isize - 1) as usize;
        if x1 < 0 || y1 < 0 || x0 >= self.nx as isize || y0 >= self.ny as isize {
            return;
        }
        for y in cy(y0)..=cy(y1) {
            for x in cx(x0)..=cx(x1) {
                f(self.cell_rows(x, y));
            }
        }
    }

    /// The row nearest to `p` within `max_dist` among the rows `accept` lets through; ties go
    /// to the higher row (drawn later, so on top).
    pub fn nearest(
        &self,
        coords: &[[f32; 2]],
        p: [f32; 2],
        max_dist: f32,
        accept: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        if !(p[0].is_finite() && p[1].is_finite() && max_dist >= 0.0) {
            return None;
        }
        let mut best: Option<(usize, f32)> = None;
        let r2 = max_dist * max_dist;
        self.for_cells_in(
            [p[0] - max_dist, p[1] - max_dist],
            [p[0] + max_dist, p[1] + max_dist],
            |rows| {
                for &r in rows {
                    let q = coords[r as usize];
                    let d2 = (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2);
                    let better = match best {
                        None => true,
                        Some((b, bd)) => d2 < bd || (d2 == bd && r as usize > b),
                    };
                    if d2 <= r2 && better && accept(r as usize) {
                        best = Some((r as usize, d2));
                    }
                }
            },
        );
        best.map(|(r, _)| r)
    }

    /// Rows inside the axis-aligned box spanned by `a` and `b` (edges included).
    pub fn in_box(&self, coords: &[[f32; 2]], a: [f32; 2], b: [f32; 2]) -> Vec<u32> {
        let lo = [a[0].min(b[0]), a[1].min(b[1])];
        let hi = [a[0].max(b[0]), a[1].max(b[1])];
        let mut out = Vec::new();
        self.for_cells_in(lo, hi, |rows| {
            out.extend(rows.iter().copied().filter(|&r| {
                let q = coords[r as usize];
                q[0] >= lo[0] && q[0] <= hi[0] && q[1] >= lo[1] && q[1] <= hi[1]
            }))
        });
        out.sort_unstable();
        out
    }

    /// Rows inside `polygon` (even-odd rule), in increasing order.
    pub fn in_polygon(&self, coords: &[[f32; 2]], polygon: &Polygon) -> Vec<u32> {
        if polygon.len() < 3 {
            return Vec::new();
        }
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for p in polygon {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let mut out = Vec::new();
        self.for_cells_in(lo, hi, |rows| {
            out.extend(
                rows.iter()
                    .copied()
                    .filter(|&r| point_in_polygon(coords[r as usize], polygon)),
            )
        });
        out.sort_unstable();
        out
    }
}

/// Even-odd rule.
pub fn point_in_polygon(p: [f32; 2], polygon: &Polygon) -> bool {
    let mut inside = false;
    let mut j = polygon.len() - 1;
    for i in 0..polygon.len() {
        let (a, b) = (polygon[i], polygon[j]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn points(n: usize) -> Vec<[f32; 2]> {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
        (0..n)
            .map(|i| {
                // Two dense clusters and a sparse background.
                let c = match i % 3 {
                    0 => [0.0, 0.0],
                    1 => [20.0, 5.0],
                    _ => [rng.random_range(-30.0..30.0), rng.random_range(-30.0..30.0)],
                };
                [
                    c[0] + rng.random_range(-1.0..1.0f32),
                    c[1] + rng.random_range(-1.0..1.0f32),
                ]
            })
            .collect()
    }

    #[test]
    fn nearest_matches_a_linear_scan() {
        let coords = points(5_000);
        let index = GridIndex::build(&coords);
        let mut rng = rand_pcg::Pcg64::seed_from_u64(8);
        for _ in 0..500 {
            let p = [rng.random_range(-32.0..32.0), rng.random_range(-32.0..32.0)];
            let max = rng.random_range(0.01..3.0f32);
            let accept = |r: usize| !r.is_multiple_of(5);
            let expected = coords
                .iter()
                .enumerate()
                .filter(|(r, _)| accept(*r))
                .map(|(r, q)| (r, (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2)))
                .filter(|(_, d2)| *d2 <= max * max)
                .min_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(r, _)| r);
            assert_eq!(
                index.nearest(&coords, p, max, accept),
                expected,
                "at {p:?} within {max}"
            );
        }
    }

    #[test]
    fn box_and_polygon_match_a_linear_scan() {
        let coords = points(3_000);
        let index = GridIndex::build(&coords);
        let (a, b) = ([22.0, 7.0], [-1.0, -0.5]);
        let expected: Vec<u32> = (0..coords.len() as u32)
            .filter(|&r| {
                let q = coords[r as usize];
                q[0] >= -1.0 && q[0] <= 22.0 && q[1] >= -0.5 && q[1] <= 7.0
            })
            .collect();
        assert!(expected.len() > 500);
        assert_eq!(index.in_box(&coords, a, b), expected);
        let star: Vec<[f32; 2]> = (0..10)
            .map(|k| {
                let t = k as f32 * std::f32::consts::TAU / 10.0;
                let r = if k % 2 == 0 { 25.0 } else { 8.0 };
                [r * t.cos(), r * t.sin()]
            })
            .collect();
        let expected: Vec<u32> = (0..coords.len() as u32)
            .filter(|&r| point_in_polygon(coords[r as usize], &star))
            .collect();
        assert!(expected.len() > 500);
        assert_eq!(index.in_polygon(&coords, &star), expected);
        assert!(index.in_polygon(&coords, &star[..2]).is_empty());
    }

    #[test]
    fn empty_and_degenerate_layouts() {
        let index = GridIndex::build(&[]);
        assert_eq!(index.nearest(&[], [0.0, 0.0], 1.0, |_| true), None);
        let same = vec![[1.0, 1.0]; 10];
        let index = GridIndex::build(&same);
        assert_eq!(index.nearest(&same, [1.0, 1.0], 0.1, |_| true), Some(9));
        let with_nan = vec![[f32::NAN, 0.0], [0.0, 0.0]];
        let index = GridIndex::build(&with_nan);
        assert_eq!(index.nearest(&with_nan, [0.0, 0.0], 1.0, |_| true), Some(1));
        assert_eq!(index.in_box(&with_nan, [-1.0, -1.0], [1.0, 1.0]), vec![1]);
    }
}
