//! `apply` as an operation: given a [`Prepared`] run (approved), lock the
//! artifacts folder, check what must hold before the steps start, run
//! them, journal every step in `state.json`, and report. What people see
//! of it goes through an [`Observer`].

use std::sync::Arc;
use std::time::Instant;

use super::apply_report::{self, ApplyReport, Ran};
use super::error::ApplyError;
use super::journaling::Journaling;
use super::meter::{Expected, Meters};
use super::prepare::Prepared;
use super::runner::PlanRunner;
use super::scheduler::{self, Observer, Outcome, RunEnd};
use super::start::{ready_folder, start_journal};
use super::stream::Hub;
use super::target_state::{failed, target_state};
use crate::io::interrupt;
use crate::plan::StepId;
use crate::store::ArtifactsDir;
use crate::store::journal::{Journal, RunStatus};

/// Runs the prepared plan with up to `parallelism` steps at once. Nothing
/// is written before this is called: the plan has been approved.
pub fn apply(
    prepared: Prepared,
    parallelism: usize,
    observer: &dyn Observer,
) -> Result<ApplyReport, ApplyError> {
    let _lock = ready_folder(&prepared, observer)?;
    let journal = start_journal(&prepared, observer)?;
    let meters = Meters::new(&prepared.plan, expected_sizes(&prepared));
    let secrets = prepared.manifest.secrets();
    // The stream format's restore reads what its dump writes in this run.
    let runner = PlanRunner {
        artifacts: &prepared.artifacts,
        secrets: &secrets,
        meters: &meters,
        live: restore_follows_dump(&prepared).then(|| Arc::new(Hub::default())),
    };
    let journaling = Journaling::new(&journal, &prepared.artifacts, observer, &meters);
    let started = Instant::now();
    let outcome = scheduler::run(
        &prepared.plan,
        &prepared.selected,
        parallelism,
        &runner,
        &journaling,
        interrupt::flag(),
    );
    let status = status_of(&outcome);
    let downtime_ms = journaling.downtime_ms();
    finish_journal(&journal, &prepared.artifacts, status, downtime_ms, observer);
    let ran = Ran {
        steps_done: outcome.done.len(),
        elapsed: started.elapsed(),
        downtime_ms,
        copied: journaling.copied(),
    };
    observer.run_finished(&RunEnd {
        status,
        steps_done: ran.steps_done,
        elapsed: ran.elapsed,
        downtime_ms,
    });
    stopped_or_failed(&prepared, &outcome, status)?;
    apply_report::report(&prepared, ran)
}

/// What planning measured, for the meters' bars.
fn expected_sizes(prepared: &Prepared) -> Expected {
    prepared
        .document
        .sizes
        .map_or_else(Expected::default, |s| Expected {
            dump: s.source_data,
            restore: s.source_database,
            folders: s.folders,
        })
}

/// Whether the stream format's restore follows the dump: both run now.
fn restore_follows_dump(prepared: &Prepared) -> bool {
    let selected = &prepared.selected;
    // An edge of the graph: the hub carries what the dump writes.
    prepared
        .plan
        .followed(StepId::Restore)
        .contains(&StepId::Dump)
        && selected.contains(&StepId::Dump)
        && selected.contains(&StepId::Restore)
}

/// How the run ended, as the journal records it.
fn status_of(outcome: &Outcome) -> RunStatus {
    if outcome.succeeded() {
        RunStatus::Succeeded
    } else if interrupt::stop_requested() {
        RunStatus::Interrupted
    } else {
        RunStatus::Failed
    }
}

/// Closes the journal and copies it to the object store (a warning when
/// that fails: it stays in the cache).
fn finish_journal(
    journal: &Journal,
    artifacts: &ArtifactsDir,
    status: RunStatus,
    downtime_ms: Option<u64>,
    observer: &dyn Observer,
) {
    let _ = journal.finish(status, downtime_ms);
    if let Err(e) = artifacts.push_state() {
        observer.warning(
            &format!("cannot write state.json to {}: {e}", artifacts.location()),
            "the run's journal stays in the local cache",
        );
    }
}

/// The error of a run that was stopped or failed.
fn stopped_or_failed(
    prepared: &Prepared,
    outcome: &Outcome,
    status: RunStatus,
) -> Result<(), ApplyError> {
    let (manifest, plan) = (&prepared.manifest, &prepared.plan);
    if status == RunStatus::Interrupted {
        let running: Vec<&str> = outcome.failed.iter().map(|(id, _)| id.as_str()).collect();
        return Err(ApplyError::Interrupted {
            signal: interrupt::signal_name().unwrap_or("a signal").to_owned(),
            during: if running.is_empty() {
                "between steps".to_owned()
            } else {
                format!("during {}", running.join(", "))
            },
            target: target_state(manifest, plan, outcome),
        });
    }
    match outcome.failed.first() {
        Some((id, failure)) => {
            // The tunnel's words explain a connection libpq saw closed: the
            // tunnel of the side the step talks to, if it talks to one.
            let mut failure = failure.clone();
            let side = plan
                .step(*id)
                .and_then(|step| step.server.as_ref())
                .map(|server| server.side.as_str());
            for note in side
                .map(|s| prepared.tunnels.side_notes(s))
                .unwrap_or_default()
            {
                failure.message.push_str(&format!(" ({note})"));
            }
            Err(failed(manifest, plan, outcome, *id, &failure))
        }
        None => Ok(()),
    }
}
