//! The stream format's `restore`: the schema (`pre-data.sql`), then every
//! table loaded with `COPY ... FROM STDIN` (emptied in the same transaction,
//! so its rows go in frozen), `jobs` at once in the order the dump read
//! them, while `jobs` builders build each loaded table's indexes and keys,
//! a foreign key as soon as its two tables are complete (added `NOT
//! VALID`, then validated apart), and each complete table's statistics;
//! then the keys of the tables not loaded (partitioned ones among them),
//! the partitions' indexes attached to theirs, the sequences, the foreign
//! keys left (`jobs` at once) and the rest of `post-data.sql`. The
//! post-data section is sorted by what `post-data.json` records of it
//! (see [`PostData::cut`]); when it cannot be (an older dump, a header
//! that is not an entry's), the tables are loaded alone and the section
//! runs whole after them, in one session, in the dump's order. It reads
//! the dump's files as they grow when the dump runs in the same process,
//! the complete files otherwise.

use std::sync::atomic::{AtomicBool, Ordering};

use super::Stream;
use super::hub::Part;
use super::input::Input;
use crate::exec::connection;
use crate::exec::process::{self, Output};
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::exec::steps;
use crate::io::files::size_of;
use crate::plan::{Exec, Step, StreamRestore};
use crate::postgres::dump_files::stream;
use crate::postgres::libpq::{Connection, without_psql_commands};
use crate::postgres::post_data::recorded::Recorded;
use crate::postgres::post_data::{PostData, TableName, Unsorted};
use crate::postgres::quote::sql_qualified;

use super::work::{Loaded, Task, Work};

