//! `apply` as an operation: given a manifest and the plan made from it,
//! prepare the artifacts folder, choose the steps, check what must hold
//! before they start, run them, and journal every step in `state.json`.
//! What people see of it goes through an [`Observer`].

use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::artifacts::open_artifacts;
use super::error::ApplyError;
use super::live::Hub;
use super::meter::{Expected, Meters};
use super::runner::PlanRunner;
use super::scheduler::{self, Observer, RunEnd, StepResult};
use super::selection::Selection;
use super::target_state::{failed, target_state};
use super::{preconditions, selection};
use crate::io::interrupt;
use crate::manifest::{Keep, Manifest};
use crate::plan::document::PlanDocument;
use crate::plan::{Action, Plan, SOURCE_RECORD, Sides, Step, StepId};
use crate::postgres::{Secrets, query};
use crate::store::ArtifactsDir;
use crate::store::journal::{Journal, RunStatus, StepStatus, now};

/// How to run a plan.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Run only these steps (`--steps`).
    pub steps: Option<Vec<StepId>>,
    /// Continue the run recorded in `state.json`.
    pub resume: bool,
    /// How many steps may run at once.
    pub parallelism: usize,
    /// The steps to run, when [`select_steps`] chose them already.
    pub selected: Option<BTreeSet<StepId>>,
}

/// The steps a run with `options` will execute, and why each other step of
/// the plan will not (reads the artifacts folder, writes nothing there;
/// with an object store, `--resume` brings its journal into the cache).
pub fn select_steps(
    manifest: &Manifest,
    plan: &Plan,
    doc: &PlanDocument,
    options: &ApplyOptions,
) -> Result<(BTreeSet<StepId>, BTreeMap<StepId, String>), ApplyError> {
    let artifacts = open_artifacts(manifest)?;
    if options.resume && artifacts.remote().is_some() {
        artifacts.create()?;
        artifacts
            .pull()
            .map_err(|e| ApplyError::Io(format!("cannot read {}: {e}", artifacts.location())))?;
    }
    let secrets = manifest.secrets();
    let next_exists = options.resume
        && Sides::for_steps(options.steps.as_deref()).target
        && next_database_exists(manifest, plan, &secrets);
    let selected = selection::select(
        plan,
        &Selection {
            steps: options.steps.as_deref(),
            resume: options.resume,
            digest: &doc.digest(),
            next_exists,
        },
        &artifacts,
    )?;
    let skipped = plan
        .steps()
        .filter(|s| !selected.contains(&s.id))
        .map(|s| (s.id, skip_reason(options, s.id)))
        .collect();
    Ok((selected, skipped))
}

