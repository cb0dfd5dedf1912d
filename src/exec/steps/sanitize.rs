//! A sanitized `dump`: one snapshot of the source, exported by a `psql`
//! session that stays open; `pg_dump` without the sanitized tables' rows
//! and each of those tables read through its rule, both in that snapshot.
//! The rows a rule replaces or leaves out never leave the source server.

use std::io::{self, BufWriter, Write};

use crate::exec::process::{self, Output};
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::exec::session::{Session, in_snapshot};
use crate::io::files::{create_private, create_private_dir, write_atomically};
use crate::io::hashing::HashingWriter;
use crate::io::writeback::WritebackFile;
use crate::plan::{self, Exec, SanitizedTable, Step};
use crate::postgres::dump_files::sanitized::{LISTING, Listed};
use crate::store::Sums;

use super::catalog::{DumpCatalog, Snapshot, read_copy_file, write_catalog};
use super::context::{StepContext, StepWork};
use super::dump::{Seen, dump_files, stream_artifact};
use super::partial::Partial;
use crate::io::compression::Compression;
use crate::manifest::DumpFormat;
use crate::postgres::catalog::{CopyText, Rows};
use crate::postgres::dump_files::data::SetvalLines;
use crate::postgres::libpq::CancelGroup;

/// `dump` with `[sanitize]`.
pub(in crate::exec) struct SanitizedDump<'a> {
    pub(in crate::exec) step: &'a Step,
    pub(in crate::exec) action: &'a plan::SanitizedDump,
}

impl StepWork for SanitizedDump<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        let (step, plan) = (self.step, self.action);
        let plan::SanitizedDump {
            dump,
            psql,
            tables,
            contents,
            ..
        } = plan;
        let reading = DumpCatalog {
            secrets: cx.secrets,
            contents,
        };
        let mut session = Session::open(psql, cx.secrets)?;
        let snapshot = session.export_snapshot()?;
        let with_snapshot = |exec: &Exec| {
            let mut exec = exec.clone();
            exec.args.push(format!("--snapshot={snapshot}").into());
            exec
        };
        let dump = with_snapshot(dump);
        let readers = CancelGroup::default();
        let at = Snapshot {
            exec: psql,
            name: &snapshot,
            readers: &readers,
        };
        let (report, catalog) = at.read_while(
            || reading.source_catalog(at, None),
            || self.sanitized_files(cx, &dump, &snapshot),
        );
        let (mut report, sanitized_rows, setvals) = report?;
        let mut catalog = catalog?;
        // The sanitized tables' rows are not in pg_dump's part of the dump
        // (its table of contents lists none), but beside it.
        let sanitized = |catalog: &mut crate::postgres::catalog::Catalog| {
            for (table, rows) in tables.iter().zip(&sanitized_rows) {
                if let Some(listed) = catalog.table_mut(&table.schema, &table.table) {
                    listed.rows = Some(rows.clone());
                }
            }
        };
        sanitized(&mut catalog);
        let dumped = step
            .produces
            .first()
            .map(|a| cx.artifacts.join(&a.name))
            .ok_or_else(|| StepFailure::new("the dump step names no artifact"))?;
        let values = match contents.format {
            DumpFormat::Directory => {
                reading.rows_from_files(&dumped, &mut catalog)?;
                reading.sequence_values(&dumped)?
            }
            DumpFormat::Custom => {
                reading.rows_as_listed(&dumped, &mut catalog)?;
                sanitized(&mut catalog);
                reading.count_in_snapshot(at, &mut catalog)?;
                reading.sequence_values(&dumped)?
            }
            _ => {
                reading.count_in_snapshot(at, &mut catalog)?;
                setvals
            }
        };
        catalog.sequences_from_dump(&values);
        report.checksums.extend(write_catalog(cx, step, &catalog)?);
        session
            .close()
            .map_err(|e| StepFailure::new(format!("cannot end the snapshot's session: {e}")))?;
        report.sanitized = tables
            .iter()
            .map(|t| format!("{}.{} ({})", t.schema, t.table, t.rule))
            .collect();
        report.note = Some(format!(
            "sanitized: {}",
            crate::display::units::count(tables.len() as u64, "table", "tables")
        ));
        Ok(report)
    }
}

