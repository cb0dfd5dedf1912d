//! Which steps a run executes: all of them, those named with `--steps`, or
//! what `--resume` finds left to do.

use std::collections::BTreeSet;

use super::error::ApplyError;
use crate::plan::{Plan, StepId};
use crate::store::ArtifactsDir;
use crate::store::journal::{Journal, StepStatus};

/// How to pick the steps of a run.
pub struct Selection<'a> {
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
pub fn select(
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
    let previous = Journal::read(artifacts.path()).map_err(|e| ApplyError::BadSteps {
        message: format!("cannot resume: {e}"),
        help: Some("run `replicate apply` without --resume to start over".to_owned()),
    })?;
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
