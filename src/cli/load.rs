//! What commands load before they call the layer below: the manifest, with
//! its warnings shown on stderr.

use std::path::Path;

use super::error::Error;
use super::report::report;
use crate::manifest::Manifest;

/// Loads the manifest and shows its warnings on stderr.
pub fn load_manifest(path: &Path) -> Result<Manifest, Error> {
    let manifest = Manifest::load(path)?;
    for warning in &manifest.warnings {
        report(warning);
    }
    Ok(manifest)
}
