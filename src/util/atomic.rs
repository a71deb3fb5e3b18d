//! Atomic file writes: the bytes go to a temporary file in the destination's directory, are
//! flushed to disk (`sync_all`), and the file is renamed over the destination. A reader (or a
//! process killed mid-write) sees either the old file or the whole new one, never a part.
//!
//! Permissions are those `File::create` would give: a new file gets `0666 & !umask` (the
//! kernel applies the umask when the temporary is created), a replaced file keeps its mode.
//!
//! A temporary is named `.sample-atlas-*.tmp` and its writer holds an advisory lock on it
//! while writing. A killed writer's temporary (no lock held, untouched for
//! [`STALE_AFTER`]) is removed by the next write into the same directory
//! ([`remove_stale_temporaries`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

/// The name of every temporary starts with this…
pub const TEMP_PREFIX: &str = ".sample-atlas-";
/// …and ends with this.
pub const TEMP_SUFFIX: &str = ".tmp";
/// A temporary younger than this is never collected: its writer may not hold its lock yet.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// Why an atomic write failed: the file system, or the caller's own writer (an encoder).
#[derive(Debug)]
pub enum AtomicError<E> {
    /// Creating, syncing or renaming the temporary file failed.
    Io(io::Error),
    /// The writer closure returned an error; nothing was renamed into place.
    Write(E),
}

/// Write `path` atomically: `write` fills a buffered temporary file in the same directory,
/// which is synced and renamed into place. On any error the temporary file is removed and
/// the destination is left as it was.
pub fn write_with<E>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> Result<(), E>,
) -> Result<(), AtomicError<E>> {
    write_through(path, |f| f, write)
}

/// Write `bytes` to `path` atomically (see [`write_with`]).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |out| out.write_all(bytes)).map_err(|e| match e {
        AtomicError::Io(e) | AtomicError::Write(e) => e,
    })
}

/// Fail early when `path` cannot be written (its directory is missing, read-only, not a
/// directory): creates and removes a temporary beside it. Says nothing about free space.
pub fn check_writable(path: &Path) -> io::Result<()> {
    temp_builder()
        .make_in(parent_dir(path), |p| create_new(p, None))
        .map(drop)
}

/// What [`remove_stale_temporaries`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub files: usize,
    pub bytes: u64,
}

/// Remove the temporaries in `dir` left by killed writers: named `.sample-atlas-*.tmp`,
/// not modified for `min_age`, and not locked (a live writer holds its lock; the system drops
/// the lock of a dead process). Best effort: what cannot be read or removed stays.
pub fn remove_stale_temporaries(dir: &Path, min_age: Duration) -> Removed {
    let mut removed = Removed::default();
    let Ok(read) = fs::read_dir(dir) else {
        return removed;
    };
    for entry in read.filter_map(Result::ok) {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= min_age);
        if meta.is_file() && old && remove_if_abandoned(&entry.path()) {
            removed.files += 1;
            removed.bytes += meta.len();
        }
    }
    removed
}

/// Removes the temporary at `path` when no live writer holds its lock; `true` if removed.
fn remove_if_abandoned(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    // Held while removing, so a writer cannot pick the file up in between.
    file.try_lock().is_ok() && fs::remove_file(path).is_ok()
}

/// The file under a temporary: a `File`, or in the tests a file that fails like a full disk.
trait Sink: Write {
    fn file(&self) -> &File;
}

impl Sink for File {
    fn file(&self) -> &File {
        self
    }
}

