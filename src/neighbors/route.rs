//! Random-projection trees kept for routing queries (as pynndescent starts its searches): each
//! internal node splits its points by the hyperplane halfway between two of them; a query
//! descends to one leaf, whose few points are near it and start the graph search there
//! instead of far away. Built once per reference set, seeded; a query's leaf depends only on
//! the query and the tree.

use rand::{Rng, SeedableRng};

use super::Metric;
use super::simd::dot;

/// A node still to make: its points and where to record it (None = the root, else the
/// parent's number and side).
type Pending = (Vec<u32>, Option<(usize, usize)>);

/// Leaf (top bit set, the rest the leaf's number) or internal node.
const LEAF: u32 = 1 << 31;

/// One tree: its internal nodes' hyperplanes and children, its leaves' points.
pub(crate) struct RouteTree {
    dims: usize,
    /// Per internal node: `dims` numbers of the normal.
    normals: Vec<f32>,
    offsets: Vec<f32>,
    /// Per internal node: (left, right), each a node number or `LEAF | leaf`.
    children: Vec<[u32; 2]>,
    leaf_ptr: Vec<usize>,
    leaf_points: Vec<u32>,
    root: u32,
}

impl RouteTree {
    /// A tree over the `n` rows of `data` (prepared for `metric`: unit rows for cosine) with
    /// leaves of at most `leaf_size` points.
    pub(crate) fn build(
        data: &[f32],
        dims: usize,
        metric: Metric,
        leaf_size: usize,
        seed: u64,
    ) -> RouteTree {
        let n = data.len() / dims.max(1);
        let row = |i: u32| &data[i as usize * dims..(i as usize + 1) * dims];
        let mut rng = rand_pcg::Pcg32::seed_from_u64(seed);
        let mut tree = RouteTree {
            dims,
            normals: Vec::new(),
            offsets: Vec::new(),
            children: Vec::new(),
            leaf_ptr: vec![0],
            leaf_points: Vec::with_capacity(n),
            root: 0,
        };
        let mut stack: Vec<Pending> = vec![((0..n as u32).collect(), None)];
        let mut normal = vec![0f32; dims];
        while let Some((points, slot)) = stack.pop() {
            let id = if points.len() <= leaf_size.max(1) {
                tree.leaf_points.extend_from_slice(&points);
                tree.leaf_ptr.push(tree.leaf_points.len());
                LEAF | (tree.leaf_ptr.len() as u32 - 2)
            } else {
                // Two different points (equal rows can still be chosen: duplicates).
                let ia = rng.random_range(0..points.len());
                let ib = (ia + 1 + rng.random_range(0..points.len() - 1)) % points.len();
                let (a, b) = (points[ia], points[ib]);
                for ((nv, &x), &y) in normal.iter_mut().zip(row(a)).zip(row(b)) {
                    *nv = x - y;
                }
                let mut offset = match metric {
                    Metric::Cosine => 0.0,
                    Metric::Euclidean => row(a)
                        .iter()
                        .zip(row(b))
                        .zip(&normal)
                        .map(|((x, y), nv)| nv * (x + y) / 2.0)
                        .sum(),
                };
                let (mut left, mut right): (Vec<u32>, Vec<u32>) = points
                    .iter()
                    .partition(|&&p| dot(row(p), &normal) - offset <= 0.0);
                if left.is_empty() || right.is_empty() {
                    // Duplicates or a == b: no hyperplane separates them. A leaf of all of
                    // them would make a query read thousands of equal points, so split the
                    // node as it is and route by a plane that sends every query left.
                    let mut all = points;
                    right = all.split_off(all.len() / 2);
                    left = all;
                    normal.iter_mut().for_each(|v| *v = 0.0);
                    offset = 0.0;
                }
                let node = tree.children.len();
                tree.normals.extend_from_slice(&normal);
                tree.offsets.push(offset);
                tree.children.push([0, 0]);
                stack.push((right, Some((node, 1))));
                stack.push((left, Some((node, 0))));
                node as u32
            };
            match slot {
                None => tree.root = id,
                Some((parent, side)) => tree.children[parent][side] = id,
            }
        }
        tree
    }

    /// The points of the leaf `q` descends to.
    pub(crate) fn leaf(&self, q: &[f32]) -> &[u32] {
        let l = self.leaf_number(q) as usize;
        &self.leaf_points[self.leaf_ptr[l]..self.leaf_ptr[l + 1]]
    }

    /// The number of the leaf `q` descends to (left on the plane itself).
    pub(crate) fn leaf_number(&self, q: &[f32]) -> u32 {
        let mut node = self.root;
        while node & LEAF == 0 {
            let i = node as usize;
            let normal = &self.normals[i * self.dims..(i + 1) * self.dims];
            let side = dot(q, normal) - self.offsets[i] > 0.0;
            node = self.children[i][side as usize];
        }
        node & !LEAF
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_is_in_one_leaf_and_a_point_routes_to_its_own() {
        let dims = 8;
        let mut rng = rand_pcg::Pcg32::seed_from_u64(3);
        let mut data: Vec<f32> = (0..500 * dims)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        // A block of duplicates must still be split into small leaves.
        for i in 400..500 {
            for k in 0..dims {
                data[i * dims + k] = 0.25;
            }
        }
        crate::util::linalg::l2_normalize_rows(&mut data, dims);
        let tree = RouteTree::build(&data, dims, Metric::Cosine, 16, 9);
        let mut seen = vec![0u32; 500];
        for l in 0..tree.leaf_ptr.len() - 1 {
            let pts = &tree.leaf_points[tree.leaf_ptr[l]..tree.leaf_ptr[l + 1]];
            assert!(pts.len() <= 16, "leaf of {}", pts.len());
            for &p in pts {
                seen[p as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
        // A distinct point descends to the leaf that holds it (the planes put it on one
        // side unless it lies exactly on one, which random data does not).
        for i in 0..400u32 {
            let q = &data[i as usize * dims..(i as usize + 1) * dims];
            assert!(tree.leaf(q).contains(&i), "point {i}");
            let l = tree.leaf_number(q) as usize;
            assert!(tree.leaf_points[tree.leaf_ptr[l]..tree.leaf_ptr[l + 1]].contains(&i));
        }
    }
}
