//! What the stream restore's sessions share: the tables to load in turn,
//! the keys of the tables loaded, stage by stage, the foreign keys whose
//! two tables are complete and their validations, and the statistics of
//! the tables complete.

use parking_lot::{Condvar, Mutex, MutexGuard};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::postgres::post_data::{Build, ForeignKey, TableKey, TableName};

/// What the loaders and builders share: the next table to take, the keys
/// waiting to be built, the foreign keys whose tables are complete and
/// their validations, the tables to analyze.
#[derive(Default)]
pub(super) struct Work {
    state: Mutex<WorkState>,
    changed: Condvar,
}

#[derive(Default)]
struct WorkState {
    next_table: usize,
    no_more_tables: bool,
    /// Tasks handed out and not ended yet.
    running: usize,
    /// Keys ready to build: a table, the SQL of some of its keys.
    keys: VecDeque<(TableName, String)>,
    /// Loaded tables whose keys are being built: how many tasks of their
    /// stage are queued or running, and the stages after it.
    building: BTreeMap<TableName, (usize, VecDeque<Vec<String>>)>,
    /// Tables whose rows and keys are in.
    complete: BTreeSet<TableName>,
    /// Foreign keys waiting for their tables.
    waiting: Vec<ForeignKey>,
    /// Foreign keys whose tables are complete.
    foreign_keys: VecDeque<ForeignKey>,
    /// Foreign keys added `NOT VALID`: their validations.
    validations: VecDeque<String>,
    /// The tables loaded, quoted (`"schema"."table"`).
    quoted: BTreeMap<TableName, String>,
    /// Whether complete tables get their statistics here (not when the
    /// post-data section runs whole after the loads).
    analyzes: bool,
    /// Tables complete whose statistics are to be gathered (quoted).
    analyze: VecDeque<String>,
    stopped: bool,
}

pub(super) enum Task {
    Table(usize),
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

impl Work {
    /// The work of a restore whose foreign keys are `foreign_keys`; the
    /// tables complete get their statistics when `analyzes`.
    pub(super) fn new(foreign_keys: &[ForeignKey], analyzes: bool) -> Self {
        let work = Work::default();
        let mut state = work.lock();
        state.waiting = foreign_keys.to_vec();
        state.analyzes = analyzes;
        drop(state);
        work
    }

    fn lock(&self) -> MutexGuard<'_, WorkState> {
        self.state.lock()
    }

    /// The next task for a loader (`loads`): a table, then keys, then a
    /// foreign key whose tables are complete, then the validation of one
    /// added, then a table's statistics; for a builder, the same but
    /// tables. `None` when nothing is left to hand out. Foreign keys ready
    /// are handed out before validations (adding a key still waits for
    /// the validations already running on its tables).
    pub(super) fn next(&self, loads: bool) -> Option<Task> {
        let mut state = self.lock();
        loop {
            if state.stopped {
                return None;
            }
            if loads && !state.no_more_tables {
                state.next_table += 1;
                state.running += 1;
                return Some(Task::Table(state.next_table - 1));
            }
            if let Some((table, sql)) = state.keys.pop_front() {
                state.running += 1;
                return Some(Task::Keys(table, sql));
            }
            if let Some(key) = state.foreign_keys.pop_front() {
                state.running += 1;
                return Some(Task::ForeignKey(key));
            }
            if let Some(sql) = state.validations.pop_front() {
                state.running += 1;
                return Some(Task::Validate(sql));
            }
            if let Some(table) = state.analyze.pop_front() {
                state.running += 1;
                return Some(Task::Analyze(table));
            }
            if state.no_more_tables && state.running == 0 {
                return None;
            }
            self.changed.wait(&mut state);
        }
    }

