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
    for (x, y) in crate::plan::edges(
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

/// A fake whose steps `.1` and `.2`, once started, each wait until the
/// other has started too (ten seconds at most), whatever the machine's
/// load: both are running at once.
struct Meets(Fake, StepId, StepId);

impl Runner for Meets {
    fn run(&self, step: &Step) -> StepResult {
        let other = match step.id {
            id if id == self.1 => self.2,
            id if id == self.2 => self.1,
            _ => return self.0.run(step),
        };
        let now = self.0.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.max_active.fetch_max(now, Ordering::SeqCst);
        self.0.log.lock().unwrap().push((step.id, "start"));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !self.0.log().contains(&(other, "start")) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.0.log.lock().unwrap().push((step.id, "end"));
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        Ok(StepReport::default())
    }
}

/// A fake whose one step takes longer (milliseconds more).
struct Slow(Fake, StepId, u64);

impl Runner for Slow {
    fn run(&self, step: &Step) -> StepResult {
        if step.id == self.1 {
            std::thread::sleep(Duration::from_millis(self.2));
        }
        self.0.run(step)
    }
}

struct Quiet;
impl Observer for Quiet {
    fn started(&self, _: &Step) {}
    fn finished(&self, _: &Step, _: Duration, _: &StepResult) {}
}

fn all() -> BTreeSet<StepId> {
    StepId::ALL
        .iter()
        .copied()
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
    let slow = Slow(Fake::new(Some(StepId::Dump), 10), StepId::Archive, 100);
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

/// `follower` follows `followed`; with `after`, it also runs after it.
fn following(followed: StepId, follower: StepId, after: Option<StepId>) -> Plan {
    let mut b = PlanBuilder::new();
    for id in [followed, follower].into_iter().chain(after) {
        b.step(Step::fake(id));
    }
    b.follow(followed, follower);
    if let Some(after) = after {
        b.edge(after, follower);
    }
    b.build().unwrap()
}

#[test]
fn a_follower_starts_once_what_it_follows_started_in_either_ready_order() {
    // The follower comes after the followed in the canonical order, then
    // before it: the ready set offers it first.
    for (followed, follower) in [
        (StepId::Dump, StepId::Restore),
        (StepId::Restore, StepId::Dump),
    ] {
        let plan = following(followed, follower, None);
        let selected = BTreeSet::from([followed, follower]);
        // One at a time: the followed runs to its end, then the follower.
        let fake = Fake::new(None, 20);
        let outcome = run(&plan, &selected, 1, &fake, &Quiet, &AtomicBool::new(false));
        assert!(outcome.succeeded());
        assert!(fake.index(followed, "end") < fake.index(follower, "start"));
        // Two at a time: the follower runs beside it (each waits for the
        // other to start, or ends after ten seconds and fails the test).
        // Which of the two threads writes its start first is the
        // machine's choice: the queue's order is tested in ready/tests.rs.
        let meets = Meets(Fake::new(None, 1), followed, follower);
        let outcome = run(&plan, &selected, 2, &meets, &Quiet, &AtomicBool::new(false));
        assert!(outcome.succeeded());
        let fake = &meets.0;
        assert!(fake.index(follower, "start") < fake.index(followed, "end"));
        assert_eq!(fake.max_active.load(Ordering::SeqCst), 2);
    }
}

#[test]
fn a_follower_of_a_step_not_selected_starts_at_once() {
    let plan = following(StepId::Dump, StepId::Restore, None);
    let fake = Fake::new(None, 1);
    let selected = BTreeSet::from([StepId::Restore]);
    let outcome = run(&plan, &selected, 1, &fake, &Quiet, &AtomicBool::new(false));
    assert_eq!(outcome.done, [StepId::Restore]);
}

#[test]
fn a_follower_does_not_start_when_what_it_follows_failed() {
    // The restore also runs after `create`, which ends after the dump
    // failed: at either parallelism, it never starts.
    let plan = following(StepId::Dump, StepId::Restore, Some(StepId::Create));
    let selected = BTreeSet::from([StepId::Dump, StepId::Create, StepId::Restore]);
    for parallelism in [1, 2] {
        let fake = Slow(Fake::new(Some(StepId::Dump), 5), StepId::Create, 60);
        let outcome = run(
            &plan,
            &selected,
            parallelism,
            &fake,
            &Quiet,
            &AtomicBool::new(false),
        );
        assert_eq!(outcome.failed.len(), 1);
        assert_eq!(outcome.failed[0].0, StepId::Dump);
        assert!(outcome.not_started.contains(&StepId::Restore));
        assert!(!fake.0.log().iter().any(|(i, _)| *i == StepId::Restore));
    }
}
