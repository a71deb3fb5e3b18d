//! On-disk cache of pipeline stages (embeddings, kNN graph, layout) in the platform cache
//! directory, keyed by a BLAKE3 hash of the input's content and every parameter that shapes
//! the stage. Entries are written to a temporary file and renamed; each carries a checksum,
//! and an entry that is truncated or corrupt is deleted and recomputed.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Bump when the meaning or layout of a cached payload changes.
const CACHE_FORMAT: &str = "sample-atlas-cache-v1";
const MAGIC: &[u8; 8] = b"SATLAS01";
/// Environment variable that overrides the cache directory.
pub const CACHE_DIR_ENV: &str = "SAMPLE_ATLAS_CACHE_DIR";

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

/// BLAKE3 of a file's bytes.
pub fn file_hash(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path)?)?;
    Ok(*h.finalize().as_bytes())
}

/// The kinds of cache entry. Each has a fixed name (the entry's file-name prefix and the
/// first part of its key): renaming a variant cannot silently invalidate a cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageKind {
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

pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The platform cache directory (or `$SAMPLE_ATLAS_CACHE_DIR`).
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os(CACHE_DIR_ENV) {
            return Some(PathBuf::from(dir));
        }
        directories::ProjectDirs::from("", "", "sample-atlas").map(|d| d.cache_dir().to_path_buf())
    }

    pub fn open(dir: PathBuf) -> std::io::Result<Cache> {
        std::fs::create_dir_all(&dir)?;
        Ok(Cache { dir })
    }

    /// The default cache, or `None` when no directory can be made (caching is then off).
    pub fn open_default() -> Option<Cache> {
        Cache::open(Cache::default_dir()?).ok()
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
        let bytes = std::fs::read(path).ok()?;
        match decode(&bytes) {
            Some(payload) => Some(payload.to_vec()),
            None => {
                let _ = std::fs::remove_file(path);
                None
            }
        }
    }

    /// The payload stored under (kind, key), if present and intact. A damaged entry is deleted.
    pub fn get(&self, kind: StageKind, key: &Key) -> Option<Vec<u8>> {
        self.get_path(&self.path(kind, key))
    }

    /// Store a payload atomically (temporary file, then rename).
    pub fn put(&self, kind: StageKind, key: &Key, payload: &[u8]) -> std::io::Result<()> {
        let path = self.path(kind, key);
        crate::util::atomic::write_with(&path, |out| {
            out.write_all(MAGIC)?;
            out.write_all(&(payload.len() as u64).to_le_bytes())?;
            out.write_all(payload)?;
            out.write_all(blake3::hash(payload).as_bytes())
        })
        .map_err(|e| match e {
            crate::util::atomic::AtomicError::Io(e)
            | crate::util::atomic::AtomicError::Write(e) => e,
        })
    }
}

fn decode(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let len = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?) as usize;
    let payload = rest.get(8..8 + len)?;
    let sum = rest.get(8 + len..)?;
    (sum.len() == 32 && sum == blake3::hash(payload).as_bytes()).then_some(payload)
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

    #[test]
    fn kind_names_are_stable() {
        // These strings are on users' disks: changing one orphans their caches.
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
    fn codec_round_trip() {
        let mut out = Vec::new();
        codec::put_f32s(&mut out, &[1.0, -2.5]);
        codec::put_u32s(&mut out, &[7, 8, 9]);
        codec::put_strings(&mut out, &["hé".to_string(), String::new()]);
        let mut r = codec::Reader(&out);
        assert_eq!(r.f32s().unwrap(), vec![1.0, -2.5]);
        assert_eq!(r.u32s().unwrap(), vec![7, 8, 9]);
        assert_eq!(r.strings().unwrap(), vec!["hé".to_string(), String::new()]);
        assert!(codec::Reader(&out[..5]).f32s().is_none());
    }
}
