//! On-disk cache of pipeline stages (the loaded table, embeddings, kNN graph, layout) in the platform cache
//! directory, keyed by a BLAKE3 hash of the input's content and every parameter that shapes
//! the stage. Entries are written to a temporary file and renamed; each carries a checksum,
//! and an entry that is truncated or corrupt is deleted and recomputed.
//!
//! The cache has a size cap ([`DEFAULT_MAX_BYTES`], `$SAMPLE_ATLAS_CACHE_MAX_GB`): reading an
//! entry touches its modification time, and [`Cache::trim`] (run at the end of a command)
//! evicts the least recently used entries beyond the cap, never one this process read or
//! wrote. Removing a file is atomic, so another process sharing the cache sees an entry whole
//! or not at all (then it recomputes it).

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::util::atomic;

/// Bump when the meaning or layout of a cached payload changes.
const CACHE_FORMAT: &str = "sample-atlas-cache-v1";
const MAGIC: &[u8; 8] = b"SATLAS01";
/// Environment variable that overrides the cache directory.
pub const CACHE_DIR_ENV: &str = "SAMPLE_ATLAS_CACHE_DIR";
/// Environment variable with the size cap in GB (see [`parse_gb`]).
pub const CACHE_MAX_GB_ENV: &str = "SAMPLE_ATLAS_CACHE_MAX_GB";
/// The size cap without `--cache-max-gb` or `$SAMPLE_ATLAS_CACHE_MAX_GB`: 4 GB.
pub const DEFAULT_MAX_BYTES: u64 = 4_000_000_000;
/// The families of entries as named on disk (every per-text segment is a `textvec`).
pub const KIND_NAMES: [&str; 5] = ["table", "embeddings", "neighbors", "layout", "textvec"];

/// Bytes in a size given in GB (10⁹ bytes, decimals allowed). `0` keeps only the entries the
/// current run uses.
pub fn parse_gb(s: &str) -> Result<u64, String> {
    match s.trim().parse::<f64>() {
        Ok(gb) if gb.is_finite() && (0.0..=1e9).contains(&gb) => Ok((gb * 1e9).round() as u64),
        _ => Err(format!("'{s}': expected a size in GB, e.g. 4 or 0.5")),
    }
}

/// The size cap from `$SAMPLE_ATLAS_CACHE_MAX_GB`, else [`DEFAULT_MAX_BYTES`].
pub fn max_bytes_from_env() -> Result<u64, String> {
    match std::env::var(CACHE_MAX_GB_ENV) {
        Ok(v) => parse_gb(&v).map_err(|e| format!("${CACHE_MAX_GB_ENV}: {e}")),
        Err(_) => Ok(DEFAULT_MAX_BYTES),
    }
}

/// A 32-byte key naming one cache entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key(pub [u8; 32]);

impl Key {
    /// Hash the parts (length-prefixed, so `["ab", "c"]` and `["a", "bc"]` differ).
    pub fn of(parts: &[&[u8]]) -> Key {
        let mut h = blake3::Hasher::new();
        h.update(CACHE_FORMAT.as_bytes());
        for p in parts {
            h.update(&(p.len() as u64).to_le_bytes());
            h.update(p);
        }
        Key(*h.finalize().as_bytes())
    }

    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// BLAKE3 of a file's bytes, read in blocks of 1 MiB (they stay in the CPU's cache while
/// hashed) hashed on every core (a 290 MB file: see README "Cache"). Input files are read,
/// never mapped: a file truncated while mapped would kill the process.
pub fn file_hash(path: &Path) -> std::io::Result<[u8; 32]> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len() as usize;
    hash_blocks(file, (1 << 20).min(len + 1))
}

/// BLAKE3 of what `reader` yields, read `block` bytes at a time.
fn hash_blocks(mut reader: impl std::io::Read, block: usize) -> std::io::Result<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; block.max(1)];
    loop {
        // Fill the block (a read may return less) so each is hashed in one wide call.
        let mut filled = 0;
        while filled < buf.len() {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            break;
        }
        h.update_rayon(&buf[..filled]);
        if filled < buf.len() {
            break;
        }
    }
    Ok(*h.finalize().as_bytes())
}