/// A run that completed.
#[derive(Debug, Clone, Copy)]
pub struct Applied {
    pub steps_done: usize,
    pub elapsed: Duration,
    /// How long the target's name could not be reached.
    pub downtime_ms: Option<u64>,
    pub copied: Copied,
    /// `keep = "none"`: the artifacts were removed after the run.
    pub artifacts_removed: bool,
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

/// Runs `plan` (made from `manifest`, saved as `doc`). Nothing is written
/// before this is called: the plan has been approved.
pub fn apply(
    manifest: &Manifest,
    plan: &Plan,
    doc: &PlanDocument,
    options: &ApplyOptions,
    observer: &dyn Observer,
) -> Result<Applied, ApplyError> {
    let artifacts = open_artifacts(manifest)?;
    if let Some((message, help)) = artifacts.check()? {
        observer.warning(&message, &help);
    }
    artifacts.create()?;
    let _lock = artifacts.lock()?;
    // With an object store, its sums and journal are what count.
    artifacts
        .pull()
        .map_err(|e| ApplyError::Io(format!("cannot read {}: {e}", artifacts.location())))?;
    interrupt::install();

    let digest = doc.digest();
    let secrets = manifest.secrets();
    let selected = match &options.selected {
        Some(selected) => selected.clone(),
        None => select_steps(manifest, plan, doc, options)?.0,
    };
    preconditions::check_inputs(plan, &selected, &artifacts)?;
    // What the source looked like, for machines that restore these
    // artifacts without reaching it.
    if let Some(record) = &doc.source_record
        && selected.contains(&StepId::Dump)
    {
        super::source_record::keep(&artifacts, record)?;
    }

    let journal = Journal::start(
        artifacts.path(),
        &digest,
        &manifest.sha256,
        plan.steps().map(|s| s.id.as_str().to_owned()),
    )
    .map_err(|e| ApplyError::Io(format!("cannot write state.json: {e}")))?;
    for step in plan.steps().filter(|s| !selected.contains(&s.id)) {
        let _ = journal.update(step.id.as_str(), |s| s.status = StepStatus::Skipped);
        observer.skipped(step, &skip_reason(options, step.id));
    }

    let expected = doc.sizes.map_or_else(Expected::default, |s| Expected {
        dump: s.source_data,
        restore: s.source_database,
        folders: s.folders,
    });
    let meters = Meters::new(plan, expected);
    // The stream format's restore follows the dump when both run now.
    let follows = plan
        .steps()
        .any(|s| matches!(&s.action, Action::StreamRestore(r) if r.follows_dump))
        && selected.contains(&StepId::Dump)
        && selected.contains(&StepId::Restore);
    let runner = PlanRunner {
        manifest,
        artifacts: &artifacts,
        secrets: &secrets,
        meters: &meters,
        live: follows.then(|| std::sync::Arc::new(Hub::default())),
    };
    let journaling = Journaling {
        journal: &journal,
        artifacts: &artifacts,
        pushing: Mutex::new(()),
        inner: observer,
        meters: &meters,
        dropped_at: Mutex::new(None),
        downtime_ms: Mutex::new(None),
        copied: Mutex::new(Copied::default()),
    };
    let started = Instant::now();
    let outcome = scheduler::run(
        plan,
        &selected,
        options.parallelism,
        &runner,
        &journaling,
        interrupt::flag(),
    );
    let status = if outcome.succeeded() {
        RunStatus::Succeeded
    } else if interrupt::stop_requested() {
        RunStatus::Interrupted
    } else {
        RunStatus::Failed
    };
    let downtime_ms = *journaling.downtime_ms.lock();
    let _ = journal.finish(status, downtime_ms);
    if let Err(e) = artifacts.push_state() {
        observer.warning(
            &format!("cannot write state.json to {}: {e}", artifacts.location()),
            "the run's journal stays in the local cache",
        );
    }
    let elapsed = started.elapsed();
    observer.run_finished(&RunEnd {
        status,
        steps_done: outcome.done.len(),
        elapsed,
        downtime_ms,
    });

    if status == RunStatus::Interrupted {
        let running: Vec<&str> = outcome.failed.iter().map(|(id, _)| id.as_str()).collect();
        return Err(ApplyError::Interrupted {
            signal: interrupt::signal_name().unwrap_or("a signal").to_owned(),
            during: if running.is_empty() {
                "between steps".to_owned()
            } else {
                format!("during {}", running.join(", "))
            },
            target: target_state(manifest, plan, &outcome),
        });
    }
    if let Some((id, failure)) = outcome.failed.first() {
        return Err(failed(manifest, plan, &outcome, *id, failure));
    }
    let copied = *journaling.copied.lock();
    // `keep = "none"`: a run that did the whole plan leaves no copy of the
    // source behind (`--steps` runs keep theirs for the next one, except
    // in an object store's cache: the store keeps them).
    let removed = manifest.artifacts.keep == Keep::None
        && (options.steps.is_none() || artifacts.remote().is_some());
    if removed {
        let names = plan
            .steps()
            .flat_map(|s| s.produces.iter().map(|a| a.name.as_str()))
            .chain([SOURCE_RECORD]);
        for name in names {
            artifacts.forget_locally(name).map_err(|e| {
                ApplyError::Io(format!(
                    "the run succeeded, but removing {name} (keep = \"none\") failed: {e}"
                ))
            })?;
        }
    }
    Ok(Applied {
        steps_done: outcome.done.len(),
        elapsed,
        downtime_ms,
        copied,
        artifacts_removed: removed,
    })
}

/// Why a step of the plan does not run.
fn skip_reason(options: &ApplyOptions, id: StepId) -> String {
    match &options.steps {
        Some(steps) if !steps.contains(&id) => "not among --steps".to_owned(),
        _ if options.resume => "done in the earlier run, and still valid".to_owned(),
        _ => "not needed".to_owned(),
    }
}

/// Whether the new database the plan's `check` looks at is on the target
/// server now (under `swap`; `false` when it cannot be told).
fn next_database_exists(manifest: &Manifest, plan: &Plan, secrets: &Secrets) -> bool {
    let Some(Action::Check { database, .. }) = plan.step(StepId::Check).map(|s| &s.action) else {
        return false;
    };
    if !plan.contains(StepId::Swap) {
        return false;
    }
    let t = &manifest.target;
    query::texts(
        &t.database.with_database(&t.maintenance_database),
        "target.database",
        secrets,
        "SELECT 1 FROM pg_database WHERE datname = $1",
        &[database],
    )
    .is_ok_and(|rows| !rows.is_empty())
}

/// Keeps the journal of every step, then lets `inner` show it; measures
/// how long the target could not be reached (the swap, or from `drop` to
/// the end of `restore` under `replace`).
struct Journaling<'a> {
    journal: &'a Journal,
    /// With an object store, the journal is copied there as steps start
    /// and end, one copy at a time, so a run killed on this machine can be
    /// resumed from another.
    artifacts: &'a ArtifactsDir,
    pushing: Mutex<()>,
    inner: &'a dyn Observer,
    meters: &'a Meters,
    dropped_at: Mutex<Option<Instant>>,
    downtime_ms: Mutex<Option<u64>>,
    copied: Mutex<Copied>,
}

