//! The stream format's `dump`: one snapshot of the source, held by a
//! `psql` session; the schema from `pg_dump` in that snapshot (the
//! post-data section with its entries described: see
//! `stream_post_data.rs`), and every
//! table's rows read with `COPY ... TO STDOUT`, `jobs` at once, the
//! longest to restore first, each into its own file through SHA-256. When
//! the restore runs in the same process, each part is published as it is
//! written.

use parking_lot::Mutex;
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use super::catalog::PG_DUMP_SETTINGS;
use super::dump::Partial;
use crate::exec::connection;
use crate::exec::live::{Hub, Part};
use crate::exec::process::{self, Output};
use crate::exec::runner::StepRunner;
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::exec::session::Session;
use crate::io::files::{create_private, create_private_dir, describe_io};
use crate::io::tally::Tally;
use crate::io::writeback::WritebackFile;
use crate::plan::{Exec, Step, StreamDump};
use crate::postgres::dump_files::stream::{
    LISTING, POST_DATA, POST_DATA_ENTRIES, PRE_DATA, SEQUENCES, StreamTable,
};
use crate::postgres::libpq::CancelGroup;
use crate::postgres::libpq::Connection;
use crate::postgres::pattern::matches_pattern;
use crate::store::Sums;

/// A table to read: where from, how, into which file.
struct Planned {
    schema: String,
    table: String,
    copy_out: String,
    copy_in: String,
    rule: Option<String>,
    file: String,
}

/// Where the readers write, from which snapshot, when they stop, what
/// they count into.
#[derive(Clone, Copy)]
struct Reading<'a> {
    partial: &'a Partial,
    plan: &'a StreamDump,
    snapshot: &'a str,
    stop: &'a AtomicBool,
    tally: &'a Tally,
}

/// A table read: its file's SHA-256, size and rows.
struct TableRead {
    sha: String,
    bytes: u64,
    rows: u64,
}

