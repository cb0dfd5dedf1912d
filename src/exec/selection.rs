//! Which steps a run executes: all of them, those named with `--steps`, or
//! what `--resume` finds left to do; and why each other step does not run.

use std::collections::{BTreeMap, BTreeSet};

use super::error::ApplyError;
use super::target_server;
use crate::manifest::Manifest;
use crate::plan::{Action, Plan, Sides, StepId};
use crate::store::ArtifactsDir;
use crate::store::journal::{Journal, StepStatus};

/// The steps a run will execute, and why each other step will not.
pub struct Chosen {
    pub selected: BTreeSet<StepId>,
    pub skipped: BTreeMap<StepId, String>,
}

/// The steps a run of `plan` (saved as `digest`) executes with `--steps`
/// and `--resume` as given (reads the artifacts folder, writes nothing
/// there; with an object store, its journal must have been pulled).
pub fn choose(
    manifest: &Manifest,
    plan: &Plan,
    digest: &str,
    steps: Option<&[StepId]>,
    resume: bool,
    artifacts: &ArtifactsDir,
) -> Result<Chosen, ApplyError> {
    let next_exists =
        resume && Sides::for_steps(steps).target && next_database_exists(manifest, plan);
    let how = Selection {
        steps,
        resume,
        digest,
        next_exists,
    };
    let selected = select(plan, &how, artifacts)?;
    let skipped = plan
        .steps()
        .filter(|s| !selected.contains(&s.id))
        .map(|s| (s.id, skip_reason(steps, resume, s.id)))
        .collect();
    Ok(Chosen { selected, skipped })
}

/// Why a step of the plan does not run.
fn skip_reason(steps: Option<&[StepId]>, resume: bool, id: StepId) -> String {
    match steps {
        Some(steps) if !steps.contains(&id) => "not among --steps".to_owned(),
        _ if resume => "done in the earlier run, and still valid".to_owned(),
        _ => "not needed".to_owned(),
    }
}

/// Whether the new database the plan's `check` looks at is on the target
/// server now (under `swap`; `false` when it cannot be told).
fn next_database_exists(manifest: &Manifest, plan: &Plan) -> bool {
    let Some(Action::Check { database, .. }) = plan.step(StepId::Check).map(|s| &s.action) else {
        return false;
    };
    plan.contains(StepId::Swap)
        && target_server::has_database(manifest, &manifest.secrets(), database).unwrap_or(false)
}

/// How to pick the steps of a run.
struct Selection<'a> {
    /// `--steps`.
    pub steps: Option<&'a [StepId]>,
    /// `--resume`.
    pub resume: bool,
    /// The plan's digest: a run is resumed only under the plan it started
    /// with.
    pub digest: &'a str,
    /// Under `swap`: whether the new database an earlier run made is still
    /// there (then, if that run checked it, it is kept).
    pub next_exists: bool,
}

/// The steps to run.
fn select(
    plan: &Plan,
    how: &Selection<'_>,
    artifacts: &ArtifactsDir,
) -> Result<BTreeSet<StepId>, ApplyError> {
    let (steps, resume, digest) = (how.steps, how.resume, how.digest);
    let all: BTreeSet<StepId> = plan.steps().map(|s| s.id).collect();
    let mut selected = match steps {
        Some(ids) => {
            let missing: Vec<&str> = ids
                .iter()
                .filter(|id| !all.contains(id))
                .map(|id| id.as_str())
                .collect();
            if !missing.is_empty() {
                let present: Vec<&str> = all.iter().map(|id| id.as_str()).collect();
                return Err(ApplyError::BadSteps {
                    message: format!("this plan has no step {}", missing.join(", ")),
                    help: Some(format!("its steps are: {}", present.join(", "))),
                });
            }
            ids.iter().copied().collect()
        }
        None => all.clone(),
    };
    if resume {
        for id in resumed(plan, artifacts, digest, how.next_exists)? {
            selected.remove(&id);
        }
    }
    Ok(selected)
}

/// The steps an earlier run of the same plan finished that need not run
/// again: `dump` and `archive` when their artifacts still verify, and
/// `invalidate-source` when it finished; under `swap`, `create`, `restore`
/// and `check` when that run checked the new database and it is still
/// there. Otherwise the database chain restarts (at `create` under `swap`,
/// at `drop` under `replace`), and `verify` runs again.
fn resumed(
    plan: &Plan,
    artifacts: &ArtifactsDir,
    digest: &str,
    next_exists: bool,
) -> Result<Vec<StepId>, ApplyError> {
    let previous =
        Journal::read(artifacts.path()).map_err(|source| ApplyError::CannotResume { source })?;
    let Some(previous) = previous else {
        return Err(ApplyError::BadSteps {
            message: "cannot resume: no earlier run left a state.json".to_owned(),
            help: Some("run `replicate apply` without --resume".to_owned()),
        });
    };
    if previous.plan_digest != digest {
        return Err(ApplyError::BadSteps {
            message: "cannot resume: the earlier run followed another plan".to_owned(),
            help: Some(
                "the manifest or the systems changed since; run `replicate apply` without --resume"
                    .to_owned(),
            ),
        });
    }
    let sums = artifacts.read_sums().unwrap_or_default();
    let done = |id: StepId| {
        previous
            .steps
            .get(id.as_str())
            .is_some_and(|s| s.status == StepStatus::Done)
    };
    let next_kept = plan.contains(StepId::Swap) && next_exists && done(StepId::Check);
    Ok(plan
        .steps()
        .filter(|step| match step.id {
            // An artifact listed in SHA256SUMS is complete by construction:
            // keep it when it still verifies, whichever run made it.
            StepId::Dump | StepId::Archive => step
                .produces
                .iter()
                .all(|a| artifacts.verify_artifact(&a.name, &sums).is_ok()),
            StepId::InvalidateSource => done(step.id),
            StepId::Create | StepId::Restore | StepId::Check => next_kept,
            _ => false,
        })
        .map(|step| step.id)
        .collect())
}
