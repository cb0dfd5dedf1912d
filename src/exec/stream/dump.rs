//! The stream format's `dump`: one snapshot of the source, held by a
//! `psql` session; the schema from `pg_dump` in that snapshot (the
//! post-data section with its entries described: see [`super::post_data`]),
//! and every table's rows read with `COPY ... TO STDOUT` (see
//! [`super::tables`]), `jobs` at once, the longest to restore first, each
//! into its own file through SHA-256. When the restore runs in the same
//! process, each part is published as it is written.

use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use super::Stream;
use super::hub::Part;
use super::tables::Reading;
use crate::exec::connection;
use crate::exec::process::{self, Output};
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::exec::session::Session;
use crate::exec::steps;
use crate::exec::steps::{PG_DUMP_SETTINGS, Partial};
use crate::io::files::create_private_dir;
use crate::plan::{Exec, Step, StreamDump};
use crate::postgres::dump_files::stream::{
    LISTING, POST_DATA, POST_DATA_ENTRIES, PRE_DATA, SEQUENCES, StreamTable,
};
use crate::postgres::libpq::{CancelGroup, Connection};
use crate::store::Sums;

impl Stream<'_> {
    pub(in crate::exec) fn stream_dump(&self, step: &Step, plan: &StreamDump) -> StepResult {
        let result = self.stream_dump_in(step, plan);
        if let (Err(failure), Some(hub)) = (&result, self.cx.live.as_deref()) {
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
        let partial = Partial::start(self.cx, &name)?;
        create_private_dir(&partial.path).map_err(|e| partial.failure("create", &e))?;
        let outcome = self.stream_into(&partial, &name, plan);
        match outcome {
            Ok((sums, mut report, catalog)) => {
                partial.finish(self.cx, &sums)?;
                report
                    .checksums
                    .extend(steps::write_catalog(self.cx, step, &catalog)?);
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
        let hub = self.cx.live.as_deref();
        let mut session = Session::open(&plan.psql, self.cx.secrets)?;
        let snapshot = session.export_snapshot()?;
        // The first reader lists the tables and reads the sequences, then
        // reads rows like the others.
        let mut first = self.reader_in_snapshot(&plan.psql, &snapshot)?;
        // The readers' settings make the rows' text: `check = "content"`
        // reads the copy with the same.
        let settings = crate::postgres::catalog::settings(&mut first).map_err(|e| {
            connection::failed(
                &plan.psql,
                self.cx.secrets,
                "cannot read the session's settings",
                &e,
            )
        })?;

        // Both sections from pg_dump beside the tables, from the start:
        // each is published as soon as it is whole (the restore cuts the
        // post-data section into each table's keys before it loads a row,
        // by the entries described beside it).
        let meter = &self.cx.meter;
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
                let catalog =
                    scope.spawn(|| self.source_catalog(plan, &snapshot, Some(settings), &readers));
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
                    sha256: plan.contents.hashed.then(|| done.sha.clone()),
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
        process::run(&exec, self.cx.secrets, Output::Into(&mut sql))?;
        Ok(sql)
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
        reader.execute(PG_DUMP_SETTINGS).map_err(|e| {
            connection::failed(psql, self.cx.secrets, "cannot set the session up", &e)
        })?;
        Ok(reader)
    }
}
