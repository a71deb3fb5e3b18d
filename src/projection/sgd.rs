//! UMAP's SGD epochs (umap-learn's `optimize_layout_euclidean`), parallel and deterministic.
//!
//! Each epoch reads the layout of the previous epoch (a snapshot) and moves every point
//! only by its own edges: a point's update depends on the snapshot, its own position and a
//! random stream seeded by (seed, epoch, block of points). Blocks have a fixed size, so the
//! layout is bit-identical whatever the number of threads. Because the fuzzy graph is
//! symmetric, the edge j→i moves j exactly as umap-learn's `move_other` would.

use rand::{Rng, RngCore, SeedableRng};
use rayon::prelude::*;

use super::fuzzy::FuzzyGraph;
use crate::progress::{CancelToken, Progress, Stage};

/// Points per block of work; also the unit of the per-block random streams.
const BLOCK: usize = 256;
/// Points in a block's negative-sample pool: 2^POOL_BITS.
const POOL_BITS: u32 = 9;
const NEGATIVE_POOL: usize = 1 << POOL_BITS;
const GRAD_CLIP: f32 = 4.0;

pub struct SgdParams {
    pub a: f32,
    pub b: f32,
    pub n_epochs: usize,
    pub learning_rate: f32,
    pub repulsion_strength: f32,
    pub negative_sample_rate: f32,
    pub seed: u64,
}

/// A function of the squared distance `d2` by table lookup and linear interpolation: the
/// table holds `f` at 256 points per octave over 2^-40 … 2^40 (indexed by the float's
/// exponent and top 8 mantissa bits); outside that range [`CurveTable::get`] returns `None`
/// and the caller evaluates the formula. The SGD's two gradient coefficients are smooth
/// power laws of `d2` (relative error below 4e-5 for UMAP's curves, tested), and replacing their `powf` and
/// division by a lookup is what makes the inner loop fast: it runs ~10⁹ times.
pub struct CurveTable {
    table: Vec<f32>,
}

const TABLE_EXP_MIN: i32 = -40;
const TABLE_EXP_MAX: i32 = 40;
const TABLE_MANTISSA_BITS: u32 = 8;

impl CurveTable {
    pub fn new(f: impl Fn(f64) -> f64) -> CurveTable {
        let per_octave = 1usize << TABLE_MANTISSA_BITS;
        let octaves = (TABLE_EXP_MAX - TABLE_EXP_MIN) as usize;
        let table = (0..=octaves * per_octave)
            .map(|i| {
                let e = TABLE_EXP_MIN + (i / per_octave) as i32;
                let m = 1.0 + (i % per_octave) as f64 / per_octave as f64;
                f(m * 2f64.powi(e)) as f32
            })
            .collect();
        CurveTable { table }
    }

    #[inline]
    pub fn get(&self, x: f32) -> Option<f32> {
        let bits = x.to_bits();
        let e = ((bits >> 23) & 0xff) as i32 - 127;
        if !(TABLE_EXP_MIN..TABLE_EXP_MAX).contains(&e) {
            return None;
        }
        let shift = 23 - TABLE_MANTISSA_BITS;
        let m = ((bits & 0x007f_ffff) >> shift) as usize;
        let frac = (bits & ((1 << shift) - 1)) as f32 * (1.0 / (1u32 << shift) as f32);
        let i = (((e - TABLE_EXP_MIN) as usize) << TABLE_MANTISSA_BITS) | m;
        let (lo, hi) = (self.table[i], self.table[i + 1]);
        Some(lo + (hi - lo) * frac)
    }
}

/// umap-learn's attractive coefficient for an edge at squared distance `d2 > 0`:
/// `−2ab·d2^(b−1) / (1 + a·d2^b)`.
pub(super) fn attraction(a: f64, b: f64, d2: f64) -> f64 {
    -2.0 * a * b * d2.powf(b - 1.0) / (1.0 + a * d2.powf(b))
}

/// umap-learn's repulsive coefficient for a negative sample at squared distance `d2 > 0`:
/// `2γb / ((0.001 + d2)(1 + a·d2^b))`.
pub(super) fn repulsion(a: f64, b: f64, gamma: f64, d2: f64) -> f64 {
    2.0 * gamma * b / ((0.001 + d2) * (1.0 + a * d2.powf(b)))
}

