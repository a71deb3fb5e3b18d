//! Tables on stdout and in files (CSV or JSON).

use std::path::Path;

use anyhow::Context;

use crate::util::atomic;

/// Print rows of cells as an aligned text table.
pub(super) fn print_table(header: &[String], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(header));
    for r in rows {
        println!("{}", line(r));
    }
}

/// Write a table as CSV or JSON (by the file's extension), atomically.
pub(super) fn write_table(
    path: &Path,
    header: &[String],
    rows: &[Vec<String>],
    json: serde_json::Value,
) -> anyhow::Result<()> {
    let bytes = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => serde_json::to_vec_pretty(&json)?,
        Some(e) if e.eq_ignore_ascii_case("csv") => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(header)?;
            for r in rows {
                w.write_record(r)?;
            }
            w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?
        }
        _ => anyhow::bail!("{}: the output must end in .csv or .json", path.display()),
    };
    atomic::write_bytes(path, &bytes).with_context(|| format!("{}: writing", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
