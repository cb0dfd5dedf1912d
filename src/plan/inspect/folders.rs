//! The folders on both sides: how many files, how many bytes.

use std::path::Path;

use crate::display::units::{count, human_bytes};

pub(super) fn note(side: &str, folder: &Path) -> String {
    if !folder.is_dir() {
        return format!("{side} media: {} does not exist", folder.display());
    }
    let (mut files, mut bytes) = (0u64, 0u64);
    for entry in walkdir::WalkDir::new(folder).into_iter().flatten() {
        if entry.file_type().is_file() {
            files += 1;
            bytes += entry.metadata().map_or(0, |m| m.len());
        }
    }
    format!(
        "{side} media: {} holds {}, {}",
        folder.display(),
        count(files, "file", "files"),
        human_bytes(bytes)
    )
}