/// UMAP's two gradient coefficients for one layout (its `a`, `b`, repulsion `γ`), by table
/// with the formula outside it; the one step both the fit and `--onto` take per edge.
pub(super) struct Curves {
    a: f64,
    b: f64,
    gamma: f64,
    attract: CurveTable,
    repulse: CurveTable,
}

impl Curves {
    pub(super) fn new(a: f64, b: f64, gamma: f64) -> Curves {
        Curves {
            a,
            b,
            gamma,
            attract: CurveTable::new(|d2| attraction(a, b, d2)),
            repulse: CurveTable::new(|d2| repulsion(a, b, gamma, d2)),
        }
    }

    /// Move `cur` towards `other` along an edge, by learning rate `alpha`.
    #[inline(always)]
    pub(super) fn attract(&self, cur: &mut [f32; 2], other: [f32; 2], alpha: f32) {
        let (dx, dy) = (cur[0] - other[0], cur[1] - other[1]);
        let d2 = dx * dx + dy * dy;
        if d2 > 0.0 {
            let coeff = self
                .attract
                .get(d2)
                .unwrap_or_else(|| attraction(self.a, self.b, d2 as f64) as f32);
            cur[0] += clip(coeff * dx) * alpha;
            cur[1] += clip(coeff * dy) * alpha;
        }
    }

    /// The (clipped) push of a negative sample at `other` on a point at `cur`, not yet
    /// scaled by the learning rate: a caller sums an edge's pushes, then moves once.
    #[inline(always)]
    pub(super) fn push(&self, cur: [f32; 2], other: [f32; 2]) -> [f32; 2] {
        let (dx, dy) = (cur[0] - other[0], cur[1] - other[1]);
        let d2 = dx * dx + dy * dy;
        if d2 > 0.0 {
            let coeff = self
                .repulse
                .get(d2)
                .unwrap_or_else(|| repulsion(self.a, self.b, self.gamma, d2 as f64) as f32);
            [clip(coeff * dx), clip(coeff * dy)]
        } else {
            [0.0, 0.0]
        }
    }
}

/// If an edge sampled at `rate` (= w / max_w, in (0, 1]; 0 = never) is due in `epoch ≥ 1`,
/// its sample number m ≥ 1: the m-th sample falls in the first epoch t with t · rate ≥ m,
/// as umap-learn's counters (next += max_w / w after each sample) place it.
#[inline]
pub(super) fn due(epoch: usize, rate: f32) -> Option<u32> {
    // Both products are ≥ 0 (epoch ≥ 1), so truncation is the floor.
    let m = (epoch as f32 * rate) as u32;
    (m > ((epoch - 1) as f32 * rate) as u32).then_some(m)
}

/// Negative samples drawn with an edge's m-th sample: ⌊m·rate⌋ − ⌊(m−1)·rate⌋, so `rate`
/// per sample on average (exactly, for a whole rate).
#[inline]
pub(super) fn negatives_for(m: u32, rate: f32) -> u32 {
    (m as f32 * rate) as u32 - ((m - 1) as f32 * rate) as u32
}

#[inline]
pub(super) fn clip(v: f32) -> f32 {
    v.clamp(-GRAD_CLIP, GRAD_CLIP)
}

/// How often (in epochs) progress and layout snapshots are reported.
pub fn report_every(n_epochs: usize) -> usize {
    (n_epochs / 50).max(1)
}

