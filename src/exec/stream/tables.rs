//! The stream dump's tables: which the dump reads (and in which order),
//! and their rows read, `jobs` connections at once in the dump's
//! snapshot, each table into its own file, hashed and counted, and
//! published to a restore that follows.

use parking_lot::Mutex;
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use super::Stream;
use super::hub::Hub;
use crate::exec::connection;
use crate::exec::scheduler::StepFailure;
use crate::exec::steps::Partial;
use crate::io::files::{create_private, describe_io};
use crate::io::tally::Tally;
use crate::io::writeback::WritebackFile;
use crate::plan::{Exec, StreamDump};
use crate::postgres::libpq::Connection;
use crate::postgres::pattern::matches_pattern;

/// A table to read: where from, how, into which file.
pub(super) struct Planned {
    pub(super) schema: String,
    pub(super) table: String,
    pub(super) copy_out: String,
    pub(super) copy_in: String,
    pub(super) rule: Option<String>,
    pub(super) file: String,
}

/// Where the readers write, from which snapshot, when they stop, what
/// they count into.
#[derive(Clone, Copy)]
pub(super) struct Reading<'a> {
    pub(super) partial: &'a Partial,
    pub(super) plan: &'a StreamDump,
    pub(super) snapshot: &'a str,
    pub(super) stop: &'a AtomicBool,
    pub(super) tally: &'a Tally,
}

/// A table read: its file's SHA-256, size and rows.
pub(super) struct TableRead {
    pub(super) sha: String,
    pub(super) bytes: u64,
    pub(super) rows: u64,
}

