//! `extract`: each archive checked, unpacked beside its target folder and
//! swapped in (`replace`) or left beside it for `swap`.

use std::path::{Path, PathBuf};

use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::compression::Compression;
use crate::io::files::remove_any;
use crate::io::sha256sum;
use crate::media::{self, Placement};
use crate::plan::{Artifact, FolderExtract};
use crate::store::Sums;

use super::archive::tree_note;
use super::context::{StepContext, StepWork};

/// `extract`: every folder unpacked and checked beside its target
/// (`<folder>.replicate-next`), then, under `replace`, all swapped in.
pub(in crate::exec) struct Extract<'a> {
    pub(in crate::exec) folders: &'a [FolderExtract],
    pub(in crate::exec) compression: Compression,
    /// The archives and sums files it reads.
    pub(in crate::exec) consumes: &'a [Artifact],
}

impl StepWork for Extract<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        let folders = self.folders;
        let recorded = cx
            .artifacts
            .read_sums()
            .map_err(|e| StepFailure::new(format!("cannot read SHA256SUMS: {e}")))?;
        // Every archive and sums file is checked before any folder is
        // touched.
        for artifact in self.consumes {
            if !recorded.contains_key(&artifact.name) {
                return Err(StepFailure::new(format!(
                    "extract refused: {} is not listed in SHA256SUMS",
                    artifact.name
                )));
            }
        }
        let meter = &cx.meter;
        meter.set_total(
            folders
                .iter()
                .filter_map(|f| crate::io::files::size_of(&f.archive))
                .sum(),
        );
        // Every folder is unpacked and checked beside its target first;
        // only then (`replace`) are they swapped in, one rename each.
        let mut total = StepReport::default();
        let mut notes = Vec::new();
        let mut unpacked: Vec<&FolderExtract> = Vec::new();
        for folder in folders {
            match extract_folder(cx, folder, self.compression, &recorded) {
                Ok(report) => {
                    total.bytes += report.bytes;
                    total.files += report.files;
                    notes.extend(report.note.map(|n| format!("{}: {n}", folder.name)));
                    unpacked.push(folder);
                }
                Err(failure) => {
                    for done in &unpacked {
                        let _ = remove_any(&next_of(done));
                    }
                    let untouched: Vec<String> = folders
                        .iter()
                        .map(|f| format!("{} {}", f.name, f.into.display()))
                        .collect();
                    return Err(failure.with_help(format!(
                        "the target folders were not touched: {}",
                        untouched.join(", ")
                    )));
                }
            }
        }
        let mut replaced: Vec<String> = Vec::new();
        for folder in folders.iter().filter(|f| f.next.is_none()) {
            let into = media::real_folder(&folder.into);
            if let Err(e) = media::swap_in(&next_of(folder), &into) {
                for f in folders {
                    let _ = remove_any(&next_of(f));
                }
                let help = if replaced.is_empty() {
                    "the target folders were not touched".to_owned()
                } else {
                    format!(
                        "already replaced: {}; the others were not touched",
                        replaced.join(", ")
                    )
                };
                return Err(StepFailure::new(format!(
                    "cannot put the new {} folder in place of {}: {e}",
                    folder.name,
                    into.display()
                ))
                .with_help(help));
            }
            replaced.push(format!("{} {}", folder.name, folder.into.display()));
        }
        total.note = Some(notes.join("; "));
        Ok(total)
    }
}

/// Checks one folder's sums file against `SHA256SUMS`, then unpacks,
/// checks and places the folder.
fn extract_folder(
    cx: &StepContext<'_>,
    folder: &FolderExtract,
    compression: Compression,
    recorded: &Sums,
) -> StepResult {
    let tally = &cx.meter.done;
    let name_of = |path: &Path| {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let (archive_name, sums_name) = (name_of(&folder.archive), name_of(&folder.file_sums));
    cx.artifacts
        .verify_artifact(&sums_name, recorded)
        .map_err(|m| StepFailure::new(format!("extract refused: {m}")))?;
    let expected = recorded.get(&archive_name).cloned().ok_or_else(|| {
        StepFailure::new(format!(
            "extract refused: {archive_name} is not listed in SHA256SUMS"
        ))
    })?;
    let sums =
        sha256sum::read_files(&folder.file_sums).map_err(|e| StepFailure::new(e.to_string()))?;
    // `verify` re-hashed the archive moments ago in this process: unless
    // the file changed since, extract need not hash it a third time.
    let check = if cx.artifacts.verified_unchanged(&archive_name) {
        media::ArchiveCheck::VerifiedUnchanged
    } else {
        media::ArchiveCheck::Hash(expected)
    };
    let report = media::extract(
        &folder.archive,
        compression,
        &check,
        &sums,
        &folder.into,
        Placement::Beside,
        tally,
    )
    .map_err(|e| StepFailure::new(format!("extracting the {} folder failed: {e}", folder.name)))?;
    Ok(StepReport {
        bytes: report.bytes,
        checksums: Sums::new(),
        note: Some(tree_note(report.files, report.folders, report.links)),
        files: report.files,
        ..StepReport::default()
    })
}

/// Where a folder's new content is unpacked: beside the folder it replaces.
fn next_of(folder: &FolderExtract) -> PathBuf {
    folder
        .next
        .clone()
        .unwrap_or_else(|| media::companion(&media::real_folder(&folder.into), "next"))
}
