//! Small helpers shared by every layer; they depend on nothing else in the crate.
//!
//! - [`atomic`]: write a file through a temporary sibling and a rename; collect the
//!   temporaries of killed writers.
//! - [`format`]: numbers as table cells.
//! - [`linalg`]: dense linear algebra (row normalisation, products, Gram, eigen-decomposition).
//! - [`npy`]: the `.npy` matrix format.
//! - [`text`]: truncation on char boundaries, natural ordering of labels.

pub mod atomic;
pub mod format;
pub mod linalg;
pub mod npy;
pub mod text;
