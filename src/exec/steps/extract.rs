//! `extract`: an archive checked, unpacked beside its target folder and
//! swapped in.

use std::path::Path;

use crate::exec::runner::StepRunner;
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::compression::Compression;
use crate::io::sha256sum;
use crate::media::{self, Placement};
use crate::plan::{ArtifactKind, Step};
use crate::store::Sums;

use super::archive::tree_note;

impl StepRunner<'_> {
    /// Checks the archive and the media sums against `SHA256SUMS`, then
    /// unpacks, checks and swaps in the target media folder.
    pub(in crate::exec) fn extract(
        &self,
        step: &Step,
        archive: &Path,
        compression: Compression,
        into: &Path,
        file_sums: &Path,
        placement: Placement,
    ) -> StepResult {
        let recorded = self
            .artifacts
            .read_sums()
            .map_err(|e| StepFailure::new(format!("cannot read SHA256SUMS: {e}")))?;
        let mut expected = None;
        for artifact in &step.consumes {
            if artifact.kind == ArtifactKind::MediaSums {
                self.artifacts
                    .verify_artifact(&artifact.name, &recorded)
                    .map_err(|m| StepFailure::new(format!("extract refused: {m}")))?;
            } else {
                expected = recorded.get(&artifact.name).cloned();
                if expected.is_none() {
                    return Err(StepFailure::new(format!(
                        "extract refused: {} is not listed in SHA256SUMS",
                        artifact.name
                    )));
                }
            }
        }
        let sums = sha256sum::read_files(file_sums).map_err(|e| StepFailure::new(e.to_string()))?;
        // `verify` re-hashed the archive moments ago in this process: unless
        // the file changed since, extract need not hash it a third time.
        let archive_name = step
            .consumes
            .iter()
            .find(|a| a.kind == ArtifactKind::MediaArchive)
            .map(|a| a.name.as_str())
            .unwrap_or_default();
        let check = if self.artifacts.verified_unchanged(archive_name) {
            media::ArchiveCheck::VerifiedUnchanged
        } else {
            media::ArchiveCheck::Hash(expected.unwrap_or_default())
        };
        let report =
            media::extract(archive, compression, &check, &sums, into, placement).map_err(|e| {
                StepFailure::new(format!("extract failed: {e}")).with_help(format!(
                    "the target media folder {} was left as it was",
                    into.display()
                ))
            })?;
        Ok(StepReport {
            bytes: report.bytes,
            checksums: Sums::new(),
            note: Some(tree_note(report.files, report.folders, report.links)),
            ..StepReport::default()
        })
    }
}
