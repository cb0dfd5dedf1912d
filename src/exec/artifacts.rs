//! The artifacts of a manifest: a folder, or an object store and its cache.

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
