use std::cell::RefCell;

use super::*;
use crate::postgres::post_data::recorded::{ConstraintFacts, Entry, TableFacts, UniqueIndex};

/// The restore's work driven by hand, one task at a time, as the loaders
/// and builders would: each task handed out is ended by what it did.
struct Driver {
    work: Work,
    running: RefCell<Vec<(Job, Option<TableName>)>>,
}

impl Driver {
    fn new(tables: usize, foreign_keys: &[ForeignKey], analyzes: bool) -> Self {
        Self {
            work: Work::new(tables, foreign_keys, analyzes),
            running: RefCell::new(Vec::new()),
        }
    }

    /// The next task for a loader (`loads`) or a builder.
    fn next(&self, loads: bool) -> Option<Task> {
        let (job, task) = self
            .work
            .queue
            .next(|job, _| loads || !matches!(job, Job::Table(_)))?;
        let table = match &task {
            Task::Keys(table, _) => Some(table.clone()),
            _ => None,
        };
        self.running.borrow_mut().push((job, table));
        Some(task)
    }

    /// Ends the first running task that `which` picks.
    fn end(&self, which: impl Fn(&Job, Option<&TableName>) -> bool) {
        let mut running = self.running.borrow_mut();
        let at = running
            .iter()
            .position(|(job, table)| which(job, table.as_ref()))
            .expect("no such task running");
        let (job, _) = running.remove(at);
        self.work.queue.done(job);
    }

    fn table_done(&self, loaded: Option<Loaded<'_>>) {
        if let Some(loaded) = loaded {
            self.work.loaded(loaded);
        }
        self.end(|job, _| matches!(job, Job::Table(_)));
    }

    fn keys_done(&self, table: TableName) {
        self.end(|job, t| matches!(job, Job::Keys(_)) && t == Some(&table));
    }

    fn foreign_key_added(&self, validate: Option<String>) {
        if let Some(sql) = validate {
            self.work.validate(sql);
        }
        self.end(|job, _| matches!(job, Job::ForeignKey(_)));
    }

    fn task_done(&self) {
        self.end(|job, _| matches!(job, Job::Validate(_) | Job::Analyze(_)));
    }

    fn ready(&self, which: impl Fn(&Job) -> bool) -> Vec<Job> {
        self.work.queue.ready().into_iter().filter(which).collect()
    }

    fn is_done(&self, job: &Job) -> bool {
        self.work.queue.is_done(job)
    }

    fn finish(self) -> (BTreeSet<TableName>, Vec<ForeignKey>) {
        self.work.finish()
    }
}

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

/// The foreign key `key` of `table`, added by `sql`.
fn foreign_key(sql: &str, table: &str, key: ConstraintFacts) -> ForeignKey {
    ForeignKey::new(sql.into(), &constraint(table, key)).unwrap()
}

/// The key `key` of `table`, built by `sql`.
fn table_key(sql: &str, table: &str, key: ConstraintFacts) -> TableKey {
    TableKey::constraint(sql.into(), &constraint(table, key)).unwrap()
}

#[test]
fn a_foreign_key_is_handed_out_once_both_its_tables_are_complete() {
    let fk = foreign_key(
        "-- fk\n",
        "d",
        ConstraintFacts {
            contype: "f".into(),
            name: "fk".into(),
            definition: "FOREIGN KEY (s) REFERENCES public.s(id)".into(),
            validated: true,
            references: Some(facts("s")),
            ..ConstraintFacts::default()
        },
    );
    // One to a table never loaded waits for the end.
    let unloaded = foreign_key(
        "-- to a partitioned table\n",
        "d",
        ConstraintFacts {
            contype: "f".into(),
            references: Some(facts("p")),
            ..ConstraintFacts::default()
        },
    );
    let work = Driver::new(3, &[fk.clone(), unloaded.clone()], true);
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
    assert!(work.ready(|j| matches!(j, Job::ForeignKey(_))).is_empty());
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
    let pkey = table_key(
        "-- t_pkey\n",
        "t",
        ConstraintFacts {
            contype: "p".into(),
            name: "t_pkey".into(),
            unique_index: Some(UniqueIndex {
                definition: "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)".into(),
                plain: true,
            }),
            ..ConstraintFacts::default()
        },
    );
    let exclude = table_key(
        "-- t_r\n",
        "t",
        ConstraintFacts {
            contype: "x".into(),
            ..ConstraintFacts::default()
        },
    );
    let a = TableKey::index("CREATE INDEX t_a ON public.t USING btree (a);".into());
    let b = TableKey::index("CREATE INDEX t_b ON public.t USING btree (b);".into());
    let work = Driver::new(2, &[], true);
    assert!(matches!(work.next(true), Some(Task::Table(0))));
    let entries = [pkey.clone(), exclude.clone(), a.clone(), b.clone()];
    work.table_done(loaded("t", &entries));
    // First what locks the table for itself, alone.
    assert!(matches!(work.next(false), Some(Task::Keys(_, sql)) if sql == exclude.sql));
    assert!(work.ready(|j| matches!(j, Job::Keys(_))).is_empty());
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
    assert!(work.ready(|j| matches!(j, Job::Keys(_))).is_empty());
    work.keys_done(name("t"));
    // Last, the primary key from its index.
    assert!(matches!(work.next(false), Some(Task::Keys(_, sql)) if sql == constraint));
    assert!(!work.is_done(&Job::Complete(name("t"))));
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
    let work = Driver::new(2, &[], false);
    assert!(matches!(work.next(true), Some(Task::Table(0))));
    work.table_done(loaded("t", &[]));
    assert!(matches!(work.next(true), Some(Task::Table(1))));
    work.table_done(None);
    assert!(work.next(false).is_none());
    assert_eq!(work.finish().0.into_iter().collect::<Vec<_>>(), [name("t")]);
}