impl Stream<'_> {
    /// Every table's rows into its file, `jobs` readers at once, in the
    /// order given; `first` is the first reader's connection, the others open
    /// theirs for their first table. Stops at the first failure.
    pub(super) fn read_tables(
        &self,
        reading: &Reading<'_>,
        tables: &[Planned],
        first: Connection,
    ) -> Result<Vec<Option<TableRead>>, StepFailure> {
        let Reading {
            partial,
            plan,
            snapshot,
            stop,
            tally,
        } = *reading;
        let next = AtomicUsize::new(0);
        let read: Mutex<Vec<Option<TableRead>>> = Mutex::new(tables.iter().map(|_| None).collect());
        let first = Mutex::new(Some(first));
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..plan.contents.jobs.max(1))
                .map(|_| {
                    scope.spawn(|| -> Result<(), StepFailure> {
                        let mut reader: Option<Connection> = first.lock().take();
                        loop {
                            if stop.load(Ordering::Acquire) {
                                return Ok(());
                            }
                            let i = next.fetch_add(1, Ordering::AcqRel);
                            let Some(table) = tables.get(i) else {
                                return Ok(());
                            };
                            let read_one = match &mut reader {
                                Some(reader) => Ok(reader),
                                None => self
                                    .reader_in_snapshot(&plan.psql, snapshot)
                                    .map(|opened| reader.insert(opened)),
                            }
                            .and_then(|reader| {
                                self.read_table(partial, &plan.psql, reader, table, tally)
                            });
                            match read_one {
                                Ok(done) => {
                                    read.lock()[i] = Some(done);
                                }
                                Err(failure) => {
                                    stop.store(true, Ordering::Release);
                                    return Err(failure);
                                }
                            }
                        }
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(StepFailure::new("a table reader panicked")))
            })
        })?;
        Ok(read.into_inner())
    }

    /// The tables whose rows are read, each with its statements and file,
    /// the longest to restore first: a table is done once its rows are in
    /// and its largest index is built (its indexes are built at once, side
    /// by side), so its rows and its largest index are what it costs.
    pub(super) fn tables_to_read(
        &self,
        plan: &StreamDump,
        reader: &mut Connection,
    ) -> Result<Vec<Planned>, StepFailure> {
        if plan.contents.schema_only {
            return Ok(Vec::new());
        }
        // Each table's columns in the source's order, quoted by the
        // server: its rows are read and loaded by name, so a copy whose
        // columns stand in another order (a child table's inherited ones
        // first) gets each value in its column.
        let rows = self.ask(
            &plan.psql,
            reader,
            "SELECT n.nspname, c.relname, format('%I.%I', n.nspname, c.relname), \
             coalesce((SELECT ' (' || string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) || ')' FROM pg_attribute a \
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''), '') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') \
             ORDER BY pg_relation_size(c.oid) + coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0) \
             + coalesce((SELECT max(pg_relation_size(x.indexrelid)) FROM pg_index x WHERE x.indrelid = c.oid), 0) DESC, 1, 2",
        )?;
        let mut tables = Vec::new();
        for row in rows {
            let [schema, table, qualified, columns] = <[String; 4]>::try_from(row)
                .map_err(|row| StepFailure::new(format!("psql listed a table as {row:?}")))?;
            if plan
                .contents
                .exclude_table_data
                .iter()
                .any(|p| matches_pattern(p, &schema, &table))
            {
                continue;
            }
            let sanitized = plan
                .sanitized
                .iter()
                .find(|t| t.schema == schema && t.table == table);
            let file = format!("{}.copy", tables.len() + 1);
            tables.push(match sanitized {
                Some(rule) => Planned {
                    copy_out: rule.copy_out(),
                    copy_in: rule.copy_in(),
                    rule: Some(rule.rule.clone()),
                    schema,
                    table,
                    file,
                },
                None => Planned {
                    copy_out: format!("COPY {qualified}{columns} TO STDOUT"),
                    copy_in: format!("COPY {qualified}{columns} FROM STDIN"),
                    rule: None,
                    schema,
                    table,
                    file,
                },
            });
        }
        Ok(tables)
    }

    /// One table's rows into its file, hashed and counted, published as
    /// they are written.
    fn read_table(
        &self,
        partial: &Partial,
        psql: &Exec,
        reader: &mut Connection,
        table: &Planned,
        tally: &Tally,
    ) -> Result<TableRead, StepFailure> {
        let path = partial.path.join(&table.file);
        let file = create_private(&path).map_err(|e| partial.failure("create", &e))?;
        let hub = self.cx.live.as_deref();
        let index = match hub {
            Some(hub) => Some(hub.start_table(
                &table.schema,
                &table.table,
                &table.copy_in,
                File::open(&path).map_err(|e| partial.failure("open", &e))?,
            )),
            None => None,
        };
        let mut sink = TableSink {
            file: WritebackFile::new(file),
            hasher: Sha256::new(),
            bytes: 0,
            rows: 0,
            hub: hub.zip(index),
            tally,
        };
        // A sanitize rule's SQL was checked with the role's own search
        // path (it may call functions of `public` unqualified), and runs
        // with it; the other tables are read with pg_dump's empty one.
        let search_path = |sql: &str, reader: &mut Connection| {
            reader.execute(sql).map_err(|e| {
                connection::failed(psql, self.cx.secrets, "cannot set the search path", &e)
            })
        };
        if table.rule.is_some() {
            search_path("SET search_path TO DEFAULT", reader)?;
        }
        reader
            .copy_out(&table.copy_out, &mut |rows| sink.write_all(rows))
            .map_err(|e| {
                connection::copy_failed(
                    psql,
                    self.cx.secrets,
                    &format!("reading {}.{} failed", table.schema, table.table),
                    &e,
                )
            })?;
        if table.rule.is_some() {
            search_path(
                "SELECT pg_catalog.set_config('search_path', '', false)",
                reader,
            )?;
        }
        let TableSink {
            file,
            hasher,
            bytes,
            rows,
            ..
        } = sink;
        file.sync().map_err(|e| {
            StepFailure::new(format!(
                "cannot flush {}: {}",
                path.display(),
                describe_io(&e)
            ))
        })?;
        if let (Some(hub), Some(index)) = (hub, index) {
            hub.finish_table(index);
        }
        Ok(TableRead {
            sha: hex::encode(hasher.finalize()),
            bytes,
            rows,
        })
    }
}

/// Where a table's rows go: its file, its hash, its row count, the
/// restore following it, the step's progress.
struct TableSink<'a> {
    file: WritebackFile,
    hasher: Sha256,
    bytes: u64,
    rows: u64,
    hub: Option<(&'a Hub, usize)>,
    tally: &'a Tally,
}

impl Write for TableSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write_all(buf)?;
        self.hasher.update(buf);
        self.rows += memchr::memchr_iter(b'\n', buf).count() as u64;
        self.bytes += buf.len() as u64;
        self.tally.add(buf.len() as u64);
        if let Some((hub, index)) = self.hub {
            hub.wrote(index, self.bytes);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
