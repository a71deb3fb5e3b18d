//! Region labels on the map, laid out the same way for the app and the PNG export: which level
//! to show, how big each label is, where it goes, and which ones are dropped so that none
//! overlap. Pure geometry in screen pixels; the caller measures text and draws.
//!
//! - **Level**: coarse labels at the fitted view; fine ones once the view is zoomed in at
//!   least [`FINE_ZOOM`]× from the fit (or when the layout has a single coarse region, whose
//!   label would say nothing).
//! - **Size**: [`MIN_FONT_PX`]..=[`MAX_FONT_PX`] by the square root of the region's size over
//!   the largest region of the shown level.
//! - **Collisions**: greedy, largest region first; a label is skipped when its box overlaps one
//!   already placed, when it would cover the hovered point, or when its anchor is off screen.

use crate::analysis::regions::Level;
use crate::pipeline::MapRegions;

/// Zoom (from the fitted view) at which fine labels replace coarse ones.
pub const FINE_ZOOM: f32 = 2.0;
pub const MIN_FONT_PX: f32 = 11.0;
pub const MAX_FONT_PX: f32 = 18.0;
/// Terms of a region's label shown on the map (the panel shows them all).
pub const MAP_TERMS: usize = 3;

/// A region that can be labelled (the unclustered groups never are).
#[derive(Clone, Debug, PartialEq)]
pub struct RegionMark {
    pub region: u32,
    pub level: Level,
    pub text: String,
    /// Where the label goes: the region's density peak, in layout coordinates.
    pub peak: [f32; 2],
    pub size: usize,
}

/// The labellable regions of `regions`, both levels.
pub fn region_marks(regions: &MapRegions) -> Vec<RegionMark> {
    regions
        .regions
        .regions
        .iter()
        .filter(|r| !r.unclustered && !r.rows.is_empty())
        .map(|r| RegionMark {
            region: r.id,
            level: r.level,
            text: short_label(&regions.labels[r.id as usize]),
            peak: r.peak,
            size: r.rows.len(),
        })
        .collect()
}

/// The first [`MAP_TERMS`] terms of a label ("a, b, c, d" → "a, b, c").
pub fn short_label(label: &str) -> String {
    label
        .split(", ")
        .take(MAP_TERMS)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The level to label at `zoom_from_fit` (view pixels per unit over the fitted view's).
pub fn choose_level(marks: &[RegionMark], zoom_from_fit: f32) -> Level {
    let coarse = marks.iter().filter(|m| m.level == Level::Coarse).count();
    if zoom_from_fit >= FINE_ZOOM || coarse <= 1 {
        Level::Fine
    } else {
        Level::Coarse
    }
}

/// Font size of a region of `size` rows when the largest shown one has `largest`.
pub fn font_px(size: usize, largest: usize) -> f32 {
    let t = (size as f32 / largest.max(1) as f32).sqrt().clamp(0.0, 1.0);
    MIN_FONT_PX + (MAX_FONT_PX - MIN_FONT_PX) * t
}

/// A label to place: its text, anchor (screen pixels, the box's centre), font size and
/// priority (larger first).
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub region: u32,
    pub text: String,
    pub anchor: [f32; 2],
    pub font_px: f32,
    pub weight: usize,
}

/// A placed label: its box (min x, min y, max x, max y, screen pixels) and text.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacedLabel {
    pub region: u32,
    pub text: String,
    pub rect: [f32; 4],
    pub font_px: f32,
}

impl PlacedLabel {
    /// Where the text starts (inside the box's padding).
    pub fn text_origin(&self, scale: f32) -> [f32; 2] {
        [self.rect[0] + PAD_X * scale, self.rect[1] + PAD_Y * scale]
    }
}

const PAD_X: f32 = 4.0;
const PAD_Y: f32 = 2.0;
/// Text box height per font pixel.
const LINE: f32 = 1.25;

