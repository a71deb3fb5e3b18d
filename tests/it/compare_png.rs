//! `map --png --compare COL=A,B`: the density difference of two values of a column drawn
//! into the PNG (with its colour bar) instead of the points; a column or value that is not
//! there fails before the work, naming it.

use std::path::Path;

use crate::cli::{atlas, map, stderr, tmp};
use crate::sample;

/// Width, height and RGBA bytes of a PNG file.
pub(crate) fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Pixels outside the legend's corner (the top right 400 × 120) that are clearly red (more
/// A) and clearly blue (more B).
pub(crate) fn red_and_blue(width: u32, height: u32, rgba: &[u8]) -> (usize, usize) {
    let (mut red, mut blue) = (0, 0);
    for y in 0..height {
        for x in 0..width {
            if y < 120 && x + 400 >= width {
                continue;
            }
            let i = ((y * width + x) * 4) as usize;
            let (r, g, b) = (rgba[i] as i32, rgba[i + 1] as i32, rgba[i + 2] as i32);
            if r > g + 60 && r > b + 60 {
                red += 1;
            }
            if b > r + 60 && b > g + 20 {
                blue += 1;
            }
        }
    }
    (red, blue)
}

#[test]
fn the_png_shows_the_difference_of_two_temperatures() {
    let dir = tmp();
    let (out, png) = (dir.path().join("m.parquet"), dir.path().join("m.png"));
    let png_arg = png.to_str().unwrap();
    let common = ["--epochs", "30", "--png", png_arg, "--png-size", "800x500"];
    // The points, coloured by score (viridis: never red), for contrast.
    let o = map(&sample("sweep.jsonl"), &out, &common);
    assert!(o.status.success(), "{}", stderr(&o));
    let (w, h, plain) = read_png(&png);
    assert_eq!((w, h), (800, 500));
    assert_eq!(red_and_blue(w, h, &plain).0, 0, "viridis has no red");

    let mut args = common.to_vec();
    args.extend(["--compare", "temperature=1.5,0.5"]);
    let o = map(&sample("sweep.jsonl"), &out, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let (w, h, diff) = read_png(&png);
    assert_eq!((w, h), (800, 500));
    let first = &diff[..4];
    assert!(diff.chunks(4).any(|p| p != first), "not all one colour");
    let (red, blue) = red_and_blue(w, h, &diff);
    // Both temperatures have rows of their own somewhere on the map.
    assert!(red > 1000 && blue > 1000, "red {red}, blue {blue}");
}

#[test]
fn several_inputs_compare_by_source_even_with_a_comma_in_a_name() {
    let dir = tmp();
    let odd = dir.path().join("a,b.jsonl");
    std::fs::copy(sample("chat.jsonl"), &odd).unwrap();
    let (out, png) = (dir.path().join("m.parquet"), dir.path().join("m.png"));
    let o = atlas(&[
        "map",
        sample("chat.jsonl").to_str().unwrap(),
        odd.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
        "--no-cache",
        "--epochs",
        "30",
        "--png",
        png.to_str().unwrap(),
        "--compare",
        "source=a,b.jsonl,chat.jsonl",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_png(&png).0, 1600, "the default size");
}

#[test]
fn a_missing_column_or_value_fails_before_the_work_naming_it() {
    let dir = tmp();
    let (out, png) = (dir.path().join("m.parquet"), dir.path().join("m.png"));
    let png_arg = png.to_str().unwrap();
    let sweep = sample("sweep.jsonl");
    for (spec, expect) in [
        (
            "temprature=1.5,0.5",
            "--compare temprature=1.5,0.5: no column 'temprature' with 2 to 64 values to compare by (choose from: ",
        ),
        (
            "temperature=1.5,0.7",
            "--compare temperature=1.5,0.7: column 'temperature' has no value '0.7' (its values: 0, 0.5, 1, 1.5)",
        ),
        ("temperature=0.5,0.50", "A and B are both '0.5'"),
    ] {
        let o = map(&sweep, &out, &["--png", png_arg, "--compare", spec]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{spec}: {err}");
        assert!(err.contains(expect), "{spec}: {err}");
        assert!(err.contains("sweep.jsonl"), "names the file: {err}");
        assert!(!out.exists() && !png.exists(), "{spec}: nothing written");
        assert!(!err.contains("UMAP"), "before the map: {err}");
    }
    // Not COL=A,B, or without --png: usage errors.
    for args in [
        vec!["--png", png_arg, "--compare", "temperature"],
        vec!["--compare", "temperature=1.5,0.5"],
    ] {
        let o = map(&sweep, &out, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}
