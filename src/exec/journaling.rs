//! The observer between the scheduler and the one the caller gave: it
//! journals every step in `state.json` (copied to the object store as
//! steps start and end), adds up what was copied, and measures how long
//! the target could not be reached.

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use super::apply_report::Copied;
use super::meter::Meters;
use super::scheduler::{Observer, StepResult};
use crate::io::interrupt;
use crate::plan::{Step, StepId};
use crate::store::ArtifactsDir;
use crate::store::journal::{Journal, StepState, StepStatus, now};

/// Keeps the journal of every step, then lets `inner` show it; measures
/// how long the target could not be reached (the swap, or from `drop` to
/// the end of `restore` under `replace`).
pub struct Journaling<'a> {
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

impl<'a> Journaling<'a> {
    pub fn new(
        journal: &'a Journal,
        artifacts: &'a ArtifactsDir,
        inner: &'a dyn Observer,
        meters: &'a Meters,
    ) -> Self {
        Self {
            journal,
            artifacts,
            pushing: Mutex::new(()),
            inner,
            meters,
            dropped_at: Mutex::new(None),
            downtime_ms: Mutex::new(None),
            copied: Mutex::new(Copied::default()),
        }
    }

    /// How long the target could not be reached, when it was touched.
    pub fn downtime_ms(&self) -> Option<u64> {
        *self.downtime_ms.lock()
    }

    /// What the steps so far put on the target.
    pub fn copied(&self) -> Copied {
        *self.copied.lock()
    }

    /// Best effort: the end of the run copies the journal again and says
    /// so if that fails.
    fn push_state(&self) {
        if self.artifacts.remote().is_some() {
            let _one_at_a_time = self.pushing.lock();
            let _ = self.artifacts.push_state();
        }
    }

    /// A finished step's journal entry, and what it copied.
    fn record(&self, step: &Step, elapsed: Duration, result: &StepResult, s: &mut StepState) {
        s.finished_at = Some(now());
        s.duration_ms = Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
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
    }
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
        let _ = self.journal.update(step.id.as_str(), |s| {
            self.record(step, elapsed, result, s);
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

/// How a step ended, as the journal records it.
pub fn step_status(result: &StepResult) -> StepStatus {
    match result {
        Ok(_) => StepStatus::Done,
        Err(_) if interrupt::stop_requested() => StepStatus::Interrupted,
        Err(_) => StepStatus::Failed,
    }
}
