//! What a run does before its first step: the artifacts folder made and
//! locked (its object store's sums and journal pulled), the inputs of the
//! selected steps verified, the source's record kept, and the journal
//! started with the steps that will not run.

use super::error::ApplyError;
use super::prepare::Prepared;
use super::scheduler::Observer;
use super::{preconditions, source_record};
use crate::io::interrupt;
use crate::plan::StepId;
use crate::store::journal::{Journal, StepStatus};

/// Makes and locks the artifacts folder and checks what must hold before
/// the selected steps start; the lock is held until it is dropped.
pub fn ready_folder<'a>(
    prepared: &'a Prepared,
    observer: &dyn Observer,
) -> Result<impl Sized + 'a, ApplyError> {
    let artifacts = &prepared.artifacts;
    if let Some((message, help)) = artifacts.check()? {
        observer.warning(&message, &help);
    }
    artifacts.create()?;
    let lock = artifacts.lock()?;
    // With an object store, its sums and journal are what count.
    if !prepared.pulled {
        artifacts.pull().map_err(ApplyError::io(format!(
            "cannot read {}",
            artifacts.location()
        )))?;
    }
    interrupt::install();
    preconditions::check_inputs(&prepared.plan, &prepared.selected, artifacts)?;
    // What the source looked like, for machines that restore these
    // artifacts without reaching it.
    if let Some(record) = &prepared.document.source_record
        && prepared.selected.contains(&StepId::Dump)
    {
        source_record::keep(artifacts, record)?;
    }
    Ok(lock)
}

/// Starts the journal of this run, the steps that do not run marked
/// skipped (and shown so).
pub fn start_journal(prepared: &Prepared, observer: &dyn Observer) -> Result<Journal, ApplyError> {
    let plan = &prepared.plan;
    let journal = Journal::start(
        prepared.artifacts.path(),
        &prepared.document.digest(),
        &prepared.manifest.sha256,
        plan.steps().map(|s| s.id.as_str().to_owned()),
    )
    .map_err(ApplyError::io("cannot write state.json"))?;
    for step in plan.steps() {
        if let Some(why) = prepared.skipped.get(&step.id) {
            let _ = journal.update(step.id.as_str(), |s| s.status = StepStatus::Skipped);
            observer.skipped(step, why);
        }
    }
    Ok(journal)
}