    /// A table task ended: the table loaded and its keys' entries, or
    /// past the last table. Its keys are built in stages: the constraints
    /// that lock the table for themselves, in one task; then every index,
    /// each a task of its own (so that idle sessions share a large table's
    /// indexes), with the unique indexes of its primary key and unique
    /// constraints among them; then those constraints, from their indexes,
    /// in one task.
    pub(super) fn table_done(&self, loaded: Option<Loaded<'_>>) {
        let mut state = self.lock();
        state.running -= 1;
        match loaded {
            None => state.no_more_tables = true,
            Some(Loaded {
                name: table,
                quoted,
                entries,
            }) => {
                state.quoted.insert(table.clone(), quoted);
                let (mut locking, mut indexes, mut attach) =
                    (String::new(), Vec::new(), String::new());
                for key in entries {
                    match &key.build {
                        Build::Index => indexes.push(key.sql.clone()),
                        Build::UniqueIndexFirst { index, constraint } => {
                            indexes.push(index.clone());
                            attach.push_str(constraint);
                        }
                        Build::Locking => locking.push_str(&key.sql),
                    }
                }
                let stages = [vec![locking], indexes, vec![attach]]
                    .into_iter()
                    .map(|tasks| tasks.into_iter().filter(|t| !t.is_empty()).collect())
                    .collect();
                Self::build(&mut state, table, stages);
            }
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Queues the next stage of `table`'s keys, one task each; once none
    /// is left, the table is complete.
    fn build(state: &mut WorkState, table: TableName, mut stages: VecDeque<Vec<String>>) {
        while let Some(tasks) = stages.pop_front() {
            if tasks.is_empty() {
                continue;
            }
            for sql in &tasks {
                state.keys.push_back((table.clone(), sql.clone()));
            }
            state.building.insert(table, (tasks.len(), stages));
            return;
        }
        Self::complete(state, table);
    }

    /// A keys task ended: once the last of its stage ends, the table's
    /// next stage follows.
    pub(super) fn keys_done(&self, table: TableName) {
        let mut state = self.lock();
        state.running -= 1;
        let left = state.building.get_mut(&table).map(|(left, _)| {
            *left -= 1;
            *left
        });
        if left == Some(0)
            && let Some((_, stages)) = state.building.remove(&table)
        {
            Self::build(&mut state, table, stages);
        }
        drop(state);
        self.changed.notify_all();
    }

    /// A foreign key was added; `validate`, when it was added `NOT
    /// VALID`, is its validation, to hand out.
    pub(super) fn foreign_key_added(&self, validate: Option<String>) {
        let mut state = self.lock();
        state.running -= 1;
        state.validations.extend(validate);
        drop(state);
        self.changed.notify_all();
    }

    /// A validation or statistics task ended.
    pub(super) fn task_done(&self) {
        self.lock().running -= 1;
        self.changed.notify_all();
    }

    /// `table` is complete: the foreign keys it was the last to wait for
    /// may be added, and its statistics gathered once no key, foreign key
    /// or validation is left to hand out (for the replica's planner, and
    /// the plans of the foreign keys validated after it, those whose other
    /// table completes later).
    fn complete(state: &mut WorkState, table: TableName) {
        if let Some(quoted) = state.quoted.get(&table).filter(|_| state.analyzes) {
            state.analyze.push_back(quoted.clone());
        }
        state.complete.insert(table);
        let waiting = std::mem::take(&mut state.waiting);
        for key in waiting {
            if key.tables.iter().all(|t| state.complete.contains(t)) {
                state.foreign_keys.push_back(key);
            } else {
                state.waiting.push(key);
            }
        }
    }

    /// Once the loaders are done: the tables complete (every table
    /// loaded), and the foreign keys left, still waiting (a table of
    /// theirs got no rows, or is not a table the dump reads).
    pub(super) fn finish(self) -> (BTreeSet<TableName>, Vec<ForeignKey>) {
        let state = self.state.into_inner();
        (state.complete, state.waiting)
    }

    pub(super) fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::post_data::recorded::{ConstraintFacts, Entry, TableFacts, UniqueIndex};

    fn name(table: &str) -> TableName {
        TableName::new("public", table)
    }

    fn loaded<'a>(table: &str, entries: &'a [TableKey]) -> Option<Loaded<'a>> {
        Some(Loaded {
            name: name(table),
            quoted: format!("\"public\".\"{table}\""),
            entries,
        })
    }

    fn facts(table: &str) -> TableFacts {
        TableFacts {
            schema: "public".into(),
            name: table.into(),
            quoted: format!("public.{table}"),
            relkind: "r".into(),
        }
    }

    fn constraint(table: &str, key: ConstraintFacts) -> Entry {
        Entry {
            table: Some(facts(table)),
            constraint: Some(key),
            ..Entry::default()
        }
    }

