//! Proving that artifacts are still what `SHA256SUMS` says: every listed
//! file there with its hash, nothing added, and what was verified once
//! remembered until the file changes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::{ArtifactsDir, Sums, belongs_to};
use crate::io::hashing::hash_files_tallied;
use crate::io::tally::Tally;

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

/// Identity and size of a file: if none changed, neither did the file
/// (short of someone forging its modification time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

pub(super) fn stamp(path: &Path) -> Option<Stamp> {
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
