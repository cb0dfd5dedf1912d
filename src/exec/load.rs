//! The manifest an operation needs, loaded for the systems it reaches.

use std::path::Path;

use crate::manifest::{Manifest, ManifestError, variables_only_in};
use crate::plan::Sides;

/// Loads the manifest at `path` for a run that reaches only `sides`: a
/// `${NAME}` used only in the other side's table may be unset (on a
/// staging machine, the production password is not there, and is not
/// needed). Its warnings are left for the caller to show.
pub fn load_manifest(path: &Path, sides: Sides) -> Result<Manifest, ManifestError> {
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
    Manifest::load_with_env(path, &|name| {
        std::env::var(name)
            .ok()
            .or_else(|| deferrable.contains(name).then(String::new))
    })
}
