//! What must hold before the selected steps may start: a step whose inputs
//! come from a step that does not run now uses the artifacts already in the
//! folder, which must verify; a destructive step needs every artifact
//! verified, by this run's `verify` or here: nothing destructive starts
//! before every artifact verifies.

use std::collections::BTreeSet;

use super::error::ApplyError;
use crate::plan::{Plan, StepId};
use crate::store::ArtifactsDir;

pub fn check_inputs(
    plan: &Plan,
    selected: &BTreeSet<StepId>,
    artifacts: &ArtifactsDir,
) -> Result<(), ApplyError> {
    // `verify` runs before every step that reads or destroys, and checks
    // every artifact itself.
    if selected.contains(&StepId::Verify) {
        return Ok(());
    }
    let produced_now: BTreeSet<String> = plan
        .steps()
        .filter(|s| selected.contains(&s.id))
        .flat_map(|s| s.produces.iter().map(|a| a.name.clone()))
        .collect();
    let mut needed: BTreeSet<String> = plan
        .steps()
        .filter(|s| selected.contains(&s.id))
        .flat_map(|s| s.consumes.iter().map(|a| a.name.clone()))
        .collect();
    let destructive = plan
        .steps()
        .any(|s| selected.contains(&s.id) && s.is_destructive());
    if destructive {
        needed.extend(
            plan.steps()
                .flat_map(|s| s.produces.iter().map(|a| a.name.clone())),
        );
    }
    let sums = artifacts
        .read_sums()
        .map_err(ApplyError::io("cannot read SHA256SUMS"))?;
    for name in needed.difference(&produced_now) {
        artifacts
            .fetch(name, &sums)
            .and_then(|()| artifacts.verify_artifact(name, &sums).map(|_| ()))
            .map_err(|mismatch| ApplyError::NotReady {
                message: mismatch.to_string(),
                help: Some(format!(
                    "produce it first (`replicate apply --steps dump,archive`) or copy the whole artifacts folder {} from where it was produced",
                    artifacts.location()
                )),
            })?;
    }
    Ok(())
}
