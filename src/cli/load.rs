//! The manifest as commands load it: through the layer below, with its
//! warnings shown on stderr.

use std::path::Path;

use super::error::Error;
use super::report::report;
use crate::exec;
use crate::manifest::Manifest;
use crate::plan::Sides;

/// Loads the manifest and shows its warnings on stderr.
pub fn load_manifest(path: &Path) -> Result<Manifest, Error> {
    load_manifest_for(path, Sides::BOTH)
}

/// [`load_manifest`] for a run that reaches only `sides` (see
/// [`exec::load_manifest`]).
pub fn load_manifest_for(path: &Path, sides: Sides) -> Result<Manifest, Error> {
    let manifest = exec::load_manifest(path, sides)?;
    show_warnings(&manifest);
    Ok(manifest)
}

/// The manifest's warnings, on stderr.
pub fn show_warnings(manifest: &Manifest) {
    for warning in &manifest.warnings {
        report(warning);
    }
}
