//! Atomic file writes: the bytes go to a temporary file in the destination's directory, are
//! flushed to disk (`sync_all`), and the file is renamed over the destination. A reader (or a
//! process killed mid-write) sees either the old file or the whole new one, never a part.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

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
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".sample-atlas-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(AtomicError::Io)?;
    {
        let mut out = BufWriter::new(tmp.as_file_mut());
        write(&mut out).map_err(AtomicError::Write)?;
        out.flush().map_err(AtomicError::Io)?;
    }
    tmp.as_file().sync_all().map_err(AtomicError::Io)?;
    tmp.persist(path).map_err(|e| AtomicError::Io(e.error))?;
    Ok(())
}

/// Write `bytes` to `path` atomically (see [`write_with`]).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |out| out.write_all(bytes)).map_err(|e| match e {
        AtomicError::Io(e) | AtomicError::Write(e) => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_bytes(&path, b"first").unwrap();
        write_bytes(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
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
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.bin");
        assert!(write_bytes(&path, b"x").is_err());
    }
}
