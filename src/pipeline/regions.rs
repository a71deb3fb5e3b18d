//! The regions stage: after the layout (also a layout given with `--xy`), the 2-D map is
//! clustered into coarse and fine regions and each region is named by its distinctive terms.

use polars::prelude::{Column, DataFrame, PolarsError};

use super::PipelineError;
use crate::analysis::labels::label_text;
use crate::analysis::region_stats::{RegionStat, Worse, rank_regions};
use crate::analysis::regions::{Level, RegionParams, Regions, UNCLUSTERED, find_regions};
use crate::dataset::Samples;
use crate::progress::{CancelToken, Progress};

/// Terms per region label.
pub const LABEL_TERMS: usize = 4;

/// A map's regions and their labels (`labels[id]` names region `id`; the unclustered groups
/// are labelled "unclustered").
#[derive(Clone, Debug)]
pub struct MapRegions {
    pub regions: Regions,
    pub labels: Vec<String>,
}

/// One region as reports list it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RegionSummary {
    pub id: u32,
    pub level: Level,
    pub parent: Option<u32>,
    pub label: String,
    pub size: usize,
    pub unclustered: bool,
}

impl MapRegions {
    /// Every region (both levels) with its label and size, in [`Regions::regions`] order.
    pub fn summaries(&self) -> Vec<RegionSummary> {
        self.regions
            .regions
            .iter()
            .map(|r| RegionSummary {
                id: r.id,
                level: r.level,
                parent: r.parent,
                label: self.labels[r.id as usize].clone(),
                size: r.rows.len(),
                unclustered: r.unclustered,
            })
            .collect()
    }

    /// `frame` with three more columns: `region` (fine region id), `region_coarse` (coarse
    /// region id) — both missing for unclustered rows — and `region_label` (the fine region's
    /// label, "unclustered" for noise). Names already taken by the input get an `atlas_` prefix.
    pub fn with_columns(&self, samples: &Samples) -> Result<DataFrame, PolarsError> {
        let id = |v: &[u32]| -> Vec<Option<u32>> {
            v.iter().map(|&r| (r != UNCLUSTERED).then_some(r)).collect()
        };
        let fine = id(&self.regions.fine_of_row);
        let coarse = id(&self.regions.coarse_of_row);
        let labels: Vec<&str> = (0..samples.len())
            .map(|row| self.row_label(row, Level::Fine))
            .collect();
        let mut frame = samples.frame.clone();
        let names = ["region", "region_coarse", "region_label"].map(|n| samples.free_name(n));
        frame.with_column(Column::new(names[0].as_str().into(), fine))?;
        frame.with_column(Column::new(names[1].as_str().into(), coarse))?;
        frame.with_column(Column::new(names[2].as_str().into(), labels))?;
        Ok(frame)
    }

    /// The regions worth listing and testing: every coarse region and every fine region that
    /// splits its parent (a fine region holding all of its parent's rows is the same set of
    /// rows twice: listed, it would also count twice in the q-values). Indices into
    /// [`Regions::regions`].
    pub fn distinct(&self) -> Vec<usize> {
        let all = &self.regions.regions;
        (0..all.len())
            .filter(|&i| match (all[i].level, all[i].parent) {
                (Level::Fine, Some(p)) => all[p as usize].rows.len() != all[i].rows.len(),
                _ => true,
            })
            .collect()
    }

    /// The [`distinct`](Self::distinct) regions of both levels ranked by a metric (one
    /// Benjamini–Hochberg correction over them); `RegionStat::region` indexes
    /// [`Regions::regions`]. `values` as from [`crate::analysis::metric_values`].
    pub fn rank(
        &self,
        values: &[Option<f64>],
        is_bool: bool,
        worse: Worse,
        min_support: usize,
    ) -> Vec<RegionStat> {
        let all = &self.regions.regions;
        let ids = self.distinct();
        let rows: Vec<&[u32]> = ids.iter().map(|&i| all[i].rows.as_slice()).collect();
        let unclustered: Vec<usize> = (0..ids.len())
            .filter(|&k| all[ids[k]].unclustered)
            .collect();
        let mut stats = rank_regions(values, is_bool, worse, &rows, &unclustered, min_support);
        for s in &mut stats {
            s.region = ids[s.region];
        }
        stats
    }

    /// The label of a row's region at `level`, or "unclustered".
    pub fn row_label(&self, row: usize, level: Level) -> &str {
        let id = match level {
            Level::Coarse => self.regions.coarse_of_row[row],
            Level::Fine => self.regions.fine_of_row[row],
        };
        self.labels
            .get(id as usize)
            .map(String::as_str)
            .unwrap_or(crate::analysis::labels::UNCLUSTERED)
    }
}

/// Cluster the layout `coords` of `samples` and label every region of both levels (each
/// level's terms are distinctive against the other regions of that level).
pub fn compute_regions(
    samples: &Samples,
    coords: &[[f32; 2]],
    params: &RegionParams,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<MapRegions, PipelineError> {
    let regions = find_regions(coords, params, progress, cancel)?;
    let mut labels = vec![String::new(); regions.regions.len()];
    for level in [Level::Coarse, Level::Fine] {
        let of_level: Vec<_> = regions.level(level).collect();
        let rows: Vec<&[u32]> = of_level.iter().map(|r| r.rows.as_slice()).collect();
        let unclustered: Vec<usize> = of_level
            .iter()
            .enumerate()
            .filter(|(_, r)| r.unclustered)
            .map(|(i, _)| i)
            .collect();
        let roles: &[&str] = if samples.text_is_chat {
            crate::analysis::labels::CHAT_ROLE_WORDS
        } else {
            &[]
        };
        let terms = crate::analysis::labels::region_terms_without(
            &samples.texts,
            &rows,
            &unclustered,
            LABEL_TERMS,
            roles,
            cancel,
        )?;
        for (region, terms) in of_level.iter().zip(terms) {
            labels[region.id as usize] = if region.unclustered {
                crate::analysis::labels::UNCLUSTERED.to_string()
            } else if terms.is_empty() {
                format!("region {}", region.id)
            } else {
                label_text(&terms)
            };
        }
    }
    Ok(MapRegions { regions, labels })
}
