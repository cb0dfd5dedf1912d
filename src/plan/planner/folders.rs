//! The steps on folders: `archive` at the source, `extract` at the target.

use super::context::Planner;
use crate::manifest::Strategy;
use crate::media::companion;
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
        // Under `swap` the new folder waits beside the target for `swap`;
        // under `replace` it is swapped in at once.
        let (description, next, destroys) = match self.manifest.target.strategy {
            Strategy::Swap => {
                let next = companion(&into, "next");
                (
                    format!(
                        "unpack the archive into {}, beside the target media folder {}",
                        next.display(),
                        into.display()
                    ),
                    Some(next),
                    None,
                )
            }
            Strategy::Replace => (
                format!(
                    "replace the target media folder {} with the archive's files",
                    into.display()
                ),
                None,
                Some("replace media".into()),
            ),
        };
        Step {
            id: StepId::Extract,
            kind: StepId::Extract.kind(),
            description,
            action: Action::Extract {
                archive: self.path(archive),
                compression: self.manifest.artifacts.compression,
                into,
                file_sums: self.path(sums),
                next,
            },
            produces: vec![],
            consumes: vec![archive.clone(), sums.clone()],
            destroys,
        }
    }
}
