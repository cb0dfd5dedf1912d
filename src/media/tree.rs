//! Comparing a media folder with its checksums (`replicate verify --media`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::error::{MediaError, io_at};
use crate::io::hashing::hash_file;
use crate::io::sha256sum::FileSums;

/// How a folder differs from its checksums.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TreeDifferences {
    pub missing: Vec<PathBuf>,
    pub changed: Vec<PathBuf>,
    pub unexpected: Vec<PathBuf>,
    pub checked: u64,
}

impl TreeDifferences {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.changed.is_empty() && self.unexpected.is_empty()
    }
}

/// Compares the sums of the files found in a folder with `sums`.
pub fn compare_sums(found: &FileSums, sums: &FileSums) -> TreeDifferences {
    let mut differences = TreeDifferences::default();
    for (path, hash) in found {
        match sums.get(path) {
            None => differences.unexpected.push(path.clone()),
            Some(expected) => {
                differences.checked += 1;
                if hash != expected {
                    differences.changed.push(path.clone());
                }
            }
        }
    }
    differences.missing = sums
        .keys()
        .filter(|p| !found.contains_key(*p))
        .cloned()
        .collect();
    differences
}

/// Hashes every regular file below `folder` and compares with `sums`.
pub fn compare(folder: &Path, sums: &FileSums) -> Result<TreeDifferences, MediaError> {
    let mut differences = TreeDifferences::default();
    let mut present = BTreeSet::new();
    let walk = WalkDir::new(folder)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !super::archive::is_own(e));
    for entry in walk {
        let entry = entry.map_err(|e| MediaError::Io {
            path: folder.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(folder)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        match sums.get(&rel) {
            None => differences.unexpected.push(rel.clone()),
            Some(expected) => {
                let (found, _) = hash_file(entry.path()).map_err(io_at(entry.path()))?;
                differences.checked += 1;
                if &found != expected {
                    differences.changed.push(rel.clone());
                }
            }
        }
        present.insert(rel);
    }
    differences.missing = sums
        .keys()
        .filter(|p| !present.contains(*p))
        .cloned()
        .collect();
    Ok(differences)
}
