//! The artifacts folder: its `SHA256SUMS` (which artifacts are complete, and
//! whether they still are), the run's journal (`state.json`) and its lock.
//!
//! An artifact is written under `NAME.partial` and renamed when complete;
//! only then are its checksums added to `SHA256SUMS` (rewritten atomically),
//! so every file the sums list is complete.

mod error;
pub mod journal;
mod lock;
mod mirror;
pub mod remote;
mod sums;
#[cfg(test)]
mod tests;
mod verify;

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

pub use self::error::StoreError;
pub use self::sums::SUMS_FILE;
pub use self::verify::Mismatch;
#[cfg(test)]
pub use self::verify::hash_tree;

use self::verify::Stamp;
use crate::io::files::create_private_dir;

/// One line of `SHA256SUMS`: a file's path inside the folder and its hash.
pub type Sums = BTreeMap<String, String>;

/// The artifacts folder of one manifest.
#[derive(Debug)]
pub struct ArtifactsDir {
    path: PathBuf,
    /// Serialises rewrites of `SHA256SUMS` between parallel steps.
    sums_lock: Mutex<()>,
    /// Files this process verified, with what they looked like then.
    verified: Mutex<BTreeMap<PathBuf, Stamp>>,
    /// The object store the folder mirrors, when `artifacts.dir` is one.
    remote: Option<remote::Remote>,
    /// Serialises rewrites of the cache's version tags.
    tags_lock: Mutex<()>,
    /// One fetch at a time: two steps needing the same object wait for
    /// one download.
    fetch_lock: Mutex<()>,
}

impl ArtifactsDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            sums_lock: Mutex::new(()),
            verified: Mutex::new(BTreeMap::new()),
            remote: None,
            tags_lock: Mutex::new(()),
            fetch_lock: Mutex::new(()),
        }
    }

    /// The folder `path` as the cache of the object store at `url`.
    pub fn mirroring(path: impl Into<PathBuf>, url: &str) -> Result<Self, StoreError> {
        let remote = remote::Remote::open(url).map_err(|e| StoreError::Remote {
            message: e.to_string(),
        })?;
        let mut dir = Self::new(path);
        dir.remote = Some(remote);
        Ok(dir)
    }

    /// The object store, when the artifacts live in one.
    pub fn remote(&self) -> Option<&remote::Remote> {
        self.remote.as_ref()
    }

    /// Refuses a folder that is a symbolic link (it could send the dumps
    /// anywhere) or not a folder; returns a warning when other users can
    /// read it. A folder that does not exist yet is fine.
    pub fn check(&self) -> Result<Option<(String, String)>, StoreError> {
        let path = &self.path;
        let Ok(meta) = fs::symlink_metadata(path) else {
            return Ok(None);
        };
        if meta.file_type().is_symlink() {
            return Err(StoreError::Folder {
                message: format!("the artifacts folder {} is a symbolic link", path.display()),
                help: "point `artifacts.dir` at the real folder; a link could send dumps (password hashes, tokens) anywhere".to_owned(),
            });
        }
        if !meta.is_dir() {
            return Err(StoreError::Folder {
                message: format!("the artifacts folder {} is not a folder", path.display()),
                help: "remove it or choose another `artifacts.dir`".to_owned(),
            });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Ok(Some((
                    format!(
                        "the artifacts folder {} can be read by other users (mode {mode:o})",
                        path.display()
                    ),
                    format!(
                        "dumps hold password hashes and API tokens: `chmod 700 {}`",
                        path.display()
                    ),
                )));
            }
        }
        Ok(None)
    }

    /// Creates the folder (mode 0700: dumps hold password hashes and tokens).
    pub fn create(&self) -> Result<(), StoreError> {
        create_private_dir(&self.path).map_err(|source| StoreError::Io {
            path: self.path.clone(),
            source,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

/// Whether the sums entry `path` is (part of) `artifact`.
pub fn belongs_to(path: &str, artifact: &str) -> bool {
    path == artifact
        || path
            .strip_prefix(artifact)
            .is_some_and(|rest| rest.starts_with('/'))
}
