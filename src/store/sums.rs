//! `SHA256SUMS`: which artifacts are complete. An artifact's entries are
//! replaced at once, under a lock, and the file is rewritten atomically.

use std::fs;
use std::io;

use super::{ArtifactsDir, Sums, belongs_to};
use crate::io::files::{partial_path, remove_any, write_atomically};
use crate::io::sha256sum;

pub const SUMS_FILE: &str = "SHA256SUMS";

impl ArtifactsDir {
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
}
