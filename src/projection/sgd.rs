//! UMAP's SGD epochs (umap-learn's `optimize_layout_euclidean`), parallel and deterministic.
//!
//! Each epoch reads the layout of the previous epoch (a snapshot) and moves every point
//! only by its own edges: a point's update depends on the snapshot, its own position and a
//! random stream seeded by (seed, epoch, block of points). Blocks have a fixed size, so the
//! layout is bit-identical whatever the number of threads. Because the fuzzy graph is
//! symmetric, the edge j→i moves j exactly as umap-learn's `move_other` would.

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::fuzzy::FuzzyGraph;
use crate::progress::{CancelToken, Progress, Stage};

/// Points per block of work; also the unit of the per-block random streams.
const BLOCK: usize = 256;
/// From this many points on, negative samples are drawn from a per-block pool and the points
/// are renumbered along a Z-order curve for the epochs (the layout no longer fits a core's L2
/// cache: 250k points × 8 bytes = 2 MB).
pub const POOLED_FROM: usize = 250_000;
/// Points in a block's negative-sample pool.
const NEGATIVE_POOL: usize = 512;
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

/// `x^b` for a fixed `b` by table lookup and linear interpolation: the table holds `x^b` at
/// 1,024 points per octave over 2^-40 … 2^40 (indexed by the float's exponent and top 10
/// mantissa bits); outside that range it falls back to `powf`. Relative error below 1e-6;
/// several times faster than `powf` in the SGD's inner loop, where it is called ~10⁹ times.
pub struct PowTable {
    b: f32,
    table: Vec<f32>,
}

const POW_EXP_MIN: i32 = -40;
const POW_EXP_MAX: i32 = 40;
const POW_MANTISSA_BITS: u32 = 10;

impl PowTable {
    pub fn new(b: f32) -> PowTable {
        let per_octave = 1usize << POW_MANTISSA_BITS;
        let octaves = (POW_EXP_MAX - POW_EXP_MIN) as usize;
        let table = (0..=octaves * per_octave)
            .map(|i| {
                let e = POW_EXP_MIN + (i / per_octave) as i32;
                let m = 1.0 + (i % per_octave) as f64 / per_octave as f64;
                (m * 2f64.powi(e)).powf(b as f64) as f32
            })
            .collect();
        PowTable { b, table }
    }

    #[inline]
    pub fn pow(&self, x: f32) -> f32 {
        let bits = x.to_bits();
        let e = ((bits >> 23) & 0xff) as i32 - 127;
        if !(POW_EXP_MIN..POW_EXP_MAX).contains(&e) {
            return x.powf(self.b);
        }
        let shift = 23 - POW_MANTISSA_BITS;
        let m = ((bits & 0x007f_ffff) >> shift) as usize;
        let frac = (bits & ((1 << shift) - 1)) as f32 * (1.0 / (1u32 << shift) as f32);
        let i = (((e - POW_EXP_MIN) as usize) << POW_MANTISSA_BITS) | m;
        let (lo, hi) = (self.table[i], self.table[i + 1]);
        lo + (hi - lo) * frac
    }
}

