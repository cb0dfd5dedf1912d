//! The step scheduler: a step starts when every step it runs after is
//! done and every step it follows has started, at most `parallelism` at a
//! time. The first failure (or a stop request) stops new work; steps
//! already running finish. What is ready and who runs it is decided by
//! [`super::ready`], which the stream restore's tasks share.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::ready::{Key, ReadyQueue, Waits, Workers};
use crate::plan::{Plan, Step, StepId};
use crate::store::Sums;
use crate::store::journal::{CheckRecord, RunStatus};

/// What a finished step reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    pub bytes: u64,
    /// SHA-256 of every file the step produced.
    pub checksums: Sums,
    /// A short note for the output line (`12 tables`, `3 files`).
    pub note: Option<String>,
    /// `check`: what was compared.
    pub check: Option<CheckRecord>,
    /// How long the target's name could not be reached.
    pub downtime_ms: Option<u64>,
    /// `dump`: each table copied through a sanitize rule, and the rule.
    pub sanitized: Vec<String>,
    /// `extract`: the files put in place.
    pub files: u64,
}

/// Why a step failed, with what people need to act on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepFailure {
    pub message: String,
    /// The command as a shell line, secrets hidden.
    pub command: Option<String>,
    /// How the child ended (`exit status 1`, `signal 9`).
    pub status: Option<String>,
    /// The last lines of the child's standard error, secrets hidden.
    pub stderr_tail: Option<String>,
    pub help: Option<String>,
}

impl StepFailure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

pub type StepResult = Result<StepReport, StepFailure>;

/// Does the work of one step.
pub trait Runner: Sync {
    fn run(&self, step: &Step) -> StepResult;
}

/// Hears about a run: its steps starting and ending, and what people
/// should know (output, journal).
pub trait Observer: Sync {
    fn started(&self, step: &Step);
    fn finished(&self, step: &Step, elapsed: Duration, result: &StepResult);

    /// Something worth a warning that does not stop the run.
    fn warning(&self, _message: &str, _help: &str) {}

    /// The meter of a step that just started, to show its progress.
    fn metering(&self, _step: &Step, _meter: std::sync::Arc<super::meter::Meter>) {}

    /// A step of the plan that does not run, and why.
    fn skipped(&self, _step: &Step, _why: &str) {}

    /// The whole run ended (after the journal was written).
    fn run_finished(&self, _run: &RunEnd) {}
}

/// What a whole run did, for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunEnd {
    pub status: RunStatus,
    pub steps_done: usize,
    pub elapsed: Duration,
    /// How long the target's name could not be reached, when it was touched.
    pub downtime_ms: Option<u64>,
}

/// How a run ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Steps that finished, in the order they finished.
    pub done: Vec<StepId>,
    pub failed: Vec<(StepId, StepFailure)>,
    /// Selected steps that never started.
    pub not_started: Vec<StepId>,
    /// Whether a stop request ended the run early.
    pub stopped: bool,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.not_started.is_empty()
    }
}

/// Runs the `selected` steps of `plan`. Steps that are not selected count as
/// done (their results are expected to be on disk already), and as started
/// for the steps that follow them.
pub fn run(
    plan: &Plan,
    selected: &BTreeSet<StepId>,
    parallelism: usize,
    runner: &dyn Runner,
    observer: &dyn Observer,
    stop: &AtomicBool,
) -> Outcome {
    let queue = ReadyQueue::new().stopping_on(stop);
    for step in plan.steps().filter(|s| selected.contains(&s.id)) {
        let chosen = |ids: BTreeSet<StepId>| -> Vec<StepId> {
            ids.into_iter().filter(|d| selected.contains(d)).collect()
        };
        let waits = Waits {
            after: chosen(plan.dependencies(step.id)),
            follows: chosen(plan.followed(step.id)),
        };
        queue.add(step.id, step, waits);
    }
    let failed = Workers {
        count: parallelism,
        may_take: |_, _: &StepId, _: &&Step| true,
        run: |_: &mut (), _: &StepId, step: &Step| {
            // Each step on a thread of its own: a step may lower its
            // thread's priority, which must not outlive it.
            let ran = std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        observer.started(step);
                        let start = Instant::now();
                        let result = runner.run(step);
                        observer.finished(step, start.elapsed(), &result);
                        result
                    })
                    .join()
            });
            ran.unwrap_or_else(|_| Err(StepFailure::new("the step panicked")))
                .map(|_| ())
        },
        panicked: || StepFailure::new("the step panicked"),
    }
    .run(&queue);
    let done = queue.finish().done;
    let finished: BTreeSet<StepId> = done
        .iter()
        .copied()
        .chain(failed.iter().map(|(id, _)| *id))
        .collect();
    let mut outcome = Outcome {
        not_started: plan
            .steps()
            .map(|s| s.id)
            .filter(|id| selected.contains(id) && !finished.contains(id))
            .collect(),
        done,
        failed,
        ..Outcome::default()
    };
    outcome.stopped = stop.load(Ordering::SeqCst);
    outcome
}

/// Steps are handed out in the canonical order among those ready.
impl Key for StepId {
    fn rank(&self) -> u32 {
        *self as u32
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
