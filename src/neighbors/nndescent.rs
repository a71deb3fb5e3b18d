//! Approximate kNN by NN-descent (Dong, Moses & Li 2011), parallel and deterministic.
//!
//! Each iteration samples up to `max_candidates` new and old candidates per point (forward and
//! reverse neighbours, chosen by a hash of (seed, iteration, edge) so the choice does not depend
//! on thread scheduling), then joins candidates pairwise. Joins run in parallel over fixed-size
//! batches of points against the graph as it stood before the batch; the batch's proposals are
//! sorted and applied in order. Same seed, same graph, whatever the thread count.

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::{KnnGraph, Metric, NeighborsError, capped_k, dot, prepare, sq_dist};
use crate::progress::{CancelToken, Progress, Stage};
use crate::util::linalg::Rows;

/// Parameters of NN-descent.
#[derive(Clone, Debug)]
pub struct NnDescentParams {
    pub max_iters: usize,
    /// Stop when fewer than `delta · n · k` neighbour slots changed in an iteration.
    pub delta: f64,
    pub max_candidates: usize,
    /// Random-projection trees whose leaves seed the initial graph (0: random graph only).
    pub rp_trees: usize,
    /// Most points in an RP-tree leaf.
    pub leaf_size: usize,
    pub seed: u64,
}

impl Default for NnDescentParams {
    fn default() -> Self {
        NnDescentParams {
            max_iters: 12,
            delta: 0.001,
            max_candidates: 24,
            rp_trees: 8,
            leaf_size: 32,
            seed: 42,
        }
    }
}

/// Points per join batch (the unit of determinism; independent of the thread count).
const JOIN_BATCH: usize = 4096;

#[inline]
fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser: a cheap, well-distributed hash of the edge key.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

struct Graph {
    k: usize,
    dist: Vec<f32>,
    idx: Vec<u32>,
    is_new: Vec<bool>,
}

impl Graph {
    #[inline]
    fn worst(&self, i: usize) -> f32 {
        self.dist[i * self.k + self.k - 1]
    }

    /// Propose `v` to `u` and `u` to `v` (at distance `d`) where it beats the worst neighbour.
    #[inline]
    fn propose(&self, u: u32, v: u32, d: f32, out: &mut Vec<(u32, f32, u32)>) {
        if d < self.worst(u as usize) {
            out.push((u, d, v));
        }
        if d < self.worst(v as usize) {
            out.push((v, d, u));
        }
    }
}

pub fn nn_descent(
    rows: Rows<'_>,
    k: usize,
    metric: Metric,
    params: &NnDescentParams,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<KnnGraph, NeighborsError> {
    let n = rows.len();
    let k = capped_k(n, k);
    if k == 0 {
        return Ok(KnnGraph::empty(n));
    }
    let data = prepare(rows, metric);
    // Progress counts each tree grown, each tree joined, then the join batches of every
    // iteration (iterations may end early).
    let trees = params.rp_trees as u64;
    let batches = n.div_ceil(JOIN_BATCH) as u64;
    let search = Search {
        data: &data,
        dims: rows.dims(),
        n,
        k,
        metric,
        params,
        progress,
        cancel,
        trees,
        batches,
        total: 2 * trees + params.max_iters as u64 * batches,
    };
    let mut graph = search.random_graph();
    progress.report(Stage::Neighbors, 0, search.total);
    let visit_order = search.join_rp_trees(&mut graph)?;
    search.refine(&mut graph, &visit_order)?;
    progress.report(Stage::Neighbors, search.total, search.total);
    if metric == Metric::Euclidean {
        graph.dist.iter_mut().for_each(|d| *d = d.sqrt());
    }
    Ok(KnnGraph {
        n,
        k,
        indices: graph.idx,
        distances: graph.dist,
    })
}

/// One NN-descent run: the prepared vectors, the parameters, and the progress schedule.
struct Search<'a> {
    data: &'a [f32],
    dims: usize,
    n: usize,
    k: usize,
    metric: Metric,
    params: &'a NnDescentParams,
    progress: &'a dyn Progress,
    cancel: &'a CancelToken,
    trees: u64,
    batches: u64,
    total: u64,
}

