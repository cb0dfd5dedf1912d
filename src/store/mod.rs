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

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

pub use self::error::StoreError;

use crate::io::files::{create_private_dir, partial_path, remove_any, write_atomically};
use crate::io::hashing::hash_files_tallied;
use crate::io::sha256sum;
use crate::io::tally::Tally;

pub const SUMS_FILE: &str = "SHA256SUMS";

/// One line of `SHA256SUMS`: a file's path inside the folder and its hash.
pub type Sums = BTreeMap<String, String>;

/// Why an artifact does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("{0} is not listed in SHA256SUMS (it was never completed)")]
    NotListed(String),
    #[error("{0} is missing")]
    Missing(String),
    #[error("{path} does not match SHA256SUMS (expected {expected}, found {found})")]
    Changed {
        path: String,
        expected: String,
        found: String,
    },
    #[error("{0} is not listed in SHA256SUMS (a file was added to the artifact)")]
    Unexpected(String),
    #[error("cannot read {path}: {error}")]
    Unreadable { path: String, error: String },
}

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

/// Identity and size of a file: if none changed, neither did the file
/// (short of someone forging its modification time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(path).ok()?;
    Some(Stamp {
        dev: meta.dev(),
        ino: meta.ino(),
        len: meta.len(),
        mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
    })
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

    /// The sums as recorded; an absent file lists nothing.
    pub fn read_sums(&self) -> io::Result<Sums> {
        let listing = match fs::read(self.join(SUMS_FILE)) {
            Ok(listing) => listing,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Sums::new()),
            Err(e) => return Err(e),
        };
        let entries = sha256sum::parse(&listing)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{SUMS_FILE}: {e}")))?;
        Ok(entries
            .into_iter()
            .map(|(name, hash)| (String::from_utf8_lossy(&name).into_owned(), hash))
            .collect())
    }

    /// Replaces the entries of `artifact` (the file `artifact`, or every file
    /// below the folder `artifact`) with `entries`.
    /// In an object store, the artifact's files are uploaded, then the sums.
    pub fn record(&self, artifact: &str, entries: &Sums) -> io::Result<()> {
        // The objects first: the sums never list one that is incomplete.
        self.upload_files(entries)?;
        self.list(artifact, entries)
    }

    /// [`ArtifactsDir::record`] for an artifact whose one file went up
    /// while it was written ([`ArtifactsDir::upload_while_writing`]),
    /// completed as the object tagged `tag`.
    pub fn record_uploaded(
        &self,
        artifact: &str,
        entries: &Sums,
        tag: Option<String>,
    ) -> io::Result<()> {
        self.remember_tag(artifact, tag)?;
        self.list(artifact, entries)
    }

    /// Writes `entries` into the sums, here and in the store.
    fn list(&self, artifact: &str, entries: &Sums) -> io::Result<()> {
        let _guard = self.sums_lock.lock();
        let mut sums = self.read_sums()?;
        sums.retain(|path, _| !belongs_to(path, artifact));
        sums.extend(entries.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.write_sums(&sums)?;
        self.push_sums()
    }

    /// Drops `artifact` from the sums and removes it from disk, with any
    /// partial copy: it is about to be produced again.
    pub fn forget(&self, artifact: &str) -> io::Result<()> {
        self.record(artifact, &Sums::new())?;
        for path in [self.join(artifact), partial_path(&self.join(artifact))] {
            remove_any(&path)?;
        }
        self.delete_remote(artifact)
    }

    /// Drops `artifact` from this folder only (the cache), leaving an
    /// object store's copy for others.
    pub fn forget_locally(&self, artifact: &str) -> io::Result<()> {
        if self.remote.is_none() {
            return self.forget(artifact);
        }
        for path in [self.join(artifact), partial_path(&self.join(artifact))] {
            remove_any(&path)?;
        }
        Ok(())
    }

    fn write_sums(&self, sums: &Sums) -> io::Result<()> {
        let listing = sha256sum::render(
            sums.iter()
                .map(|(name, hash)| (name.as_bytes(), hash.as_str())),
        );
        write_atomically(&self.join(SUMS_FILE), &listing)
    }

    /// Checks several artifacts, hashing all their files in one parallel pass.
    pub fn verify_artifacts(&self, artifacts: &[&str], sums: &Sums) -> Result<u64, Mismatch> {
        self.verify_artifacts_tallied(artifacts, sums, &Tally::default())
    }

    /// [`Self::verify_artifacts`], adding the bytes hashed to `tally`.
    pub fn verify_artifacts_tallied(
        &self,
        artifacts: &[&str],
        sums: &Sums,
        tally: &Tally,
    ) -> Result<u64, Mismatch> {
        let mut listed: Vec<(&String, &String)> = Vec::new();
        for artifact in artifacts {
            let before = listed.len();
            listed.extend(sums.iter().filter(|(p, _)| belongs_to(p, artifact)));
            if listed.len() == before {
                return Err(Mismatch::NotListed((*artifact).to_owned()));
            }
        }
        let full: Vec<PathBuf> = listed.iter().map(|(path, _)| self.join(path)).collect();
        // Stamped before hashing: a change made while hashing shows later.
        let stamps: Vec<Option<Stamp>> = full.iter().map(|p| stamp(p)).collect();
        let mut bytes = 0;
        for ((path, expected), result) in listed.iter().zip(hash_files_tallied(&full, tally)) {
            bytes += check_one(path, expected, result)?;
        }
        for artifact in artifacts {
            self.check_no_extra_files(artifact, sums)?;
        }
        let mut verified = self.verified.lock();
        for (path, stamp) in full.into_iter().zip(stamps) {
            if let Some(stamp) = stamp {
                verified.insert(path, stamp);
            }
        }
        Ok(bytes)
    }

    /// Whether this process verified the file `name` and it has not changed
    /// since (same file, size and modification time).
    pub fn verified_unchanged(&self, name: &str) -> bool {
        let path = self.join(name);
        let verified = self.verified.lock();
        match (verified.get(&path), stamp(&path)) {
            (Some(then), Some(now)) => *then == now,
            _ => false,
        }
    }

    /// Checks one artifact against the recorded sums: every listed file is
    /// there with its hash, and a folder holds no file that is not listed.
    pub fn verify_artifact(&self, artifact: &str, sums: &Sums) -> Result<u64, Mismatch> {
        self.verify_artifacts(&[artifact], sums)
    }

    /// A folder artifact must hold no file that is not listed.
    fn check_no_extra_files(&self, artifact: &str, sums: &Sums) -> Result<(), Mismatch> {
        let root = self.join(artifact);
        if root.is_dir() {
            for entry in WalkDir::new(&root)
                .sort_by_file_name()
                .into_iter()
                .flatten()
            {
                if !entry.file_type().is_dir() {
                    let rel = entry
                        .path()
                        .strip_prefix(&self.path)
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if !sums.contains_key(&rel) {
                        return Err(Mismatch::Unexpected(rel));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Compares one file's hashing result with its recorded hash.
fn check_one(
    path: &str,
    expected: &str,
    result: io::Result<(String, u64)>,
) -> Result<u64, Mismatch> {
    match result {
        Ok((found, size)) if found == expected => Ok(size),
        Ok((found, _)) => Err(Mismatch::Changed {
            path: path.to_owned(),
            expected: expected.to_owned(),
            found,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Mismatch::Missing(path.to_owned())),
        Err(e) => Err(Mismatch::Unreadable {
            path: path.to_owned(),
            error: e.to_string(),
        }),
    }
}

/// Hashes the file `root`, or every file below the folder `root`, naming
/// the entries as if `root` were called `name`. Returns the sums and the
/// bytes. (The dump step follows its folder instead; tests compare with this.)
#[cfg(test)]
pub fn hash_tree(root: &Path, name: &str) -> io::Result<(Sums, u64)> {
    let mut names = Vec::new();
    let mut paths = Vec::new();
    if root.is_dir() {
        for entry in WalkDir::new(root).sort_by_file_name() {
            let entry = entry.map_err(io::Error::other)?;
            if entry.file_type().is_file() {
                let rel = entry.path().strip_prefix(root).map_err(io::Error::other)?;
                names.push(format!("{name}/{}", rel.to_string_lossy()));
                paths.push(entry.into_path());
            }
        }
    } else {
        names.push(name.to_owned());
        paths.push(root.to_path_buf());
    }
    let mut sums = Sums::new();
    let mut bytes = 0;
    for (name, result) in names
        .into_iter()
        .zip(hash_files_tallied(&paths, &Tally::default()))
    {
        let (hash, size) = result?;
        sums.insert(name, hash);
        bytes += size;
    }
    Ok((sums, bytes))
}

/// Whether the sums entry `path` is (part of) `artifact`.
pub fn belongs_to(path: &str, artifact: &str) -> bool {
    path == artifact
        || path
            .strip_prefix(artifact)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_verifies_and_names_the_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = ArtifactsDir::new(dir.path());
        fs::create_dir(dir.path().join("db.dir")).unwrap();
        fs::write(dir.path().join("db.dir/toc.dat"), b"toc").unwrap();
        fs::write(dir.path().join("db.dir/1.dat"), b"rows").unwrap();
        fs::write(dir.path().join("db_media.tar"), b"tar").unwrap();
        for name in ["db.dir", "db_media.tar"] {
            let (sums, _) = hash_tree(&artifacts.join(name), name).unwrap();
            artifacts.record(name, &sums).unwrap();
        }
        let sums = artifacts.read_sums().unwrap();
        assert_eq!(sums.len(), 3);
        assert_eq!(artifacts.verify_artifact("db.dir", &sums), Ok(7));

        fs::write(dir.path().join("db.dir/1.dat"), b"rowz").unwrap();
        assert!(matches!(
            artifacts.verify_artifact("db.dir", &sums),
            Err(Mismatch::Changed { path, .. }) if path == "db.dir/1.dat"
        ));
        fs::write(dir.path().join("db.dir/1.dat"), b"rows").unwrap();
        fs::write(dir.path().join("db.dir/extra.dat"), b"x").unwrap();
        assert_eq!(
            artifacts.verify_artifact("db.dir", &sums),
            Err(Mismatch::Unexpected("db.dir/extra.dat".into()))
        );
        fs::remove_file(dir.path().join("db_media.tar")).unwrap();
        assert_eq!(
            artifacts.verify_artifact("db_media.tar", &sums),
            Err(Mismatch::Missing("db_media.tar".into()))
        );

        artifacts.forget("db.dir").unwrap();
        let sums = artifacts.read_sums().unwrap();
        assert_eq!(sums.keys().collect::<Vec<_>>(), vec!["db_media.tar"]);
        assert!(!dir.path().join("db.dir").exists());
        assert_eq!(
            artifacts.verify_artifact("db.dir", &sums),
            Err(Mismatch::NotListed("db.dir".into()))
        );
    }

    #[test]
    fn prefix_of_another_artifact_does_not_belong() {
        assert!(belongs_to("db.dir/1.dat", "db.dir"));
        assert!(belongs_to("db.sql", "db.sql"));
        assert!(!belongs_to("db.sql.gz", "db.sql"));
        assert!(!belongs_to("db.dir2/x", "db.dir"));
    }
}
