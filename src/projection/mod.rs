//! UMAP on CPU threads: parameters, the fuzzy simplicial set over a kNN graph, a seeded PCA
//! initialisation, and deterministic parallel SGD epochs. Same seed, same map.

pub mod curve;
pub mod fuzzy;
pub mod init;
pub mod onto;
pub mod quality;
pub mod sgd;

use rayon::prelude::*;

use crate::neighbors::{KnnGraph, Metric};
use crate::progress::{CancelToken, Progress, Stage};
use crate::util::linalg::Rows;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("layout cancelled")]
    Cancelled,
    #[error("invalid UMAP parameter: {0}")]
    Params(String),
}

/// UMAP parameters (umap-learn's names and defaults).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UmapParams {
    /// Neighbourhood size, counting the point itself (umap-learn's convention).
    pub n_neighbors: usize,
    pub min_dist: f32,
    pub spread: f32,
    pub metric: Metric,
    /// SGD epochs; `None`: 500 up to 10,000 points, else 200.
    pub n_epochs: Option<usize>,
    pub learning_rate: f32,
    pub repulsion_strength: f32,
    pub negative_sample_rate: f32,
    pub seed: u64,
}

impl Default for UmapParams {
    fn default() -> Self {
        UmapParams {
            n_neighbors: 15,
            min_dist: 0.1,
            spread: 1.0,
            metric: Metric::Cosine,
            n_epochs: None,
            learning_rate: 1.0,
            repulsion_strength: 1.0,
            negative_sample_rate: 5.0,
            seed: 42,
        }
    }
}

impl UmapParams {
    pub fn validate(&self) -> Result<(), ProjectionError> {
        let bad = |m: String| Err(ProjectionError::Params(m));
        if self.n_neighbors < 2 {
            return bad(format!(
                "n_neighbors must be at least 2, got {}",
                self.n_neighbors
            ));
        }
        if !(self.spread.is_finite() && self.spread > 0.0) {
            return bad(format!("spread must be positive, got {}", self.spread));
        }
        if !(self.min_dist.is_finite() && self.min_dist >= 0.0 && self.min_dist <= self.spread) {
            return bad(format!(
                "min_dist must be between 0 and spread ({}), got {}",
                self.spread, self.min_dist
            ));
        }
        if self.n_epochs == Some(0) {
            return bad("epochs must be at least 1".into());
        }
        for (name, v) in [
            ("learning_rate", self.learning_rate),
            ("repulsion_strength", self.repulsion_strength),
            ("negative_sample_rate", self.negative_sample_rate),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(format!("{name} must be positive, got {v}"));
            }
        }
        Ok(())
    }

    /// The number of epochs for `n` points.
    pub fn epochs_for(&self, n: usize) -> usize {
        self.n_epochs.unwrap_or(if n <= 10_000 { 500 } else { 200 })
    }
}

/// Seconds per part of the layout.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct LayoutTimings {
    pub graph_s: f64,
    pub init_s: f64,
    pub sgd_s: f64,
}

/// Lay out `rows` (the vectors the kNN graph was built on) in 2-D.
pub fn umap_layout(
    rows: Rows<'_>,
    knn: &KnnGraph,
    params: &UmapParams,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Vec<[f32; 2]>, ProjectionError> {
    umap_layout_timed(rows, knn, params, progress, cancel).map(|(c, _)| c)
}

/// [`umap_layout`], also returning how long the fuzzy graph, the initialisation and the SGD
/// epochs took.
pub fn umap_layout_timed(
    rows: Rows<'_>,
    knn: &KnnGraph,
    params: &UmapParams,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(Vec<[f32; 2]>, LayoutTimings), ProjectionError> {
    params.validate()?;
    let n = knn.n;
    let mut timings = LayoutTimings::default();
    let t = std::time::Instant::now();
    progress.report(Stage::Graph, 0, 1);
    let graph = fuzzy::fuzzy_graph(knn, params.n_neighbors);
    progress.report(Stage::Graph, 1, 1);
    timings.graph_s = t.elapsed().as_secs_f64();
    if cancel.is_cancelled() {
        return Err(ProjectionError::Cancelled);
    }
    let t = std::time::Instant::now();
    let mut coords = init::pca_init(rows.data(), rows.dims(), params.seed);
    // umap-learn rescales the initial layout into [0, 10]² before the epochs.
    for axis in 0..2 {
        let (lo, hi) = coords
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), c| {
                (lo.min(c[axis]), hi.max(c[axis]))
            });
        if n > 0 && hi > lo {
            coords
                .iter_mut()
                .for_each(|c| c[axis] = 10.0 * (c[axis] - lo) / (hi - lo));
        }
    }
    timings.init_s = t.elapsed().as_secs_f64();
    if progress.wants_layout_snapshots() {
        progress.layout_snapshot(&coords);
    }
    let t = std::time::Instant::now();
    let (a, b) = curve::find_ab(params.spread as f64, params.min_dist as f64);
    let sgd = sgd::SgdParams {
        a: a as f32,
        b: b as f32,
        n_epochs: params.epochs_for(n),
        learning_rate: params.learning_rate,
        repulsion_strength: params.repulsion_strength,
        negative_sample_rate: params.negative_sample_rate,
        seed: params.seed,
    };
    // The epochs run on points renumbered along a Z-order curve of the initial layout, so a
    // point's graph neighbours (close in the layout) sit close in memory; the coordinates
    // are put back in row order afterwards.
    let order = z_order(&coords);
    let graph = permute_graph(graph, &order);
    let mut local: Vec<[f32; 2]> = order.iter().map(|&o| coords[o as usize]).collect();
    let unpermuted = Unpermute {
        inner: progress,
        order: &order,
    };
    let finished = sgd::optimize(&graph, &mut local, &sgd, &unpermuted, cancel);
    unpermute(&order, &local, &mut coords);
    if !finished {
        return Err(ProjectionError::Cancelled);
    }
    timings.sgd_s = t.elapsed().as_secs_f64();
    Ok((coords, timings))
}

