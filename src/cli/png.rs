//! `map --png`: the map drawn into a picture file (points, region labels, legend, caption),
//! or with `--compare COL=A,B` the density difference of two values of a column (as the
//! app's compare view draws it) with its colour bar.

use std::path::Path;

use super::args::CompareArg;
use crate::dataset::Samples;
use crate::render::difference::{DiffParams, Pair, pair};
use crate::render::{self, colors, image};

/// How the PNG looks: `--color-by`, `--density`, `--compare`, `--png-size`.
pub(super) struct Look<'a> {
    pub color_by: Option<&'a str>,
    pub density: bool,
    pub compare: Option<&'a CompareArg>,
    /// Width and height in pixels.
    pub size: (u32, u32),
    /// The map's region labels (drawn as the app draws them at the fitted view).
    pub labels: Option<&'a [render::labels::RegionMark]>,
}

/// Draw the map of `samples` into a PNG (every point, legend, caption).
pub(super) fn write_png(
    samples: &Samples,
    coords: &[[f32; 2]],
    look: &Look,
    out: &Path,
) -> anyhow::Result<()> {
    let (width, height) = look.size;
    if let Some(arg) = look.compare {
        let p = compare_pair(samples, arg)?;
        return write_difference(samples, coords, &p, look, out);
    }
    let column = color_column(samples, look.color_by)?;
    let (mut point_colors, legend) = colors::point_colors(samples, column.as_deref());
    // Samples `--onto` placed but found unlike the reference: white, on top (unless the
    // picture is coloured by that flag itself).
    let mut classes = vec![render::PointClass::Normal; coords.len()];
    let ood = match render::ood::ood_rows(samples) {
        Some(flags) if column.as_deref() != Some(render::ood::OOD_COLUMN) => {
            render::ood::mark(&flags, &mut point_colors, &mut classes)
        }
        _ => 0,
    };
    let mut caption = image::caption(&samples.display_name(), samples.len(), column.as_deref());
    if ood > 0 {
        caption.push_str(&format!(
            " · white: {} out of distribution (ood)",
            crate::util::format::thousands(ood)
        ));
    }
    // Points a little larger on big images, as on a high-DPI screen.
    let scale = (width.min(height) as f32 / 900.0).clamp(1.0, 4.0);
    let pic = image::Picture {
        coords,
        colors: &point_colors,
        classes: (ood > 0).then_some(&classes[..]),
        legend: &legend,
        caption: Some(caption),
        view: render::Viewport::fit(coords, width, height, 24.0 * scale),
        style: render::Style {
            radius_px: render::Style::radius_for(coords.len()) * scale,
            opacity: 0.85,
            faded_opacity: 0.12,
            mode: if look.density {
                render::Mode::Density
            } else {
                render::Mode::Points
            },
            background: image::BACKGROUND,
        },
        scale,
        labels: look.labels.map(|marks| (marks, 1.0)),
    };
    image::render(&pic)?.write_png(out)?;
    Ok(())
}

/// The rows of `--compare COL=A,B`, or an error naming the flag, the file and the column or
/// value that is not there. A value may hold commas: the first split of `A,B` that names two
/// of the column's values is taken.
pub(super) fn compare_pair(samples: &Samples, arg: &CompareArg) -> anyhow::Result<Pair> {
    let splits: Vec<usize> = arg.values.match_indices(',').map(|(i, _)| i).collect();
    let mut first_error = None;
    for i in splits {
        let (a, b) = (&arg.values[..i], &arg.values[i + 1..]);
        match pair(samples, &arg.column, a, b) {
            Ok(p) => return Ok(p),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => anyhow::bail!(
            "{}: --compare {}={}: {e}",
            samples.input_label(),
            arg.column,
            arg.values
        ),
        None => anyhow::bail!("--compare {}={}: expected COL=A,B", arg.column, arg.values),
    }
}

/// The density difference of the pair's two groups (share of A − share of B per pixel, red
/// more A, blue more B) with its colour bar, the region labels and a caption.
fn write_difference(
    samples: &Samples,
    coords: &[[f32; 2]],
    p: &Pair,
    look: &Look,
    out: &Path,
) -> anyhow::Result<()> {
    let (width, height) = look.size;
    let scale = (width.min(height) as f32 / 900.0).clamp(1.0, 4.0);
    let legend = colors::Legend::Difference {
        column: p.column.clone(),
        a: p.a.clone(),
        b: p.b.clone(),
        n_a: p.n_a,
        n_b: p.n_b,
    };
    let caption = format!(
        "{} · {}: A = {} ({}) vs B = {} ({})",
        image::caption(&samples.display_name(), samples.len(), None),
        p.column,
        p.a,
        crate::util::format::thousands(p.n_a),
        p.b,
        crate::util::format::thousands(p.n_b)
    );
    let pic = image::Picture {
        coords,
        colors: &[],
        classes: None,
        legend: &legend,
        caption: Some(caption),
        view: render::Viewport::fit(coords, width, height, 24.0 * scale),
        style: render::Style {
            radius_px: render::Style::radius_for(coords.len()) * scale,
            opacity: 0.85,
            faded_opacity: 0.12,
            mode: render::Mode::Points,
            background: image::BACKGROUND,
        },
        scale,
        labels: look.labels.map(|marks| (marks, 1.0)),
    };
    let params = DiffParams {
        sigma_px: DiffParams::default().sigma_px * scale,
    };
    image::render_difference(&pic, &p.of_row, &params)?.write_png(out)?;
    Ok(())
}

/// The colour column: `--color-by` when it names a numeric or category column, else the
/// default (a score-like column, else a small category).
fn color_column(samples: &Samples, color_by: Option<&str>) -> anyhow::Result<Option<String>> {
    Ok(match color_by {
        Some(c) => {
            let ok = samples
                .column_index(c)
                .is_some_and(|i| samples.columns[i].colorable());
            if !ok {
                let choices: Vec<&str> = samples
                    .columns
                    .iter()
                    .filter(|c| c.colorable())
                    .map(|c| c.name.as_str())
                    .collect();
                anyhow::bail!(
                    "--color-by {c}: no such numeric or category column in {} (choose from: {})",
                    samples.path.display(),
                    choices.join(", ")
                );
            }
            Some(c.to_string())
        }
        None => colors::default_color_column(samples),
    })
}
