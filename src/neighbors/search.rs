//! Nearest neighbours of new points among an existing set (the reference), by best-first
//! search over the reference's own kNN graph (as pynndescent queries its index): each query
//! starts from the points of its leaf in a few random-projection trees (`route.rs`) and the
//! nearest of a fixed, seeded set of pivot points (which reach every part of the graph), and
//! expands the closest unexpanded candidate until the `beam` best found cannot improve. A query's answer depends
//! only on its vector and the index, never on the other queries, their order or batching.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::SeedableRng;
use rand::seq::index::sample;
use rayon::prelude::*;
use rustc_hash::FxHashSet;

use super::route::RouteTree;
use super::simd::prefetch;
use super::{KnnGraph, Metric, NeighborsError, dot, prepare, sq_dist};
use crate::progress::{CancelToken, Progress, Stage};
use crate::util::linalg::{Rows, dense_mul, gram, sym_eigen_desc};

/// Candidates kept per query while searching (more: better recall, slower).
pub const DEFAULT_BEAM: usize = 64;
/// Queries per parallel block (progress and cancellation granularity).
const QUERY_BLOCK: usize = 256;
/// Pivots the search starts from (their nearest few), at most.
const MAX_PIVOTS: usize = 2048;
/// Pivots expanded first.
const ENTRY_POINTS: usize = 4;
/// Vectors of more dimensions are searched in their projection onto this many principal
/// directions (the walk reads a third of the bytes of 384-d rows), and the beam found is
/// ranked again by the exact distances.
const SEARCH_DIMS: usize = 128;
/// Rows the principal directions are computed from, at most (seeded sample).
const BASIS_ROWS: usize = 20_000;
/// Routing trees whose leaves start each search, and their leaves' size.
const ROUTE_TREES: usize = 2;
const ROUTE_LEAF: usize = 32;

/// Which points a search has seen: a stamp per point, the search's number marking the
/// seen ones (no clearing between searches, no hashing). One per thread.
#[derive(Default)]
struct Visited {
    stamps: Vec<u32>,
    current: u32,
}

impl Visited {
    fn start(&mut self, n: usize) {
        if self.stamps.len() != n || self.current == u32::MAX {
            self.stamps = vec![0; n];
            self.current = 0;
        }
        self.current += 1;
    }

    /// Marks `i` seen; whether it was new.
    fn insert(&mut self, i: u32) -> bool {
        let s = &mut self.stamps[i as usize];
        let new = *s != self.current;
        *s = self.current;
        new
    }
}

thread_local! {
    static VISITED: std::cell::RefCell<Visited> = std::cell::RefCell::new(Visited::default());
}

/// A distance with a total order (ties broken by the point's index where it is used).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Dist(f32);

impl Eq for Dist {}

