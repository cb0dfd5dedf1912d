//! Unit-test set-up: a throwaway folder for files, removed when the
//! returned [`TempDir`] is dropped (so keep it bound, `_dir`, not `_`).

use std::fs;
use std::path::PathBuf;

use tempfile::TempDir;

/// A new temporary folder and the path `name` in it, nothing made there yet.
pub(crate) fn path(name: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

/// A new temporary folder holding the empty folder `name`, and its path.
pub(crate) fn folder(name: &str) -> (TempDir, PathBuf) {
    let (dir, path) = self::path(name);
    fs::create_dir(&path).unwrap();
    (dir, path)
}