/// Rows sorted by the Z-order (Morton) code of their position: `order[new] = old`.
fn z_order(coords: &[[f32; 2]]) -> Vec<u32> {
    let (lo, hi) = coords.iter().fold(
        ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]),
        |(lo, hi), c| {
            (
                [lo[0].min(c[0]), lo[1].min(c[1])],
                [hi[0].max(c[0]), hi[1].max(c[1])],
            )
        },
    );
    let quantise = |v: f32, a: usize| {
        let span = (hi[a] - lo[a]).max(1e-12);
        (((v - lo[a]) / span).clamp(0.0, 1.0) * 65_535.0) as u32
    };
    // Spread the 16 bits of x to the even bit positions.
    let spread = |mut x: u64| {
        x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
        x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
        x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        x = (x | (x << 2)) & 0x3333_3333_3333_3333;
        (x | (x << 1)) & 0x5555_5555_5555_5555
    };
    let mut keyed: Vec<(u64, u32)> = coords
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let code = spread(quantise(c[0], 0) as u64) | (spread(quantise(c[1], 1) as u64) << 1);
            (code, i as u32)
        })
        .collect();
    keyed.par_sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The graph with its points renumbered: new point `k` is old point `order[k]`.
fn permute_graph(g: fuzzy::FuzzyGraph, order: &[u32]) -> fuzzy::FuzzyGraph {
    let mut inverse = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        inverse[old as usize] = new as u32;
    }
    let mut indptr = Vec::with_capacity(g.n + 1);
    indptr.push(0);
    for &old in order {
        let o = old as usize;
        indptr.push(indptr.last().copied().unwrap_or(0) + (g.indptr[o + 1] - g.indptr[o]));
    }
    let mut tails = vec![0u32; g.n_edges()];
    let mut weights = vec![0f32; g.n_edges()];
    {
        // Each new row's slice of the edge arrays, filled in parallel.
        let mut parts = Vec::with_capacity(order.len());
        let (mut rest_t, mut rest_w) = (&mut tails[..], &mut weights[..]);
        for &old in order {
            let o = old as usize;
            let len = g.indptr[o + 1] - g.indptr[o];
            let (t, rt) = rest_t.split_at_mut(len);
            let (w, rw) = rest_w.split_at_mut(len);
            rest_t = rt;
            rest_w = rw;
            parts.push((o, t, w));
        }
        parts.into_par_iter().for_each(|(o, t, w)| {
            let mut row: Vec<(u32, f32)> = (g.indptr[o]..g.indptr[o + 1])
                .map(|e| (inverse[g.tails[e] as usize], g.weights[e]))
                .collect();
            row.sort_unstable_by_key(|r| r.0);
            for (k, (tail, weight)) in row.into_iter().enumerate() {
                t[k] = tail;
                w[k] = weight;
            }
        });
    }
    fuzzy::FuzzyGraph {
        n: g.n,
        indptr,
        tails,
        weights,
    }
}

/// `out[order[new]] = renumbered[new]`: coordinates of renumbered points back in row order.
fn unpermute(order: &[u32], renumbered: &[[f32; 2]], out: &mut [[f32; 2]]) {
    for (&old, &c) in order.iter().zip(renumbered) {
        out[old as usize] = c;
    }
}

/// Passes layout snapshots on in row order.
struct Unpermute<'a> {
    inner: &'a dyn Progress,
    order: &'a [u32],
}

