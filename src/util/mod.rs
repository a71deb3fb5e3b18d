//! Small helpers shared by every layer; they depend on nothing else in the crate.
//!
//! - [`atomic`]: write a file through a temporary sibling and a rename.
//! - [`format`]: numbers as text for tables and labels.

pub mod atomic;
pub mod format;