fn overlaps(a: &[f32; 4], b: &[f32; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

fn contains(r: &[f32; 4], p: [f32; 2]) -> bool {
    p[0] >= r[0] && p[0] <= r[2] && p[1] >= r[1] && p[1] <= r[3]
}

/// Where labels go: the screen box (min x, min y, max x, max y, pixels), boxes they keep off
/// (the legend), the hovered point they never cover, and the padding scale (2 on a high-DPI
/// export).
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub screen: [f32; 4],
    pub blocked: Vec<[f32; 4]>,
    pub avoid: Option<[f32; 2]>,
    pub scale: f32,
}

/// Place `candidates` in `frame`: largest weight first, each skipped when it overlaps a placed
/// one, covers the hovered point, or its anchor is off screen; one under a blocked box is
/// moved beside or below it when that fits.
/// `width_of(text, font_px)` measures text.
pub fn place(
    candidates: &[Candidate],
    frame: &Frame,
    mut width_of: impl FnMut(&str, f32) -> f32,
) -> Vec<PlacedLabel> {
    let (screen, scale) = (frame.screen, frame.scale);
    let mut order: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| contains(&screen, c.anchor))
        .collect();
    order.sort_by(|a, b| b.weight.cmp(&a.weight).then(a.region.cmp(&b.region)));
    let mut placed: Vec<PlacedLabel> = Vec::new();
    for c in order {
        let w = width_of(&c.text, c.font_px) + 2.0 * PAD_X * scale;
        let h = c.font_px * LINE + 2.0 * PAD_Y * scale;
        // Centred on the anchor, shifted onto the screen at its edges (the anchor, being on
        // screen, stays inside the box).
        let x0 = (c.anchor[0] - w / 2.0).min(screen[2] - w).max(screen[0]);
        let y0 = (c.anchor[1] - h / 2.0).min(screen[3] - h).max(screen[1]);
        let centred = [x0, y0, x0 + w, y0 + h];
        // A label under a blocked box (the legend) moves beside or below it, still over its
        // anchor's row or column; a label over the hovered point or another label is left out.
        let mut tries = vec![centred];
        for b in frame.blocked.iter().filter(|b| overlaps(b, &centred)) {
            let dx = b[0] - 2.0 - centred[2];
            let dy = b[3] + 2.0 - centred[1];
            tries.push([centred[0] + dx, centred[1], centred[2] + dx, centred[3]]);
            tries.push([centred[0], centred[1] + dy, centred[2], centred[3] + dy]);
        }
        let inside = |r: &[f32; 4]| {
            r[0] >= screen[0] && r[1] >= screen[1] && r[2] <= screen[2] && r[3] <= screen[3]
        };
        let fits = |(i, r): &(usize, [f32; 4])| {
            (*i == 0 || inside(r))
                && !frame.avoid.is_some_and(|p| contains(r, p))
                && !frame.blocked.iter().any(|b| overlaps(b, r))
                && !placed.iter().any(|p| overlaps(&p.rect, r))
                && (r[0] <= c.anchor[0] && c.anchor[0] <= r[2]
                    || r[1] <= c.anchor[1] && c.anchor[1] <= r[3])
        };
        let Some((_, rect)) = tries.into_iter().enumerate().find(fits) else {
            continue;
        };
        placed.push(PlacedLabel {
            region: c.region,
            text: c.text.clone(),
            rect,
            font_px: c.font_px,
        });
    }
    placed
}

