//! Faults while the real binary writes: an unwritable directory, a full disk (a file-size
//! limit), a cache that cannot be written, a process killed mid-write; and the cache's cap.
//! (Beside `cli.rs` rather than in it, so the tests of other flags merge without conflicts.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant, SystemTime};

use polars::prelude::*;

use crate::cli::{atlas, map, read_parquet, stderr, tmp};
use crate::sample;
use sample_atlas::cache::{CACHE_DIR_ENV, CACHE_MAX_GB_ENV};

/// The temporaries of atomic writes left in `dir`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(".sample-atlas-") && name.ends_with(".tmp")
        })
        .collect()
}

/// How often `needle` occurs in `hay`.
fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// The failed run's message names `path` once and the OS `reason` once, and nothing was
/// left beside the path.
fn assert_clean_failure(o: &Output, path: &Path, reason: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let shown = path.display().to_string();
    assert_eq!(count(&err, &shown), 1, "the path once: {err}");
    assert_eq!(count(&err, reason), 1, "the reason once: {err}");
    if let Some(dir) = path.parent().filter(|d| d.is_dir()) {
        assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));
    }
}

/// A directory this process cannot write into, and the reason the OS gives: a read-only
/// directory — or, when permissions do not stop this process (root), a regular file where
/// the directory should be.
fn unwritable_dir(base: &Path) -> (PathBuf, &'static str) {
    use std::os::unix::fs::PermissionsExt;
    let ro = base.join("read-only");
    fs::create_dir(&ro).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    let probe = ro.join("probe");
    if fs::write(&probe, b"").is_err() {
        return (ro, "Permission denied");
    }
    fs::remove_file(&probe).unwrap();
    let file = base.join("a-file");
    fs::write(&file, b"not a directory").unwrap();
    (file, "Not a directory")
}