/// [`write_with`], with the temporary file seen through `wrap`.
fn write_through<S: Sink, E>(
    path: &Path,
    wrap: impl Fn(File) -> S,
    write: impl FnOnce(&mut BufWriter<&mut S>) -> Result<(), E>,
) -> Result<(), AtomicError<E>> {
    let dir = parent_dir(path);
    remove_stale_temporaries(dir, STALE_AFTER);
    let mode = existing_mode(path);
    let mut tmp = temp_builder()
        .make_in(dir, |p| create_new(p, mode.as_ref()).map(&wrap))
        .map_err(AtomicError::Io)?;
    let file = tmp.as_file().file();
    // Without lock support the temporary is simply never collected (see remove_if_abandoned).
    let _ = file.try_lock();
    if let Some(mode) = mode {
        file.set_permissions(mode).map_err(AtomicError::Io)?;
    }
    {
        let mut out = BufWriter::new(tmp.as_file_mut());
        write(&mut out).map_err(AtomicError::Write)?;
        out.flush().map_err(AtomicError::Io)?;
    }
    tmp.as_file().file().sync_all().map_err(AtomicError::Io)?;
    tmp.persist(path).map_err(|e| AtomicError::Io(e.error))?;
    // The rename is durable once the directory is synced; a failure here loses nothing now.
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

fn temp_builder() -> tempfile::Builder<'static, 'static> {
    let mut b = tempfile::Builder::new();
    b.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
    b
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The permission bits of the file `path` replaces, if there is one.
fn existing_mode(path: &Path) -> Option<fs::Permissions> {
    let meta = fs::metadata(path).ok().filter(|m| m.is_file())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(fs::Permissions::from_mode(
            meta.permissions().mode() & 0o777,
        ))
    }
    #[cfg(not(unix))]
    Some(meta.permissions())
}

/// A new file at `path`, created as `File::create` would (`0666 & !umask`), or never more
/// open than `mode`, the mode of the file it will replace.
fn create_new(path: &Path, mode: Option<&fs::Permissions>) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(mode.map_or(0o666, |m| m.mode()));
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_bytes(&path, b"first").unwrap();
        write_bytes(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["out.bin"]);
    }

    #[test]
    fn a_failing_writer_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_bytes(&path, b"old").unwrap();
        let r = write_with(&path, |out| {
            out.write_all(b"partial").map_err(|_| "io")?;
            Err("encoder failed")
        });
        assert!(matches!(r, Err(AtomicError::Write("encoder failed"))));
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["out.bin"]);
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.bin");
        assert!(write_bytes(&path, b"x").is_err());
        assert!(check_writable(&path).is_err());
        assert!(check_writable(&dir.path().join("out.bin")).is_ok());
        assert!(names(dir.path()).is_empty());
    }

    /// A file on a disk with `room` bytes left: then every write fails with ENOSPC.
    struct Full {
        file: File,
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.file.write(&buf[..n])
        }
        fn flush(&mut self) -> io::Result<()> {
            self.file.flush()
        }
    }

    impl Sink for Full {
        fn file(&self) -> &File {
            &self.file
        }
    }

    #[test]
    fn a_full_disk_fails_whatever_the_moment_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_bytes(&path, b"old").unwrap();
        let big = vec![7u8; 100_000];
        // Full at once, within the first buffer (fails at the flush), after several buffers
        // (fails inside the caller's writes), one byte short of the end.
        for room in [0, 10, 3 * 8192 + 5, big.len() - 1] {
            let r = write_through(&path, |file| Full { file, room }, |out| out.write_all(&big));
            let err = match r {
                Err(AtomicError::Io(e) | AtomicError::Write(e)) => e,
                Ok(()) => panic!("room {room}: the write succeeded"),
            };
            assert_eq!(err.raw_os_error(), Some(28), "room {room}: {err}");
            assert_eq!(fs::read(&path).unwrap(), b"old", "room {room}");
            assert_eq!(names(dir.path()), ["out.bin"], "room {room}");
        }
        // With room enough the same path writes the whole file.
        let r = write_through(
            &path,
            |file| Full {
                file,
                room: big.len(),
            },
            |out| out.write_all(&big),
        );
        assert!(r.is_ok());
        assert_eq!(fs::read(&path).unwrap(), big);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_get_the_umask_mode_and_replaced_files_keep_theirs() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        // What File::create gives under this process's umask.
        let reference = dir.path().join("reference");
        File::create(&reference).unwrap();
        let new = dir.path().join("new.bin");
        write_bytes(&new, b"x").unwrap();
        // (Under a umask of 077 that is also tempfile's private 0600.)
        assert_eq!(mode(&new), mode(&reference));
        for kept in [0o640, 0o604, 0o666, 0o400] {
            fs::set_permissions(&new, fs::Permissions::from_mode(kept)).unwrap();
            write_bytes(&new, b"replaced").unwrap();
            assert_eq!(mode(&new), kept, "{kept:o}");
            assert_eq!(fs::read(&new).unwrap(), b"replaced");
        }
    }

    #[test]
    fn only_abandoned_old_temporaries_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        let age = |name: &str, secs: u64| {
            let p = dir.path().join(name);
            fs::write(&p, b"left over").unwrap();
            let when = std::time::SystemTime::now() - Duration::from_secs(secs);
            File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(when)
                .unwrap();
            p
        };
        age(".sample-atlas-killed.tmp", 120);
        age(".sample-atlas-young.tmp", 0);
        let live = age(".sample-atlas-live.tmp", 120);
        age(".sample-atlas-other.txt", 120);
        age("out.parquet", 120);
        // A live writer's lock (another open file description, as in another process).
        let holder = File::open(&live).unwrap();
        holder.lock().unwrap();
        let removed = remove_stale_temporaries(dir.path(), STALE_AFTER);
        assert_eq!(removed, Removed { files: 1, bytes: 9 });
        assert_eq!(
            names(dir.path()),
            [
                ".sample-atlas-live.tmp",
                ".sample-atlas-other.txt",
                ".sample-atlas-young.tmp",
                "out.parquet"
            ]
        );
        // A write into the directory collects them too, once their writer is gone.
        drop(holder);
        write_bytes(&dir.path().join("out.parquet"), b"new").unwrap();
        assert_eq!(
            names(dir.path()),
            [
                ".sample-atlas-other.txt",
                ".sample-atlas-young.tmp",
                "out.parquet"
            ]
        );
    }
}