impl Progress for Unpermute<'_> {
    fn report(&self, stage: Stage, done: u64, total: u64) {
        self.inner.report(stage, done, total);
    }

    fn layout_snapshot(&self, coords: &[[f32; 2]]) {
        let mut out = vec![[0.0f32; 2]; coords.len()];
        unpermute(self.order, coords, &mut out);
        self.inner.layout_snapshot(&out);
    }

    fn wants_layout_snapshots(&self) -> bool {
        self.inner.wants_layout_snapshots()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbors::exact_knn;
    use crate::progress::NoProgress;
    use crate::testing::blobs;

    fn layout(data: &[f32], dims: usize, params: &UmapParams) -> Vec<[f32; 2]> {
        let knn = exact_knn(
            Rows::new(data, dims).unwrap(),
            params.n_neighbors - 1,
            params.metric,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        umap_layout(
            Rows::new(data, dims).unwrap(),
            &knn,
            params,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap()
    }

    #[test]
    fn layout_is_finite_trustworthy_and_seeded() {
        let (data, _) = blobs(1200, 32, 8, 3);
        let params = UmapParams {
            n_epochs: Some(200),
            ..Default::default()
        };
        let a = layout(&data, 32, &params);
        assert!(a.iter().all(|c| c[0].is_finite() && c[1].is_finite()));
        let t = quality::trustworthiness(&data, 32, &a, 15, Metric::Cosine);
        assert!(t >= 0.9, "trustworthiness@15 = {t}");
        let single = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| layout(&data, 32, &params));
        assert_eq!(
            a, single,
            "same seed, same layout, whatever the thread count"
        );
        let other = layout(
            &data,
            32,
            &UmapParams {
                seed: 7,
                ..params.clone()
            },
        );
        assert_ne!(a, other, "another seed gives another layout");
    }

    #[test]
    fn disconnected_components_stay_compact_and_apart() {
        // Four tight clusters far apart: the kNN graph has four components.
        let (dims, per) = (16, 150);
        let (data, _) = blobs(per * 4, dims, 4, 9);
        let mut far = data.clone();
        for (i, row) in far.chunks_mut(dims).enumerate() {
            row[i % 4] += 50.0;
        }
        let params = UmapParams {
            metric: Metric::Euclidean,
            n_epochs: Some(200),
            ..Default::default()
        };
        let knn = exact_knn(
            Rows::new(&far, dims).unwrap(),
            14,
            Metric::Euclidean,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        for i in 0..knn.n {
            assert!(knn.neighbors(i).0.iter().all(|&j| j as usize % 4 == i % 4));
        }
        let c = umap_layout(
            Rows::new(&far, dims).unwrap(),
            &knn,
            &params,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        assert!(c.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        let centre = |k: usize| {
            let pts: Vec<&[f32; 2]> = c.iter().skip(k).step_by(4).collect();
            let m = pts.len() as f32;
            [
                pts.iter().map(|p| p[0]).sum::<f32>() / m,
                pts.iter().map(|p| p[1]).sum::<f32>() / m,
            ]
        };
        let dist =
            |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
        let radius = (0..4)
            .map(|k| {
                let m = centre(k);
                c.iter()
                    .skip(k)
                    .step_by(4)
                    .map(|p| dist(*p, m))
                    .fold(0.0f32, f32::max)
            })
            .fold(0.0f32, f32::max);
        let mut gaps = Vec::new();
        for a in 0..4 {
            for b in a + 1..4 {
                gaps.push(dist(centre(a), centre(b)));
            }
        }
        let (min_gap, max_gap) = gaps.iter().fold((f32::INFINITY, 0.0f32), |(lo, hi), &g| {
            (lo.min(g), hi.max(g))
        });
        // Each component is a separate island, and none drifted off: the whole map spans a
        // few island widths, not hundreds.
        assert!(
            min_gap > radius,
            "islands overlap: gap {min_gap}, radius {radius}"
        );
        assert!(
            max_gap < 15.0 * radius,
            "an island drifted off: gap {max_gap}, radius {radius}"
        );
    }

    #[test]
    fn renumbering_keeps_the_graph() {
        let (data, _) = blobs(400, 8, 4, 5);
        let knn = exact_knn(
            Rows::new(&data, 8).unwrap(),
            10,
            Metric::Cosine,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        let g = fuzzy::fuzzy_graph(&knn, 11);
        let coords = init::pca_init(&data, 8, 1);
        let order = z_order(&coords);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..400).collect::<Vec<u32>>(), "a permutation");
        let p = permute_graph(g.clone(), &order);
        assert_eq!(p.n_edges(), g.n_edges());
        // Every edge (old i → old j, w) is (new i → new j, w).
        for (new, &old) in order.iter().enumerate() {
            let o = old as usize;
            let mut want: Vec<(u32, u32)> = (g.indptr[o]..g.indptr[o + 1])
                .map(|e| (g.tails[e], g.weights[e].to_bits()))
                .collect();
            let mut got: Vec<(u32, u32)> = (p.indptr[new]..p.indptr[new + 1])
                .map(|e| (order[p.tails[e] as usize], p.weights[e].to_bits()))
                .collect();
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "row {old}");
        }
    }

    #[test]
    fn degenerate_inputs_give_finite_layouts() {
        // All points identical.
        let data = vec![0.5f32; 40 * 4];
        let c = layout(&data, 4, &UmapParams::default());
        assert!(c.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        // Two points.
        let c = layout(&[1.0, 0.0, 0.0, 1.0], 2, &UmapParams::default());
        assert_eq!(c.len(), 2);
        assert!(c.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
    }

    #[test]
    fn parameters_are_validated() {
        let p = UmapParams {
            n_neighbors: 1,
            ..Default::default()
        };
        assert!(p.validate().is_err());
        let p = UmapParams {
            min_dist: 2.0,
            ..Default::default()
        };
        assert!(p.validate().is_err());
    }
}