/// Run the epochs on `coords` in place. Returns `false` when cancelled.
pub fn optimize(
    graph: &FuzzyGraph,
    coords: &mut [[f32; 2]],
    p: &SgdParams,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> bool {
    let n = graph.n;
    if n < 2 || graph.n_edges() == 0 || p.n_epochs == 0 {
        return !cancel.is_cancelled();
    }
    let max_w = graph.weights.iter().copied().fold(0f32, f32::max);
    let (a, b, gamma) = (p.a as f64, p.b as f64, p.repulsion_strength as f64);
    let mut epoch = Epoch {
        graph,
        p,
        max_w,
        inv_max_w: 1.0 / max_w,
        min_rate: 1.0 / p.n_epochs as f32,
        curves: Curves::new(a, b, gamma),
        epoch: 0,
        alpha: 0.0,
    };
    let every = report_every(p.n_epochs);
    let mut previous = coords.to_vec();
    progress.report(Stage::Layout, 0, p.n_epochs as u64);

    // As in umap-learn, no edge is due in the first epoch (epoch 0): the points start moving
    // in the second.
    for e in 0..p.n_epochs {
        if cancel.is_cancelled() {
            return false;
        }
        epoch.epoch = e;
        epoch.alpha = p.learning_rate * (1.0 - e as f32 / p.n_epochs as f32);
        previous.copy_from_slice(coords);
        if e > 0 {
            let (epoch, snapshot) = (&epoch, &previous);
            coords
                .par_chunks_mut(BLOCK)
                .enumerate()
                .for_each(|(block, c)| epoch.run_block(block * BLOCK, c, snapshot));
        }
        if (e + 1) % every == 0 || e + 1 == p.n_epochs {
            progress.report(Stage::Layout, e as u64 + 1, p.n_epochs as u64);
            if progress.wants_layout_snapshots() {
                progress.layout_snapshot(coords);
            }
        }
    }
    true
}

/// One epoch's constants, shared by its parallel blocks.
struct Epoch<'a> {
    graph: &'a FuzzyGraph,
    p: &'a SgdParams,
    max_w: f32,
    inv_max_w: f32,
    /// Edges sampled less than once in the run are never sampled.
    min_rate: f32,
    curves: Curves,
    epoch: usize,
    /// The learning rate of this epoch.
    alpha: f32,
}

