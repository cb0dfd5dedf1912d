//! `clean`: a run's artifacts removed, never while a run holds them.

use std::path::PathBuf;

use super::error::ApplyError;
use crate::io::files::{partial_path, remove_any, size_of};
use crate::manifest::Manifest;
use crate::plan::{SOURCE_RECORD, every_artifact_name};
use crate::store::SUMS_FILE;
use crate::store::journal::STATE_FILE;

/// What `clean` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// The artifacts folder (with an object store, its local cache).
    pub dir: PathBuf,
    /// Each file or folder removed, by name in the artifacts folder.
    pub removed: Vec<String>,
    pub bytes: u64,
}

/// Removes every artifact `plan` produces, every one a run in another
/// format or compression may have left for the same database, every one
/// the sums list (an earlier run's), partial ones and the restore's
/// hidden lists, the sums and the journal, from the folder and, with an
/// object store, from the store: they hold production data. Only what
/// replicate writes is touched: the folder, its lock and anything else in
/// it stay.
pub fn clean(manifest: &Manifest) -> Result<Cleaned, ApplyError> {
    let (plan, _) = crate::plan::offline(manifest)?;
    let artifacts = super::artifacts::open_artifacts(manifest)?;
    let mut cleaned = Cleaned {
        dir: manifest.artifacts.dir.clone(),
        ..Cleaned::default()
    };
    if !artifacts.path().is_dir() {
        return Ok(cleaned);
    }
    // Refused while a run (apply or rollback) holds the folder.
    let _lock = artifacts.lock()?;
    let mut names: Vec<String> = plan
        .steps()
        .flat_map(|s| s.produces.iter().map(|a| a.name.clone()))
        .collect();
    names.extend(every_artifact_name(manifest));
    // An earlier run's artifacts, as its sums list them (a folder's files
    // by their path in it).
    if let Ok(sums) = artifacts.read_sums() {
        names.extend(
            sums.keys()
                .filter_map(|path| path.split('/').next())
                .filter(|name| !name.is_empty() && *name != "." && *name != "..")
                .map(str::to_owned),
        );
    }
    names.extend(hidden_lists(artifacts.path(), &names));
    names.extend([
        SOURCE_RECORD.to_owned(),
        SUMS_FILE.to_owned(),
        STATE_FILE.to_owned(),
    ]);
    names.sort();
    names.dedup();
    // The store's copies, then the local ones.
    for name in &names {
        artifacts
            .delete_remote(name)
            .map_err(ApplyError::io(format!(
                "cannot remove {name} from {}",
                artifacts.location()
            )))?;
    }
    for name in names {
        let path = artifacts.join(&name);
        for path in [partial_path(&path), path] {
            if std::fs::symlink_metadata(&path).is_err() {
                continue;
            }
            cleaned.bytes += size_of(&path).unwrap_or(0);
            remove_any(&path)
                .map_err(ApplyError::io(format!("cannot remove {}", path.display())))?;
            cleaned.removed.push(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
        }
    }
    Ok(cleaned)
}

/// The lists a restore or a check writes beside an archive while it runs
/// (`.<archive>.<what>.list`), left behind when the run was killed.
fn hidden_lists(folder: &std::path::Path, names: &[String]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|file| {
            file.ends_with(".list")
                && names
                    .iter()
                    .any(|name| file.starts_with(&format!(".{name}.")))
        })
        .collect()
}