impl Search<'_> {
    #[inline]
    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dims..(i + 1) * self.dims]
    }

    /// The metric's working distance (squared for euclidean until the end).
    #[inline]
    fn distance(&self, a: usize, b: usize) -> f32 {
        match self.metric {
            Metric::Cosine => (1.0 - dot(self.row(a), self.row(b))).max(0.0),
            Metric::Euclidean => sq_dist(self.row(a), self.row(b)),
        }
    }

    fn cancelled(&self) -> Result<(), NeighborsError> {
        if self.cancel.is_cancelled() {
            return Err(NeighborsError::Cancelled);
        }
        Ok(())
    }

    /// Random initial neighbours, seeded per point.
    fn random_graph(&self) -> Graph {
        let (n, k) = (self.n, self.k);
        let mut graph = Graph {
            k,
            dist: vec![f32::INFINITY; n * k],
            idx: vec![u32::MAX; n * k],
            is_new: vec![true; n * k],
        };
        graph
            .dist
            .par_chunks_mut(k)
            .zip(graph.idx.par_chunks_mut(k))
            .enumerate()
            .for_each(|(i, (dist, idx))| {
                let mut rng = rand_pcg::Pcg32::seed_from_u64(mix(self.params.seed ^ mix(i as u64)));
                let mut chosen: Vec<(f32, u32)> = Vec::with_capacity(k);
                while chosen.len() < k {
                    let j = rng.random_range(0..n);
                    if j != i && !chosen.iter().any(|c| c.1 == j as u32) {
                        chosen.push((self.distance(i, j), j as u32));
                    }
                }
                chosen.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for (s, (d, j)) in chosen.into_iter().enumerate() {
                    dist[s] = d;
                    idx[s] = j;
                }
            });
        graph
    }

    /// Neighbours within the leaves of random-projection trees improve the random start, so
    /// fewer (expensive) NN-descent iterations are needed. The trees are grown in parallel
    /// (each from its own seed), then their leaves are joined into the graph one tree after
    /// the other. Returns the order the join visits points in: leaf by leaf of the first tree,
    /// so a batch holds points of one region whose candidates overlap and whose rows are read
    /// from cache, not memory.
    fn join_rp_trees(&self, graph: &mut Graph) -> Result<Vec<u32>, NeighborsError> {
        let params = self.params;
        let grown = std::sync::Mutex::new(0u64);
        let mut forest: Vec<Vec<Vec<u32>>> = (0..params.rp_trees)
            .into_par_iter()
            .map(|tree| {
                let leaves = rp_tree_leaves(
                    self.data,
                    self.dims,
                    self.n,
                    self.metric,
                    params.leaf_size.max(self.k + 1),
                    mix(params.seed ^ mix(0x7EE5 + tree as u64)),
                    self.cancel,
                );
                // Reported under the lock, so the counts arrive in order.
                let mut done = grown.lock().unwrap_or_else(|e| e.into_inner());
                *done += 1;
                self.progress.report(Stage::Neighbors, *done, self.total);
                leaves
            })
            .collect();
        self.cancelled()?;
        let mut visit_order = Vec::new();
        for (tree, leaves) in forest.iter_mut().enumerate() {
            self.cancelled()?;
            let leaves = std::mem::take(leaves);
            if tree == 0 {
                visit_order = leaves.iter().flatten().copied().collect();
            }
            let g = &*graph;
            let mut proposals: Vec<(u32, f32, u32)> = leaves
                .par_iter()
                .flat_map_iter(|leaf| {
                    let mut out = Vec::new();
                    for (a, &u) in leaf.iter().enumerate() {
                        for &v in &leaf[a + 1..] {
                            g.propose(u, v, self.distance(u as usize, v as usize), &mut out);
                        }
                    }
                    out
                })
                .collect();
            apply_proposals(graph, &mut proposals);
            self.progress
                .report(Stage::Neighbors, self.trees + tree as u64 + 1, self.total);
        }
        if visit_order.len() != self.n {
            visit_order = (0..self.n as u32).collect();
        }
        Ok(visit_order)
    }

    /// NN-descent iterations: each point's new and old candidates are joined pairwise, until
    /// fewer than `delta · n · k` neighbour slots change.
    fn refine(&self, graph: &mut Graph, visit_order: &[u32]) -> Result<(), NeighborsError> {
        let (n, params) = (self.n, self.params);
        let threshold = (params.delta * (n * self.k) as f64) as u64;
        for iter in 0..params.max_iters {
            self.cancelled()?;
            let cand = build_candidates(graph, n, params, iter);
            let mut updates = 0u64;
            for batch_start in (0..n).step_by(JOIN_BATCH) {
                self.cancelled()?;
                let batch_end = (batch_start + JOIN_BATCH).min(n);
                let g = &*graph;
                let mut proposals: Vec<(u32, f32, u32)> = visit_order[batch_start..batch_end]
                    .par_iter()
                    .flat_map_iter(|&p| {
                        let p = p as usize;
                        let mut out = Vec::new();
                        let (news, olds) = cand.of(p);
                        for (a, &u) in news.iter().enumerate() {
                            for &v in news[a + 1..].iter().chain(olds.iter()) {
                                if u != v {
                                    let d = self.distance(u as usize, v as usize);
                                    g.propose(u, v, d, &mut out);
                                }
                            }
                        }
                        out
                    })
                    .collect();
                updates += apply_proposals(graph, &mut proposals);
                let batch = (batch_start / JOIN_BATCH) as u64 + 1;
                self.progress.report(
                    Stage::Neighbors,
                    2 * self.trees + iter as u64 * self.batches + batch,
                    self.total,
                );
            }
            if updates <= threshold {
                break;
            }
        }
        Ok(())
    }
}

