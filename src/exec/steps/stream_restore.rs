//! The stream format's `restore`: the schema (`pre-data.sql`), then every
//! table loaded with `COPY ... FROM STDIN` (emptied in the same transaction,
//! so its rows go in frozen), `jobs` at once in the order the dump read
//! them, while `jobs` builders build each loaded table's indexes and keys,
//! and a foreign key as soon as its two tables are complete; then the
//! sequences, the foreign keys left (`jobs` at once) and the rest of
//! `post-data.sql`. It reads the dump's files as they grow when the dump
//! runs in the same process, the complete files otherwise.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::exec::connection;
use crate::exec::live::{Hub, Part};
use crate::exec::process::{self, Output};
use crate::exec::runner::StepRunner;
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::files::size_of;
use crate::plan::{Exec, Step, StreamRestore};
use crate::postgres::facts::stream::{self, POST_DATA, PRE_DATA, SEQUENCES, StreamTable};
use crate::postgres::libpq::{Connection, without_psql_commands};
use crate::postgres::post_data::PostData;
use crate::postgres::quote::sql_identifier;

/// Where the restore reads from.
enum Input<'a> {
    /// The dump running beside it.
    Live(&'a Arc<Hub>),
    /// The complete folder.
    Files {
        folder: &'a Path,
        listing: Vec<StreamTable>,
    },
}

/// A table to load: its name (`schema.table`), quoted, its statement, its
/// rows.
struct Table {
    name: String,
    qualified: String,
    copy_in: String,
    rows: Box<dyn Read + Send>,
}

impl Input<'_> {
    fn part(&self, part: Part) -> Result<Vec<u8>, StepFailure> {
        match self {
            Input::Live(hub) => hub
                .part(part)
                .map(|bytes| bytes.as_ref().clone())
                .map_err(StepFailure::new),
            Input::Files { folder, .. } => {
                let name = match part {
                    Part::PreData => PRE_DATA,
                    Part::PostData => POST_DATA,
                    Part::Sequences => SEQUENCES,
                };
                let path = folder.join(name);
                std::fs::read(&path)
                    .map_err(|e| StepFailure::new(format!("cannot read {}: {e}", path.display())))
            }
        }
    }

    /// The `index`th table, once the dump started it; `None` past the last.
    fn table(&self, index: usize) -> Result<Option<Table>, StepFailure> {
        match self {
            Input::Live(hub) => {
                Ok(hub
                    .next_table(index)
                    .map_err(StepFailure::new)?
                    .map(|started| Table {
                        name: format!("{}.{}", started.schema, started.table),
                        qualified: qualified(&started.schema, &started.table),
                        copy_in: started.copy_in,
                        rows: Box::new(hub.reader(started.index)),
                    }))
            }
            Input::Files { folder, listing } => listing
                .get(index)
                .map(|t| {
                    let path = folder.join(&t.file);
                    let file = File::open(&path).map_err(|e| {
                        StepFailure::new(format!("cannot read {}: {e}", path.display()))
                    })?;
                    Ok(Table {
                        name: t.name(),
                        qualified: qualified(&t.schema, &t.table),
                        copy_in: t.copy_in.clone(),
                        rows: Box::new(file),
                    })
                })
                .transpose(),
        }
    }
}

fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", sql_identifier(schema), sql_identifier(table))
}

/// What the loaders share: the next table to take, the keys waiting to
/// be built, the foreign keys whose tables are complete.
#[derive(Default)]
struct Work {
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
    stopped: bool,
}

enum Task {
    Table(usize),
    Keys(String, String),
    ForeignKey(String),
}

