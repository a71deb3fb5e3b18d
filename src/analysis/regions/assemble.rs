//! From labelled cells to regions: rows per region, both levels, the unclustered groups,
//! centroids, peaks, extents and central rows.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::grid::Grid;
use super::merge::{CellLabels, Peak};
use super::*;

/// Builds the regions of both levels from the per-cell labels.
pub(super) fn assemble(coords: &[[f32; 2]], labels: &CellLabels, grid: &Grid) -> Regions {
    let n = coords.len();
    // Per row: its fine set (a root basin) or UNCLUSTERED.
    let fine_set_of_row: Vec<u32> = labels
        .cell_of_row
        .par_iter()
        .map(|&c| {
            if c == UNCLUSTERED {
                UNCLUSTERED
            } else {
                labels.fine[c as usize]
            }
        })
        .collect();
    let n_basins = labels.peaks.len();
    let mut fine_rows: Vec<Vec<u32>> = vec![Vec::new(); n_basins];
    let mut coarse_size = vec![0usize; n_basins];
    let mut noise = Vec::new();
    for (r, &f) in fine_set_of_row.iter().enumerate() {
        if f == UNCLUSTERED {
            noise.push(r as u32);
        } else {
            fine_rows[f as usize].push(r as u32);
            coarse_size[labels.coarse_of_fine[f as usize] as usize] += 1;
        }
    }
    // Coarse sets in order: largest first, ties by root basin id.
    let mut coarse_sets: Vec<u32> = (0..n_basins as u32)
        .filter(|&c| coarse_size[c as usize] > 0)
        .collect();
    coarse_sets.sort_by(|&a, &b| {
        coarse_size[b as usize]
            .cmp(&coarse_size[a as usize])
            .then(a.cmp(&b))
    });
    let mut fine_by_coarse: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for f in 0..n_basins as u32 {
        if !fine_rows[f as usize].is_empty() {
            fine_by_coarse
                .entry(labels.coarse_of_fine[f as usize])
                .or_default()
                .push(f);
        }
    }

    // Plan the ids: coarse, coarse noise, fine, fine noise.
    struct Plan {
        level: Level,
        parent: Option<u32>,
        set: Option<u32>, // None: the unclustered group
    }
    let mut plan: Vec<Plan> = Vec::new();
    let mut coarse_id = vec![UNCLUSTERED; n_basins];
    for &c in &coarse_sets {
        coarse_id[c as usize] = plan.len() as u32;
        plan.push(Plan {
            level: Level::Coarse,
            parent: None,
            set: Some(c),
        });
    }
    let coarse_noise_id = (!noise.is_empty()).then(|| {
        plan.push(Plan {
            level: Level::Coarse,
            parent: None,
            set: None,
        });
        plan.len() as u32 - 1
    });
    let mut fine_id = vec![UNCLUSTERED; n_basins];
    for &c in &coarse_sets {
        let mut fines = fine_by_coarse.remove(&c).unwrap_or_default();
        fines.sort_by(|&a, &b| {
            fine_rows[b as usize]
                .len()
                .cmp(&fine_rows[a as usize].len())
                .then(a.cmp(&b))
        });
        for f in fines {
            fine_id[f as usize] = plan.len() as u32;
            plan.push(Plan {
                level: Level::Fine,
                parent: Some(coarse_id[c as usize]),
                set: Some(f),
            });
        }
    }
    if coarse_noise_id.is_some() {
        plan.push(Plan {
            level: Level::Fine,
            parent: coarse_noise_id,
            set: None,
        });
    }

    let mut coarse_rows: Vec<Vec<u32>> = vec![Vec::new(); n_basins];
    let mut coarse_of_row = vec![UNCLUSTERED; n];
    let mut fine_of_row = vec![UNCLUSTERED; n];
    for (r, &f) in fine_set_of_row.iter().enumerate() {
        if f != UNCLUSTERED {
            let c = labels.coarse_of_fine[f as usize];
            coarse_rows[c as usize].push(r as u32);
            coarse_of_row[r] = coarse_id[c as usize];
            fine_of_row[r] = fine_id[f as usize];
        }
    }

    let regions: Vec<Region> = plan
        .into_par_iter()
        .enumerate()
        .map(|(id, p)| {
            let rows: &[u32] = match (p.set, p.level) {
                (Some(s), Level::Coarse) => &coarse_rows[s as usize],
                (Some(s), Level::Fine) => &fine_rows[s as usize],
                (None, _) => &noise,
            };
            summarise(
                coords,
                rows,
                id as u32,
                p.level,
                p.parent,
                p.set.map(|s| (grid, labels.peaks[s as usize])),
            )
        })
        .collect();
    Regions {
        regions,
        coarse_of_row,
        fine_of_row,
    }
}

/// One region's summary: centroid, extent, peak and most central rows.
pub(super) fn summarise(
    coords: &[[f32; 2]],
    rows: &[u32],
    id: u32,
    level: Level,
    parent: Option<u32>,
    peak: Option<(&Grid, Peak)>,
) -> Region {
    let mut sum = [0f64; 2];
    let mut extent = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    let mut finite = 0usize;
    for &r in rows {
        let p = coords[r as usize];
        if !(p[0].is_finite() && p[1].is_finite()) {
            continue;
        }
        finite += 1;
        sum[0] += p[0] as f64;
        sum[1] += p[1] as f64;
        extent = [
            extent[0].min(p[0]),
            extent[1].min(p[1]),
            extent[2].max(p[0]),
            extent[3].max(p[1]),
        ];
    }
    let centroid = if finite == 0 {
        extent = [0.0; 4];
        [0.0; 2]
    } else {
        [
            (sum[0] / finite as f64) as f32,
            (sum[1] / finite as f64) as f32,
        ]
    };
    let (peak_xy, peak_density) = match peak {
        Some((grid, pk)) => (grid.center(pk.cell), pk.density),
        None => (centroid, 0.0),
    };
    // The CENTRAL_ROWS rows nearest the peak, ties by row index: a small sorted buffer.
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(CENTRAL_ROWS + 1);
    for &r in rows {
        let p = coords[r as usize];
        let d = (p[0] - peak_xy[0]).powi(2) + (p[1] - peak_xy[1]).powi(2);
        if !d.is_finite() {
            continue;
        }
        if best.len() == CENTRAL_ROWS && d >= best[CENTRAL_ROWS - 1].0 {
            continue; // rows ascend, so an equal distance loses to the earlier row
        }
        let at = best.partition_point(|&(bd, _)| bd <= d);
        best.insert(at, (d, r));
        best.truncate(CENTRAL_ROWS);
    }
    Region {
        id,
        level,
        parent,
        unclustered: peak.is_none(),
        rows: rows.to_vec(),
        centroid,
        peak: peak_xy,
        extent,
        central: best.into_iter().map(|(_, r)| r).collect(),
        peak_density,
    }
}
