//! The steps on folders: `archive` at the source, `extract` at the target,
//! each over every copied folder.

use super::context::Planner;
use crate::manifest::{CopiedFolder, Strategy, Text};
use crate::plan::step::Exec;
use crate::plan::step::{Action, Artifact, FolderArchive, FolderExtract, Step, StepId};
use crate::remote::{self, Place, Reach};

/// A copied folder with its archive and sums.
pub(super) type FolderArtifacts = [(CopiedFolder, Artifact, Artifact)];

/// `media`, `media and scripts`, `media, scripts and reports`.
fn names(folders: &FolderArtifacts) -> String {
    let names: Vec<&str> = folders.iter().map(|(c, _, _)| c.folder.as_str()).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl Planner<'_> {
    /// How a remote folder is reached; nothing for a local one.
    pub(super) fn reach_of(&self, place: &Place) -> Option<Reach> {
        place.remote_name().map(|_| self.manifest.reach.clone())
    }

    /// The command that packs a remote folder where it is.
    fn remote_pack(&self, place: &Place) -> Exec {
        let argv = remote::script_argv(
            &self.manifest.reach,
            place,
            remote::PACK,
            &[&place.path_text()],
        );
        self.exec_of(&argv.into_iter().map(Text::plain).collect::<Vec<_>>())
    }

    pub(super) fn archive(&self, folders: &FolderArtifacts) -> Step {
        let sources: Vec<String> = folders
            .iter()
            .map(|(c, _, _)| format!("{} {}", c.folder, c.source))
            .collect();
        Step {
            id: StepId::Archive,
            kind: StepId::Archive.kind(),
            description: format!("archive the source folders: {}", sources.join(", ")),
            action: Action::Archive {
                compression: self.manifest.artifacts.compression,
                folders: folders
                    .iter()
                    .map(|(c, archive, sums)| FolderArchive {
                        name: c.folder,
                        from: c.source.clone(),
                        read: c.source.remote_name().map(|_| self.remote_pack(&c.source)),
                        to: self.path(archive),
                        file_sums: self.path(sums),
                    })
                    .collect(),
            },
            produces: folders
                .iter()
                .flat_map(|(_, a, s)| [a.clone(), s.clone()])
                .collect(),
            consumes: vec![],
            destroys: None,
            server: None,
        }
    }

    pub(super) fn extract(&self, folders: &FolderArtifacts) -> Step {
        // Under `swap` each new folder waits beside its target for `swap`;
        // under `replace` it is swapped in at once.
        let swap = self.manifest.target.strategy == Strategy::Swap;
        let targets: Vec<String> = folders
            .iter()
            .map(|(c, _, _)| {
                if swap {
                    format!("{} into {}", c.folder, c.target.beside("next"))
                } else {
                    format!("{} {}", c.folder, c.target)
                }
            })
            .collect();
        let (description, destroys) = if swap {
            (
                format!(
                    "unpack the archives beside the target folders: {}",
                    targets.join(", ")
                ),
                None,
            )
        } else {
            (
                format!(
                    "replace the target folders with the archives' files: {}",
                    targets.join(", ")
                ),
                Some(format!("replace {}", names(folders))),
            )
        };
        Step {
            id: StepId::Extract,
            kind: StepId::Extract.kind(),
            description,
            action: Action::Extract {
                compression: self.manifest.artifacts.compression,
                folders: folders
                    .iter()
                    .map(|(c, archive, sums)| FolderExtract {
                        name: c.folder,
                        archive: self.path(archive),
                        file_sums: self.path(sums),
                        into: c.target.clone(),
                        next: swap.then(|| c.target.beside("next")),
                        reach: self.reach_of(&c.target),
                    })
                    .collect(),
            },
            produces: vec![],
            consumes: folders
                .iter()
                .flat_map(|(_, a, s)| [a.clone(), s.clone()])
                .collect(),
            destroys,
            server: None,
        }
    }

    /// `media and scripts`, for the swap step's description.
    pub(super) fn folder_names(folders: &FolderArtifacts) -> String {
        names(folders)
    }
}
