//! The artifacts of a manifest: a folder, or an object store and its cache;
//! and `force-unlock`, for the lock a lost run left in a store.

use super::error::ApplyError;
use crate::manifest::Manifest;
use crate::store::ArtifactsDir;

/// The manifest's artifacts folder, or its object store and local cache.
pub fn open_artifacts(manifest: &Manifest) -> Result<ArtifactsDir, ApplyError> {
    let a = &manifest.artifacts;
    Ok(match &a.store {
        Some(url) => ArtifactsDir::mirroring(&a.dir, url)?,
        None => ArtifactsDir::new(&a.dir),
    })
}

/// A lock removed by `force-unlock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlocked {
    /// Where the artifacts are: the store's URL, or the folder.
    pub location: String,
    /// Who held the lock, as the lock said.
    pub holder: String,
}

/// Removes the lock `id` from the manifest's artifacts.
pub fn force_unlock(manifest: &Manifest, id: &str) -> Result<Unlocked, ApplyError> {
    let artifacts = open_artifacts(manifest)?;
    let holder = artifacts.force_unlock(id)?;
    Ok(Unlocked {
        location: artifacts.location(),
        holder,
    })
}