/// The kinds of cache entry. Each has a fixed name (the entry's file-name prefix and the
/// first part of its key): renaming a variant cannot silently invalidate a cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageKind {
    /// A loaded table: the input parsed, its columns described, the built-in metrics added.
    Table,
    /// A whole matrix of vectors for one input and vector source.
    Embeddings,
    /// A kNN graph.
    Neighbors,
    /// A finished 2-D layout.
    Layout,
    /// A segment of per-text vectors of one embedding space (see `embedding::store`).
    TextVectors { space: Key },
}

impl StageKind {
    /// The stable name of the kind, as stored on disk.
    pub fn name(&self) -> std::borrow::Cow<'static, str> {
        match self {
            StageKind::Table => "table".into(),
            StageKind::Embeddings => "embeddings".into(),
            StageKind::Neighbors => "neighbors".into(),
            StageKind::Layout => "layout".into(),
            StageKind::TextVectors { space } => format!("textvec-{}", space.hex()).into(),
        }
    }
}

/// What happened with a stage's cache entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheUse {
    /// Caching was off.
    Off,
    Hit,
    /// Computed (and stored).
    Miss,
    /// Not needed (a later stage was a hit, or the stage did not run).
    Skipped,
}

/// A handle on the cache in one directory. Clones share the set of entries in use, so a
/// command that hands a clone to each stage spares all of them in its trim.
#[derive(Clone)]
pub struct Cache {
    dir: PathBuf,
    /// [`Cache::trim`] evicts least recently used entries beyond this many bytes.
    max_bytes: u64,
    /// The entries this handle (and its clones) read or wrote: its trim never evicts them.
    in_use: Arc<Mutex<HashSet<PathBuf>>>,
}

/// What [`Cache::trim`] did, and the cache's size after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TrimReport {
    pub evicted: usize,
    pub bytes_freed: u64,
    /// Temporaries of killed writers removed.
    pub temporaries_removed: usize,
    pub entries: usize,
    pub size_bytes: u64,
    pub max_bytes: u64,
}

/// The entries of one kind family (see [`KIND_NAMES`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct KindUsage {
    pub kind: &'static str,
    pub entries: usize,
    pub bytes: u64,
}

/// What a cache directory holds (or what [`clear`] removed from it).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    /// One line per family of [`KIND_NAMES`], in that order.
    pub kinds: Vec<KindUsage>,
    /// Temporary files (being written, or left by a killed writer).
    pub temporaries: usize,
    pub temporary_bytes: u64,
}

impl Usage {
    pub fn entries(&self) -> usize {
        self.kinds.iter().map(|k| k.entries).sum()
    }

    /// Bytes of the entries and temporaries.
    pub fn bytes(&self) -> u64 {
        self.kinds.iter().map(|k| k.bytes).sum::<u64>() + self.temporary_bytes
    }

    fn of(entries: &[Entry]) -> Usage {
        let kinds = KIND_NAMES
            .iter()
            .map(|&kind| {
                let of_kind = entries.iter().filter(|e| e.kind == kind);
                KindUsage {
                    kind,
                    entries: of_kind.clone().count(),
                    bytes: of_kind.map(|e| e.bytes).sum(),
                }
            })
            .collect();
        Usage {
            kinds,
            ..Usage::default()
        }
    }
}

/// One entry file: its family, size and last use (modification time).
struct Entry {
    path: PathBuf,
    kind: &'static str,
    bytes: u64,
    used: SystemTime,
}

/// Every entry file in `dir` (files named `<kind>-<hex>.bin`); other files are not the
/// cache's and are left alone.
fn entries(dir: &Path) -> Vec<Entry> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?.strip_suffix(".bin")?;
            let kind = KIND_NAMES
                .into_iter()
                .find(|k| name.strip_prefix(k).is_some_and(|r| r.starts_with('-')))?;
            let meta = e.metadata().ok().filter(|m| m.is_file())?;
            Some(Entry {
                path: e.path(),
                kind,
                bytes: meta.len(),
                used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            })
        })
        .collect()
}