impl Observer for Journaling<'_> {
    fn started(&self, step: &Step) {
        if step.id == StepId::Drop {
            *self.dropped_at.lock() = Some(Instant::now());
        }
        let _ = self.journal.update(step.id.as_str(), |s| {
            s.status = StepStatus::Running;
            s.started_at = Some(now());
        });
        self.push_state();
        self.inner.started(step);
        self.inner.metering(step, self.meters.get(step.id));
    }

    fn finished(&self, step: &Step, elapsed: Duration, result: &StepResult) {
        let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let _ = self.journal.update(step.id.as_str(), |s| {
            s.finished_at = Some(now());
            s.duration_ms = Some(duration_ms);
            s.status = step_status(result);
            match result {
                Ok(report) => {
                    let mut copied = self.copied.lock();
                    if let Some(check) = &report.check {
                        copied.tables = check.tables;
                        copied.rows = check.rows;
                    }
                    if step.id == StepId::Extract {
                        copied.files = report.files;
                        copied.file_bytes = report.bytes;
                    }
                    drop(copied);
                    s.bytes = Some(report.bytes);
                    s.checksums = report.checksums.clone();
                    s.check = report.check.clone();
                    s.downtime_ms = report.downtime_ms;
                    s.sanitized = report.sanitized.clone();
                }
                Err(failure) => s.error = Some(failure.message.clone()),
            }
        });
        let downtime = match (step.id, result) {
            (StepId::Swap, Ok(report)) => report.downtime_ms,
            (StepId::Restore, Ok(_)) => self
                .dropped_at
                .lock()
                .map(|at| u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX)),
            _ => None,
        };
        if let Some(ms) = downtime {
            *self.downtime_ms.lock() = Some(ms);
        }
        self.push_state();
        self.inner.finished(step, elapsed, result);
    }
}

impl Journaling<'_> {
    /// Best effort: the end of the run copies the journal again and says
    /// so if that fails.
    fn push_state(&self) {
        if self.artifacts.remote().is_some() {
            let _one_at_a_time = self.pushing.lock();
            let _ = self.artifacts.push_state();
        }
    }
}

/// How a step ended, as the journal records it.
pub fn step_status(result: &StepResult) -> StepStatus {
    match result {
        Ok(_) => StepStatus::Done,
        Err(_) if interrupt::stop_requested() => StepStatus::Interrupted,
        Err(_) => StepStatus::Failed,
    }
}
