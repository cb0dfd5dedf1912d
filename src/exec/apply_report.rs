//! What a completed run reports: the steps done, the time, what was
//! copied, the previous target kept, and the artifacts left (or removed
//! under `keep = "none"`).

use std::path::PathBuf;
use std::time::Duration;

use super::error::ApplyError;
use super::prepare::Prepared;
use crate::io::files::size_of;
use crate::manifest::{Keep, Strategy};
use crate::plan::{SOURCE_RECORD, StepId};
use crate::postgres::names::companion;
use crate::remote::Place;

/// A run that completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    pub steps_done: usize,
    pub elapsed: Duration,
    /// How long the target's name could not be reached.
    pub downtime_ms: Option<u64>,
    pub copied: Copied,
    /// The target as it was before the run, kept beside the new one
    /// (`keep_previous`): `replicate rollback` swaps it back in.
    pub previous: Option<PreviousTarget>,
    pub artifacts: ArtifactsLeft,
}

/// What a run put on the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Tables and rows `check` found equal to the dump.
    pub tables: u64,
    pub rows: u64,
    /// Files and bytes `extract` put in place.
    pub files: u64,
    pub file_bytes: u64,
}

/// Where the previous target is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousTarget {
    /// `<target>__prev`, when a database is copied.
    pub database: Option<String>,
    /// Each `<folder>.replicate-prev`.
    pub folders: Vec<Place>,
}

/// The artifacts after the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactsLeft {
    /// The artifacts folder (with an object store, its local cache).
    pub dir: PathBuf,
    /// What the plan's artifacts there add up to.
    pub bytes: u64,
    /// `keep = "none"`: they were removed after the run (`state.json`
    /// stays).
    pub removed: bool,
}

/// The run as it ended, for its report.
pub struct Ran {
    pub steps_done: usize,
    pub elapsed: Duration,
    pub downtime_ms: Option<u64>,
    pub copied: Copied,
}

/// The report of a run that succeeded, after removing its artifacts under
/// `keep = "none"`.
pub fn report(prepared: &Prepared, ran: Ran) -> Result<ApplyReport, ApplyError> {
    let removed = remove_artifacts(prepared)?;
    let dir = prepared.manifest.artifacts.dir.clone();
    let bytes = prepared
        .plan
        .steps()
        .flat_map(|s| s.produces.iter())
        .filter_map(|a| size_of(&dir.join(&a.name)))
        .sum();
    Ok(ApplyReport {
        steps_done: ran.steps_done,
        elapsed: ran.elapsed,
        downtime_ms: ran.downtime_ms,
        copied: ran.copied,
        previous: previous_target(prepared),
        artifacts: ArtifactsLeft {
            dir,
            bytes,
            removed,
        },
    })
}

/// `keep = "none"`: a run that did the whole plan leaves no copy of the
/// source behind (`--steps` runs keep theirs for the next one, except in
/// an object store's cache: the store keeps them). Whether it removed
/// them.
fn remove_artifacts(prepared: &Prepared) -> Result<bool, ApplyError> {
    let artifacts = &prepared.artifacts;
    let removed = prepared.manifest.artifacts.keep == Keep::None
        && (!prepared.some_steps || artifacts.remote().is_some());
    if removed {
        let names = prepared
            .plan
            .steps()
            .flat_map(|s| s.produces.iter().map(|a| a.name.as_str()))
            .chain([SOURCE_RECORD]);
        for name in names {
            artifacts
                .forget_locally(name)
                .map_err(ApplyError::io(format!(
                    "the run succeeded, but removing {name} (keep = \"none\") failed"
                )))?;
        }
    }
    Ok(removed)
}

/// Where the previous target is, when the plan swapped and kept it.
fn previous_target(prepared: &Prepared) -> Option<PreviousTarget> {
    let manifest = &prepared.manifest;
    let t = &manifest.target;
    let kept =
        t.strategy == Strategy::Swap && t.keep_previous && prepared.plan.contains(StepId::Swap);
    kept.then(|| PreviousTarget {
        database: manifest
            .has_database()
            .then(|| companion(t.database.database(), "__prev")),
        folders: t
            .folders
            .values()
            .map(|folder| folder.beside("prev"))
            .collect(),
    })
}
