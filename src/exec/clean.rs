//! `clean`: a run's artifacts removed, never while a run holds them.

use super::error::ApplyError;
use crate::io::files::{partial_path, remove_any, size_of};
use crate::manifest::Manifest;
use crate::plan::Plan;
use crate::store::journal::STATE_FILE;
use crate::store::{ArtifactsDir, RunLock, SUMS_FILE};

/// What `clean` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Each file or folder removed, by name in the artifacts folder.
    pub removed: Vec<String>,
    pub bytes: u64,
}

/// Removes every artifact `plan` produces (and partial ones), the sums
/// and the journal. Only what replicate writes is touched: the folder, its
/// lock and anything else in it stay.
pub fn clean(manifest: &Manifest, plan: &Plan) -> Result<Cleaned, ApplyError> {
    let artifacts = ArtifactsDir::new(&manifest.artifacts.dir);
    let mut cleaned = Cleaned::default();
    if !artifacts.path().is_dir() {
        return Ok(cleaned);
    }
    // Refused while a run (apply or rollback) holds the folder.
    let _lock = RunLock::acquire(artifacts.path())?;
    let mut names: Vec<String> = plan
        .steps()
        .flat_map(|s| s.produces.iter().map(|a| a.name.clone()))
        .collect();
    names.extend([SUMS_FILE.to_owned(), STATE_FILE.to_owned()]);
    for name in names {
        let path = artifacts.join(&name);
        for path in [partial_path(&path), path] {
            if std::fs::symlink_metadata(&path).is_err() {
                continue;
            }
            cleaned.bytes += size_of(&path).unwrap_or(0);
            remove_any(&path)
                .map_err(|e| ApplyError::Io(format!("cannot remove {}: {e}", path.display())))?;
            cleaned.removed.push(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
        }
    }
    Ok(cleaned)
}