/// What the cache directory `dir` holds; nothing when it does not exist.
pub fn usage(dir: &Path) -> Usage {
    let mut usage = Usage::of(&entries(dir));
    for e in fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(atomic::TEMP_PREFIX) && name.ends_with(atomic::TEMP_SUFFIX) {
            usage.temporaries += 1;
            usage.temporary_bytes += e.metadata().map_or(0, |m| m.len());
        }
    }
    usage
}

/// Remove every entry of the cache in `dir` and the temporaries no live writer holds;
/// returns what was removed. Other files in `dir` are left alone.
pub fn clear(dir: &Path) -> Usage {
    let removed: Vec<Entry> = entries(dir)
        .into_iter()
        .filter(|e| fs::remove_file(&e.path).is_ok())
        .collect();
    let temporaries = atomic::remove_stale_temporaries(dir, std::time::Duration::ZERO);
    Usage {
        temporaries: temporaries.files,
        temporary_bytes: temporaries.bytes,
        ..Usage::of(&removed)
    }
}

/// An entry's bytes: read in when small, mapped when large (a loaded table of 150 MB is
/// then neither copied nor zero-filled page by page: 0.3 s of a 1 s reopen, measured).
enum EntryBytes {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for EntryBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            EntryBytes::Read(v) => v,
            EntryBytes::Mapped(m) => m,
        }
    }
}

fn read_entry(path: &Path) -> std::io::Result<EntryBytes> {
    let file = fs::File::open(path)?;
    if file.metadata()?.len() < 1 << 20 {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut v)?;
        return Ok(EntryBytes::Read(v));
    }
    map_entry(&file).map(EntryBytes::Mapped)
}

/// Map a whole entry file, its pages read in at once.
#[allow(unsafe_code)]
fn map_entry(file: &fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: a mapping is undefined behaviour if the file changes while mapped. Entries are
    // never written in place: they appear by rename of a finished temporary and go by
    // unlink (`put`, `trim`, `clear`, another process sharing the cache), and a mapped file
    // that is unlinked keeps its bytes until unmapped. Only a program writing into the
    // cache directory's files in place could change them (polars makes the same assumption
    // of the Parquet files it maps).
    unsafe { memmap2::MmapOptions::new().populate().map(file) }
}

/// Mark the entry at `path` as just used (best effort: a read-only cache stays as it is).
fn touch(path: &Path) {
    let _ = fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()));
}