/// Sort `(target, distance, candidate)` proposals and insert them, each target's in that
/// order: targets are independent rows, so chunks of rows are filled in parallel with the
/// same result as one pass. Returns how many entered the graph.
fn apply_proposals(graph: &mut Graph, proposals: &mut [(u32, f32, u32)]) -> u64 {
    proposals
        .par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
    let k = graph.k;
    const ROWS: usize = 1024;
    let proposals = &*proposals;
    graph
        .dist
        .par_chunks_mut(ROWS * k)
        .zip(graph.idx.par_chunks_mut(ROWS * k))
        .zip(graph.is_new.par_chunks_mut(ROWS * k))
        .enumerate()
        .map(|(chunk, ((d, ix), f))| {
            let start = chunk * ROWS;
            let lo = proposals.partition_point(|p| (p.0 as usize) < start);
            let hi = proposals.partition_point(|p| (p.0 as usize) < start + ROWS);
            let mut c = 0u64;
            for &(target, dd, cand) in &proposals[lo..hi] {
                let r = (target as usize - start) * k;
                if insert_row(
                    &mut d[r..r + k],
                    &mut ix[r..r + k],
                    &mut f[r..r + k],
                    dd,
                    cand,
                ) {
                    c += 1;
                }
            }
            c
        })
        .sum()
}

/// Insert `(d, j)` into a sorted neighbour row if it is better than the worst and not there.
fn insert_row(dists: &mut [f32], idx: &mut [u32], flags: &mut [bool], d: f32, j: u32) -> bool {
    let k = dists.len();
    if d >= dists[k - 1] || idx.contains(&j) {
        return false;
    }
    let pos = dists.partition_point(|&x| x <= d);
    dists.copy_within(pos..k - 1, pos + 1);
    dists[pos] = d;
    idx.copy_within(pos..k - 1, pos + 1);
    idx[pos] = j;
    flags.copy_within(pos..k - 1, pos + 1);
    flags[pos] = true;
    true
}

