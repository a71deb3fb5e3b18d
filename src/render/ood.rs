//! Out-of-distribution samples (`map --onto` flags them in a boolean `ood` column) are drawn
//! distinctly — white, on top of the other points, whatever the colour column — rather than
//! in the colour of the cluster they were placed next to.

use polars::prelude::DataType;

use super::{PointClass, Rgba};
use crate::dataset::Samples;

/// The column `map --onto` writes.
pub const OOD_COLUMN: &str = "ood";
/// The colour of out-of-distribution points.
pub const OOD_COLOR: Rgba = [255, 255, 255, 255];

/// The rows flagged in a boolean `ood` column, when at least one is.
pub fn ood_rows(samples: &Samples) -> Option<Vec<bool>> {
    let col = samples.frame.column(OOD_COLUMN).ok()?;
    if col.dtype() != &DataType::Boolean {
        return None;
    }
    let flags: Vec<bool> = col.bool().ok()?.iter().map(|v| v == Some(true)).collect();
    flags.iter().any(|&f| f).then_some(flags)
}

/// Draw the flagged rows in [`OOD_COLOR`] and on top (hidden rows stay hidden). Returns how
/// many rows are flagged.
pub fn mark(flags: &[bool], colors: &mut [Rgba], classes: &mut [PointClass]) -> usize {
    let mut n = 0;
    for (i, _) in flags.iter().enumerate().filter(|(_, f)| **f) {
        n += 1;
        if let Some(c) = colors.get_mut(i) {
            *c = OOD_COLOR;
        }
        if let Some(k) = classes.get_mut(i)
            && *k != PointClass::Hidden
        {
            *k = PointClass::Top;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flagged_rows_are_white_and_on_top() {
        let flags = [false, true, true];
        let mut colors = vec![[1, 2, 3, 255]; 3];
        let mut classes = vec![PointClass::Normal, PointClass::Faded, PointClass::Hidden];
        assert_eq!(mark(&flags, &mut colors, &mut classes), 2);
        assert_eq!(colors, vec![[1, 2, 3, 255], OOD_COLOR, OOD_COLOR]);
        assert_eq!(
            classes,
            vec![PointClass::Normal, PointClass::Top, PointClass::Hidden]
        );
    }
}