#[inline]
fn clip(v: f32) -> f32 {
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
    let min_w = max_w / p.n_epochs as f32;
    // Epochs between samples of each edge; edges too weak to be sampled even once are off.
    let epochs_per_sample: Vec<f64> = graph
        .weights
        .iter()
        .map(|&w| {
            if w >= min_w {
                max_w as f64 / w as f64
            } else {
                f64::INFINITY
            }
        })
        .collect();
    // Epochs between negative samples: derived per edge when needed (one array less: at 1M
    // points the per-edge arrays are 160 MB each).
    let rate = p.negative_sample_rate as f64;
    let mut next_sample = epochs_per_sample.clone();
    let mut next_negative: Vec<f64> = epochs_per_sample.iter().map(|e| e / rate).collect();
    let (a, b) = (p.a, p.b);
    let pow_b = PowTable::new(b);
    let gamma = p.repulsion_strength;
    let every = report_every(p.n_epochs);
    let mut previous = coords.to_vec();
    progress.report(Stage::Layout, 0, p.n_epochs as u64);

    for epoch in 0..p.n_epochs {
        if cancel.is_cancelled() {
            return false;
        }
        let alpha = p.learning_rate * (1.0 - epoch as f32 / p.n_epochs as f32);
        let epoch_f = epoch as f64;
        previous.copy_from_slice(coords);
        let snapshot = &previous;
        // Split the per-edge state along the blocks' edge ranges.
        let mut work = Vec::with_capacity(n.div_ceil(BLOCK));
        let (mut rest_c, mut rest_s, mut rest_n) =
            (&mut *coords, &mut next_sample[..], &mut next_negative[..]);
        for block_start in (0..n).step_by(BLOCK) {
            let block_end = (block_start + BLOCK).min(n);
            let edges = graph.indptr[block_end] - graph.indptr[block_start];
            let (c, rc) = rest_c.split_at_mut(block_end - block_start);
            let (s, rs) = rest_s.split_at_mut(edges);
            let (ng, rn) = rest_n.split_at_mut(edges);
            rest_c = rc;
            rest_s = rs;
            rest_n = rn;
            work.push((block_start, c, s, ng));
        }
        work.into_par_iter().for_each(|(block_start, c, s, ng)| {
            let mut rng = rand_pcg::Pcg32::seed_from_u64(
                p.seed
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .wrapping_add((epoch as u64) << 32)
                    .wrapping_add(block_start as u64),
            );
            let edge0 = graph.indptr[block_start];
            // Large layouts: the block's negative samples come from a pool of points drawn
            // uniformly at the block's start (one cache miss per pool point instead of one
            // per negative sample). Each negative is still uniform over all points.
            let pool: Vec<(u32, [f32; 2])> = if n >= POOLED_FROM {
                (0..NEGATIVE_POOL)
                    .map(|_| {
                        let k = rng.random_range(0..n as u32);
                        (k, snapshot[k as usize])
                    })
                    .collect()
            } else {
                Vec::new()
            };
            for (offset, cur) in c.iter_mut().enumerate() {
                let i = block_start + offset;
                for e in graph.indptr[i]..graph.indptr[i + 1] {
                    let le = e - edge0;
                    if s[le] > epoch_f {
                        continue;
                    }
                    let other = snapshot[graph.tails[e] as usize];
                    let (dx, dy) = (cur[0] - other[0], cur[1] - other[1]);
                    let d2 = dx * dx + dy * dy;
                    if d2 > 0.0 {
                        // d2^(b-1) = d2^b / d2: one power per edge.
                        let d2_b = pow_b.pow(d2);
                        let coeff = -2.0 * a * b * (d2_b / d2) / (a * d2_b + 1.0);
                        cur[0] += clip(coeff * dx) * alpha;
                        cur[1] += clip(coeff * dy) * alpha;
                    }
                    s[le] += epochs_per_sample[e];
                    let per_negative = epochs_per_sample[e] / rate;
                    let n_neg = ((epoch_f - ng[le]) / per_negative).max(0.0) as usize;
                    for _ in 0..n_neg {
                        let (k, other) = if pool.is_empty() {
                            let k = rng.random_range(0..n as u32);
                            (k, snapshot[k as usize])
                        } else {
                            pool[rng.random_range(0..NEGATIVE_POOL as u32) as usize]
                        };
                        if k as usize == i {
                            continue;
                        }
                        let (dx, dy) = (cur[0] - other[0], cur[1] - other[1]);
                        let d2 = dx * dx + dy * dy;
                        if d2 > 0.0 {
                            let coeff =
                                2.0 * gamma * b / ((0.001 + d2) * (a * pow_b.pow(d2) + 1.0));
                            cur[0] += clip(coeff * dx) * alpha;
                            cur[1] += clip(coeff * dy) * alpha;
                        }
                    }
                    ng[le] += n_neg as f64 * per_negative;
                }
            }
        });
        if (epoch + 1) % every == 0 || epoch + 1 == p.n_epochs {
            progress.report(Stage::Layout, epoch as u64 + 1, p.n_epochs as u64);
            if progress.wants_layout_snapshots() {
                progress.layout_snapshot(coords);
            }
        }
    }
    true
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
    fn pooled_negative_sampling_is_seeded_and_thread_count_free() {
        // Above POOLED_FROM, negatives come from per-block pools.
        let n = POOLED_FROM + 1_000;
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
    fn pow_table_is_accurate() {
        for b in [0.895_060_8f32, 1.334_167, 0.5, 1.0] {
            let t = PowTable::new(b);
            let mut x = 1e-14f32;
            while x < 1e14 {
                let exact = (x as f64).powf(b as f64);
                let got = t.pow(x) as f64;
                assert!(
                    ((got - exact) / exact).abs() < 2e-6,
                    "{x}^{b}: {got} vs {exact}"
                );
                x *= 1.013;
            }
        }
    }
}