impl PartialOrd for Dist {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dist {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The reference set prepared for queries: its vectors (unit rows for cosine), an undirected
/// neighbour graph (each point's kNN plus the points that have it as a neighbour) and pivots.
pub struct SearchIndex<'a> {
    data: std::borrow::Cow<'a, [f32]>,
    dims: usize,
    n: usize,
    metric: Metric,
    indptr: Vec<usize>,
    adjacent: Vec<u32>,
    pivots: Vec<u32>,
    trees: Vec<RouteTree>,
    /// When `dims > SEARCH_DIMS`: the `dims × SEARCH_DIMS` basis and the rows projected onto
    /// it, which the walk reads instead of `data`.
    projected: Option<(Vec<f32>, Vec<f32>)>,
    beam: usize,
}

impl<'a> SearchIndex<'a> {
    /// Index `rows` (the reference vectors) with `graph`, their kNN graph (any `k`; the
    /// graph of NN-descent or exact search). `seed` chooses the pivots.
    pub fn new(
        rows: Rows<'a>,
        graph: &KnnGraph,
        metric: Metric,
        seed: u64,
    ) -> Result<SearchIndex<'a>, NeighborsError> {
        let n = rows.len();
        if graph.n != n {
            return Err(NeighborsError::Input(format!(
                "the reference graph has {} points but there are {n} reference vectors",
                graph.n
            )));
        }
        if n == 0 {
            return Err(NeighborsError::Input("the reference set is empty".into()));
        }
        let (indptr, adjacent) = undirected(graph);
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed ^ 0x005E_A2C4_u64);
        let mut pivots: Vec<u32> = sample(&mut rng, n, n.min(MAX_PIVOTS))
            .into_iter()
            .map(|i| i as u32)
            .collect();
        pivots.sort_unstable();
        let data = prepare(rows, metric);
        let dims = rows.dims();
        let projected = (dims > SEARCH_DIMS).then(|| {
            let basis = principal_basis(&data, dims, SEARCH_DIMS, seed);
            let rows = dense_mul(&data, dims, &basis, SEARCH_DIMS);
            (basis, rows)
        });
        let (search_rows, search_dims) = match &projected {
            Some((_, rows)) => (&rows[..], SEARCH_DIMS),
            None => (&data[..], dims),
        };
        let trees = (0..ROUTE_TREES as u64)
            .into_par_iter()
            .map(|t| {
                RouteTree::build(
                    search_rows,
                    search_dims,
                    metric,
                    ROUTE_LEAF,
                    seed ^ (0x7007 + t),
                )
            })
            .collect();
        Ok(SearchIndex {
            data,
            dims,
            n,
            metric,
            indptr,
            adjacent,
            pivots,
            trees,
            projected,
            beam: DEFAULT_BEAM,
        })
    }

    /// Keep `beam` candidates per query (at least `k` are always kept).
    pub fn with_beam(mut self, beam: usize) -> Self {
        self.beam = beam.max(1);
        self
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn row(&self, i: u32) -> &[f32] {
        &self.data[i as usize * self.dims..(i as usize + 1) * self.dims]
    }

    /// Row `i` as the walk reads it (projected when the rows are).
    fn search_row(&self, i: u32) -> &[f32] {
        match &self.projected {
            Some((_, rows)) => &rows[i as usize * SEARCH_DIMS..(i as usize + 1) * SEARCH_DIMS],
            None => self.row(i),
        }
    }

    /// The distance the search ranks by: `1 − cos` for cosine (rows are unit), the squared
    /// distance for euclidean; in the projection when there is one (`q` projected too).
    fn rank_distance(&self, q: &[f32], i: u32) -> f32 {
        rank(self.metric, q, self.search_row(i))
    }

    /// The `k` nearest reference points of `query` (nearest first, ties by index) with their
    /// distances under the metric, leaving out `exclude` (a reference point searching for its
    /// own neighbours). `query` must already be prepared (unit length for cosine).
    /// `projected` is `q` in the search's projection (`q` itself when there is none).
    fn search(
        &self,
        q: &[f32],
        projected: &[f32],
        k: usize,
        exclude: Option<u32>,
    ) -> Vec<(f32, u32)> {
        let beam = self.beam.max(k);
        VISITED.with_borrow_mut(|v| self.search_with(q, projected, k, exclude, beam, v))
    }

    fn search_with(
        &self,
        full: &[f32],
        q: &[f32],
        k: usize,
        exclude: Option<u32>,
        beam: usize,
        visited: &mut Visited,
    ) -> Vec<(f32, u32)> {
        visited.start(self.n);
        // Max-heap of the best found (worst on top); min-heap of the candidates to expand.
        let mut best: BinaryHeap<(Dist, u32)> = BinaryHeap::with_capacity(beam + 1);
        let mut frontier: BinaryHeap<Reverse<(Dist, u32)>> = BinaryHeap::with_capacity(beam * 4);
        let offer = |best: &mut BinaryHeap<(Dist, u32)>, d: f32, i: u32| {
            if Some(i) == exclude {
                return;
            }
            best.push((Dist(d), i));
            if best.len() > beam {
                best.pop();
            }
        };
        let mut entries: Vec<(Dist, u32)> = self
            .pivots
            .iter()
            .map(|&p| (Dist(self.rank_distance(q, p)), p))
            .collect();
        for &(_, p) in &entries {
            visited.insert(p);
        }
        // Only the nearest `beam` pivots can be among the results.
        if entries.len() > beam {
            entries.select_nth_unstable(beam - 1);
            entries.truncate(beam);
        }
        entries.sort_unstable();
        for &(d, p) in &entries {
            offer(&mut best, d.0, p);
        }
        for &(d, p) in entries.iter().take(ENTRY_POINTS) {
            frontier.push(Reverse((d, p)));
        }
        // The points of the query's leaf in each routing tree: near it, so the walk starts
        // where the answer is.
        for tree in &self.trees {
            let leaf = tree.leaf(q);
            for &p in leaf {
                prefetch(self.search_row(p));
            }
            for &p in leaf {
                if visited.insert(p) {
                    let d = self.rank_distance(q, p);
                    offer(&mut best, d, p);
                    frontier.push(Reverse((Dist(d), p)));
                }
            }
        }
        while let Some(Reverse((d, c))) = frontier.pop() {
            if best.len() >= beam && best.peek().is_some_and(|w| d > w.0) {
                break;
            }
            let (lo, hi) = (self.indptr[c as usize], self.indptr[c as usize + 1]);
            let list = &self.adjacent[lo..hi];
            for &nb in list {
                prefetch(self.search_row(nb));
            }
            for &nb in list {
                if !visited.insert(nb) {
                    continue;
                }
                let dn = self.rank_distance(q, nb);
                let worst = best.peek().map(|w| w.0.0);
                if best.len() < beam || worst.is_some_and(|w| dn < w) {
                    frontier.push(Reverse((Dist(dn), nb)));
                    offer(&mut best, dn, nb);
                }
            }
        }
        let mut out: Vec<(f32, u32)> = best.into_iter().map(|(d, i)| (d.0, i)).collect();
        if self.projected.is_some() {
            // The beam by the exact distances: the projection only chose it.
            for (d, i) in out.iter_mut() {
                *d = rank(self.metric, full, self.row(*i));
            }
        }
        out.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        out.truncate(k);
        if self.metric == Metric::Euclidean {
            out.iter_mut().for_each(|(d, _)| *d = d.sqrt());
        }
        out
    }

    /// The `k` nearest reference points of every row of `queries` (same dimensions as the
    /// reference): a graph of `queries.len()` points whose indices are reference rows.
    /// `k` is capped at the reference's size.
    pub fn query(
        &self,
        queries: Rows<'_>,
        k: usize,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<KnnGraph, NeighborsError> {
        if queries.dims() != self.dims {
            return Err(NeighborsError::Input(format!(
                "the new vectors have {} dimensions, the reference's {}",
                queries.dims(),
                self.dims
            )));
        }
        let k = k.min(self.n);
        let m = queries.len();
        let data = prepare(queries, self.metric);
        let (mut indices, mut distances) = (vec![0u32; m * k], vec![0f32; m * k]);
        if k == 0 {
            return Ok(KnnGraph::empty(m));
        }
        // Queries near one another walk the same part of the graph: taken in the order of
        // their leaf in the first routing tree, a block's walks share the rows they read
        // while those rows are still in the cache. Each answer depends only on its query, so
        // the order changes nothing but the time.
        let projected = match &self.projected {
            Some((basis, _)) => dense_mul(&data, self.dims, basis, SEARCH_DIMS).into(),
            None => std::borrow::Cow::Borrowed(&data[..]),
        };
        let sd = self.projected.as_ref().map_or(self.dims, |_| SEARCH_DIMS);
        let leaf_of: Vec<u32> = match self.trees.first() {
            Some(tree) => projected
                .par_chunks(sd)
                .map(|q| tree.leaf_number(q))
                .collect(),
            None => vec![0; m],
        };
        let mut order: Vec<u32> = (0..m as u32).collect();
        order.sort_unstable_by_key(|&i| (leaf_of[i as usize], i));
        let done = AtomicU64::new(0);
        progress.report(Stage::Neighbors, 0, m as u64);
        let answers: Vec<Vec<(f32, u32)>> = order
            .par_chunks(QUERY_BLOCK)
            .flat_map_iter(|block| {
                let found: Vec<Vec<(f32, u32)>> = if cancel.is_cancelled() {
                    Vec::new()
                } else {
                    block
                        .iter()
                        .map(|&qi| {
                            let qi = qi as usize;
                            let q = &data[qi * self.dims..(qi + 1) * self.dims];
                            self.search(q, &projected[qi * sd..(qi + 1) * sd], k, None)
                        })
                        .collect()
                };
                let d = done.fetch_add(block.len() as u64, Ordering::Relaxed);
                progress.report(Stage::Neighbors, d + block.len() as u64, m as u64);
                found
            })
            .collect();
        if cancel.is_cancelled() || answers.len() != m {
            return Err(NeighborsError::Cancelled);
        }
        for (&qi, found) in order.iter().zip(&answers) {
            let row = qi as usize * k;
            // The graph is connected through its pivots' lists only when it is whole; a
            // short answer (k above what was reached) repeats its last.
            for slot in 0..k {
                let (d, i) = found
                    .get(slot)
                    .or(found.last())
                    .copied()
                    .unwrap_or((f32::INFINITY, 0));
                indices[row + slot] = i;
                distances[row + slot] = d;
            }
        }
        if cancel.is_cancelled() {
            return Err(NeighborsError::Cancelled);
        }
        Ok(KnnGraph {
            n: m,
            k,
            indices,
            distances,
        })
    }

    /// The distance from reference point `i` to its nearest other reference point, by the
    /// same search the queries use.
    pub fn nearest_other(&self, i: u32) -> Option<f32> {
        self.search(self.row(i), self.search_row(i), 1, Some(i))
            .first()
            .map(|&(d, _)| d)
    }
}

/// `1 − a·b` for cosine (unit rows), the squared distance for euclidean.
#[inline]
fn rank(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::Cosine => (1.0 - dot(a, b)).max(0.0),
        Metric::Euclidean => sq_dist(a, b),
    }
}

