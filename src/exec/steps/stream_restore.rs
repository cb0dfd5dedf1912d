//! The stream format's `restore`: the schema (`pre-data.sql`), then every
//! table loaded with `COPY ... FROM STDIN`, `jobs` at once in the order the
//! dump read them, each table's indexes and keys built as soon as its rows
//! are in; then the sequences, the foreign keys (`jobs` at once) and the
//! rest of `post-data.sql`. It reads the dump's files as they grow when
//! the dump runs in the same process, the complete files otherwise.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::exec::live::{Hub, Part};
use crate::exec::process::{self, Output};
use crate::exec::runner::StepRunner;
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::files::size_of;
use crate::plan::{Exec, Step, StreamRestore};
use crate::postgres::facts::stream::{self, POST_DATA, PRE_DATA, SEQUENCES, StreamTable};
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

/// A table to load: its name (`schema.table`), its quoted name, its
/// statement, its rows.
struct Table {
    name: String,
    qualified: String,
    copy_in: String,
    rows: Box<dyn Read + Send>,
}

fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", sql_identifier(schema), sql_identifier(table))
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

impl StepRunner<'_> {
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

        // The tables, `jobs` at once, each followed by its own keys.
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let loaded: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
        let jobs = plan.jobs.max(1) as usize;
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..jobs)
                .map(|_| {
                    scope.spawn(|| -> Result<(), StepFailure> {
                        while !stop.load(Ordering::Acquire) {
                            let i = next.fetch_add(1, Ordering::AcqRel);
                            let table = match input.table(i) {
                                Ok(Some(table)) => table,
                                Ok(None) => return Ok(()),
                                Err(failure) => {
                                    stop.store(true, Ordering::Release);
                                    return Err(failure);
                                }
                            };
                            let loaded_one = self
                                .copy_in(&plan.psql, &table.qualified, &table.copy_in, table.rows)
                                .and_then(|()| {
                                    if post.by_table.contains_key(&table.name) {
                                        self.psql_script(&plan.psql, &[], keys_of(&[&table.name]))
                                    } else {
                                        Ok(())
                                    }
                                });
                            if let Err(mut failure) = loaded_one {
                                stop.store(true, Ordering::Release);
                                failure.message =
                                    format!("loading {} failed: {}", table.name, failure.message);
                                return Err(failure);
                            }
                            loaded
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(table.name);
                        }
                        Ok(())
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err(StepFailure::new("a table loader panicked")))
                })
                .collect::<Result<Vec<()>, StepFailure>>()
        })?;

        // Keys of the tables that got no rows (their data left out).
        let loaded = loaded.into_inner().unwrap_or_else(|p| p.into_inner());
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

        // Foreign keys, `jobs` sessions at once.
        let groups: Vec<Vec<u8>> = (0..jobs)
            .map(|g| {
                let mut sql = post.prelude.clone();
                for entry in post.foreign_keys.iter().skip(g).step_by(jobs) {
                    sql.push_str(entry);
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

    /// `psql` loading `rows` with `copy_in` into the (new, empty) table
    /// `qualified`, frozen: truncated in the same transaction, the rows
    /// are written as visible to all, so no later read rewrites every page
    /// to note it (as `check`'s counts would).
    fn copy_in(
        &self,
        psql: &Exec,
        qualified: &str,
        copy_in: &str,
        rows: Box<dyn Read + Send>,
    ) -> Result<(), StepFailure> {
        let mut exec = psql.clone();
        for sql in [
            "BEGIN".to_owned(),
            format!("TRUNCATE ONLY {qualified}"),
            format!("{copy_in} (FREEZE)"),
            "COMMIT".to_owned(),
        ] {
            exec.args.push("--command".into());
            exec.args.push(sql.into());
        }
        process::run_fed(&exec, self.secrets, rows, Output::Discard)
    }
}
