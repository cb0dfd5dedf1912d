//! The stream restore's tasks, on the ready queue every run shares: the
//! tables to load in turn, the keys of each table loaded, stage by stage,
//! the foreign keys whose two tables are complete and their validations,
//! and the statistics of the tables complete. The tables are known from
//! the start (the dump lists them before it reads a row); a table's keys
//! are added once its rows are in, a validation once its key is added.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::exec::ready::{Key, ReadyQueue, Waits, Workers};
use crate::exec::scheduler::StepFailure;
use crate::postgres::libpq::Connection;
use crate::postgres::post_data::{Build, ForeignKey, TableKey, TableName};

/// A task's key; its kind ranks it: for a loader a table first, then
/// keys, then a foreign key whose tables are complete, then the
/// validation of one added, then a table's statistics. Foreign keys ready
/// go before validations (adding a key still waits for the validations
/// already running on its tables).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Job {
    Table(usize),
    /// Some keys of a table, numbered as they were added.
    Keys(u64),
    /// The `n`th foreign key of the post-data section.
    ForeignKey(usize),
    Validate(u64),
    Analyze(TableName),
    /// A table's rows and keys are in (a milestone, not handed out).
    Complete(TableName),
}

impl Key for Job {
    fn rank(&self) -> u32 {
        match self {
            Job::Table(_) => 0,
            Job::Keys(_) => 1,
            Job::ForeignKey(_) => 2,
            Job::Validate(_) => 3,
            Job::Analyze(_) => 4,
            Job::Complete(_) => 5,
        }
    }
}

/// A task's work.
pub(super) enum Task {
    /// Load the `n`th table the dump reads.
    Table(usize),
    /// Build keys of a table: the SQL of some of them.
    Keys(TableName, String),
    /// Add a foreign key, `NOT VALID` where it may be.
    ForeignKey(ForeignKey),
    /// Validate a foreign key added `NOT VALID` (the statement).
    Validate(String),
    /// `ANALYZE` a table (quoted).
    Analyze(String),
}

/// A table just loaded: its name, the same quoted, and its keys.
pub(super) struct Loaded<'a> {
    pub name: TableName,
    pub quoted: String,
    pub entries: &'a [TableKey],
}

/// The restore's tasks, and what numbers them.
pub(super) struct Work {
    queue: ReadyQueue<'static, Job, Task>,
    numbered: AtomicU64,
    /// Whether complete tables get their statistics here (not when the
    /// post-data section runs whole after the loads).
    analyzes: bool,
}

impl Work {
    /// The work of a restore of `tables` tables whose foreign keys are
    /// `foreign_keys`; the tables complete get their statistics when
    /// `analyzes`.
    pub(super) fn new(tables: usize, foreign_keys: &[ForeignKey], analyzes: bool) -> Self {
        let queue = ReadyQueue::new();
        for n in 0..tables {
            queue.add(Job::Table(n), Task::Table(n), Waits::after([]));
        }
        for (n, key) in foreign_keys.iter().enumerate() {
            let complete = key.tables.iter().cloned().map(Job::Complete);
            queue.add(
                Job::ForeignKey(n),
                Task::ForeignKey(key.clone()),
                Waits::after(complete),
            );
        }
        Self {
            queue,
            numbered: AtomicU64::new(0),
            analyzes,
        }
    }

    fn number(&self) -> u64 {
        self.numbered.fetch_add(1, Ordering::Relaxed)
    }

    /// `jobs` loaders, which take the tables first, and `jobs` builders,
    /// which take all but tables, each with a session of its own, opened
    /// for its first task, running `run` on each task. The first failure.
    pub(super) fn run(
        &self,
        jobs: usize,
        run: impl Fn(&mut Option<Connection>, Task) -> Result<(), StepFailure> + Sync,
    ) -> Result<(), StepFailure> {
        let failures = Workers {
            count: 2 * jobs,
            may_take: |worker, job: &Job, _: &Task| worker < jobs || !matches!(job, Job::Table(_)),
            run: |session: &mut Option<Connection>, _: &Job, task| run(session, task),
            panicked: || StepFailure::new("a table loader panicked"),
        }
        .run(&self.queue);
        failures.into_iter().next().map_or(Ok(()), |(_, e)| Err(e))
    }

    /// A table loaded: its keys are built in stages: the constraints that
    /// lock the table for themselves, in one task; then every index, each
    /// a task of its own (so that idle sessions share a large table's
    /// indexes), with the unique indexes of its primary key and unique
    /// constraints among them; then those constraints, from their indexes,
    /// in one task. After the last, the table is complete: the foreign
    /// keys it was the last to wait for may be added, and its statistics
    /// gathered once no key, foreign key or validation is left to hand out
    /// (for the replica's planner, and the plans of the foreign keys
    /// validated after it, those whose other table completes later).
    pub(super) fn loaded(&self, loaded: Loaded<'_>) {
        let (mut locking, mut indexes, mut attach) = (String::new(), Vec::new(), String::new());
        for key in loaded.entries {
            match &key.build {
                Build::Index => indexes.push(key.sql.clone()),
                Build::UniqueIndexFirst { index, constraint } => {
                    indexes.push(index.clone());
                    attach.push_str(constraint);
                }
                Build::Locking => locking.push_str(&key.sql),
            }
        }
        let table = loaded.name;
        let mut before = Vec::new();
        for stage in [vec![locking], indexes, vec![attach]] {
            let stage: Vec<String> = stage.into_iter().filter(|t| !t.is_empty()).collect();
            if stage.is_empty() {
                continue;
            }
            let mut jobs = Vec::new();
            for sql in stage {
                let job = Job::Keys(self.number());
                let task = Task::Keys(table.clone(), sql);
                self.queue
                    .add(job.clone(), task, Waits::after(before.clone()));
                jobs.push(job);
            }
            before = jobs;
        }
        let complete = Job::Complete(table.clone());
        self.queue.milestone(complete.clone(), before);
        if self.analyzes {
            let task = Task::Analyze(loaded.quoted);
            self.queue
                .add(Job::Analyze(table), task, Waits::after([complete]));
        }
    }

    /// A foreign key was added `NOT VALID`: its validation, to hand out.
    pub(super) fn validate(&self, sql: String) {
        let job = Job::Validate(self.number());
        self.queue.add(job, Task::Validate(sql), Waits::after([]));
    }

    /// Once the work is done: the tables complete (every table loaded),
    /// and the foreign keys left, still waiting (a table of theirs got no
    /// rows, or is not a table the dump reads).
    pub(super) fn finish(self) -> (BTreeSet<TableName>, Vec<ForeignKey>) {
        let ended = self.queue.finish();
        let complete = ended
            .done
            .into_iter()
            .filter_map(|job| match job {
                Job::Complete(table) => Some(table),
                _ => None,
            })
            .collect();
        let left = ended
            .waiting
            .into_iter()
            .filter_map(|(_, task)| match task {
                Some(Task::ForeignKey(key)) => Some(key),
                _ => None,
            })
            .collect();
        (complete, left)
    }
}

#[cfg(test)]
#[path = "work_tests.rs"]
mod tests;