/// The leaves (point ids, each at most `leaf_size`) of one random-projection tree: split by
/// the hyperplane between two random points of the node (through the origin for cosine,
/// halfway for euclidean) until nodes are small. Deterministic for a seed; no leaves once
/// `cancel` is set.
fn rp_tree_leaves(
    data: &[f32],
    dims: usize,
    n: usize,
    metric: Metric,
    leaf_size: usize,
    seed: u64,
    cancel: &CancelToken,
) -> Vec<Vec<u32>> {
    let row = |i: u32| &data[i as usize * dims..(i as usize + 1) * dims];
    let mut rng = rand_pcg::Pcg32::seed_from_u64(seed);
    let mut leaves = Vec::new();
    let mut stack: Vec<Vec<u32>> = vec![(0..n as u32).collect()];
    let mut normal = vec![0f32; dims];
    let mut splits = 0u32;
    while let Some(points) = stack.pop() {
        // A large tree takes seconds: stop soon after a cancel (the caller checks it).
        splits = splits.wrapping_add(1);
        if splits.is_multiple_of(64) && cancel.is_cancelled() {
            return Vec::new();
        }
        if points.len() <= leaf_size {
            leaves.push(points);
            continue;
        }
        let a = points[rng.random_range(0..points.len())];
        let b = points[rng.random_range(0..points.len())];
        for ((nv, &x), &y) in normal.iter_mut().zip(row(a)).zip(row(b)) {
            *nv = x - y;
        }
        let offset = match metric {
            Metric::Cosine => 0.0,
            Metric::Euclidean => row(a)
                .iter()
                .zip(row(b))
                .zip(&normal)
                .map(|((x, y), nv)| nv * (x + y) / 2.0)
                .sum(),
        };
        let (mut left, mut right): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
        for &p in &points {
            let side = dot(row(p), &normal) - offset;
            if side > 0.0 || (side == 0.0 && rng.random_bool(0.5)) {
                right.push(p);
            } else {
                left.push(p);
            }
        }
        if left.is_empty() || right.is_empty() {
            // Degenerate split (duplicates, a == b): halve the node as it is.
            let mut points = points;
            let half = points.split_off(points.len() / 2);
            left = points;
            right = half;
        }
        stack.push(right);
        stack.push(left);
    }
    leaves
}

/// New and old candidate lists per point, `max` slots each, flat.
struct Candidates {
    max: usize,
    new: Vec<u32>,
    new_len: Vec<u32>,
    old: Vec<u32>,
    old_len: Vec<u32>,
}

impl Candidates {
    fn of(&self, p: usize) -> (&[u32], &[u32]) {
        let at = p * self.max;
        (
            &self.new[at..at + self.new_len[p] as usize],
            &self.old[at..at + self.old_len[p] as usize],
        )
    }
}