/// The labels of one view: the level for `zoom_from_fit`, its regions' anchors through
/// `to_px` (layout → screen pixels), font sizes times the frame's scale, placed by [`place`].
pub fn layout(
    marks: &[RegionMark],
    zoom_from_fit: f32,
    to_px: impl Fn([f32; 2]) -> [f32; 2],
    frame: &Frame,
    width_of: impl FnMut(&str, f32) -> f32,
) -> Vec<PlacedLabel> {
    let level = choose_level(marks, zoom_from_fit);
    let shown: Vec<&RegionMark> = marks.iter().filter(|m| m.level == level).collect();
    let largest = shown.iter().map(|m| m.size).max().unwrap_or(1);
    let candidates: Vec<Candidate> = shown
        .iter()
        .map(|m| Candidate {
            region: m.region,
            text: m.text.clone(),
            anchor: to_px(m.peak),
            font_px: font_px(m.size, largest) * frame.scale,
            weight: m.size,
        })
        .collect();
    place(&candidates, frame, width_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(region: u32, x: f32, y: f32, weight: usize) -> Candidate {
        Candidate {
            region,
            text: format!("region number {region}"),
            anchor: [x, y],
            font_px: 14.0,
            weight,
        }
    }

    fn frame(blocked: &[[f32; 4]], avoid: Option<[f32; 2]>) -> Frame {
        Frame {
            screen: [0.0, 0.0, 800.0, 600.0],
            blocked: blocked.to_vec(),
            avoid,
            scale: 1.0,
        }
    }

    /// 7 px per character.
    fn width(text: &str, _px: f32) -> f32 {
        text.chars().count() as f32 * 7.0
    }

    #[test]
    fn placed_labels_never_overlap_and_the_largest_is_placed() {
        // A crowded grid of labels, the largest in the middle of the crowd.
        let mut cands = Vec::new();
        for i in 0..60u32 {
            let (x, y) = ((i % 10) as f32 * 40.0 + 50.0, (i / 10) as f32 * 12.0 + 50.0);
            cands.push(cand(i, x, y, 10 + i as usize));
        }
        cands.push(cand(99, 230.0, 80.0, 1000));
        let placed = place(&cands, &frame(&[], None), width);
        assert!(placed.len() >= 2 && placed.len() < cands.len());
        assert_eq!(
            placed[0].region, 99,
            "the largest region's label goes first"
        );
        for (i, a) in placed.iter().enumerate() {
            for b in &placed[i + 1..] {
                assert!(!overlaps(&a.rect, &b.rect), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn a_label_covering_the_hovered_point_is_dropped() {
        let cands = [cand(1, 100.0, 100.0, 50), cand(2, 400.0, 100.0, 10)];
        let all = place(&cands, &frame(&[], None), width);
        assert_eq!(all.len(), 2);
        let hovered = place(&cands, &frame(&[], Some([105.0, 101.0])), width);
        assert_eq!(hovered.len(), 1);
        assert_eq!(hovered[0].region, 2);
    }

    #[test]
    fn off_screen_anchors_are_skipped_and_sizes_grow_with_regions() {
        let edge = place(&[cand(1, 795.0, 100.0, 50)], &frame(&[], None), width);
        assert!(
            edge[0].rect[2] <= 800.0 && edge[0].rect[0] <= 795.0,
            "kept on screen"
        );
        let cands = [cand(1, -50.0, 100.0, 50)];
        assert!(place(&cands, &frame(&[], None), width).is_empty());
        // Under the legend: moved beside it (its anchor's row kept), or left out.
        let legend = [[600.0, 0.0, 800.0, 80.0]];
        let beside = place(&[cand(2, 650.0, 30.0, 50)], &frame(&legend, None), width);
        assert_eq!(beside.len(), 1);
        assert!(!overlaps(&beside[0].rect, &legend[0]));
        assert!(beside[0].rect[1] <= 30.0 && 30.0 <= beside[0].rect[3]);
        let deep = place(&[cand(2, 790.0, 30.0, 50)], &frame(&legend, None), width);
        assert!(deep.iter().all(|l| !overlaps(&l.rect, &legend[0])));
        assert_eq!(font_px(100, 100), MAX_FONT_PX);
        assert!(font_px(1, 10_000) < 11.1);
        assert!(font_px(25, 100) > font_px(4, 100));
    }

    #[test]
    fn coarse_when_fitted_fine_when_zoomed_in() {
        let mark = |region, level| RegionMark {
            region,
            level,
            text: "a".into(),
            peak: [0.0, 0.0],
            size: 10,
        };
        let marks = [
            mark(0, Level::Coarse),
            mark(1, Level::Coarse),
            mark(2, Level::Fine),
        ];
        assert_eq!(choose_level(&marks, 1.0), Level::Coarse);
        assert_eq!(choose_level(&marks, 2.5), Level::Fine);
        assert_eq!(
            choose_level(&marks[1..], 1.0),
            Level::Fine,
            "one coarse region"
        );
        assert_eq!(short_label("a, b, c, d"), "a, b, c");
    }
}