impl Work {
    fn new(foreign_keys: &[String]) -> Self {
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
    /// foreign key whose tables are complete; for a builder, keys or a
    /// foreign key. `None` when nothing is left to hand out.
    fn next(&self, loads: bool) -> Option<Task> {
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
    fn table_done(&self, loaded: Option<(String, &[String])>) {
        let mut state = self.lock();
        state.running -= 1;
        match loaded {
            None => state.no_more_tables = true,
            Some((table, entries)) => {
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
    fn keys_done(&self, table: String) {
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

    fn foreign_key_done(&self) {
        self.lock().running -= 1;
        self.changed.notify_all();
    }

    /// `table` is complete: the foreign keys it was the last to wait for
    /// may be added.
    fn complete(state: &mut WorkState, table: String) {
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
    fn finish(self) -> (BTreeSet<String>, Vec<String>) {
        let state = self.state.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut left: Vec<String> = state.waiting.into_iter().map(|(_, entry)| entry).collect();
        left.extend(state.unread);
        (state.complete, left)
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_all();
    }
}

impl StepRunner<'_> {
    /// One loader (`loads`) or key builder: its own connection, opened for
    /// its first task, tasks until none is left.
    fn work(
        &self,
        plan: &StreamRestore,
        input: &Input<'_>,
        post: &PostData,
        work: &Work,
        loads: bool,
    ) -> Result<(), StepFailure> {
        let mut loader: Option<Connection> = None;
        while let Some(task) = work.next(loads) {
            let loader = match &mut loader {
                Some(loader) => loader,
                None => {
                    let mut opened = connection::connect(&plan.psql, self.secrets)?;
                    opened
                        .execute(&without_psql_commands(&post.prelude))
                        .map_err(|e| {
                            connection::failed(
                                &plan.psql,
                                self.secrets,
                                "cannot set up a loading session",
                                &e,
                            )
                        })?;
                    loader.insert(opened)
                }
            };
            match task {
                Task::Keys(table, sql) => {
                    loader.execute(&without_psql_commands(&sql)).map_err(|e| {
                        connection::failed(
                            &plan.psql,
                            self.secrets,
                            &format!("building the indexes and keys of {table} failed"),
                            &e,
                        )
                    })?;
                    work.keys_done(table);
                }
                Task::ForeignKey(entry) => {
                    loader
                        .execute(&without_psql_commands(&PostData::locked_in_order(&entry)))
                        .map_err(|e| {
                            connection::failed(
                                &plan.psql,
                                self.secrets,
                                "adding a foreign key failed",
                                &e,
                            )
                        })?;
                    work.foreign_key_done();
                }
                Task::Table(index) => {
                    let Some(mut table) = input.table(index).inspect_err(|_| work.stop())? else {
                        work.table_done(None);
                        continue;
                    };
                    let failed = |what: &str| format!("{what} {} failed", table.name);
                    // Emptied in the transaction that loads it, the table
                    // takes its rows frozen: no later scan (the keys, the
                    // check) has to set their hint bits and write every
                    // page a second time.
                    loader
                        .execute("BEGIN")
                        .and_then(|()| {
                            loader.execute(&format!("TRUNCATE ONLY {}", table.qualified))
                        })
                        .map_err(|e| {
                            connection::failed(&plan.psql, self.secrets, &failed("emptying"), &e)
                        })?;
                    loader
                        .copy_in(&format!("{} WITH (FREEZE)", table.copy_in), &mut table.rows)
                        .map_err(|e| {
                            connection::copy_failed(
                                &plan.psql,
                                self.secrets,
                                &failed("loading"),
                                &e,
                            )
                        })?;
                    loader.execute("COMMIT").map_err(|e| {
                        connection::failed(&plan.psql, self.secrets, &failed("loading"), &e)
                    })?;
                    let entries = post
                        .by_table
                        .get(&table.name)
                        .map_or(&[][..], Vec::as_slice);
                    work.table_done(Some((table.name, entries)));
                }
            }
        }
        Ok(())
    }

    pub(in crate::exec) fn stream_restore(&self, step: &Step, plan: &StreamRestore) -> StepResult {
        let input = match (&self.live, plan.follows_dump) {
            (Some(hub), true) => Input::Live(hub),
            _ => {
                // With an object store: the files into the cache first
                // (after `verify`'s own fetch, when it runs beside).
                let sums = self
                    .artifacts
                    .read_sums()
                    .map_err(|e| StepFailure::new(format!("cannot read SHA256SUMS: {e}")))?;
                for artifact in &step.consumes {
                    self.artifacts
                        .fetch(&artifact.name, &sums)
                        .map_err(|e| StepFailure::new(e.to_string()))?;
                }
                Input::Files {
                    folder: &plan.dump,
                    listing: stream::listing(&plan.dump).map_err(|e| {
                        StepFailure::new(format!(
                            "cannot read the listing of {}: {e}",
                            plan.dump.display()
                        ))
                    })?,
                }
            }
        };
        let meter = self.meters.get(step.id);
        let done = AtomicBool::new(false);
        let ran = std::thread::scope(|scope| {
            scope.spawn(|| self.watch_size(&meter.done, &done));
            let ran = self.load(plan, &input);
            done.store(true, Ordering::Release);
            ran
        });
        ran?;
        self.flush_commits()?;
        Ok(StepReport {
            bytes: size_of(&plan.dump).unwrap_or(0),
            ..StepReport::default()
        })
    }

    fn load(&self, plan: &StreamRestore, input: &Input<'_>) -> Result<(), StepFailure> {
        let pre_data = input.part(Part::PreData)?;
        self.psql_script(&plan.psql, &["--single-transaction"], pre_data)?;
        let post = PostData::split(&String::from_utf8_lossy(&input.part(Part::PostData)?));
        let keys_of = |tables: &[&str]| -> Vec<u8> {
            let mut sql = post.prelude.clone();
            for table in tables {
                for entry in post.by_table.get(*table).into_iter().flatten() {
                    sql.push_str(entry);
                }
            }
            sql.into_bytes()
        };

        // `jobs` loaders, each with one session, taking the tables in
        // turn, and `jobs` builders beside them for the keys of the tables
        // loaded (as pgcopydb's `--table-jobs` and `--index-jobs`); loaders
        // with no table left build keys too.
        let work = Work::new(&post.foreign_keys);
        let jobs = plan.jobs.max(1) as usize;
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..2 * jobs)
                .map(|n| {
                    let (work, post) = (&work, &post);
                    scope.spawn(move || -> Result<(), StepFailure> {
                        let result = self.work(plan, input, post, work, n < jobs);
                        if result.is_err() {
                            work.stop();
                        }
                        result
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(StepFailure::new("a table loader panicked")))
            })
        })?;

        // Keys of the tables that got no rows (their data left out).
        let (loaded, left_over) = work.finish();
        let empty: Vec<&str> = post
            .by_table
            .keys()
            .filter(|t| !loaded.contains(*t))
            .map(String::as_str)
            .collect();
        if !empty.is_empty() {
            self.psql_script(&plan.psql, &[], keys_of(&empty))?;
        }
        self.psql_script(&plan.psql, &[], input.part(Part::Sequences)?)?;

        // The foreign keys left, `jobs` sessions at once; each takes its
        // two tables' locks in one order, so that two sessions never
        // deadlock.
        let groups: Vec<Vec<u8>> = (0..jobs.min(left_over.len()))
            .map(|g| {
                let mut sql = post.prelude.clone();
                for entry in left_over.iter().skip(g).step_by(jobs) {
                    sql.push_str(&PostData::locked_in_order(entry));
                }
                sql.into_bytes()
            })
            .collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = groups
                .into_iter()
                .map(|sql| scope.spawn(|| self.psql_script(&plan.psql, &[], sql)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(StepFailure::new("a key builder panicked")))
                })
                .collect::<Result<Vec<()>, StepFailure>>()
        })?;
        let mut rest = post.prelude.clone();
        for entry in &post.rest {
            rest.push_str(entry);
        }
        self.psql_script(&plan.psql, &[], rest.into_bytes())
    }

    /// `psql` running the SQL script `sql` (given on stdin).
    fn psql_script(&self, psql: &Exec, more: &[&str], sql: Vec<u8>) -> Result<(), StepFailure> {
        let mut exec = psql.clone();
        exec.args.extend(more.iter().map(|a| (*a).into()));
        process::run_fed(
            &exec,
            self.secrets,
            Box::new(std::io::Cursor::new(sql)),
            Output::Discard,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        work.table_done(Some(("public.d".into(), std::slice::from_ref(&index))));
        // A builder takes the keys while the loader goes on loading.
        assert!(
            matches!(work.next(false), Some(Task::Keys(t, sql)) if t == "public.d" && sql == index)
        );
        assert!(matches!(work.next(true), Some(Task::Table(1))));
        work.keys_done("public.d".into());
        // public.d is complete, public.s not yet: no foreign key.
        assert!(work.lock().foreign_keys.is_empty());
        work.table_done(Some(("public.s".into(), &[])));
        assert!(matches!(work.next(false), Some(Task::ForeignKey(e)) if e == fk));
        work.foreign_key_done();
        assert!(matches!(work.next(true), Some(Task::Table(2))));
        work.table_done(None);
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
        work.table_done(Some((
            "public.t".into(),
            &[pkey.clone(), exclude.clone(), a.clone(), b.clone()],
        )));
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
        assert!(work.next(false).is_none());
        let (complete, left_over) = work.finish();
        assert_eq!(complete.into_iter().collect::<Vec<_>>(), ["public.t"]);
        assert!(left_over.is_empty());
    }
}