/// New and old candidate lists per point (forward and reverse neighbours), at most
/// `max_candidates` each, picked by hashed priority of the edge. Entries picked as new are
/// marked old. Every point's lists are built in parallel from its own row and its reverse
/// neighbours (found by one counting pass over the graph); the flags of the other rows are
/// only read, and the marks are applied after.
fn build_candidates(
    graph: &mut Graph,
    n: usize,
    params: &NnDescentParams,
    iter: usize,
) -> Candidates {
    let k = graph.k;
    let max = params.max_candidates;
    let salt = mix(params.seed ^ mix(0xC0FFEE + iter as u64));
    let prio = |i: usize, j: u32| mix(salt ^ ((i as u64) << 32 | j as u64));
    // Reverse neighbours as CSR of forward slots (slot / k is the source point).
    let mut start = vec![0u32; n + 1];
    for &j in &graph.idx {
        start[j as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut reverse = vec![0u32; n * k];
    for (slot, &j) in graph.idx.iter().enumerate() {
        let at = &mut fill[j as usize];
        reverse[*at as usize] = slot as u32;
        *at += 1;
    }
    drop(fill);
    let mut cand = Candidates {
        max,
        new: vec![0; n * max],
        new_len: vec![0; n],
        old: vec![0; n * max],
        old_len: vec![0; n],
    };
    let mut picked = vec![false; n * k];
    const ROWS: usize = 256;
    let g = &*graph;
    cand.new
        .par_chunks_mut(ROWS * max)
        .zip(cand.new_len.par_chunks_mut(ROWS))
        .zip(cand.old.par_chunks_mut(ROWS * max))
        .zip(cand.old_len.par_chunks_mut(ROWS))
        .zip(picked.par_chunks_mut(ROWS * k))
        .enumerate()
        .for_each(|(chunk, ((((new, new_len), old), old_len), picked))| {
            // (priority, item, is new, forward slot in the row or usize::MAX)
            let mut entries: Vec<(u64, u32, bool, usize)> = Vec::new();
            for r in 0..new_len.len() {
                let i = chunk * ROWS + r;
                entries.clear();
                for s in 0..k {
                    let j = g.idx[i * k + s];
                    entries.push((prio(i, j), j, g.is_new[i * k + s], s));
                }
                for &slot in &reverse[start[i] as usize..start[i + 1] as usize] {
                    let source = slot as usize / k;
                    entries.push((
                        prio(source, i as u32),
                        source as u32,
                        g.is_new[slot as usize],
                        usize::MAX,
                    ));
                }
                entries.sort_unstable_by_key(|e| (e.0, e.1));
                let (news, olds) = (
                    &mut new[r * max..(r + 1) * max],
                    &mut old[r * max..(r + 1) * max],
                );
                let (mut n_new, mut n_old) = (0usize, 0usize);
                for &(_, item, is_new, s) in &entries {
                    if is_new {
                        if n_new < max && !news[..n_new].contains(&item) {
                            news[n_new] = item;
                            n_new += 1;
                            if s != usize::MAX {
                                picked[r * k + s] = true;
                            }
                        }
                    } else if n_old < max && !olds[..n_old].contains(&item) {
                        olds[n_old] = item;
                        n_old += 1;
                    }
                }
                new_len[r] = n_new as u32;
                old_len[r] = n_old as u32;
            }
        });
    graph
        .is_new
        .par_iter_mut()
        .zip(&picked)
        .for_each(|(flag, &p)| *flag &= !p);
    cand
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbors::exact_knn;
    use crate::progress::NoProgress;

    fn recall(approx: &KnnGraph, exact: &KnnGraph) -> f64 {
        let mut hits = 0;
        for i in 0..exact.n {
            let truth = exact.neighbors(i).0;
            hits += approx
                .neighbors(i)
                .0
                .iter()
                .filter(|j| truth.contains(j))
                .count();
        }
        hits as f64 / (exact.n * exact.k) as f64
    }

    #[test]
    fn high_recall_and_deterministic_on_clustered_data() {
        let (data, _) = crate::testing::blobs(3000, 24, 12, 5);
        let exact = exact_knn(
            Rows::new(&data, 24).unwrap(),
            14,
            Metric::Cosine,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        let params = NnDescentParams::default();
        let run = || {
            nn_descent(
                Rows::new(&data, 24).unwrap(),
                14,
                Metric::Cosine,
                &params,
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap()
        };
        let a = run();
        let r = recall(&a, &exact);
        assert!(r > 0.95, "recall {r}");
        let single = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(run);
        assert_eq!(a.indices, single.indices);
        assert_eq!(a.distances, single.distances);
        // Lists are sorted and never contain the point itself.
        for i in 0..a.n {
            let (idx, d) = a.neighbors(i);
            assert!(!idx.contains(&(i as u32)));
            assert!(d.windows(2).all(|w| w[0] <= w[1]));
        }
    }

    #[test]
    fn a_cancel_stops_it() {
        let (data, _) = crate::testing::blobs(5000, 8, 5, 2);
        let cancel = CancelToken::new();
        cancel.cancel();
        let got = nn_descent(
            Rows::new(&data, 8).unwrap(),
            10,
            Metric::Euclidean,
            &NnDescentParams::default(),
            &NoProgress,
            &cancel,
        );
        assert!(matches!(got, Err(NeighborsError::Cancelled)));
    }

    #[test]
    fn progress_rises_to_the_total() {
        use std::sync::Mutex;
        struct Record(Mutex<Vec<(u64, u64)>>);
        impl Progress for Record {
            fn report(&self, stage: Stage, done: u64, total: u64) {
                assert_eq!(stage, Stage::Neighbors);
                self.0.lock().unwrap().push((done, total));
            }
        }
        let (data, _) = crate::testing::blobs(9000, 8, 5, 2);
        let record = Record(Mutex::new(Vec::new()));
        let params = NnDescentParams::default();
        nn_descent(
            Rows::new(&data, 8).unwrap(),
            10,
            Metric::Euclidean,
            &params,
            &record,
            &CancelToken::new(),
        )
        .unwrap();
        let seen = record.0.into_inner().unwrap();
        // First each of the 8 trees grown, then each joined: 0, 1, …, 16.
        assert!(
            seen.iter().take(17).map(|s| s.0).eq(0..=16),
            "tree reports: {seen:?}"
        );
        // 9,000 points make 3 join batches: one report each, from the first iteration on.
        assert!(seen.len() > 17 + 3, "reports within iterations: {seen:?}");
        assert!(
            seen.windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 == w[1].1)
        );
        let (done, total) = *seen.last().unwrap();
        assert_eq!(done, total);
    }
}
