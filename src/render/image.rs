//! A map as a PNG: the points (see [`super::rasterize`]) plus the legend / colour bar, drawn
//! with egui's own font so the file looks like the app; written atomically.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use super::colors::{self, Legend};
use super::legend::{Anchor, Shape, TextRole};
use super::{Rgba, Style, Viewport, blend};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: could not encode PNG: {detail}")]
    Encode { path: PathBuf, detail: String },
    #[error("image size {width}×{height} is out of range (1..=16384 per side)")]
    Size { width: u32, height: u32 },
}

/// An RGBA image being drawn on.
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<Rgba>,
    /// Multiplies font sizes and legend geometry (2 for a high-DPI export).
    pub scale: f32,
}

const TEXT: Rgba = [225, 225, 225, 255];
const WEAK_TEXT: Rgba = [150, 150, 150, 255];
const PANEL: Rgba = [30, 30, 30, 255];
pub const BACKGROUND: Rgba = [12, 12, 12, 255];

impl Canvas {
    fn fill_rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, color: Rgba, alpha: u32) {
        let clamp_x = |v: f32| (v.max(0.0) as u32).min(self.width);
        let clamp_y = |v: f32| (v.max(0.0) as u32).min(self.height);
        for y in clamp_y(y0)..clamp_y(y1) {
            for x in clamp_x(x0)..clamp_x(x1) {
                let p = &mut self.pixels[(y * self.width + x) as usize];
                blend(p, color, alpha);
            }
        }
    }

    fn disc(&mut self, cx: f32, cy: f32, r: f32, color: Rgba) {
        let reach = r.ceil() as i32 + 1;
        for dy in -reach..=reach {
            for dx in -reach..=reach {
                let (x, y) = (cx.floor() as i32 + dx, cy.floor() as i32 + dy);
                if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 {
                    continue;
                }
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                let cov = (r + 0.5 - d).clamp(0.0, 1.0);
                if cov > 0.0 {
                    let p = &mut self.pixels[(y as u32 * self.width + x as u32) as usize];
                    blend(p, color, (cov * 255.0) as u32);
                }
            }
        }
    }

    /// Draw `text` with its top-left corner at (x, y); returns its width in pixels.
    /// `right_aligned` puts its right edge at x instead.
    fn text(
        &mut self,
        x: f32,
        y: f32,
        text: &str,
        size: f32,
        color: Rgba,
        right_aligned: bool,
    ) -> f32 {
        // The font is compiled in; parsing it cannot fail (tested).
        let Ok(font) = FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT) else {
            return 0.0;
        };
        let scaled = font.as_scaled(PxScale::from(size * self.scale));
        let width = text_width(&scaled, text);
        let mut caret = if right_aligned { x - width } else { x };
        let baseline = y + scaled.ascent();
        let mut prev = None;
        for ch in text.chars() {
            let id = scaled.glyph_id(ch);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(scaled.scale(), point(caret, baseline));
            caret += scaled.h_advance(id);
            prev = Some(id);
            if let Some(outline) = font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                let (w, h) = (self.width as i32, self.height as i32);
                outline.draw(|gx, gy, cov| {
                    let (px, py) = (b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
                    if px >= 0 && py >= 0 && px < w && py < h {
                        let p = &mut self.pixels[(py * w + px) as usize];
                        blend(p, color, (cov.clamp(0.0, 1.0) * 255.0) as u32);
                    }
                });
            }
        }
        width
    }

    /// The width in pixels of `text` at `size` points.
    fn text_px_width(&self, text: &str, size: f32) -> f32 {
        match FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT) {
            Ok(font) => text_width(&font.as_scaled(PxScale::from(size * self.scale)), text),
            Err(_) => 0.0,
        }
    }

    /// The legend / colour bar in the top-right corner, as the app draws it.
    pub fn legend(&mut self, legend: &Legend) {
        let s = self.scale;
        let layout = super::legend::layout(legend, self.width as f32, 0.0, s);
        let size = layout.font_px / s;
        for shape in &layout.shapes {
            match shape {
                Shape::Panel(r) => {
                    self.fill_rect(r.min[0], r.min[1], r.max[0], r.max[1], PANEL, 230)
                }
                Shape::ColourBar(r) => {
                    let bw = r.width();
                    for k in 0..bw as u32 {
                        let c = colors::continuous(k as f32 / bw.max(1.0));
                        let x = r.min[0] + k as f32;
                        self.fill_rect(x, r.min[1], x + 1.0, r.max[1], c, 255);
                    }
                }
                Shape::DivergingBar(r) => {
                    let bw = r.width();
                    for k in 0..bw as u32 {
                        let t = (k as f32 + 0.5) / bw.max(1.0) * 2.0 - 1.0;
                        let x = r.min[0] + k as f32;
                        self.fill_rect(x, r.min[1], x + 1.0, r.max[1], colors::diverging(t), 255);
                    }
                }
                Shape::Swatch {
                    center,
                    radius,
                    color,
                } => self.disc(center[0], center[1], *radius, *color),
                Shape::Text {
                    at,
                    anchor,
                    text,
                    role,
                } => {
                    let color = if *role == TextRole::Count {
                        WEAK_TEXT
                    } else {
                        TEXT
                    };
                    // A centred text's top line is 7 points above its anchor.
                    let (x, right, y) = match anchor {
                        Anchor::LeftTop => (at[0], false, at[1]),
                        Anchor::RightTop => (at[0], true, at[1]),
                        Anchor::LeftCenter => (at[0], false, at[1] - 7.0 * s),
                        Anchor::RightCenter => (at[0], true, at[1] - 7.0 * s),
                        Anchor::CenterTop => {
                            (at[0] - self.text_px_width(text, size) / 2.0, false, at[1])
                        }
                    };
                    self.text(x, y, text, size, color, right);
                }
            }
        }
    }

    /// Region labels as the app draws them: laid out by [`super::labels::layout`], each on a
    /// dark box.
    pub fn region_labels(
        &mut self,
        marks: &[super::labels::RegionMark],
        zoom: f32,
        view: &Viewport,
        blocked: &[[f32; 4]],
    ) {
        // The font is compiled in; parsing it cannot fail (tested).
        let Ok(font) = FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT) else {
            return;
        };
        let frame = super::labels::Frame {
            screen: [0.0, 0.0, self.width as f32, self.height as f32],
            blocked: blocked.to_vec(),
            avoid: None,
            scale: self.scale,
        };
        let placed = super::labels::layout(
            marks,
            zoom,
            |p| view.to_pixel(p),
            &frame,
            |text, px| text_width(&font.as_scaled(PxScale::from(px)), text),
        );
        for label in &placed {
            let r = label.rect;
            self.fill_rect(r[0], r[1], r[2], r[3], [0, 0, 0, 255], 150);
            let [x, y] = label.text_origin(self.scale);
            // `text` scales its size by the canvas scale; the layout's sizes already are.
            self.text(x, y, &label.text, label.font_px / self.scale, TEXT, false);
        }
    }

    /// A caption in the bottom-left corner (file name, point count).
    pub fn caption(&mut self, text: &str) {
        let y = self.height as f32 - 22.0 * self.scale;
        self.text(10.0 * self.scale, y, text, 12.0, WEAK_TEXT, false);
    }

    /// Encode as PNG and write it atomically (temporary file, synced, renamed into place).
    pub fn write_png(&self, path: &Path) -> Result<(), ImageError> {
        let encode = |e: png::EncodingError| ImageError::Encode {
            path: path.to_path_buf(),
            detail: e.to_string(),
        };
        let written = crate::util::atomic::write_with(path, |file| {
            let mut encoder = png::Encoder::new(file, self.width, self.height);
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().map_err(encode)?;
            writer
                .write_image_data(self.pixels.as_flattened())
                .map_err(encode)?;
            writer.finish().map_err(encode)
        });
        written.map_err(|e| match e {
            crate::util::atomic::AtomicError::Io(source) => ImageError::Io {
                path: path.to_path_buf(),
                source,
            },
            crate::util::atomic::AtomicError::Write(e) => e,
        })
    }
}