#[test]
fn unwritable_outputs_fail_before_the_work_and_leave_nothing() {
    let dir = tmp();
    let input = dir.path().join("in.jsonl");
    fs::copy(sample("chat.jsonl"), &input).unwrap();
    let before = fs::read(&input).unwrap();
    let (bad, reason) = unwritable_dir(dir.path());
    let good = dir.path().join("good.parquet");
    let i = input.to_str().unwrap();
    for (flag, name) in [
        ("-o", "out.parquet"),
        ("--report", "r.json"),
        ("--png", "map.png"),
    ] {
        let target = bad.join(name);
        let mut args = vec!["map", i, "--quiet", "--no-cache", "--epochs", "20"];
        if flag != "-o" {
            args.extend(["-o", good.to_str().unwrap()]);
        }
        args.extend([flag, target.to_str().unwrap()]);
        let o = atlas(&args);
        assert_clean_failure(&o, &target, reason);
        assert!(stderr(&o).contains("cannot write here"), "{}", stderr(&o));
        assert!(!good.exists(), "{flag}: failed before writing anything");
    }
    let target = bad.join("regions.csv");
    let o = atlas(&[
        "regions",
        i,
        "--metric",
        "len_chars",
        "--quiet",
        "--no-cache",
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, &target, reason);
    let target = bad.join("stats.csv");
    let o = atlas(&[
        "stats",
        i,
        "--metric",
        "len_chars",
        "--no-diversity",
        "--quiet",
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, &target, reason);
    // A directory where the file should go: found only when renaming into place.
    let taken = dir.path().join("taken");
    fs::create_dir(&taken).unwrap();
    for flag in ["-o", "--png", "--report"] {
        let mut args = vec!["map", i, "--quiet", "--no-cache", "--epochs", "20"];
        if flag != "-o" {
            args.extend(["-o", good.to_str().unwrap()]);
        }
        args.extend([flag, taken.to_str().unwrap()]);
        assert_clean_failure(&atlas(&args), &taken, "Is a directory");
        assert_eq!(fs::read_dir(&taken).unwrap().count(), 0);
    }
    assert_eq!(fs::read(&input).unwrap(), before, "the input is untouched");
    if bad.is_dir() {
        assert_eq!(fs::read_dir(&bad).unwrap().count(), 0);
    }
}

/// `sample-atlas ARGS` with files limited to `blocks` × 512 bytes (the POSIX shell's
/// `ulimit -f`) and SIGXFSZ ignored: a write past the limit fails with EFBIG ("File
/// too large") part-way through, as a write to a full disk fails with ENOSPC — as root too.
fn atlas_with_file_limit(blocks: u32, args: &[&str], cache: Option<&Path>) -> Output {
    let script = format!("trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\"");
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(&script).arg(crate::atlas_bin()).args(args);
    let mut c = crate::isolated(c);
    if let Some(dir) = cache {
        c.env(CACHE_DIR_ENV, dir);
    }
    c.output().expect("sh runs")
}

#[test]
fn a_full_disk_fails_the_output_and_keeps_the_previous_one() {
    let dir = tmp();
    let input = dir.path().join("in.jsonl");
    fs::copy(sample("sweep.jsonl"), &input).unwrap();
    let before = fs::read(&input).unwrap();
    let out = dir.path().join("out.parquet");
    let (i, o_path) = (input.to_str().unwrap(), out.to_str().unwrap());
    let o = map(&input, &out, &["--epochs", "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let previous = fs::read(&out).unwrap();
    assert!(previous.len() > 40 * 512, "bigger than the limit below");
    // The Parquet output (100 kB) cannot be written within 20 kB.
    let args = [
        "map",
        i,
        "-o",
        o_path,
        "--quiet",
        "--no-cache",
        "--epochs",
        "20",
    ];
    let o = atlas_with_file_limit(40, &args, None);
    assert_clean_failure(&o, &out, "File too large");
    assert_eq!(
        fs::read(&out).unwrap(),
        previous,
        "the previous output is whole"
    );
    assert_eq!(fs::read(&input).unwrap(), before, "the input is untouched");

    // A PNG too big for 10 kB: the Parquet output is written, the old PNG stays.
    let png = dir.path().join("map.png");
    let small = dir.path().join("small.parquet");
    let (s, p) = (small.to_str().unwrap(), png.to_str().unwrap());
    let chat = sample("chat.jsonl");
    let c = chat.to_str().unwrap();
    let args = ["map", c, "-o", s, "--quiet", "--no-cache", "--png", p];
    let o = atlas(&[&args[..], &["--png-size", "32x32"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let old_png = fs::read(&png).unwrap();
    let o = atlas_with_file_limit(
        20,
        &[&args[..], &["--png-size", "3200x2000"]].concat(),
        None,
    );
    assert_clean_failure(&o, &png, "File too large");
    assert_eq!(fs::read(&png).unwrap(), old_png);
    assert_eq!(read_parquet(&small).height(), 40);
}

#[test]
fn a_cache_that_cannot_be_written_is_a_warning_and_the_run_goes_on() {
    let dir = tmp();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out.parquet");
    let report = dir.path().join("r.json");
    let sweep = sample("sweep.jsonl");
    let args = [
        "map",
        sweep.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
        "--epochs",
        "20",
        "--report",
        report.to_str().unwrap(),
    ];
    let run = || with_cache(&cache, &args, &[]);
    // Full disk: the embeddings entry (1.2 MB) does not fit in 300 kB; the kNN graph
    // (258 kB), the layout and the output (100 kB) do.
    let o = atlas_with_file_limit(600, &args, Some(&cache));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(count(&err, "could not write the cache"), 1, "{err}");
    assert!(err.contains("File too large"), "{err}");
    assert_eq!(read_parquet(&out).height(), 2304);
    assert!(leftovers(&cache).is_empty());
    // The entries it could write (kNN graph, layout) are whole: the next run uses them.
    run();
    let r: serde_json::Value = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["cache"]["layout"], "hit");

    // Unwritable entries: a directory stands where each entry would be renamed to.
    sample_atlas::cache::clear(&cache);
    run();
    for e in fs::read_dir(&cache).unwrap() {
        let p = e.unwrap().path();
        fs::remove_file(&p).unwrap();
        fs::create_dir(&p).unwrap();
    }
    let err = stderr(&run());
    assert_eq!(count(&err, "could not write the cache"), 3, "{err}");
    assert_eq!(count(&err, "Is a directory"), 3, "{err}");
    assert_eq!(read_parquet(&out).height(), 2304);
    assert!(leftovers(&cache).is_empty());
}

/// A Parquet sample set of `n` rows with a precomputed layout (`--xy x,y`): loading and
/// writing are the whole run, and writing it takes long enough to be interrupted.
fn layout_input(path: &Path, n: usize, tag: &str) {
    let text: Vec<String> = (0..n)
        .map(|i| format!("sample {i} {tag} of a set that is written slowly enough"))
        .collect();
    let x: Vec<f64> = (0..n).map(|i| (i % 317) as f64).collect();
    let y: Vec<f64> = (0..n).map(|i| (i % 211) as f64).collect();
    let mut df = df!("text" => text, "x" => x, "y" => y).unwrap();
    ParquetWriter::new(fs::File::create(path).unwrap())
        .finish(&mut df)
        .unwrap();
}

fn layout_args<'a>(input: &'a Path, out: &'a Path) -> [&'a str; 10] {
    [
        "map",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
        "--no-cache",
        "--xy",
        "x,y",
        "--no-builtin-metrics",
        "--text=text",
    ]
}

/// A temporary with bytes in it, not among `known`: the output is being written.
fn writing(dir: &Path, known: &[PathBuf]) -> bool {
    leftovers(dir)
        .iter()
        .any(|p| !known.contains(p) && fs::metadata(p).is_ok_and(|m| m.len() > 0))
}

/// Start a run over an output in `out_dir`, SIGKILL it at `moment` (`Err(ms)`: that long
/// after the start; `Ok(ms)`: that long after its temporary output has bytes), wait for it;
/// `true` when it left a temporary (it was killed mid-write).
fn run_and_kill(args: &[&str], out_dir: &Path, moment: Result<u64, u64>) -> bool {
    let known = leftovers(out_dir);
    let mut child = crate::atlas_cmd()
        .args(args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let ms = match moment {
        Err(ms) => ms,
        Ok(ms) => {
            while !writing(out_dir, &known) && child.try_wait().unwrap().is_none() {
                assert!(
                    start.elapsed() < Duration::from_secs(120),
                    "no output written"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            ms
        }
    };
    std::thread::sleep(Duration::from_millis(ms));
    child.kill().unwrap();
    child.wait().unwrap();
    leftovers(out_dir).len() > known.len()
}

#[test]
fn a_killed_map_leaves_the_previous_output_whole() {
    let dir = tmp();
    let out_dir = dir.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let (old_in, new_in) = (
        dir.path().join("old.parquet"),
        dir.path().join("new.parquet"),
    );
    let n = 60_000;
    layout_input(&old_in, n, "old");
    layout_input(&new_in, n, "new");
    let out = out_dir.join("map.parquet");
    // The new run's complete output, for comparison.
    let complete = dir.path().join("complete.parquet");
    for (input, output) in [(&new_in, &complete), (&old_in, &out)] {
        let o = atlas(&layout_args(input, output));
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (old, new) = (fs::read(&out).unwrap(), fs::read(&complete).unwrap());
    assert_ne!(old, new);
    let args = layout_args(&new_in, &out);
    let mut mid_write = 0;
    for moment in [Err(300), Ok(0), Ok(5), Ok(30), Ok(100), Ok(300)] {
        let killed_mid_write = run_and_kill(&args, &out_dir, moment);
        let now = fs::read(&out).unwrap();
        if killed_mid_write {
            mid_write += 1;
            assert!(
                now == old,
                "{moment:?}: killed mid-write, the previous output"
            );
        } else {
            assert!(now == old || now == new, "{moment:?}: a whole output");
        }
        assert_eq!(read_parquet(&out).height(), n);
    }
    assert!(mid_write >= 2, "only {mid_write} kills landed mid-write");
    // The next run is not tripped by the leftovers…
    let o = atlas(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(&out).unwrap(), new);
    assert_eq!(
        leftovers(&out_dir).len(),
        mid_write,
        "too young to be collected"
    );
    // …and once they are old, the next write into the directory collects them.
    for p in leftovers(&out_dir) {
        let f = fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(120))
            .unwrap();
    }
    let o = atlas(&layout_args(&old_in, &out));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(leftovers(&out_dir).is_empty(), "{:?}", leftovers(&out_dir));
    assert_eq!(fs::read(&out).unwrap(), old);
}

#[cfg(unix)]
#[test]
fn outputs_are_readable_as_file_create_makes_them_and_keep_their_mode() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tmp();
    let out = dir.path().join("out.parquet");
    let report = dir.path().join("r.json");
    let o = map(
        &sample("chat.jsonl"),
        &out,
        &["--epochs", "20", "--report", report.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let reference = dir.path().join("reference");
    fs::File::create(&reference).unwrap();
    assert_eq!(mode(&out), mode(&reference));
    assert_eq!(mode(&report), mode(&reference));
    fs::set_permissions(&out, fs::Permissions::from_mode(0o640)).unwrap();
    let o = map(&sample("chat.jsonl"), &out, &["--epochs", "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(mode(&out), 0o640);
}

/// `sample-atlas ARGS` with the cache in `dir` (and `extra` environment variables).
fn with_cache(dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut c = crate::atlas_cmd();
    c.args(args).env(CACHE_DIR_ENV, dir);
    for (k, v) in extra {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

#[test]
fn the_cache_is_capped_shown_and_cleared() {
    let dir = tmp();
    let cache = dir.path().join("cache");
    let out = dir.path().join("o.parquet");
    let report = dir.path().join("r.json");
    let chat = sample("chat.jsonl");
    let run = |extra: &[&str], env: &[(&str, &str)]| -> serde_json::Value {
        let mut args = vec![
            "map",
            chat.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
            "--report",
            report.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        with_cache(&cache, &args, env);
        serde_json::from_slice(&fs::read(&report).unwrap()).unwrap()
    };
    let first = run(&[], &[]);
    assert_eq!(first["cache_trim"]["entries"], 3);
    assert_eq!(first["cache_trim"]["evicted"], 0);
    assert_eq!(first["cache_trim"]["max_bytes"], 4_000_000_000u64);
    assert!(first["cache_trim"]["size_bytes"].as_u64().unwrap() > 0);
    // A cap of 0: only what this run used stays. It reused the embeddings and the kNN graph
    // and wrote a layout; the first layout, unused, is evicted.
    let second = run(&["--min-dist", "0.3", "--cache-max-gb", "0"], &[]);
    assert_eq!(second["cache"]["neighbors"], "hit");
    let trim = &second["cache_trim"];
    assert_eq!(
        (trim["evicted"].as_u64(), trim["entries"].as_u64()),
        (Some(1), Some(3))
    );
    assert!(trim["bytes_freed"].as_u64().unwrap() > 0);
    assert_eq!(trim["max_bytes"], 0);
    // The entries it wrote are whole and used by the next run.
    let third = run(&["--min-dist", "0.3"], &[]);
    assert_eq!(third["cache"]["layout"], "hit");
    // The cap from the environment; this run used only the layout entry.
    let fourth = run(&["--min-dist", "0.3"], &[(CACHE_MAX_GB_ENV, "0.000001")]);
    assert_eq!(fourth["cache_trim"]["evicted"], 2);
    assert_eq!(fourth["cache_trim"]["max_bytes"], 1000);
    let o = crate::atlas_cmd()
        .args(["map", chat.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .env(CACHE_DIR_ENV, &cache)
        .env(CACHE_MAX_GB_ENV, "lots")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("$SAMPLE_ATLAS_CACHE_MAX_GB: 'lots'"),
        "{}",
        stderr(&o)
    );

    run(&[], &[]);
    // A killed run's temporary, old enough to be abandoned.
    let killed = cache.join(".sample-atlas-killed.tmp");
    fs::write(&killed, b"half an entry").unwrap();
    let shown = with_cache(&cache, &["cache"], &[]);
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(text.contains(&cache.display().to_string()), "{text}");
    assert!(text.contains("cap 4.0 GB"), "{text}");
    for (kind, n) in [
        ("embeddings", 1),
        ("neighbors", 1),
        ("layout", 2),
        ("temporary", 1),
    ] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(kind))
            .unwrap();
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[1], n.to_string(), "{text}");
    }
    let cleared = with_cache(&cache, &["cache", "clear"], &[]);
    let text = String::from_utf8_lossy(&cleared.stdout).into_owned();
    assert!(
        text.contains("removed 4 entries and 1 temporary files"),
        "{text}"
    );
    assert_eq!(fs::read_dir(&cache).unwrap().count(), 0);
}