impl StepRunner<'_> {
    pub(in crate::exec) fn stream_dump(&self, step: &Step, plan: &StreamDump) -> StepResult {
        let result = self.stream_dump_in(step, plan);
        if let (Err(failure), Some(hub)) = (&result, self.live.as_deref()) {
            hub.fail(&format!("the dump failed: {}", failure.message));
        }
        result
    }

    fn stream_dump_in(&self, step: &Step, plan: &StreamDump) -> StepResult {
        let name = step
            .produces
            .first()
            .map(|a| a.name.clone())
            .ok_or_else(|| StepFailure::new("the dump step names no artifact"))?;
        let partial = Partial::start(self, &name)?;
        create_private_dir(&partial.path).map_err(|e| partial.failure("create", &e))?;
        let outcome = self.stream_into(&partial, &name, plan);
        match outcome {
            Ok((sums, mut report, catalog)) => {
                partial.finish(self, &sums)?;
                report.checksums.extend(self.write_catalog(step, &catalog)?);
                Ok(report)
            }
            Err(failure) => {
                partial.abandon();
                Err(failure)
            }
        }
    }

    fn stream_into(
        &self,
        partial: &Partial,
        name: &str,
        plan: &StreamDump,
    ) -> Result<(Sums, StepReport, crate::postgres::catalog::Catalog), StepFailure> {
        let hub = self.live.as_deref();
        let mut session = Session::open(&plan.psql, self.secrets)?;
        let snapshot = session.export_snapshot()?;
        // The first reader lists the tables and reads the sequences, then
        // reads rows like the others.
        let mut first = self.reader_in_snapshot(&plan.psql, &snapshot)?;
        // The readers' settings make the rows' text: `check = "content"`
        // reads the copy with the same.
        let settings = crate::postgres::catalog::settings(&mut first).map_err(|e| {
            connection::failed(
                &plan.psql,
                self.secrets,
                "cannot read the session's settings",
                &e,
            )
        })?;

        // Both sections from pg_dump beside the tables, from the start:
        // each is published as soon as it is whole (the restore cuts the
        // post-data section into each table's keys before it loads a row,
        // by the entries described beside it).
        let meter = self.meters.get(crate::plan::StepId::Dump);
        let stop = AtomicBool::new(false);
        let section = |exec: &Exec, part: Part| -> Result<Vec<u8>, StepFailure> {
            let sql = self
                .pg_dump_section(exec, &snapshot)
                .inspect_err(|_| stop.store(true, Ordering::Release))?;
            if let Some(hub) = hub {
                hub.publish(part, sql.clone());
            }
            Ok(sql)
        };
        let readers = crate::postgres::libpq::CancelGroup::default();
        let (pre_data, (post_data, post_data_entries), sequences, tables, read, catalog) =
            std::thread::scope(|scope| {
                let catalog = scope
                    .spawn(|| self.source_catalog(&plan.psql, &snapshot, Some(settings), &readers));
                let pre = scope.spawn(|| section(&plan.pre_data, Part::PreData));
                let post = scope.spawn(|| {
                    let (sql, entries) = self
                        .post_data_section(plan, &snapshot)
                        .inspect_err(|_| stop.store(true, Ordering::Release))?;
                    if let Some(hub) = hub {
                        hub.publish(Part::PostDataEntries, entries.clone());
                        hub.publish(Part::PostData, sql.clone());
                    }
                    Ok((sql, entries))
                });
                let listed = self.tables_to_read(plan, &mut first).and_then(|tables| {
                    if let Some(hub) = hub {
                        hub.set_count(tables.len());
                    }
                    let sequences = self.sequences_sql(plan, &mut first)?;
                    Ok((tables, sequences))
                });
                let read = match &listed {
                    Ok((tables, sequences)) => {
                        if let Some(hub) = hub {
                            hub.publish(Part::Sequences, sequences.clone().into_bytes());
                        }
                        let reading = Reading {
                            partial,
                            plan,
                            snapshot: &snapshot,
                            stop: &stop,
                            tally: &meter.done,
                        };
                        self.read_tables(&reading, tables, first)
                    }
                    Err(_) => Ok(Vec::new()),
                };
                fn joined<T>(
                    handle: std::thread::ScopedJoinHandle<'_, Result<T, StepFailure>>,
                ) -> Result<T, StepFailure> {
                    handle
                        .join()
                        .unwrap_or_else(|_| Err(StepFailure::new("pg_dump's reader panicked")))
                }
                let (pre, post) = (joined(pre), joined(post));
                if read.is_err() || pre.is_err() || post.is_err() {
                    readers.cancel();
                }
                let catalog = catalog
                    .join()
                    .unwrap_or_else(|_| Err(StepFailure::new("reading the catalog panicked")));
                let (tables, sequences) = listed?;
                Ok::<_, StepFailure>((pre?, post?, sequences, tables, read?, catalog?))
            })?;
        let mut catalog = catalog;
        catalog.sequences_from_dump(&sequences);
        let mut sums = Sums::new();
        let keep = |sums: &mut Sums, file: &str, bytes: &[u8]| -> Result<(), StepFailure> {
            let path = partial.path.join(file);
            crate::io::files::write_atomically(&path, bytes)
                .map_err(|e| partial.failure("write", &e))?;
            sums.insert(format!("{name}/{file}"), hex::encode(Sha256::digest(bytes)));
            Ok(())
        };
        keep(&mut sums, PRE_DATA, &pre_data)?;
        keep(&mut sums, SEQUENCES, sequences.as_bytes())?;
        keep(&mut sums, POST_DATA, &post_data)?;
        keep(&mut sums, POST_DATA_ENTRIES, &post_data_entries)?;
        session
            .close()
            .map_err(|e| StepFailure::new(format!("cannot end the snapshot's session: {e}")))?;

        let mut listing = Vec::new();
        let (mut bytes, mut rows) = (0, 0);
        for (table, done) in tables.iter().zip(read) {
            let done = done.ok_or_else(|| {
                StepFailure::new(format!("{}.{} was not read", table.schema, table.table))
            })?;
            if let Some(listed) = catalog.table_mut(&table.schema, &table.table) {
                listed.rows = Some(crate::postgres::catalog::Rows {
                    rows: done.rows,
                    sha256: self.content_checked().then(|| done.sha.clone()),
                });
            }
            sums.insert(format!("{name}/{}", table.file), done.sha);
            bytes += done.bytes;
            rows += done.rows;
            listing.push(StreamTable {
                schema: table.schema.clone(),
                table: table.table.clone(),
                file: table.file.clone(),
                rows: done.rows,
                copy_in: table.copy_in.clone(),
                rule: table.rule.clone(),
            });
        }
        let text = serde_json::to_vec_pretty(&listing).unwrap_or_default();
        keep(&mut sums, LISTING, &text)?;
        let sanitized: Vec<String> = tables
            .iter()
            .filter_map(|t| {
                t.rule
                    .as_ref()
                    .map(|r| format!("{}.{} ({r})", t.schema, t.table))
            })
            .collect();
        let report = StepReport {
            bytes,
            checksums: sums.clone(),
            note: Some(format!(
                "{}, {}",
                crate::display::units::count(listing.len() as u64, "table", "tables"),
                crate::display::units::count(rows, "row", "rows")
            )),
            sanitized,
            ..StepReport::default()
        };
        Ok((sums, report, catalog))
    }

    /// Every table's rows into its file, `jobs` readers at once, in the
    /// order given; `first` is the first reader's connection, the others open
    /// theirs for their first table. Stops at the first failure.
    fn read_tables(
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
            let workers: Vec<_> = (0..plan.jobs.max(1))
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

    /// `pg_dump` of one section in the snapshot, as it writes it (SQL, or
    /// an archive).
    pub(super) fn pg_dump_section(
        &self,
        exec: &Exec,
        snapshot: &str,
    ) -> Result<Vec<u8>, StepFailure> {
        let mut exec = exec.clone();
        exec.args.push(format!("--snapshot={snapshot}").into());
        let mut sql = Vec::new();
        process::run(&exec, self.secrets, Output::Into(&mut sql))?;
        Ok(sql)
    }

    /// The tables whose rows are read, each with its statements and file,
    /// the longest to restore first: a table is done once its rows are in
    /// and its largest index is built (its indexes are built at once, side
    /// by side), so its rows and its largest index are what it costs.
    fn tables_to_read(
        &self,
        plan: &StreamDump,
        reader: &mut Connection,
    ) -> Result<Vec<Planned>, StepFailure> {
        if plan.schema_only {
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

    /// A connection to the source in a read-only transaction that sees the
    /// exported `snapshot`.
    pub(super) fn reader_in_snapshot(
        &self,
        psql: &Exec,
        snapshot: &str,
    ) -> Result<Connection, StepFailure> {
        let mut reader = self.source_in_snapshot(psql, snapshot, &CancelGroup::default())?;
        // The rows' text as pg_dump writes it (names in values qualified).
        reader
            .execute(PG_DUMP_SETTINGS)
            .map_err(|e| connection::failed(psql, self.secrets, "cannot set the session up", &e))?;
        Ok(reader)
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
        let hub = self.live.as_deref();
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
                connection::failed(psql, self.secrets, "cannot set the search path", &e)
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
                    self.secrets,
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