    #[test]
    fn a_foreign_key_is_handed_out_once_both_its_tables_are_complete() {
        let fk = ForeignKey::new(
            "-- fk\n".into(),
            &constraint(
                "d",
                ConstraintFacts {
                    contype: "f".into(),
                    name: "fk".into(),
                    definition: "FOREIGN KEY (s) REFERENCES public.s(id)".into(),
                    validated: true,
                    references: Some(facts("s")),
                    ..ConstraintFacts::default()
                },
            ),
        )
        .unwrap();
        // One to a table never loaded waits for the end.
        let unloaded = ForeignKey::new(
            "-- to a partitioned table\n".into(),
            &constraint(
                "d",
                ConstraintFacts {
                    contype: "f".into(),
                    references: Some(facts("p")),
                    ..ConstraintFacts::default()
                },
            ),
        )
        .unwrap();
        let work = Work::new(&[fk.clone(), unloaded.clone()], true);
        assert!(matches!(work.next(true), Some(Task::Table(0))));
        let index = TableKey::index("CREATE INDEX d_i ON public.d USING btree (s);".into());
        work.table_done(loaded("d", std::slice::from_ref(&index)));
        // A builder takes the keys while the loader goes on loading.
        assert!(
            matches!(work.next(false), Some(Task::Keys(t, sql)) if t == name("d") && sql == index.sql)
        );
        assert!(matches!(work.next(true), Some(Task::Table(1))));
        work.keys_done(name("d"));
        // public.d is complete, public.s not yet: no foreign key.
        assert!(work.lock().foreign_keys.is_empty());
        work.table_done(loaded("s", &[]));
        // The foreign key before any statistics, then its validation.
        assert!(matches!(work.next(false), Some(Task::ForeignKey(k)) if k == fk));
        work.foreign_key_added(Some("VALIDATE fk".into()));
        assert!(matches!(work.next(false), Some(Task::Validate(sql)) if sql == "VALIDATE fk"));
        work.task_done();
        assert!(matches!(work.next(true), Some(Task::Table(2))));
        work.table_done(None);
        // Every table complete gets its statistics, in the order completed.
        for table in ["\"public\".\"d\"", "\"public\".\"s\""] {
            assert!(matches!(work.next(true), Some(Task::Analyze(t)) if t == table));
            work.task_done();
        }
        assert!(work.next(true).is_none());
        assert!(work.next(false).is_none());
        let (complete, left_over) = work.finish();
        assert_eq!(
            complete.into_iter().collect::<Vec<_>>(),
            [name("d"), name("s")]
        );
        assert_eq!(left_over, [unloaded]);
    }

    #[test]
    fn a_tables_indexes_are_built_at_once_between_its_locking_keys() {
        let pkey = TableKey::constraint(
            "-- t_pkey\n".into(),
            &constraint(
                "t",
                ConstraintFacts {
                    contype: "p".into(),
                    name: "t_pkey".into(),
                    unique_index: Some(UniqueIndex {
                        definition: "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)"
                            .into(),
                        plain: true,
                    }),
                    ..ConstraintFacts::default()
                },
            ),
        )
        .unwrap();
        let exclude = TableKey::constraint(
            "-- t_r\n".into(),
            &constraint(
                "t",
                ConstraintFacts {
                    contype: "x".into(),
                    ..ConstraintFacts::default()
                },
            ),
        )
        .unwrap();
        let a = TableKey::index("CREATE INDEX t_a ON public.t USING btree (a);".into());
        let b = TableKey::index("CREATE INDEX t_b ON public.t USING btree (b);".into());
        let work = Work::new(&[], true);
        assert!(matches!(work.next(true), Some(Task::Table(0))));
        let entries = [pkey.clone(), exclude.clone(), a.clone(), b.clone()];
        work.table_done(loaded("t", &entries));
        // First what locks the table for itself, alone.
        assert!(matches!(work.next(false), Some(Task::Keys(_, sql)) if sql == exclude.sql));
        assert!(work.lock().keys.is_empty());
        work.keys_done(name("t"));
        // Then every index at once, the primary key's among them.
        let Build::UniqueIndexFirst { index, constraint } = pkey.build else {
            panic!("the primary key is not built from its index");
        };
        for expected in [&index, &a.sql, &b.sql] {
            assert!(matches!(work.next(false), Some(Task::Keys(_, sql)) if sql == *expected));
        }
        work.keys_done(name("t"));
        work.keys_done(name("t"));
        assert!(work.lock().keys.is_empty());
        work.keys_done(name("t"));
        // Last, the primary key from its index.
        assert!(matches!(work.next(false), Some(Task::Keys(_, sql)) if sql == constraint));
        assert!(work.lock().complete.is_empty());
        work.keys_done(name("t"));
        assert!(matches!(work.next(true), Some(Task::Table(1))));
        work.table_done(None);
        assert!(matches!(work.next(false), Some(Task::Analyze(_))));
        work.task_done();
        assert!(work.next(false).is_none());
        let (complete, left_over) = work.finish();
        assert_eq!(complete.into_iter().collect::<Vec<_>>(), [name("t")]);
        assert!(left_over.is_empty());
    }

    #[test]
    fn tables_complete_get_no_statistics_when_the_section_runs_whole_after() {
        let work = Work::new(&[], false);
        assert!(matches!(work.next(true), Some(Task::Table(0))));
        work.table_done(loaded("t", &[]));
        assert!(matches!(work.next(true), Some(Task::Table(1))));
        work.table_done(None);
        assert!(work.next(false).is_none());
        assert_eq!(work.finish().0.into_iter().collect::<Vec<_>>(), [name("t")]);
    }
}
