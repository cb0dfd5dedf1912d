//! The steps on folders: `archive` at the source, `extract` at the target.

use super::context::Planner;
use crate::plan::step::{Action, Artifact, Step, StepId};

impl Planner<'_> {
    pub(super) fn archive(&self, archive: &Artifact, sums: &Artifact) -> Step {
        let from = self.manifest.source.media.clone().unwrap_or_default();
        Step {
            id: StepId::Archive,
            kind: StepId::Archive.kind(),
            description: format!("archive the source media folder {}", from.display()),
            action: Action::Archive {
                from,
                to: self.path(archive),
                compression: self.manifest.artifacts.compression,
                file_sums: self.path(sums),
            },
            produces: vec![archive.clone(), sums.clone()],
            consumes: vec![],
            destroys: None,
        }
    }

    pub(super) fn extract(&self, archive: &Artifact, sums: &Artifact) -> Step {
        let into = self.manifest.target.media.clone().unwrap_or_default();
        Step {
            id: StepId::Extract,
            kind: StepId::Extract.kind(),
            description: format!(
                "replace the target media folder {} with the archive's files",
                into.display()
            ),
            action: Action::Extract {
                archive: self.path(archive),
                compression: self.manifest.artifacts.compression,
                into,
                file_sums: self.path(sums),
            },
            produces: vec![],
            consumes: vec![archive.clone(), sums.clone()],
            destroys: Some("replace media".into()),
        }
    }
}
