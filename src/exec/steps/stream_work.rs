//! What the stream restore's sessions share: the tables to load in turn,
//! the keys of the tables loaded, stage by stage, the foreign keys whose
//! two tables are complete and their validations, and the statistics of
//! the tables complete.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::postgres::post_data::PostData;

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
    /// Keys ready to build: a table's name, the SQL of some of its keys.
    keys: VecDeque<(String, String)>,
    /// Loaded tables whose keys are being built: how many tasks of their
    /// stage are queued or running, and the stages after it.
    building: BTreeMap<String, (usize, VecDeque<Vec<String>>)>,
    /// Tables whose rows and keys are in.
    complete: BTreeSet<String>,
    /// Foreign keys waiting for their tables: the tables, the entry.
    waiting: Vec<(Vec<String>, String)>,
    /// Foreign keys whose tables could not be read: after the loads.
    unread: Vec<String>,
    /// Foreign keys whose tables are complete.
    foreign_keys: VecDeque<String>,
    /// Foreign keys added `NOT VALID`: their validations.
    validations: VecDeque<String>,
    /// The tables loaded, quoted (`"schema"."table"`), by name.
    quoted: BTreeMap<String, String>,
    /// Tables complete whose statistics are to be gathered (quoted).
    analyze: VecDeque<String>,
    stopped: bool,
}

pub(super) enum Task {
    Table(usize),
    Keys(String, String),
    /// Add a foreign key (its entry), `NOT VALID` where it may be.
    ForeignKey(String),
    /// Validate a foreign key added `NOT VALID` (the statement).
    Validate(String),
    /// `ANALYZE` a table (quoted).
    Analyze(String),
}

/// A table just loaded: its name (`schema.table`), the same quoted, and
/// its keys' entries.
pub(super) struct Loaded<'a> {
    pub name: String,
    pub quoted: String,
    pub entries: &'a [String],
}

impl Work {
    pub(super) fn new(foreign_keys: &[String]) -> Self {
        let work = Work::default();
        let mut state = work.lock();
        for entry in foreign_keys {
            match PostData::foreign_key_tables(entry) {
                Some(tables) => state.waiting.push((tables, entry.clone())),
                None => state.unread.push(entry.clone()),
            }
        }
        drop(state);
        work
    }

