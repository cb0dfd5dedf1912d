//! `verify`: the artifacts hashed again against `SHA256SUMS` (fetched from
//! the object store when there is one); with `--media`, each copied target
//! folder against its file sums; with `--target`, the target database
//! against the dump's catalog ([`super::verify_target`]).

use std::path::PathBuf;

use super::artifacts::open_artifacts;
use super::error::ApplyError;
use super::target_folder::TargetFolder;
use super::verify_target::{TargetVerdict, check_target};
use crate::io::sha256sum;
use crate::manifest::Manifest;
use crate::plan::{self, Action, Plan, StepId};
use crate::remote::Place;
use crate::store::Mismatch;

/// What `verify` found.
#[derive(Debug)]
pub struct VerifyReport {
    /// Every artifact of the plan: its size, or why it does not verify.
    pub artifacts: Vec<ArtifactVerdict>,
    /// Each copied folder (with `--media`).
    pub folders: Vec<FolderVerdict>,
    /// The target database (with `--target`, when all else verified).
    pub target: Option<TargetVerdict>,
}

#[derive(Debug)]
pub struct ArtifactVerdict {
    pub name: String,
    /// Its size in bytes, when it verifies.
    pub result: Result<u64, Mismatch>,
}

/// A copied target folder against the file sums of its archive.
#[derive(Debug)]
pub struct FolderVerdict {
    /// `media`, `scripts`, `reports`.
    pub name: String,
    /// The target folder.
    pub into: Place,
    /// The files that differ, by path in the folder.
    pub differences: Vec<(FileFound, PathBuf)>,
    /// How many files were checked.
    pub checked: u64,
}

/// How a file of a folder differs from its sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFound {
    Missing,
    Changed,
    Unexpected,
}

impl FileFound {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Changed => "changed",
            Self::Unexpected => "unexpected",
        }
    }
}

impl VerifyReport {
    /// Every problem found, in a sentence each.
    pub fn problems(&self) -> Vec<String> {
        let artifacts = self
            .artifacts
            .iter()
            .filter_map(|a| a.result.as_ref().err().map(ToString::to_string));
        let folders = self.folders.iter().flat_map(|folder| {
            folder.differences.iter().map(|(found, path)| {
                let (what, path) = (found.as_str(), path.display());
                format!("{what} {path} in {}", folder.name)
            })
        });
        let target = self.target.iter().flat_map(|t| {
            t.differences
                .iter()
                .map(|d| format!("the target database changed: {d}"))
        });
        artifacts.chain(folders).chain(target).collect()
    }

    /// The error when anything did not verify.
    pub fn verdict(&self) -> Result<(), ApplyError> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        Err(ApplyError::NotReady {
            message: problems.join("; "),
            help: Some("produce the artifacts again with `replicate apply`".to_owned()),
        })
    }
}

/// Verifies the artifacts of `manifest`, and with `folders` and `target`
/// what was copied from them. Neither system is reached, but the target
/// for `target`.
pub fn verify(
    manifest: &Manifest,
    folders: bool,
    target: bool,
) -> Result<VerifyReport, ApplyError> {
    let (plan, _) = plan::offline(manifest)?;
    let artifacts = open_artifacts(manifest)?;
    if artifacts.remote().is_some() {
        artifacts.create()?;
        artifacts.pull().map_err(ApplyError::io(format!(
            "cannot read {}",
            artifacts.location()
        )))?;
    }
    let sums = artifacts
        .read_sums()
        .map_err(ApplyError::io("cannot read SHA256SUMS"))?;
    let mut report = VerifyReport {
        artifacts: plan
            .steps()
            .flat_map(|s| s.produces.iter())
            .map(|artifact| ArtifactVerdict {
                name: artifact.name.clone(),
                result: artifacts
                    .fetch(&artifact.name, &sums)
                    .and_then(|()| artifacts.verify_artifact(&artifact.name, &sums)),
            })
            .collect(),
        folders: Vec::new(),
        target: None,
    };
    if folders {
        report.folders = check_folders(&plan)?;
    }
    if target && report.problems().is_empty() {
        report.target = Some(check_target(manifest, &plan)?);
    }
    Ok(report)
}

/// Compares each copied target folder with its `<db>_<folder>.sha256`.
fn check_folders(plan: &Plan) -> Result<Vec<FolderVerdict>, ApplyError> {
    let Some(Action::Extract { folders, .. }) = plan.step(StepId::Extract).map(|s| &s.action)
    else {
        return Err(ApplyError::NothingToCheck {
            message: "the manifest copies no folder: there is no target folder to check".to_owned(),
            help: Some(
                "set both paths of media, scripts or reports, or leave out --media".to_owned(),
            ),
        });
    };
    let mut verdicts = Vec::new();
    for folder in folders {
        let sums = sha256sum::read_files(&folder.file_sums)
            .map_err(|source| ApplyError::FolderSums { source })?;
        let found = TargetFolder::new(&folder.into, folder.reach.as_ref())
            .compare(&sums)
            .map_err(|source| ApplyError::Folder {
                source: Box::new(source),
            })?;
        let differences = [
            (FileFound::Missing, found.missing),
            (FileFound::Changed, found.changed),
            (FileFound::Unexpected, found.unexpected),
        ]
        .into_iter()
        .flat_map(|(what, paths)| paths.into_iter().map(move |path| (what, path)))
        .collect();
        verdicts.push(FolderVerdict {
            name: folder.name.to_string(),
            into: folder.into.clone(),
            differences,
            checked: found.checked,
        });
    }
    Ok(verdicts)
}
