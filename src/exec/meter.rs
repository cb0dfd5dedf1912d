//! How far each running step is: the work done and the work expected, for
//! progress bars, periodic progress lines and progress events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::io::tally::Tally;
use crate::plan::{Plan, StepId};

/// What the plan saw that tells how much work a step has (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expected {
    /// The source's table data that is copied (what `pg_dump` writes,
    /// roughly).
    pub dump: u64,
    /// The source database (what the restored one grows to, roughly).
    pub restore: u64,
    /// The source folders' files.
    pub folders: u64,
}

/// One step's progress.
#[derive(Debug, Default)]
pub struct Meter {
    /// Bytes done so far.
    pub done: Tally,
    total: AtomicU64,
}

impl Meter {
    /// Bytes expected in all; 0 when nobody knows.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub fn set_total(&self, bytes: u64) {
        self.total.store(bytes, Ordering::Relaxed);
    }
}

/// The meters of a plan's steps.
#[derive(Debug, Default)]
pub struct Meters(BTreeMap<StepId, Arc<Meter>>);

impl Meters {
    pub fn new(plan: &Plan, expected: Expected) -> Self {
        Self(
            plan.steps()
                .map(|step| {
                    let meter = Meter::default();
                    meter.set_total(match step.id {
                        StepId::Dump => expected.dump,
                        StepId::Restore => expected.restore,
                        StepId::Archive => expected.folders,
                        _ => 0,
                    });
                    (step.id, Arc::new(meter))
                })
                .collect(),
        )
    }

    /// The meter of step `id` (a spare one if the plan has no such step).
    pub fn get(&self, id: StepId) -> Arc<Meter> {
        self.0.get(&id).cloned().unwrap_or_default()
    }
}