impl Cache {
    /// The platform cache directory (or `$SAMPLE_ATLAS_CACHE_DIR`).
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os(CACHE_DIR_ENV) {
            return Some(PathBuf::from(dir));
        }
        directories::ProjectDirs::from("", "", "sample-atlas").map(|d| d.cache_dir().to_path_buf())
    }

    /// The cache in `dir` (made if missing), capped at [`DEFAULT_MAX_BYTES`].
    pub fn open(dir: PathBuf) -> std::io::Result<Cache> {
        std::fs::create_dir_all(&dir)?;
        Ok(Cache {
            dir,
            max_bytes: DEFAULT_MAX_BYTES,
            in_use: Arc::default(),
        })
    }

    /// The same cache with another size cap.
    pub fn with_max_bytes(self, max_bytes: u64) -> Cache {
        Cache { max_bytes, ..self }
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The default cache capped at `max_bytes`, or `None` when no directory can be made
    /// (caching is then off).
    pub fn open_default(max_bytes: u64) -> Option<Cache> {
        Some(
            Cache::open(Cache::default_dir()?)
                .ok()?
                .with_max_bytes(max_bytes),
        )
    }

    fn in_use(&self) -> MutexGuard<'_, HashSet<PathBuf>> {
        // A panic elsewhere while holding the lock leaves a set that is still valid.
        self.in_use.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Evict the least recently used entries until the cache fits its cap, sparing every
    /// entry this process read or wrote; collect killed writers' temporaries.
    pub fn trim(&self) -> TrimReport {
        let temporaries = atomic::remove_stale_temporaries(&self.dir, atomic::STALE_AFTER);
        let mut all = entries(&self.dir);
        all.sort_by_key(|e| e.used);
        let in_use = self.in_use();
        let mut report = TrimReport {
            temporaries_removed: temporaries.files,
            size_bytes: all.iter().map(|e| e.bytes).sum(),
            max_bytes: self.max_bytes,
            ..TrimReport::default()
        };
        for e in &all {
            if report.size_bytes > self.max_bytes
                && !in_use.contains(&e.path)
                && fs::remove_file(&e.path).is_ok()
            {
                report.size_bytes -= e.bytes;
                report.evicted += 1;
                report.bytes_freed += e.bytes;
            }
        }
        report.entries = all.len() - report.evicted;
        report
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, kind: StageKind, key: &Key) -> PathBuf {
        self.dir.join(format!("{}-{}.bin", kind.name(), key.hex()))
    }

    /// Where the entry (kind, key) lives.
    pub fn entry_path(&self, kind: StageKind, key: &Key) -> PathBuf {
        self.path(kind, key)
    }

    /// Every entry of one kind, in name order.
    pub fn list(&self, kind: StageKind) -> Vec<PathBuf> {
        let prefix = format!("{}-", kind.name());
        let mut out: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with(&prefix) && name.ends_with(".bin")
            })
            .map(|e| e.path())
            .collect();
        out.sort();
        out
    }

    /// The payload of the entry at `path` (from [`Cache::list`]), if intact; a damaged entry
    /// is deleted.
    pub fn get_path(&self, path: &Path) -> Option<Vec<u8>> {
        self.read_path(path, |payload| Some(payload.to_vec()))
    }

    /// `read` of the payload of the entry at `path`, if the entry is intact (a damaged one is
    /// deleted); the payload is not copied.
    fn read_path<T>(&self, path: &Path, read: impl FnOnce(&[u8]) -> Option<T>) -> Option<T> {
        let bytes = read_entry(path).ok()?;
        match decode(&bytes) {
            Some(payload) => {
                self.in_use().insert(path.to_path_buf());
                touch(path);
                read(payload)
            }
            None => {
                let _ = std::fs::remove_file(path);
                None
            }
        }
    }

    /// `read` of the payload stored under (kind, key), if present and intact, without copying
    /// it (for large entries). A damaged entry is deleted.
    pub fn get_with<T>(
        &self,
        kind: StageKind,
        key: &Key,
        read: impl FnOnce(&[u8]) -> Option<T>,
    ) -> Option<T> {
        self.read_path(&self.path(kind, key), read)
    }

    /// The payload stored under (kind, key), if present and intact. A damaged entry is deleted.
    pub fn get(&self, kind: StageKind, key: &Key) -> Option<Vec<u8>> {
        self.get_path(&self.path(kind, key))
    }

    /// Store a payload atomically (temporary file, then rename).
    pub fn put(&self, kind: StageKind, key: &Key, payload: &[u8]) -> std::io::Result<()> {
        let path = self.path(kind, key);
        atomic::write_with(&path, |out| {
            out.write_all(MAGIC)?;
            out.write_all(&(payload.len() as u64).to_le_bytes())?;
            out.write_all(payload)?;
            out.write_all(checksum(payload).as_bytes())
        })
        .map_err(|e| match e {
            atomic::AtomicError::Io(e) | atomic::AtomicError::Write(e) => e,
        })?;
        self.in_use().insert(path);
        Ok(())
    }
}

fn decode(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let len = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?) as usize;
    let payload = rest.get(8..8 + len)?;
    let sum = rest.get(8 + len..)?;
    (sum.len() == 32 && sum == checksum(payload).as_bytes()).then_some(payload)
}

/// BLAKE3 of a payload; large ones (a loaded table) on every core.
fn checksum(payload: &[u8]) -> blake3::Hash {
    if payload.len() >= 1 << 20 {
        blake3::Hasher::new().update_rayon(payload).finalize()
    } else {
        blake3::hash(payload)
    }
}

/// Little-endian encoding helpers for payloads.
pub mod codec {
    pub fn put_u32(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }

