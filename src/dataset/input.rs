//! What an input names and its bytes: a file, a folder of parts (Spark / Ray / Hugging Face
//! write these, with hive-style `key=value/` folders), or a glob (`data/part-*.parquet`);
//! `.gz` and `.zst` files are decompressed in memory, never unpacked to disk.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::LoadError;
use super::read::Format;

/// One file of an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub path: PathBuf,
    /// How rows name it: the path relative to its folder or glob base, else the file name.
    pub name: String,
    /// `key=value` folders between the base and the file, outermost first.
    pub hive: Vec<(String, String)>,
}

/// How a file's bytes are compressed, by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression of `path` and its name without the compression extension.
    pub fn of(path: &Path) -> (Compression, String) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        for (ext, c) in [
            (".gz", Compression::Gzip),
            (".zst", Compression::Zstd),
            (".zstd", Compression::Zstd),
        ] {
            if lower.ends_with(ext) {
                return (c, name[..name.len() - ext.len()].to_string());
            }
        }
        (Compression::None, name)
    }
}

pub(super) fn io_error(path: &Path, error: std::io::Error) -> LoadError {
    LoadError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// The whole content of `path`, decompressed when it ends in `.gz` / `.zst`.
pub(super) fn read_bytes(path: &Path) -> Result<Vec<u8>, LoadError> {
    let raw = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let (compression, _) = Compression::of(path);
    let corrupt = |what: &str, e: std::io::Error| LoadError::Parse {
        path: path.to_path_buf(),
        format: if what == "gzip" { "gzip" } else { "zstd" },
        detail: format!("not a valid {what} stream: {e}"),
    };
    match compression {
        Compression::None => Ok(raw),
        Compression::Gzip => {
            let mut out = Vec::with_capacity(raw.len() * 4);
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map_err(|e| corrupt("gzip", e))?;
            Ok(out)
        }
        Compression::Zstd => zstd::stream::decode_all(&raw[..]).map_err(|e| corrupt("zstd", e)),
    }
}

/// Every file the inputs name, in order: a file is itself, a folder is the data files under
/// it (sorted by path), a pattern with `*`, `?` or `[` is the files it matches (sorted).
pub(super) fn expand(inputs: &[PathBuf]) -> Result<Vec<Part>, LoadError> {
    let mut parts = Vec::new();
    for input in inputs {
        parts.extend(expand_one(input)?);
    }
    // Names must tell the parts apart: fall back to full paths when two collide.
    let mut names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        for p in &mut parts {
            p.name = p.path.display().to_string();
        }
    }
    Ok(parts)
}

fn expand_one(input: &Path) -> Result<Vec<Part>, LoadError> {
    let text = input.to_string_lossy();
    if !input.exists() && text.contains(['*', '?', '[']) {
        return expand_glob(input, &text);
    }
    let meta = std::fs::metadata(input).map_err(|e| io_error(input, e))?;
    if !meta.is_dir() {
        let name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| text.into_owned());
        return Ok(vec![Part {
            path: input.to_path_buf(),
            name,
            hive: Vec::new(),
        }]);
    }
    let mut files = Vec::new();
    walk(input, &mut files).map_err(|e| io_error(input, e))?;
    files.sort();
    let parts: Vec<Part> = files.iter().map(|f| part_under(input, f)).collect();
    if parts.is_empty() {
        return Err(LoadError::NoParts {
            path: input.to_path_buf(),
            reason: "the folder holds no data files (.jsonl, .json, .csv, .tsv, .parquet, optionally .gz / .zst)".into(),
        });
    }
    Ok(parts)
}

fn expand_glob(input: &Path, pattern: &str) -> Result<Vec<Part>, LoadError> {
    let no_parts = |reason: String| LoadError::NoParts {
        path: input.to_path_buf(),
        reason,
    };
    let paths = glob::glob(pattern).map_err(|e| no_parts(format!("bad pattern: {e}")))?;
    let mut files: Vec<PathBuf> = paths
        .filter_map(Result::ok)
        .filter(|p| p.is_file() && is_data_file(p))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(no_parts("the pattern matches no data files".into()));
    }
    // The base: the leading components without a wildcard.
    let base: PathBuf = input
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
        .collect();
    Ok(files.iter().map(|f| part_under(&base, f)).collect())
}

fn part_under(base: &Path, file: &Path) -> Part {
    let rel = file.strip_prefix(base).unwrap_or(file);
    let hive = rel
        .parent()
        .into_iter()
        .flat_map(|p| p.components())
        .filter_map(|c| {
            let c = c.as_os_str().to_string_lossy();
            let (k, v) = c.split_once('=')?;
            (!k.is_empty()).then(|| (k.to_string(), v.to_string()))
        })
        .collect();
    Part {
        path: file.to_path_buf(),
        name: rel.to_string_lossy().replace('\\', "/"),
        hive,
    }
}

/// A file a folder of parts contributes: a known data format, not hidden or a marker
/// (`.crc`, `_SUCCESS`, `_metadata`).
fn is_data_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    !name.starts_with(['.', '_']) && Format::of(path).is_ok_and(|f| f != Format::Npy)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(['.', '_']));
        if path.is_dir() && !hidden {
            walk(&path, files)?;
        } else if path.is_file() && is_data_file(&path) {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, rel: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"{}\n").unwrap();
    }

    #[test]
    fn folders_globs_and_hive_keys() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(d, "model=a/part-0.jsonl");
        touch(d, "model=b/temp=0.7/part-0.jsonl.gz");
        touch(d, "_SUCCESS");
        touch(d, ".part-0.jsonl.crc");
        touch(d, "notes.txt");
        let parts = expand(&[d.to_path_buf()]).unwrap();
        let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["model=a/part-0.jsonl", "model=b/temp=0.7/part-0.jsonl.gz"]
        );
        assert_eq!(
            parts[1].hive,
            [("model".into(), "b".into()), ("temp".into(), "0.7".into())]
        );
        let pattern = d.join("model=*/part-*.jsonl");
        let parts = expand(&[pattern]).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].name, "model=a/part-0.jsonl");
        assert_eq!(parts[0].hive, [("model".into(), "a".into())]);
        let err = expand(&[d.join("*.parquet")]).unwrap_err();
        assert!(err.to_string().contains("matches no data files"), "{err}");
    }

    #[test]
    fn compression_by_extension() {
        assert_eq!(
            Compression::of(Path::new("a/b.JSONL.GZ")),
            (Compression::Gzip, "b.JSONL".to_string())
        );
        assert_eq!(Compression::of(Path::new("b.csv.zst")).0, Compression::Zstd);
        assert_eq!(Compression::of(Path::new("b.csv")).0, Compression::None);
    }
}