impl Stream<'_> {
    /// One task of the restore's work, on `session`, the worker's own,
    /// opened for its first task.
    fn restore_task(
        &self,
        plan: &StreamRestore,
        (input, post, work): (&Input<'_>, &PostData, &Work),
        session: &mut Option<Connection>,
        task: Task,
    ) -> Result<(), StepFailure> {
        // A statement on the session, its failure named.
        let run = |session: &mut Connection, sql: &str, what: &str| {
            session
                .execute(sql)
                .map_err(|e| connection::failed(&plan.psql, self.cx.secrets, what, &e))
        };
        let loader = match session {
            Some(loader) => loader,
            None => {
                let mut opened = connection::connect(&plan.psql, self.cx.secrets)?;
                run(
                    &mut opened,
                    &without_psql_commands(&post.prelude),
                    "cannot set up a loading session",
                )?;
                session.insert(opened)
            }
        };
        match task {
            Task::Keys(table, sql) => run(
                loader,
                &without_psql_commands(&sql),
                &format!("building the indexes and keys of {table} failed"),
            ),
            Task::ForeignKey(key) => {
                let (add, validate) = key.validated_apart();
                run(
                    loader,
                    &without_psql_commands(&add),
                    "adding a foreign key failed",
                )?;
                if let Some(sql) = validate {
                    work.validate(sql);
                }
                Ok(())
            }
            Task::Validate(sql) => run(loader, &sql, "validating a foreign key failed"),
            Task::Analyze(table) => run(
                loader,
                &format!("ANALYZE {table}"),
                &format!("gathering the statistics of {table} failed"),
            ),
            Task::Table(index) => {
                let Some(mut table) = input.table(index)? else {
                    return Ok(());
                };
                let failed = |what: &str| format!("{what} {} failed", table.name);
                // Emptied in the transaction that loads it, the table
                // takes its rows frozen: no later scan (the keys, the
                // check) has to set their hint bits and write every
                // page a second time.
                loader
                    .execute("BEGIN")
                    .and_then(|()| loader.execute(&format!("TRUNCATE ONLY {}", table.qualified)))
                    .map_err(|e| {
                        connection::failed(&plan.psql, self.cx.secrets, &failed("emptying"), &e)
                    })?;
                loader
                    .copy_in(&format!("{} WITH (FREEZE)", table.copy_in), &mut table.rows)
                    .map_err(|e| {
                        connection::copy_failed(&plan.psql, self.cx.secrets, &failed("loading"), &e)
                    })?;
                loader.execute("COMMIT").map_err(|e| {
                    connection::failed(&plan.psql, self.cx.secrets, &failed("loading"), &e)
                })?;
                let entries = post
                    .by_table
                    .get(&table.name)
                    .map_or(&[][..], Vec::as_slice);
                work.loaded(Loaded {
                    name: table.name,
                    quoted: table.qualified,
                    entries,
                });
                Ok(())
            }
        }
    }

    pub(in crate::exec) fn stream_restore(&self, step: &Step, plan: &StreamRestore) -> StepResult {
        let input = match (&self.cx.live, plan.follows_dump) {
            (Some(hub), true) => Input::Live(hub),
            _ => {
                // With an object store: the files into the cache first
                // (after `verify`'s own fetch, when it runs beside).
                let sums = self
                    .cx
                    .artifacts
                    .read_sums()
                    .map_err(|e| StepFailure::new(format!("cannot read SHA256SUMS: {e}")))?;
                for artifact in &step.consumes {
                    self.cx
                        .artifacts
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
        let meter = &self.cx.meter;
        let done = AtomicBool::new(false);
        let ran = std::thread::scope(|scope| {
            scope.spawn(|| steps::watch_size(self.cx.secrets, &plan.into, &meter.done, &done));
            let ran = self.load(plan, &input);
            done.store(true, Ordering::Release);
            ran
        });
        let note = ran?;
        steps::flush_commits(self.cx.secrets, &plan.into)?;
        Ok(StepReport {
            bytes: size_of(&plan.dump).unwrap_or(0),
            note: Some(note),
            ..StepReport::default()
        })
    }

    /// The restore; says how the post-data section ran.
    fn load(&self, plan: &StreamRestore, input: &Input<'_>) -> Result<String, StepFailure> {
        let pre_data = input.part(Part::PreData)?;
        self.psql_script(&plan.psql, &["--single-transaction"], pre_data)?;
        let section = input.part(Part::PostData)?;
        let text = String::from_utf8_lossy(&section);
        let sorted = match input.recorded()? {
            None => Err(Unsorted::NotRecorded),
            Some(bytes) => serde_json::from_slice::<Recorded>(&bytes)
                .map_err(|e| Unsorted::Unreadable(e.to_string()))
                .and_then(|recorded| PostData::cut(&text, &recorded)),
        };
        let (post, whole) = match sorted {
            Ok(post) => (post, None),
            Err(why) => (PostData::settings_of(&text), Some((section, why))),
        };

        // `jobs` loaders, each with one session, taking the tables in
        // turn, and `jobs` builders beside them for the keys of the tables
        // loaded (as pgcopydb's `--table-jobs` and `--index-jobs`); loaders
        // with no table left build keys too. The dump lists its tables
        // before it reads a row: their number is known first.
        let tables = input.count()?;
        let work = Work::new(tables, &post.foreign_keys, whole.is_none());
        let jobs = plan.jobs.max(1) as usize;
        work.run(jobs, |session, task| {
            self.restore_task(plan, (input, &post, &work), session, task)
        })?;

        let (loaded, left_over) = work.finish();
        if let Some((section, why)) = whole {
            // The section whole, as pg_dump wrote it, after the sequences
            // (as a restore of the dump would), then the statistics of the
            // tables loaded, over their indexes' expressions too.
            self.psql_script(&plan.psql, &[], input.part(Part::Sequences)?)?;
            self.psql_script(&plan.psql, &[], section)?;
            let analyze: String = loaded
                .iter()
                .map(|t| format!("ANALYZE {};\n", sql_qualified(&t.schema, &t.name)))
                .collect();
            if !analyze.is_empty() {
                self.psql_script(&plan.psql, &[], analyze.into_bytes())?;
            }
            return Ok(format!(
                "post-data run whole in one session, in the dump's order: {why}"
            ));
        }

        // Keys of the tables that got no rows (their data left out).
        let empty: Vec<&TableName> = post
            .by_table
            .keys()
            .filter(|t| !loaded.contains(*t))
            .collect();
        if !empty.is_empty() {
            let keys = empty
                .iter()
                .filter_map(|t| post.by_table.get(*t))
                .flatten()
                .map(|k| &k.sql);
            self.psql_script(&plan.psql, &[], post.script(keys))?;
        }
        if !post.attachments.is_empty() {
            self.psql_script(&plan.psql, &[], post.script(&post.attachments))?;
        }
        self.psql_script(&plan.psql, &[], input.part(Part::Sequences)?)?;

        // The foreign keys left, `jobs` sessions at once; each takes its
        // two tables' locks in one order, so that two sessions never
        // deadlock.
        let groups: Vec<Vec<u8>> = (0..jobs.min(left_over.len()))
            .map(|g| {
                let group = left_over.iter().skip(g).step_by(jobs);
                post.script(group.map(|key| key.locked_in_order()))
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
        self.psql_script(&plan.psql, &[], post.script(&post.rest))?;
        Ok(format!(
            "post-data: {} entries sorted by the catalog",
            post.count()
        ))
    }

    /// `psql` running the SQL script `sql` (given on stdin).
    fn psql_script(&self, psql: &Exec, more: &[&str], sql: Vec<u8>) -> Result<(), StepFailure> {
        let mut exec = psql.clone();
        exec.args.extend(more.iter().map(|a| (*a).into()));
        process::run_fed(
            &exec,
            self.cx.secrets,
            Box::new(std::io::Cursor::new(sql)),
            Output::Discard,
        )
    }
}