fn text_width<F: Font, S: ScaleFont<F>>(scaled: &S, text: &str) -> f32 {
    let mut width = 0.0;
    let mut prev = None;
    for ch in text.chars() {
        let id = scaled.glyph_id(ch);
        if let Some(p) = prev {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        prev = Some(id);
    }
    width
}

/// The caption under a map picture: the set's name ([`Samples::display_name`]), sample count,
/// colour column.
///
/// [`Samples::display_name`]: crate::dataset::Samples::display_name
pub fn caption(name: &str, rows: usize, color_by: Option<&str>) -> String {
    let colour = color_by
        .map(|c| format!(" · colour: {c}"))
        .unwrap_or_default();
    format!(
        "{name} · {} samples{colour}",
        crate::util::format::thousands(rows)
    )
}

/// A compact display of a number (the app's legend uses the same).
pub fn format_number(v: f32) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else if v.abs() >= 1e5 || v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        // Four significant digits, without trailing zeros.
        let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// Everything a map picture needs.
pub struct Picture<'a> {
    pub coords: &'a [[f32; 2]],
    pub colors: &'a [Rgba],
    pub classes: Option<&'a [super::PointClass]>,
    pub legend: &'a Legend,
    pub caption: Option<String>,
    pub view: Viewport,
    pub style: Style,
    pub scale: f32,
    /// Region labels to draw (laid out by [`super::labels::layout`]) and the view's zoom from
    /// the fitted one; `None` draws none.
    pub labels: Option<(&'a [super::labels::RegionMark], f32)>,
}

/// Draw the points, the legend and the caption. Runs the points on rayon's threads.
pub fn render(p: &Picture<'_>) -> Result<Canvas, ImageError> {
    let (width, height) = (p.view.width, p.view.height);
    if !(1..=16_384).contains(&width) || !(1..=16_384).contains(&height) {
        return Err(ImageError::Size { width, height });
    }
    let pixels = super::rasterize(p.coords, p.colors, p.classes, &p.view, &p.style, true);
    Ok(decorate(p, pixels))
}

/// Like [`render`], with the density difference of the two groups of `groups` (see
/// [`super::difference`]) in place of the points; `p.legend` should be a
/// [`Legend::Difference`]. Runs on rayon's threads.
pub fn render_difference(
    p: &Picture<'_>,
    groups: &[u8],
    params: &super::difference::DiffParams,
) -> Result<Canvas, ImageError> {
    let (width, height) = (p.view.width, p.view.height);
    if !(1..=16_384).contains(&width) || !(1..=16_384).contains(&height) {
        return Err(ImageError::Size { width, height });
    }
    let pixels =
        super::difference::render(p.coords, groups, &p.view, params, p.style.background, true);
    Ok(decorate(p, pixels))
}

/// The region labels, the legend and the caption over `pixels`.
fn decorate(p: &Picture<'_>, pixels: Vec<Rgba>) -> Canvas {
    let (width, height) = (p.view.width, p.view.height);
    let mut canvas = Canvas {
        width,
        height,
        pixels,
        scale: p.scale,
    };
    if let Some((marks, zoom)) = p.labels {
        let legend = super::legend::layout(p.legend, width as f32, 0.0, p.scale).panel();
        canvas.region_labels(marks, zoom, &p.view, legend.as_slice());
    }
    canvas.legend(p.legend);
    if let Some(c) = &p.caption {
        canvas.caption(c);
    }
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Mode;

    #[test]
    fn numbers_are_compact() {
        let f = format_number;
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(0.848), "0.848");
        assert_eq!(f(22.0), "22");
        assert_eq!(f(0.123456), "0.1235");
        assert_eq!(f(1234.5678), "1235");
        assert_eq!(f(0.0001), "1.000e-4");
    }

    #[test]
    fn the_font_parses_and_text_is_drawn() {
        assert!(FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).is_ok());
        let mut c = Canvas {
            width: 80,
            height: 20,
            pixels: vec![[0, 0, 0, 255]; 1600],
            scale: 1.0,
        };
        let w = c.text(2.0, 2.0, "score", 12.0, TEXT, false);
        assert!(w > 20.0 && w < 60.0, "{w}");
        assert!(c.pixels.iter().filter(|p| p[0] > 100).count() > 20);
    }

    #[test]
    fn a_png_round_trips_with_its_legend() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.png");
        let coords: Vec<[f32; 2]> = (0..500).map(|i| [i as f32, (i % 7) as f32]).collect();
        let colors = vec![colors::category(1); 500];
        let legend = Legend::Continuous {
            column: "score".into(),
            min: 0.0,
            max: 1.0,
            missing: 3,
        };
        let pic = Picture {
            coords: &coords,
            colors: &colors,
            classes: None,
            legend: &legend,
            caption: Some("500 samples".into()),
            view: Viewport::fit(&coords, 400, 300, 20.0),
            style: Style {
                radius_px: 2.0,
                opacity: 1.0,
                faded_opacity: 0.1,
                mode: Mode::Points,
                background: BACKGROUND,
            },
            scale: 1.0,
            labels: None,
        };
        render(&pic).unwrap().write_png(&path).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (400, 300));
        // The viridis bar's left end (dark purple) is in the top-right legend.
        let px = |x: u32, y: u32| {
            let i = ((y * 400 + x) * 4) as usize;
            [buf[i], buf[i + 1], buf[i + 2]]
        };
        assert_eq!(px(400 - 12 - 220 + 10, 12 + 24 + 6), [68, 1, 84]);
        // Only the temporary file's rename left a file behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let bad = Picture {
            view: Viewport {
                width: 0,
                ..pic.view
            },
            ..pic
        };
        assert!(matches!(render(&bad), Err(ImageError::Size { .. })));
    }
}