    fn lock(&self) -> MutexGuard<'_, WorkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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
            if let Some(entry) = state.foreign_keys.pop_front() {
                state.running += 1;
                return Some(Task::ForeignKey(entry));
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
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
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
                for entry in entries {
                    if PostData::is_index(entry) {
                        indexes.push(entry.clone());
                    } else if let Some((index, constraint)) = PostData::unique_index_first(entry) {
                        indexes.push(index);
                        attach.push_str(&constraint);
                    } else {
                        locking.push_str(entry);
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
    fn build(state: &mut WorkState, table: String, mut stages: VecDeque<Vec<String>>) {
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
    pub(super) fn keys_done(&self, table: String) {
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
    fn complete(state: &mut WorkState, table: String) {
        if let Some(quoted) = state.quoted.get(&table) {
            state.analyze.push_back(quoted.clone());
        }
        state.complete.insert(table);
        let waiting = std::mem::take(&mut state.waiting);
        for (tables, entry) in waiting {
            if tables.iter().all(|t| state.complete.contains(t)) {
                state.foreign_keys.push_back(entry);
            } else {
                state.waiting.push((tables, entry));
            }
        }
    }

    /// Once the loaders are done: the tables complete (every table
    /// loaded), and the foreign keys left: those still waiting (a table of
    /// theirs got no rows, or is not a table the dump reads), and those
    /// whose tables could not be read.
    pub(super) fn finish(self) -> (BTreeSet<String>, Vec<String>) {
        let state = self.state.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut left: Vec<String> = state.waiting.into_iter().map(|(_, entry)| entry).collect();
        left.extend(state.unread);
        (state.complete, left)
    }

    pub(super) fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded<'a>(name: &str, entries: &'a [String]) -> Option<Loaded<'a>> {
        Some(Loaded {
            name: name.to_owned(),
            quoted: format!("\"{}\"", name.replace('.', "\".\"")),
            entries,
        })
    }

    fn entry(kind: &str, name: &str, body: &str) -> String {
        format!("--\n-- Name: {name}; Type: {kind}; Schema: public; Owner: -\n--\n\n{body}\n")
    }

    #[test]
    fn a_foreign_key_is_handed_out_once_both_its_tables_are_complete() {
        let fk = entry(
            "FK CONSTRAINT",
            "d fk",
            "ALTER TABLE ONLY public.d\n    ADD CONSTRAINT fk FOREIGN KEY (s) REFERENCES public.s(id);",
        );
        let work = Work::new(&[fk.clone(), "-- unreadable\n".to_owned()]);
        assert!(matches!(work.next(true), Some(Task::Table(0))));
        let index = entry(
            "INDEX",
            "d_i",
            "CREATE INDEX d_i ON public.d USING btree (s);",
        );
        work.table_done(loaded("public.d", std::slice::from_ref(&index)));
        // A builder takes the keys while the loader goes on loading.
        assert!(
            matches!(work.next(false), Some(Task::Keys(t, sql)) if t == "public.d" && sql == index)
        );
        assert!(matches!(work.next(true), Some(Task::Table(1))));
        work.keys_done("public.d".into());
        // public.d is complete, public.s not yet: no foreign key.
        assert!(work.lock().foreign_keys.is_empty());
        work.table_done(loaded("public.s", &[]));
        // The foreign key before any statistics, then its validation.
        assert!(matches!(work.next(false), Some(Task::ForeignKey(e)) if e == fk));
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
        // What could not be read waits for the end.
        let (complete, left_over) = work.finish();
        assert_eq!(
            complete.into_iter().collect::<Vec<_>>(),
            ["public.d", "public.s"]
        );
        assert_eq!(left_over, ["-- unreadable\n"]);
    }

    #[test]
    fn a_tables_indexes_are_built_at_once_between_its_locking_keys() {
        let pkey = entry(
            "CONSTRAINT",
            "t t_pkey",
            "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);",
        );
        let exclude = entry(
            "CONSTRAINT",
            "t t_r",
            "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_r EXCLUDE USING gist (r WITH &&);",
        );
        let a = entry(
            "INDEX",
            "t_a",
            "CREATE INDEX t_a ON public.t USING btree (a);",
        );
        let b = entry(
            "INDEX",
            "t_b",
            "CREATE INDEX t_b ON public.t USING btree (b);",
        );
        let work = Work::new(&[]);
        assert!(matches!(work.next(true), Some(Task::Table(0))));
        let entries = [pkey.clone(), exclude.clone(), a.clone(), b.clone()];
        work.table_done(loaded("public.t", &entries));
        // First what locks the table for itself, alone.
        assert!(matches!(work.next(false), Some(Task::Keys(_, sql)) if sql == exclude));
        assert!(work.lock().keys.is_empty());
        work.keys_done("public.t".into());
        // Then every index at once, the primary key's among them.
        let (unique, attach) = PostData::unique_index_first(&pkey).unwrap();
        for expected in [&unique, &a, &b] {
            assert!(matches!(work.next(false), Some(Task::Keys(_, sql)) if sql == *expected));
        }
        work.keys_done("public.t".into());
        work.keys_done("public.t".into());
        assert!(work.lock().keys.is_empty());
        work.keys_done("public.t".into());
        // Last, the primary key from its index.
        assert!(matches!(work.next(false), Some(Task::Keys(_, sql)) if sql == attach));
        assert!(work.lock().complete.is_empty());
        work.keys_done("public.t".into());
        assert!(matches!(work.next(true), Some(Task::Table(1))));
        work.table_done(None);
        assert!(matches!(work.next(false), Some(Task::Analyze(_))));
        work.task_done();
        assert!(work.next(false).is_none());
        let (complete, left_over) = work.finish();
        assert_eq!(complete.into_iter().collect::<Vec<_>>(), ["public.t"]);
        assert!(left_over.is_empty());
    }
}
