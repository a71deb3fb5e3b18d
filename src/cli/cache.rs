//! The on-disk cache on the command line: `sample-atlas cache [clear]`, and how the other
//! commands open it (`--no-cache`, `--cache-max-gb`) and trim it to its cap when done.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::args::{CacheAction, CacheCommand, MapArgs};
use super::table::print_table;
use crate::cache::{self, Cache, TrimReport, Usage};
use crate::util::format::bytes;

/// `sample-atlas cache`: where the cache is and what it holds; `cache clear` empties it.
pub(super) fn run_cache(cmd: &CacheCommand) -> anyhow::Result<ExitCode> {
    let dir = Cache::default_dir().with_context(|| {
        format!(
            "no cache directory on this system (set ${})",
            cache::CACHE_DIR_ENV
        )
    })?;
    match cmd.action {
        None => {
            let max = cache::max_bytes_from_env().map_err(anyhow::Error::msg)?;
            println!("cache: {} (cap {})", dir.display(), bytes(max));
            print_usage(&cache::usage(&dir));
        }
        Some(CacheAction::Clear) => {
            let removed = cache::clear(&dir);
            println!(
                "removed {} entries and {} temporary files ({}) from {}",
                removed.entries(),
                removed.temporaries,
                bytes(removed.bytes()),
                dir.display()
            );
            print_usage(&removed);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per stage kind, then the temporaries and the total.
fn print_usage(u: &Usage) {
    let header = ["kind", "entries", "size"].map(String::from);
    let line = |kind: &str, n: usize, size: u64| vec![kind.to_string(), n.to_string(), bytes(size)];
    let mut rows: Vec<Vec<String>> = u
        .kinds
        .iter()
        .map(|k| line(k.kind, k.entries, k.bytes))
        .collect();
    rows.push(line("temporary", u.temporaries, u.temporary_bytes));
    rows.push(line("total", u.entries() + u.temporaries, u.bytes()));
    print_table(&header, &rows);
}

impl MapArgs {
    /// The cache's size cap in bytes: `--cache-max-gb`, else `$SAMPLE_ATLAS_CACHE_MAX_GB`,
    /// else 4 GB; `None` with `--no-cache`. A bad `$SAMPLE_ATLAS_CACHE_MAX_GB` is an error.
    pub fn cache_cap(&self) -> anyhow::Result<Option<u64>> {
        if self.no_cache {
            return Ok(None);
        }
        match self.cache_max_bytes {
            Some(max) => Ok(Some(max)),
            None => cache::max_bytes_from_env()
                .map(Some)
                .map_err(anyhow::Error::msg),
        }
    }
}

/// The on-disk cache with its cap (`--cache-max-gb`, else `$SAMPLE_ATLAS_CACHE_MAX_GB`,
/// else 4 GB), unless `--no-cache`. `warn` says on stderr why there is none when it cannot
/// be made. A bad `$SAMPLE_ATLAS_CACHE_MAX_GB` is an error.
///
/// A command runs once per process: every call returns a clone of the same handle, so the
/// entries the load read or wrote are spared by the trim at the command's end too.
pub(super) fn open_cache(args: &MapArgs, warn: bool) -> anyhow::Result<Option<Cache>> {
    static OPENED: std::sync::Mutex<Option<Cache>> = std::sync::Mutex::new(None);
    let Some(max) = args.cache_cap()? else {
        return Ok(None);
    };
    let opened = match Cache::default_dir() {
        Some(dir) => {
            let mut shared = OPENED.lock().unwrap_or_else(|e| e.into_inner());
            match shared.as_ref().filter(|c| c.dir() == dir) {
                Some(c) => Ok(c.clone()),
                None => Cache::open(dir.clone())
                    .inspect(|c| *shared = Some(c.clone()))
                    .map_err(|e| format!("{}: {e}", dir.display())),
            }
        }
        None => Err("no cache directory on this system".to_string()),
    };
    match opened {
        Ok(cache) => Ok(Some(cache.with_max_bytes(max))),
        Err(why) => {
            if warn {
                eprintln!("warning: caching is off: {why}");
            }
            Ok(None)
        }
    }
}

/// Trim the cache to its cap at the end of a command (see [`Cache::trim`]); says on stderr
/// what it holds (`always`) or only when something was removed.
pub(super) fn trim_cache(cache: Option<&Cache>, always: bool) -> Option<TrimReport> {
    let r = cache?.trim();
    if always || r.evicted > 0 || r.temporaries_removed > 0 {
        eprintln!("{}", describe_trim(&r, cache?.dir()));
    }
    Some(r)
}

fn describe_trim(r: &TrimReport, dir: &Path) -> String {
    let mut s = format!(
        "cache: {} entries, {} of {} in {}",
        r.entries,
        bytes(r.size_bytes),
        bytes(r.max_bytes),
        dir.display()
    );
    if r.evicted > 0 {
        s += &format!(
            "; evicted the {} least recently used ({})",
            r.evicted,
            bytes(r.bytes_freed)
        );
    }
    if r.size_bytes > r.max_bytes {
        s += "; this run's own entries exceed the cap (raise --cache-max-gb)";
    }
    if r.temporaries_removed > 0 {
        s += &format!(
            "; removed {} temporary files of killed runs",
            r.temporaries_removed
        );
    }
    s
}