impl SanitizedDump<'_> {
    /// The sanitized dump's files, and the rows (and content) each
    /// sanitized table was given, in the order of `plan.tables`.
    fn sanitized_files(
        &self,
        cx: &StepContext<'_>,
        dump: &Exec,
        snapshot: &str,
    ) -> Result<(StepReport, Vec<Rows>, String), StepFailure> {
        let step = self.step;
        let plan::SanitizedDump {
            post_data,
            psql,
            tables,
            folder,
            contents,
            ..
        } = self.action;
        let (post_data, folder) = (post_data.as_ref(), folder.as_ref());
        let with_snapshot = |exec: &Exec| {
            let mut exec = exec.clone();
            exec.args.push(format!("--snapshot={snapshot}").into());
            exec
        };
        let hash = contents.hashed;
        let mut rows = Vec::new();
        let mut setvals = SetvalLines::default();
        let report = match post_data {
            // Plain: one file, the sanitized rows between the data and the
            // post-data sections.
            Some(post) => {
                let post = with_snapshot(post);
                let name = step
                    .produces
                    .first()
                    .map(|a| a.name.clone())
                    .ok_or_else(|| StepFailure::new("the dump step names no artifact"))?;
                let compression = dump
                    .stdout
                    .as_ref()
                    .map_or(crate::io::compression::Compression::None, |s| s.compression);
                stream_artifact(cx, &name, compression, &cx.meter.done, |sink| {
                    let mut see = |bytes: &[u8]| setvals.update(bytes);
                    let mut seen = Seen {
                        sink: &mut *sink,
                        see: &mut see,
                    };
                    process::run(dump, cx.secrets, Output::Into(&mut seen))?;
                    for table in tables {
                        write_block_start(sink, table)
                            .map_err(|e| StepFailure::new(format!("cannot write the dump: {e}")))?;
                        let mut text = CopyText::default();
                        let mut see = |bytes: &[u8]| text.update(bytes);
                        let mut counted = Seen {
                            sink: &mut *sink,
                            see: &mut see,
                        };
                        copy_out(cx, psql, table, snapshot, &mut counted)?;
                        let mut table_rows = text.finish();
                        if !hash {
                            table_rows.sha256 = None;
                        }
                        rows.push(table_rows);
                        sink.write_all(b"\\.\n\n")
                            .map_err(|e| StepFailure::new(format!("cannot write the dump: {e}")))?;
                    }
                    let mut see = |bytes: &[u8]| setvals.update(bytes);
                    let mut seen = Seen {
                        sink,
                        see: &mut see,
                    };
                    process::run(&post, cx.secrets, Output::Into(&mut seen))
                })?
            }
            None => {
                let mut report = dump_files(cx, step, dump, contents.format, None)?;
                if let Some(folder) = folder {
                    let name = step
                        .produces
                        .get(1)
                        .map(|a| a.name.clone())
                        .ok_or_else(|| {
                            StepFailure::new("the dump step names no sanitized folder")
                        })?;
                    let written = write_folder(cx, &name, psql, tables, snapshot)?;
                    report.bytes += written.bytes;
                    report.checksums.extend(written.checksums);
                    for table in tables {
                        let path = folder.join(&table.file);
                        let table_rows =
                            read_copy_file(&path, Compression::None, hash).map_err(|e| {
                                StepFailure::new(format!("cannot read {}: {e}", path.display()))
                            })?;
                        rows.push(table_rows);
                    }
                }
                report
            }
        };
        Ok((report, rows, setvals.finish()))
    }
}

/// `COPY (SELECT ...) TO STDOUT` of one table, in the shared snapshot,
/// into `sink`.
fn copy_out(
    cx: &StepContext<'_>,
    psql: &Exec,
    table: &SanitizedTable,
    snapshot: &str,
    sink: &mut dyn Write,
) -> Result<(), StepFailure> {
    let exec = in_snapshot(psql, snapshot, &table.copy_out());
    process::run(&exec, cx.secrets, Output::Into(sink)).map_err(|mut failure| {
        failure.message = format!(
            "reading {} through its rule ({}) failed: {}",
            table.qualified(),
            table.rule,
            failure.message
        );
        failure
    })
}

/// The folder of sanitized rows: a file a table and `tables.json`,
/// written as `NAME.partial` and renamed when complete.
fn write_folder(
    cx: &StepContext<'_>,
    name: &str,
    psql: &Exec,
    tables: &[SanitizedTable],
    snapshot: &str,
) -> StepResult {
    let partial = Partial::start(cx, name)?;
    create_private_dir(&partial.path).map_err(|e| partial.failure("create", &e))?;
    let mut sums = Sums::new();
    let mut bytes = 0;
    for table in tables {
        let path = partial.path.join(&table.file);
        let file = create_private(&path).map_err(|e| partial.failure("create", &e))?;
        let mut sink =
            HashingWriter::new(BufWriter::with_capacity(1 << 20, WritebackFile::new(file)));
        if let Err(failure) = copy_out(cx, psql, table, snapshot, &mut sink) {
            partial.abandon();
            return Err(failure);
        }
        let (buffered, sha, n) = sink.finish();
        buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(WritebackFile::sync)
            .map_err(|e| partial.failure("write", &e))?;
        sums.insert(format!("{name}/{}", table.file), sha);
        bytes += n;
    }
    let listing: Vec<Listed> = tables
        .iter()
        .map(|t| Listed {
            schema: t.schema.clone(),
            table: t.table.clone(),
            file: t.file.clone(),
            rule: t.rule.clone(),
        })
        .collect();
    let text = serde_json::to_vec_pretty(&listing).unwrap_or_default();
    write_atomically(&partial.path.join(LISTING), &text)
        .map_err(|e| partial.failure("write", &e))?;
    sums.insert(
        format!("{name}/{LISTING}"),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&text)),
    );
    partial.finish(cx, &sums)?;
    Ok(StepReport {
        bytes,
        checksums: sums,
        ..StepReport::default()
    })
}

/// The lines before a table's rows in a plain dump, as `pg_dump` writes
/// them (`check` and people read the comment the same way).
fn write_block_start(sink: &mut dyn Write, table: &SanitizedTable) -> io::Result<()> {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| crate::postgres::quote::sql_identifier(c))
        .collect();
    write!(
        sink,
        "\n--\n-- Data for Name: {}; Type: TABLE DATA; Schema: {}; Owner: -\n-- Sanitized by replicate ({})\n--\n\nCOPY {} ({}) FROM stdin;\n",
        table.table,
        table.schema,
        table.rule,
        table.qualified(),
        columns.join(", ")
    )
}
