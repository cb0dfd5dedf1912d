//! The ready-queue scheduler: a step starts when every step it depends on is
//! done, at most `parallelism` at a time. The first failure (or a stop
//! request) stops new work; steps already running finish.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
/// done: their results are expected to be on disk already.
pub fn run(
    plan: &Plan,
    selected: &BTreeSet<StepId>,
    parallelism: usize,
    runner: &dyn Runner,
    observer: &dyn Observer,
    stop: &AtomicBool,
) -> Outcome {
    let parallelism = parallelism.max(1);
    let mut waiting: BTreeMap<StepId, usize> = plan
        .steps()
        .filter(|s| selected.contains(&s.id))
        .map(|s| {
            let deps = plan
                .dependencies(s.id)
                .iter()
                .filter(|d| selected.contains(d))
                .count();
            (s.id, deps)
        })
        .collect();
    let mut ready: BTreeSet<StepId> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(id, _)| *id)
        .collect();
    waiting.retain(|_, n| *n > 0);

    let mut outcome = Outcome::default();
    let (tx, rx) = mpsc::channel::<(StepId, StepResult)>();
    std::thread::scope(|scope| {
        let mut running = 0usize;
        loop {
            let stopping = !outcome.failed.is_empty() || stop.load(Ordering::SeqCst);
            while !stopping && running < parallelism {
                let Some(id) = ready.pop_first() else { break };
                let Some(step) = plan.step(id) else { continue };
                let tx = tx.clone();
                running += 1;
                scope.spawn(move || {
                    observer.started(step);
                    let start = Instant::now();
                    let result = runner.run(step);
                    observer.finished(step, start.elapsed(), &result);
                    let _ = tx.send((id, result));
                });
            }
            if running == 0 {
                break;
            }
            let Ok((id, result)) = rx.recv() else { break };
            running -= 1;
            match result {
                Ok(_) => {
                    outcome.done.push(id);
                    for next in plan.dependents(id) {
                        if let Some(n) = waiting.get_mut(&next) {
                            *n -= 1;
                            if *n == 0 {
                                waiting.remove(&next);
                                ready.insert(next);
                            }
                        }
                    }
                }
                Err(failure) => outcome.failed.push((id, failure)),
            }
        }
    });
    outcome.stopped = stop.load(Ordering::SeqCst);
    let finished: BTreeSet<StepId> = outcome
        .done
        .iter()
        .copied()
        .chain(outcome.failed.iter().map(|(id, _)| *id))
        .collect();
    outcome.not_started = plan
        .steps()
        .map(|s| s.id)
        .filter(|id| selected.contains(id) && !finished.contains(id))
        .collect();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlanBuilder;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    /// The design's full graph under `strategy = "replace"` (every step
    /// but `swap`).
    fn full_plan() -> Plan {
        let mut b = PlanBuilder::new();
        for id in all() {
            b.step(Step::fake(id));
        }
        for &(x, y) in crate::plan::edges(
            crate::manifest::Strategy::Replace,
            crate::manifest::DumpFormat::Directory,
        ) {
            b.edge(x, y);
        }
        b.build().unwrap()
    }

    /// A fake runner: sleeps, records what overlapped, fails where told.
    struct Fake {
        fail: Option<StepId>,
        delay: Duration,
        active: AtomicUsize,
        max_active: AtomicUsize,
        log: Mutex<Vec<(StepId, &'static str)>>,
    }

    impl Fake {
        fn new(fail: Option<StepId>, delay_ms: u64) -> Self {
            Self {
                fail,
                delay: Duration::from_millis(delay_ms),
                active: AtomicUsize::new(0),
                max_active: AtomicUsize::new(0),
                log: Mutex::new(Vec::new()),
            }
        }
        fn log(&self) -> Vec<(StepId, &'static str)> {
            self.log.lock().unwrap().clone()
        }
        fn index(&self, id: StepId, what: &str) -> usize {
            self.log()
                .iter()
                .position(|(i, w)| *i == id && *w == what)
                .unwrap_or_else(|| panic!("{id} never {what}"))
        }
    }

    impl Runner for Fake {
        fn run(&self, step: &Step) -> StepResult {
            let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_active.fetch_max(now, Ordering::SeqCst);
            self.log.lock().unwrap().push((step.id, "start"));
            std::thread::sleep(self.delay);
            self.log.lock().unwrap().push((step.id, "end"));
            self.active.fetch_sub(1, Ordering::SeqCst);
            if Some(step.id) == self.fail {
                return Err(StepFailure::new("boom"));
            }
            Ok(StepReport::default())
        }
    }

    struct Quiet;
    impl Observer for Quiet {
        fn started(&self, _: &Step) {}
        fn finished(&self, _: &Step, _: Duration, _: &StepResult) {}
    }

    fn all() -> BTreeSet<StepId> {
        StepId::ALL
            .into_iter()
            .filter(|id| *id != StepId::Swap)
            .collect()
    }

    #[test]
    fn every_step_starts_after_its_dependencies_end() {
        let plan = full_plan();
        let fake = Fake::new(None, 20);
        let outcome = run(&plan, &all(), 4, &fake, &Quiet, &AtomicBool::new(false));
        assert!(outcome.succeeded());
        assert_eq!(outcome.done.len(), 10);
        for (before, after) in plan.edges() {
            assert!(
                fake.index(before, "end") < fake.index(after, "start"),
                "{after} started before {before} ended"
            );
        }
    }

    #[test]
    fn independent_branches_overlap() {
        let plan = full_plan();
        let fake = Fake::new(None, 50);
        run(&plan, &all(), 4, &fake, &Quiet, &AtomicBool::new(false));
        // dump waits for invalidate-source, archive does not: archive starts
        // first, and extract runs beside the drop chain.
        assert!(fake.index(StepId::Archive, "start") < fake.index(StepId::InvalidateSource, "end"));
        assert!(fake.index(StepId::Extract, "start") < fake.index(StepId::Drop, "end"));
        assert!(fake.max_active.load(Ordering::SeqCst) >= 2);
    }

    #[test]
    fn parallelism_bounds_the_steps_in_flight() {
        let plan = full_plan();
        let fake = Fake::new(None, 20);
        run(&plan, &all(), 1, &fake, &Quiet, &AtomicBool::new(false));
        assert_eq!(fake.max_active.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_first_failure_stops_new_work_and_running_steps_finish() {
        let plan = full_plan();
        // dump fails while archive is still running (archive takes longer).
        struct Slow(Fake);
        impl Runner for Slow {
            fn run(&self, step: &Step) -> StepResult {
                if step.id == StepId::Archive {
                    std::thread::sleep(Duration::from_millis(100));
                }
                self.0.run(step)
            }
        }
        let slow = Slow(Fake::new(Some(StepId::Dump), 10));
        let outcome = run(&plan, &all(), 4, &slow, &Quiet, &AtomicBool::new(false));
        assert_eq!(outcome.failed.len(), 1);
        assert_eq!(outcome.failed[0].0, StepId::Dump);
        assert!(
            outcome.done.contains(&StepId::Archive),
            "archive was cut short"
        );
        for id in [StepId::Verify, StepId::Drop, StepId::Extract] {
            assert!(
                outcome.not_started.contains(&id),
                "{id} ran after a failure"
            );
            assert!(!slow.0.log().iter().any(|(i, _)| *i == id));
        }
    }

    #[test]
    fn unselected_steps_count_as_done() {
        let plan = full_plan();
        let fake = Fake::new(None, 1);
        let selected = BTreeSet::from([
            StepId::Verify,
            StepId::Drop,
            StepId::Create,
            StepId::Restore,
        ]);
        let outcome = run(&plan, &selected, 4, &fake, &Quiet, &AtomicBool::new(false));
        assert!(outcome.succeeded());
        let ran: Vec<StepId> = fake
            .log()
            .iter()
            .filter(|(_, w)| *w == "start")
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(
            ran,
            vec![
                StepId::Verify,
                StepId::Drop,
                StepId::Create,
                StepId::Restore
            ]
        );
    }

    #[test]
    fn a_stop_request_starts_nothing_new() {
        let plan = full_plan();
        let fake = Fake::new(None, 1);
        let outcome = run(&plan, &all(), 4, &fake, &Quiet, &AtomicBool::new(true));
        assert!(outcome.stopped);
        assert!(outcome.done.is_empty());
        assert_eq!(outcome.not_started.len(), 10);
    }
}