/// The `width` directions that keep most of the rows' squared length (top eigenvectors of
/// `XᵀX` over a seeded sample of at most [`BASIS_ROWS`] rows; uncentred, so dot products
/// and distances are what they keep), as a `dims × width` row-major matrix.
fn principal_basis(data: &[f32], dims: usize, width: usize, seed: u64) -> Vec<f32> {
    let n = data.len() / dims;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed ^ 0xBA515);
    let mut chosen = sample(&mut rng, n, n.min(BASIS_ROWS)).into_vec();
    chosen.sort_unstable();
    let rows: Vec<f32> = chosen
        .iter()
        .flat_map(|&i| data[i * dims..(i + 1) * dims].iter().copied())
        .collect();
    let (_, vectors) = sym_eigen_desc(&gram(&rows, dims), dims);
    let mut basis = vec![0f32; dims * width];
    for r in 0..dims {
        for c in 0..width {
            basis[r * width + c] = vectors[r * dims + c] as f32;
        }
    }
    basis
}

/// Each point's neighbours in `graph` plus the nearest of the points that list it (at most
/// as many as its own list: in high dimensions a few "hub" points are listed by thousands,
/// and expanding such a hub would cost thousands of distances), without repeats (its own
/// list first, then the others by distance), as CSR.
fn undirected(graph: &KnnGraph) -> (Vec<usize>, Vec<u32>) {
    let n = graph.n;
    let mut reverse_count = vec![0usize; n];
    for &j in &graph.indices {
        reverse_count[j as usize] += 1;
    }
    let mut rev_ptr = vec![0usize; n + 1];
    for i in 0..n {
        rev_ptr[i + 1] = rev_ptr[i] + reverse_count[i];
    }
    let mut reverse = vec![(0f32, 0u32); rev_ptr[n]];
    let mut fill = rev_ptr.clone();
    for i in 0..n {
        let (idx, dist) = graph.neighbors(i);
        for (&j, &d) in idx.iter().zip(dist) {
            reverse[fill[j as usize]] = (d, i as u32);
            fill[j as usize] += 1;
        }
    }
    let cap = graph.k.max(1);
    let lists: Vec<Vec<u32>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let own = graph.neighbors(i).0;
            let mut seen = FxHashSet::default();
            let mut list: Vec<u32> = own
                .iter()
                .copied()
                .filter(|&j| j as usize != i && seen.insert(j))
                .collect();
            let mut others: Vec<(f32, u32)> = reverse[rev_ptr[i]..rev_ptr[i + 1]]
                .iter()
                .copied()
                .filter(|&(_, j)| j as usize != i && !seen.contains(&j))
                .collect();
            others.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            others.dedup_by_key(|e| e.1);
            list.extend(others.iter().take(cap).map(|&(_, j)| j));
            list
        })
        .collect();
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0);
    let mut adjacent = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    for l in lists {
        adjacent.extend_from_slice(&l);
        indptr.push(adjacent.len());
    }
    (indptr, adjacent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbors::{exact_knn, nndescent};

    use crate::progress::NoProgress;
    use rand::Rng;

    /// `n` points around `centres` in `dims` dimensions, seeded.
    fn blobs(n: usize, centres: usize, dims: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        let c: Vec<f32> = (0..centres * dims)
            .map(|_| rng.random_range(-5.0..5.0))
            .collect();
        (0..n)
            .flat_map(|i| {
                let b = i % centres;
                (0..dims)
                    .map(|d| c[b * dims + d] + rng.random_range(-1.0f32..1.0))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn recall(found: &KnnGraph, truth: &KnnGraph) -> f64 {
        let mut hit = 0usize;
        for i in 0..found.n {
            let t = truth.neighbors(i).0;
            hit += found
                .neighbors(i)
                .0
                .iter()
                .filter(|j| t.contains(j))
                .count();
        }
        hit as f64 / (found.n * found.k) as f64
    }

    #[test]
    fn finds_nearly_all_true_neighbours_of_new_points() {
        let dims = 16;
        check_recall(&blobs(3000, 8, dims, 1), &blobs(300, 8, dims, 2), dims);
    }

    /// Vectors of more than `SEARCH_DIMS` dimensions are walked in their projection and the
    /// beam ranked by exact distances: on data of a lower intrinsic dimension (blobs in a
    /// 24-d subspace of 200) the answer is as good, with exact distances.
    #[test]
    fn wide_vectors_are_searched_in_a_projection_with_exact_answers() {
        let dims = 200;
        let latent = 24;
        let mut rng = rand_pcg::Pcg64::seed_from_u64(11);
        let lift: Vec<f32> = (0..latent * dims)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        let widen = |low: Vec<f32>| -> Vec<f32> {
            crate::util::linalg::dense_mul(&low, latent, &lift, dims)
        };
        let reference = widen(blobs(3000, 8, latent, 1));
        let queries = widen(blobs(300, 8, latent, 2));
        let rows = Rows::new(&reference, dims).unwrap();
        let graph = exact_knn(rows, 14, Metric::Cosine, &NoProgress, &CancelToken::new()).unwrap();
        let index = SearchIndex::new(rows, &graph, Metric::Cosine, 7).unwrap();
        assert!(index.projected.is_some(), "{dims} dimensions are projected");
        check_recall(&reference, &queries, dims);
    }

    /// Recall ≥ 0.95 of the search's 10 neighbours of `queries` (300 rows) among `reference`
    /// (3,000) against brute force, for both metrics, and exact distances.
    fn check_recall(reference: &[f32], queries: &[f32], dims: usize) {
        let rows = Rows::new(reference, dims).unwrap();
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let graph = nndescent::nn_descent(
                rows,
                14,
                metric,
                &Default::default(),
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap();
            let index = SearchIndex::new(rows, &graph, metric, 7).unwrap();
            let q = Rows::new(queries, dims).unwrap();
            let found = index
                .query(q, 10, &NoProgress, &CancelToken::new())
                .unwrap();
            // The truth: every reference point's distance to each query, sorted.
            let q_rows = Rows::new(queries, dims).unwrap();
            let r_rows = Rows::new(reference, dims).unwrap();
            let dist = |a: &[f32], b: &[f32]| match metric {
                Metric::Euclidean => sq_dist(a, b) as f64,
                Metric::Cosine => {
                    1.0 - dot(a, b) as f64 / (dot(a, a) as f64 * dot(b, b) as f64).sqrt()
                }
            };
            let truth = KnnGraph {
                n: 300,
                k: 10,
                indices: (0..300)
                    .flat_map(|i| {
                        let mut d: Vec<(f64, u32)> = (0..3000)
                            .map(|j| (dist(q_rows.row(i), r_rows.row(j)), j as u32))
                            .collect();
                        d.sort_by(|a, b| a.0.total_cmp(&b.0));
                        d.into_iter().take(10).map(|(_, j)| j).collect::<Vec<_>>()
                    })
                    .collect(),
                distances: vec![0.0; 3000],
            };
            let r = recall(&found, &truth);
            assert!(r >= 0.95, "{metric}: recall {r}");
            // Distances are the metric's (ascending, and exact for the points found).
            for i in 0..found.n {
                let (idx, dist) = found.neighbors(i);
                assert!(dist.windows(2).all(|w| w[0] <= w[1]));
                let qv = &queries[i * dims..(i + 1) * dims];
                let rv = &reference[idx[0] as usize * dims..(idx[0] as usize + 1) * dims];
                let want = match metric {
                    Metric::Euclidean => sq_dist(qv, rv).sqrt(),
                    Metric::Cosine => {
                        let (a, b) = (dot(qv, qv).sqrt(), dot(rv, rv).sqrt());
                        1.0 - dot(qv, rv) / (a * b)
                    }
                };
                assert!((dist[0] - want).abs() < 1e-4, "{} vs {want}", dist[0]);
            }
        }
    }

    #[test]
    fn a_query_does_not_depend_on_the_others() {
        let dims = 8;
        let reference = blobs(1000, 5, dims, 3);
        // More queries than one parallel block, so the blocks' order and the scatter back to
        // the queries' own rows are tested too.
        let queries = blobs(600, 5, dims, 4);
        let rows = Rows::new(&reference, dims).unwrap();
        let graph = exact_knn(rows, 10, Metric::Cosine, &NoProgress, &CancelToken::new()).unwrap();
        let index = SearchIndex::new(rows, &graph, Metric::Cosine, 1).unwrap();
        let all = index
            .query(
                Rows::new(&queries, dims).unwrap(),
                5,
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap();
        // Reversed order, then one at a time.
        let reversed: Vec<f32> = queries.chunks(dims).rev().flatten().copied().collect();
        let rev = index
            .query(
                Rows::new(&reversed, dims).unwrap(),
                5,
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap();
        for i in 0..600 {
            assert_eq!(all.neighbors(i).0, rev.neighbors(599 - i).0);
            let one = index
                .query(
                    Rows::new(&queries[i * dims..(i + 1) * dims], dims).unwrap(),
                    5,
                    &NoProgress,
                    &CancelToken::new(),
                )
                .unwrap();
            assert_eq!(all.neighbors(i), one.neighbors(0));
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        let reference = blobs(50, 2, 4, 5);
        let rows = Rows::new(&reference, 4).unwrap();
        let graph =
            exact_knn(rows, 5, Metric::Euclidean, &NoProgress, &CancelToken::new()).unwrap();
        let index = SearchIndex::new(rows, &graph, Metric::Euclidean, 1).unwrap();
        let q = [0.0f32; 6];
        assert!(
            index
                .query(
                    Rows::new(&q, 3).unwrap(),
                    5,
                    &NoProgress,
                    &CancelToken::new()
                )
                .is_err()
        );
        assert!(SearchIndex::new(rows, &KnnGraph::empty(3), Metric::Euclidean, 1).is_err());
        // The nearest other point of a reference point is never itself.
        let d = index.nearest_other(0).unwrap();
        assert!(d > 0.0);
    }
}
