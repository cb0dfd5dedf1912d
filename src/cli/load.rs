//! What commands load before they call the layer below: the manifest, with
//! its warnings shown on stderr.

use std::path::Path;

use super::error::Error;
use super::report::report;
use crate::manifest::{Manifest, variables_only_in};
use crate::plan::Sides;

/// Loads the manifest and shows its warnings on stderr.
pub fn load_manifest(path: &Path) -> Result<Manifest, Error> {
    load_manifest_for(path, Sides::BOTH)
}

/// [`load_manifest`] for a run that reaches only `sides`: a `${NAME}`
/// used only in the other side's table may be unset (on a staging machine,
/// the production password is not there, and is not needed).
pub fn load_manifest_for(path: &Path, sides: Sides) -> Result<Manifest, Error> {
    let unused: Vec<&str> = [("source", sides.source), ("target", sides.target)]
        .into_iter()
        .filter(|(_, needed)| !needed)
        .map(|(table, _)| table)
        .collect();
    let deferrable = if unused.is_empty() {
        Default::default()
    } else {
        variables_only_in(&std::fs::read_to_string(path).unwrap_or_default(), &unused)
    };
    let manifest = Manifest::load_with_env(path, &|name| {
        std::env::var(name)
            .ok()
            .or_else(|| deferrable.contains(name).then(String::new))
    })?;
    for warning in &manifest.warnings {
        report(warning);
    }
    Ok(manifest)
}
