//! Crash-safe file primitives shared by every store in a data dir (the index's `meta.json`,
//! the clustering's generations, the tag store, and what comes next: incidents, watches).
//!
//! One rule everywhere: a file that readers trust is never written in place. It is written
//! whole to a temporary sibling, synced, renamed over the old one, and the folder is synced so
//! that the rename itself survives a power cut. A reader therefore sees the old file or the
//! new one, never a mix, and a crash at any point leaves the old one in force.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The temporary sibling [`write_atomic`] writes before renaming: `name.tmp` next to `path`.
/// Stores ignore such files when they list their folder.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Replaces `path` with `bytes` atomically: write [`tmp_path`], fsync it, rename it over
/// `path`, fsync the folder.
///
/// # Errors
/// The operating system's error; the caller names `path` in its own error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = tmp_path(path);
    write_synced(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    sync_parent(path)
}

/// Writes `bytes` to `path` (creating or truncating it) and fsyncs the file: for files that
/// only become visible later, when a file written by [`write_atomic`] names them.
///
/// # Errors
/// The operating system's error.
pub fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Writes `bytes` to `path` (creating or truncating it) and returns the file still open and
/// not yet synced: for a caller that writes several files and syncs them on another thread
/// while it goes on, so that the disk writes one while the next is computed. The caller must
/// `sync_all` each before anything names them.
///
/// # Errors
/// The operating system's error.
pub fn write_unsynced(path: &Path, bytes: &[u8]) -> io::Result<File> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    Ok(f)
}

/// Fsyncs a folder, so that the files created or renamed in it are durable.
///
/// # Errors
/// The operating system's error.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
        _ => sync_dir(Path::new(".")),
    }
}

/// An exclusive advisory lock (`flock`) on a file, held until dropped: the one-writer rule of
/// a store. The file is created if missing.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// Takes the lock without waiting; `Ok(None)` if another process (or another handle in
    /// this one) holds it.
    ///
    /// # Errors
    /// The operating system's error creating or locking the file.
    pub fn try_exclusive(path: &Path) -> io::Result<Option<FileLock>> {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { _file: file, path: path.to_owned() })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// The locked file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("meta.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two, longer").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two, longer");
        assert!(!tmp_path(&p).exists());
        assert_eq!(tmp_path(&p).file_name().unwrap(), "meta.json.tmp");
    }

    #[test]
    fn a_second_exclusive_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("LOCK");
        let first = FileLock::try_exclusive(&p).unwrap().expect("first lock");
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(first);
        assert!(FileLock::try_exclusive(&p).unwrap().is_some());
    }
}