impl Epoch<'_> {
    /// umap-learn samples an edge of weight w every max_w / w epochs (never, for edges too
    /// weak to be sampled once in the run) by per-edge counters; here `due` and
    /// `negatives_for` derive the same schedule from the epoch number and the edge's rate
    /// w / max_w, so there is no per-edge state (three f64 arrays of the edges' length before).
    #[inline]
    fn rate_of(&self, w: f32) -> f32 {
        // A multiplication, not a division, per edge and epoch (exactly 1 for the strongest).
        let r = if w >= self.max_w {
            1.0
        } else {
            w * self.inv_max_w
        };
        if r >= self.min_rate { r } else { 0.0 }
    }

    /// Move the points `block_start..` (`c`) along their due edges and negative samples,
    /// reading the others' positions from `snapshot` (the layout at the epoch's start).
    fn run_block(&self, block_start: usize, c: &mut [[f32; 2]], snapshot: &[[f32; 2]]) {
        let (graph, p, alpha) = (self.graph, self.p, self.alpha);
        let n = graph.n;
        let mut rng = rand_pcg::Pcg32::seed_from_u64(
            p.seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add((self.epoch as u64) << 32)
                .wrapping_add(block_start as u64),
        );
        // The block's negative samples come from a pool of points drawn uniformly at the
        // block's start: each negative is still uniform over all points, but the pool sits
        // in L1 cache, where one random read per negative would wait on L2/L3 or memory
        // (most of the epochs' time before).
        let pool: Vec<(u32, [f32; 2])> = (0..NEGATIVE_POOL)
            .map(|_| {
                let k = rng.random_range(0..n as u32);
                (k, snapshot[k as usize])
            })
            .collect();
        for (offset, cur) in c.iter_mut().enumerate() {
            let i = block_start + offset;
            for e in graph.indptr[i]..graph.indptr[i + 1] {
                let Some(m) = due(self.epoch, self.rate_of(graph.weights[e])) else {
                    continue;
                };
                self.curves
                    .attract(cur, snapshot[graph.tails[e] as usize], alpha);
                let n_neg = negatives_for(m, p.negative_sample_rate) as usize;
                // The negative samples all push from the position after the positive
                // step and their (clipped) pushes are summed: independent of each other,
                // so the CPU overlaps them instead of waiting on each division in turn.
                let (mut gx, mut gy) = (0f32, 0f32);
                for _ in 0..n_neg {
                    // The pool's size is a power of two: the top bits are uniform.
                    let (k, other) = pool[(rng.next_u32() >> (32 - POOL_BITS)) as usize];
                    if k as usize == i {
                        continue;
                    }
                    let [px, py] = self.curves.push(*cur, other);
                    gx += px;
                    gy += py;
                }
                cur[0] += gx * alpha;
                cur[1] += gy * alpha;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    /// A ring: each point joined to its two neighbours.
    fn ring(n: usize) -> FuzzyGraph {
        let mut g = FuzzyGraph {
            n,
            indptr: vec![0],
            ..Default::default()
        };
        for i in 0..n {
            let mut t = [(i + n - 1) % n, (i + 1) % n];
            t.sort_unstable();
            for j in t {
                g.tails.push(j as u32);
                g.weights.push(1.0);
            }
            g.indptr.push(g.tails.len());
        }
        g
    }

    #[test]
    fn epochs_are_seeded_and_thread_count_free() {
        let n = 20 * BLOCK + 7;
        let g = ring(n);
        let start: Vec<[f32; 2]> = (0..n)
            .map(|i| {
                let t = i as f32 / n as f32 * std::f32::consts::TAU;
                [5.0 + 4.0 * t.cos(), 5.0 + 4.0 * t.sin()]
            })
            .collect();
        let p = SgdParams {
            a: 1.577,
            b: 0.895,
            n_epochs: 3,
            learning_rate: 1.0,
            repulsion_strength: 1.0,
            negative_sample_rate: 5.0,
            seed: 3,
        };
        let run = || {
            let mut c = start.clone();
            assert!(optimize(&g, &mut c, &p, &NoProgress, &CancelToken::new()));
            c
        };
        let a = run();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(run);
        assert!(a.iter().all(|c| c[0].is_finite() && c[1].is_finite()));
        assert!(a == one, "same seed, same layout on 1 thread");
        assert!(a != start, "the epochs moved the points");
    }

    #[test]
    fn the_schedule_is_umap_learns() {
        // umap-learn: next = e; in epoch t, sample when next ≤ t, then next += e (e = 1/rate).
        let n_epochs = 200;
        let mut mismatched = 0;
        let mut state = 12345u64;
        for k in 0..5_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let rate = match k {
                0 => 1.0,
                1 => 0.5,
                2 => 0.25,
                3 => 1.0 / n_epochs as f32,
                _ => ((state >> 40) as f32 / (1u64 << 24) as f32).max(1.0 / n_epochs as f32),
            };
            let e = 1.0 / rate as f64;
            let mut next = e;
            let mut theirs = Vec::new();
            for t in 0..n_epochs {
                if next <= t as f64 {
                    theirs.push(t);
                    next += e;
                }
            }
            let ours: Vec<usize> = (1..n_epochs).filter(|&t| due(t, rate).is_some()).collect();
            // Sample numbers run 1, 2, 3, … in the epochs they fall in.
            let numbers: Vec<u32> = ours.iter().map(|&t| due(t, rate).unwrap()).collect();
            assert_eq!(
                numbers,
                (1..=ours.len() as u32).collect::<Vec<_>>(),
                "rate {rate}"
            );
            if ours != theirs {
                // Only where t · rate lands on an integer up to rounding: one epoch apart.
                assert!(ours.len().abs_diff(theirs.len()) <= 1, "rate {rate}");
                mismatched += 1;
            }
        }
        assert!(
            mismatched <= 5,
            "{mismatched} of 5,000 rates scheduled differently"
        );
        // Negatives: `rate` per sample on average, exactly for a whole rate.
        assert!((1..=200).all(|m| negatives_for(m, 5.0) == 5));
        let total: u32 = (1..=200).map(|m| negatives_for(m, 2.5)).sum();
        assert_eq!(total, 500);
    }

    #[test]
    fn curve_tables_are_accurate() {
        for (a, b) in [
            (1.577f64, 0.895_060_8f64),
            (1.929, 0.791_5),
            (0.5, 1.9),
            (1.0, 1.0),
        ] {
            let attract = CurveTable::new(|d2| attraction(a, b, d2));
            let repulse = CurveTable::new(|d2| repulsion(a, b, 1.0, d2));
            let mut x = 1e-11f32;
            while x < 1e11 {
                for (table, exact) in [
                    (&attract, attraction(a, b, x as f64)),
                    (&repulse, repulsion(a, b, 1.0, x as f64)),
                ] {
                    let got = table.get(x).expect("in the table's range") as f64;
                    assert!(
                        ((got - exact) / exact).abs() < 4e-5,
                        "a {a} b {b} d2 {x}: {got} vs {exact}"
                    );
                }
                x *= 1.013;
            }
            assert!(attract.get(1e-30).is_none() && attract.get(1e30).is_none());
        }
    }
}
