//! The window icon, `assets/icon.png`: a small map drawn by the app's own renderer — five
//! clusters of points in the first five category colours on the map's background. It is
//! committed as a PNG and compiled in; regenerate it (deterministic) with
//!
//! ```text
//! cargo test --lib app::icon::tests::regenerate -- --ignored
//! ```

/// The PNG the window shows as its icon.
pub const ICON_PNG: &[u8] = include_bytes!("../../assets/icon.png");

/// Side of the icon in pixels.
#[cfg(test)]
const SIZE: u32 = 256;

/// The icon's pixels: clustered points, a rounded dark square behind them.
#[cfg(test)]
fn draw() -> crate::render::image::Canvas {
    use crate::render::{self, Mode, Style, Viewport, colors};
    use rand::{Rng, SeedableRng};
    let mut rng = rand_pcg::Pcg64::seed_from_u64(12);
    let centres = [
        [-0.45, 0.35],
        [0.4, 0.45],
        [0.05, -0.05],
        [-0.35, -0.45],
        [0.45, -0.4],
    ];
    let (mut coords, mut point_colors) = (Vec::new(), Vec::new());
    for (k, c) in centres.iter().enumerate() {
        for _ in 0..140 {
            // A rough disc: the sum of two uniforms per axis leans towards the centre.
            let d = |rng: &mut rand_pcg::Pcg64| {
                (rng.random_range(-1.0f32..1.0) + rng.random_range(-1.0f32..1.0)) * 0.13
            };
            coords.push([c[0] + d(&mut rng), c[1] + d(&mut rng)]);
            point_colors.push(colors::category(k));
        }
    }
    let view = Viewport {
        center: [0.0, 0.0],
        px_per_unit: SIZE as f32 / 2.0 * 0.82,
        width: SIZE,
        height: SIZE,
    };
    let style = Style {
        radius_px: 5.0,
        opacity: 0.9,
        faded_opacity: 0.1,
        mode: Mode::Points,
        background: render::image::BACKGROUND,
    };
    let mut pixels = render::rasterize(&coords, &point_colors, None, &view, &style, false);
    // Round the corners: transparent outside a rounded square.
    let (r, n) = (40.0f32, SIZE as f32);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let (cx, cy) = (px.clamp(r, n - r), py.clamp(r, n - r));
            let outside = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt() - r;
            let alpha = (0.5 - outside).clamp(0.0, 1.0);
            pixels[(y * SIZE + x) as usize][3] = (alpha * 255.0).round() as u8;
        }
    }
    render::image::Canvas {
        width: SIZE,
        height: SIZE,
        pixels,
        scale: 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icon_decodes_as_a_square_window_icon() {
        let icon = eframe::icon_data::from_png_bytes(ICON_PNG).unwrap();
        assert_eq!((icon.width, icon.height), (SIZE, SIZE));
        assert_eq!(icon.rgba.len(), (SIZE * SIZE * 4) as usize);
        // Transparent corners, opaque middle.
        assert_eq!(icon.rgba[3], 0);
        assert_eq!(
            icon.rgba[((SIZE / 2 * SIZE + SIZE / 2) * 4 + 3) as usize],
            255
        );
    }

    #[test]
    fn the_committed_icon_is_the_drawn_one() {
        let icon = eframe::icon_data::from_png_bytes(ICON_PNG).unwrap();
        let drawn = draw();
        assert_eq!(icon.rgba, drawn.pixels.as_flattened());
    }

    #[test]
    #[ignore = "writes assets/icon.png"]
    fn regenerate() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/icon.png");
        draw().write_png(&path).unwrap();
    }
}
