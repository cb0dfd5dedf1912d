//! One module per subcommand. Each takes plain values, loads what it needs,
//! calls the layer below, prints, and returns the exit code or an error for
//! [`crate::cli`] to report.

pub mod apply;
pub mod graph;
pub mod plan;
pub mod schema;
pub mod show;
pub mod validate;
pub mod verify;

use std::path::Path;

use super::Error;
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