    pub fn put_f32s(out: &mut Vec<u8>, v: &[f32]) {
        put_u32(out, v.len() as u32);
        for x in v {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }

    pub fn put_u32s(out: &mut Vec<u8>, v: &[u32]) {
        put_u32(out, v.len() as u32);
        for x in v {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }

    pub fn put_u64s(out: &mut Vec<u8>, v: &[u64]) {
        put_u32(out, v.len() as u32);
        for x in v {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }

    pub fn put_string(out: &mut Vec<u8>, s: &str) {
        put_u32(out, s.len() as u32);
        out.extend_from_slice(s.as_bytes());
    }

    pub fn put_strings(out: &mut Vec<u8>, v: &[String]) {
        put_u32(out, v.len() as u32);
        for s in v {
            put_u32(out, s.len() as u32);
            out.extend_from_slice(s.as_bytes());
        }
    }

    /// Reads what the `put_*` functions wrote; every read is bounds-checked.
    pub struct Reader<'a>(pub &'a [u8]);

    impl Reader<'_> {
        pub fn u32(&mut self) -> Option<u32> {
            let (head, rest) = self.0.split_at_checked(4)?;
            self.0 = rest;
            Some(u32::from_le_bytes(head.try_into().ok()?))
        }

        pub fn bytes(&mut self, n: usize) -> Option<&[u8]> {
            let (head, rest) = self.0.split_at_checked(n)?;
            self.0 = rest;
            Some(head)
        }

        pub fn f32s(&mut self) -> Option<Vec<f32>> {
            let n = self.u32()? as usize;
            let b = self.bytes(n.checked_mul(4)?)?;
            Some(
                b.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            )
        }

        pub fn u32s(&mut self) -> Option<Vec<u32>> {
            let n = self.u32()? as usize;
            let b = self.bytes(n.checked_mul(4)?)?;
            Some(
                b.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            )
        }

        pub fn u8(&mut self) -> Option<u8> {
            Some(self.bytes(1)?[0])
        }

        pub fn u64s(&mut self) -> Option<Vec<u64>> {
            let n = self.u32()? as usize;
            let b = self.bytes(n.checked_mul(8)?)?;
            Some(
                b.chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect(),
            )
        }

        pub fn string(&mut self) -> Option<String> {
            let len = self.u32()? as usize;
            String::from_utf8(self.bytes(len)?.to_vec()).ok()
        }

        pub fn strings(&mut self) -> Option<Vec<String>> {
            let n = self.u32()? as usize;
            (0..n)
                .map(|_| {
                    let len = self.u32()? as usize;
                    String::from_utf8(self.bytes(len)?.to_vec()).ok()
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage_detection() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().to_path_buf()).unwrap();
        let key = Key::of(&[b"a", b"bc"]);
        assert_ne!(key, Key::of(&[b"ab", b"c"]));
        assert!(cache.get(StageKind::Layout, &key).is_none());
        cache
            .put(StageKind::Layout, &key, b"payload bytes")
            .unwrap();
        assert_eq!(
            cache.get(StageKind::Layout, &key).unwrap(),
            b"payload bytes"
        );
        // Flip one payload byte: the checksum catches it and the entry is dropped.
        let path = cache.path(StageKind::Layout, &key);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 0x55;
        std::fs::write(&path, &bytes).unwrap();
        assert!(cache.get(StageKind::Layout, &key).is_none());
        assert!(!path.exists());
        // Truncated.
        cache
            .put(StageKind::Layout, &key, b"payload bytes")
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(cache.get(StageKind::Layout, &key).is_none());
        // No temporary files remain.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    }

    /// Set the entry's last use `secs` seconds back.
    fn age(path: &Path, secs: u64) {
        let when = SystemTime::now() - std::time::Duration::from_secs(secs);
        let f = fs::File::options().write(true).open(path).unwrap();
        f.set_modified(when).unwrap();
    }

    #[test]
    fn trim_evicts_the_least_recently_used_and_spares_what_this_run_used() {
        let dir = tempfile::tempdir().unwrap();
        let payload = [1u8; 100];
        let keys: Vec<Key> = (0..5u8).map(|i| Key::of(&[&[i]])).collect();
        // Another process filled the cache: entries 0..4, entry 0 the least recently used.
        let other = Cache::open(dir.path().to_path_buf()).unwrap();
        for (i, k) in keys[..4].iter().enumerate() {
            other.put(StageKind::Layout, k, &payload).unwrap();
            age(&other.path(StageKind::Layout, k), 1000 - 100 * i as u64);
        }
        let size = fs::metadata(other.path(StageKind::Layout, &keys[0]))
            .unwrap()
            .len();
        // This run reads entry 1 (the second oldest) and writes entry 4.
        let cache = Cache::open(dir.path().to_path_buf())
            .unwrap()
            .with_max_bytes(3 * size);
        assert!(cache.get(StageKind::Layout, &keys[1]).is_some());
        cache.put(StageKind::Layout, &keys[4], &payload).unwrap();
        let report = cache.trim();
        assert_eq!(
            report,
            TrimReport {
                evicted: 2,
                bytes_freed: 2 * size,
                temporaries_removed: 0,
                entries: 3,
                size_bytes: 3 * size,
                max_bytes: 3 * size,
            }
        );
        let present = |i: usize| other.path(StageKind::Layout, &keys[i]).exists();
        assert_eq!(
            (0..5).map(present).collect::<Vec<_>>(),
            [false, true, false, true, true]
        );
        // Even a cap of 0 keeps what this run used; the other process's entry goes.
        let report = cache.with_max_bytes(0).trim();
        assert_eq!((report.evicted, report.entries), (1, 2));
        assert!(!present(3) && present(1) && present(4));
        // Under the cap nothing is evicted.
        let report = Cache::open(dir.path().to_path_buf()).unwrap().trim();
        assert_eq!((report.evicted, report.entries), (0, 2));
    }

    #[test]
    fn usage_by_kind_trim_collects_temporaries_and_clear_empties() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().to_path_buf()).unwrap();
        let space = Key([7; 32]);
        cache
            .put(StageKind::Embeddings, &Key([1; 32]), b"abc")
            .unwrap();
        cache
            .put(StageKind::TextVectors { space }, &Key([2; 32]), b"de")
            .unwrap();
        cache
            .put(StageKind::TextVectors { space }, &Key([3; 32]), b"f")
            .unwrap();
        // Not the cache's: left alone by every operation.
        fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        fs::write(dir.path().join("layout.bin"), b"mine too").unwrap();
        // A killed writer's temporary.
        let killed = dir.path().join(".sample-atlas-killed.tmp");
        fs::write(&killed, b"half").unwrap();
        let u = usage(dir.path());
        let counts: Vec<(&str, usize)> = u.kinds.iter().map(|k| (k.kind, k.entries)).collect();
        assert_eq!(
            counts,
            [
                ("table", 0),
                ("embeddings", 1),
                ("neighbors", 0),
                ("layout", 0),
                ("textvec", 2)
            ]
        );
        assert_eq!(u.kinds[1].bytes, 8 + 8 + 3 + 32);
        assert_eq!((u.entries(), u.temporaries, u.temporary_bytes), (3, 1, 4));
        // Too young to be taken for abandoned by a trim; old enough once aged.
        assert_eq!(cache.trim().temporaries_removed, 0);
        age(&killed, 120);
        assert_eq!(cache.trim().temporaries_removed, 1);
        assert!(!killed.exists());

        fs::write(&killed, b"half").unwrap();
        let removed = clear(dir.path());
        assert_eq!((removed.entries(), removed.temporaries), (3, 1));
        assert_eq!(removed.bytes(), u.bytes());
        let left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
        assert_eq!(usage(dir.path()).entries(), 0);
        assert_eq!(usage(&dir.path().join("missing")), Usage::of(&[]));
    }

    #[test]
    fn a_reader_sharing_the_cache_never_sees_a_half_written_entry() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key([9; 32]);
        let payloads = [vec![1u8; 300_000], vec![2u8; 200_000]];
        let writer = Cache::open(dir.path().to_path_buf()).unwrap();
        writer
            .put(StageKind::Embeddings, &key, &payloads[0])
            .unwrap();
        let reader = Cache::open(dir.path().to_path_buf()).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..40 {
                    writer
                        .put(StageKind::Embeddings, &key, &payloads[i % 2])
                        .unwrap();
                }
            });
            for _ in 0..200 {
                // A torn entry would fail its checksum: None (and be deleted).
                let got = reader.get(StageKind::Embeddings, &key);
                assert!(got.is_some_and(|p| payloads.contains(&p)));
            }
        });
    }

    #[test]
    fn sizes_in_gb() {
        assert_eq!(parse_gb("4"), Ok(4_000_000_000));
        assert_eq!(parse_gb("0.5"), Ok(500_000_000));
        assert_eq!(parse_gb("0"), Ok(0));
        assert!(parse_gb("-1").is_err());
        assert!(parse_gb("lots").is_err());
        assert!(parse_gb("inf").is_err());
    }

    #[test]
    fn kind_names_are_stable() {
        // These strings are on users' disks: changing one orphans their caches.
        assert_eq!(StageKind::Table.name(), "table");
        assert_eq!(StageKind::Embeddings.name(), "embeddings");
        assert_eq!(StageKind::Neighbors.name(), "neighbors");
        assert_eq!(StageKind::Layout.name(), "layout");
        let space = Key([0xab; 32]);
        assert_eq!(
            StageKind::TextVectors { space }.name(),
            format!("textvec-{}", "ab".repeat(32))
        );
    }

    #[test]
    fn file_hash_is_blake3_of_the_bytes_whatever_the_block() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let want = *blake3::hash(&bytes).as_bytes();
        for block in [1, 7, 64, 999, 1000, 1001, 4096] {
            assert_eq!(
                hash_blocks(&bytes[..], block).unwrap(),
                want,
                "block {block}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, &bytes).unwrap();
        assert_eq!(file_hash(&path).unwrap(), want);
        fs::write(&path, b"").unwrap();
        assert_eq!(file_hash(&path).unwrap(), *blake3::hash(b"").as_bytes());
        // A large payload's checksum (hashed on every core) is BLAKE3 too.
        let big = vec![3u8; 3 << 20];
        assert_eq!(checksum(&big), blake3::hash(&big));
    }

    #[test]
    fn get_with_reads_in_place_and_drops_a_damaged_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().to_path_buf()).unwrap();
        let key = Key([4; 32]);
        cache.put(StageKind::Table, &key, b"table bytes").unwrap();
        assert_eq!(
            cache.get_with(StageKind::Table, &key, |p| Some(p.len())),
            Some(11)
        );
        // A clone shares what is in use: its trim spares the entry even at a cap of 0.
        let other = cache.clone().with_max_bytes(0);
        assert_eq!(other.trim().evicted, 0);
        let path = cache.entry_path(StageKind::Table, &key);
        let mut bytes = fs::read(&path).unwrap();
        bytes[17] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert_eq!(
            cache.get_with(StageKind::Table, &key, |p| Some(p.len())),
            None
        );
        assert!(!path.exists());
    }

    #[test]
    fn codec_round_trip() {
        let mut out = Vec::new();
        codec::put_f32s(&mut out, &[1.0, -2.5]);
        codec::put_u32s(&mut out, &[7, 8, 9]);
        codec::put_strings(&mut out, &["hé".to_string(), String::new()]);
        codec::put_u64s(&mut out, &[u64::MAX, 0]);
        codec::put_string(&mut out, "ok");
        out.push(5);
        let mut r = codec::Reader(&out);
        assert_eq!(r.f32s().unwrap(), vec![1.0, -2.5]);
        assert_eq!(r.u32s().unwrap(), vec![7, 8, 9]);
        assert_eq!(r.strings().unwrap(), vec!["hé".to_string(), String::new()]);
        assert_eq!(r.u64s().unwrap(), vec![u64::MAX, 0]);
        assert_eq!(r.string().unwrap(), "ok");
        assert_eq!((r.u8(), r.u8()), (Some(5), None));
        assert!(codec::Reader(&out[..5]).f32s().is_none());
    }
}
