//! The dump's catalog (`<db>.catalog.json`): the source's catalog read in
//! the dump's own snapshot, with the rows the dump carries for each table
//! (from its data files, counted as written, or counted in that snapshot),
//! written beside the dump and checksummed like it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::exec::connection;
use crate::exec::scheduler::StepFailure;
use crate::io::compression::Compression;
use crate::manifest::DumpFormat;
use crate::plan::{ArtifactKind, DumpContents, Exec, Step};
use crate::postgres::catalog::{self, Catalog, CopyText, Rows, TableCounts};
use crate::postgres::dump_files::data::{data_file, list};
use crate::postgres::dump_files::toc::ListKind;
use crate::postgres::libpq::{CancelGroup, Connection};
use crate::postgres::pattern::matches_pattern;
use crate::postgres::quote::sql_literal;
use crate::postgres::{Secrets, Tools};
use crate::store::Sums;

use super::context::StepContext;
use super::partial::Partial;

/// The settings `pg_dump` sets in its sessions: the text of the rows it
/// writes depends on them, and so does a `COPY` that is to match it.
pub(in crate::exec) const PG_DUMP_SETTINGS: &str = "SET DateStyle = ISO; SET IntervalStyle = postgres; \
     SET extra_float_digits = 3; SELECT pg_catalog.set_config('search_path', '', false)";

/// What `pg_dump` also sets, in every session that reads the source.
pub(in crate::exec) use crate::postgres::catalog::READER_SETTINGS;

/// The dump's snapshot of the source: where `exec` (a `pg_dump` or
/// `psql`) connects, the snapshot's name, and the readers that a failure
/// of the dump cancels.
#[derive(Clone, Copy)]
pub(in crate::exec) struct Snapshot<'a> {
    pub(in crate::exec) exec: &'a Exec,
    pub(in crate::exec) name: &'a str,
    pub(in crate::exec) readers: &'a CancelGroup,
}

impl Snapshot<'_> {
    /// A connection on the source in a read-only transaction that sees
    /// the snapshot.
    pub(in crate::exec) fn connect(self, secrets: &Secrets) -> Result<Connection, StepFailure> {
        let Snapshot {
            exec,
            name: snapshot,
            readers: group,
        } = self;
        let mut reader = connection::connect(exec, secrets)?;
        group
            .join(&reader)
            .map_err(|e| connection::failed(exec, secrets, "stopped", &e))?;
        reader
            .execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT {}",
                sql_literal(snapshot)
            ))
            .map_err(|e| {
                connection::failed(exec, secrets, "cannot share the dump's snapshot", &e)
            })?;
        reader
            .execute(READER_SETTINGS)
            .map_err(|e| connection::failed(exec, secrets, "cannot set the session up", &e))?;
        Ok(reader)
    }

    /// Runs `dump` while `read` reads the catalog in a thread of its own;
    /// a dump that fails cancels the readers. Both results, the dump's
    /// first.
    pub(in crate::exec) fn read_while<T>(
        self,
        read: impl FnOnce() -> Result<Catalog, StepFailure> + Send,
        dump: impl FnOnce() -> Result<T, StepFailure>,
    ) -> (Result<T, StepFailure>, Result<Catalog, StepFailure>) {
        std::thread::scope(|scope| {
            let catalog = scope.spawn(read);
            let dumped = dump();
            if dumped.is_err() {
                self.readers.cancel();
            }
            let catalog = catalog
                .join()
                .unwrap_or_else(|_| Err(StepFailure::new("reading the catalog panicked")));
            (dumped, catalog)
        })
    }
}

/// The source's catalog read for a dump, as its contents say: what it
/// leaves out, whether rows are hashed, how many sessions count them.
pub(in crate::exec) struct DumpCatalog<'a> {
    pub(in crate::exec) secrets: &'a Secrets,
    pub(in crate::exec) contents: &'a DumpContents,
}

impl DumpCatalog<'_> {
    /// Where `pg_restore` lists the dump.
    fn tools(&self) -> Tools {
        Tools {
            bindir: self.contents.bindir.clone(),
        }
    }

    /// The source's catalog in the snapshot, its tables not counted yet.
    /// `settings` are those the rows' text is written with; `None`:
    /// `pg_dump`'s.
    pub(in crate::exec) fn source_catalog(
        &self,
        at: Snapshot<'_>,
        settings: Option<BTreeMap<String, String>>,
    ) -> Result<Catalog, StepFailure> {
        let exec = at.exec;
        let failed =
            |e| connection::failed(exec, self.secrets, "cannot read the source's catalog", &e);
        let mut reader = at.connect(self.secrets)?;
        let settings = match settings {
            Some(settings) => settings,
            None => {
                reader.execute(PG_DUMP_SETTINGS).map_err(failed)?;
                catalog::settings(&mut reader).map_err(failed)?
            }
        };
        let contents = !self.contents.schema_only;
        let mut catalog = catalog::read(&mut reader, settings, contents).map_err(failed)?;
        self.leave_out(&mut catalog);
        Ok(catalog)
    }

    /// What the dump leaves out: every table's rows under a schema-only
    /// dump (and the rest `pg_dump` writes in its data section), the rows
    /// of the tables `exclude_table_data` names (for the directory format,
    /// its table of contents says so instead: see [`Self::rows_from_files`]).
    fn leave_out(&self, catalog: &mut Catalog) {
        let include = self.contents;
        let empty = Rows {
            rows: 0,
            sha256: include.hashed.then(catalog::empty_sha256),
        };
        if include.schema_only {
            for table in &mut catalog.tables {
                table.rows = Some(empty.clone());
            }
            catalog.schema_only();
            return;
        }
        if include.format == DumpFormat::Directory {
            return;
        }
        for table in &mut catalog.tables {
            if include
                .exclude_table_data
                .iter()
                .any(|p| matches_pattern(p, &table.schema, &table.name))
            {
                table.rows = Some(empty.clone());
            }
        }
    }

    /// Counts (or hashes) in the snapshot the rows of every table not
    /// counted yet, as the dump wrote them in the same snapshot.
    pub(in crate::exec) fn count_in_snapshot(
        &self,
        at: Snapshot<'_>,
        catalog: &mut Catalog,
    ) -> Result<(), StepFailure> {
        let settings = catalog.settings.clone();
        let open = || {
            at.connect(self.secrets)
                .map_err(|f| crate::postgres::libpq::PqError(f.message))
        };
        // The tables counted are locked as pg_dump locks them, for as long
        // as the counts take: a table emptied or rewritten meanwhile
        // (`TRUNCATE`, some `ALTER TABLE`) would read as empty in the
        // snapshot once pg_dump has let it go.
        let names: Vec<[&str; 2]> = catalog
            .tables
            .iter()
            .filter(|t| t.rows.is_none())
            .map(|t| [t.schema.as_str(), t.name.as_str()])
            .collect();
        let exec = at.exec;
        let mut locker = at.connect(self.secrets)?;
        if !names.is_empty() {
            let json = serde_json::to_string(&names).unwrap_or_else(|_| "[]".into());
            let lock = locker
                .query_params(
                    "SELECT format('LOCK TABLE %s IN ACCESS SHARE MODE', \
                     string_agg(format('ONLY %I.%I', t->>0, t->>1), ', ')) FROM json_array_elements($1::json) t",
                    &[&json],
                )
                .map_err(|e| connection::failed(exec, self.secrets, "cannot lock the tables", &e))?
                .into_iter()
                .next()
                .and_then(|row| row.into_iter().next().flatten())
                .unwrap_or_default();
            locker.execute(&lock).map_err(|e| {
                connection::failed(exec, self.secrets, "cannot lock the tables", &e)
            })?;
        }
        catalog::count_tables(
            TableCounts {
                tables: &mut catalog.tables,
                content: self.contents.hashed.then_some(&settings),
                sessions: usize::try_from(self.contents.jobs).unwrap_or(1),
            },
            &open,
        )
        .map_err(|e| connection::failed(exec, self.secrets, "cannot count the source's rows", &e))
        .inspect(|()| drop(locker))
    }

    /// The rows of a directory dump's tables, from its data files: those
    /// its table of contents lists (by the table's object id), every other
    /// table none.
    pub(in crate::exec) fn rows_from_files(
        &self,
        dir: &Path,
        catalog: &mut Catalog,
    ) -> Result<(), StepFailure> {
        let entries = list(&self.tools(), dir)
            .map_err(|e| StepFailure::new(format!("cannot list the dump: {e}")))?;
        let hash = self.contents.hashed;
        let mut files = BTreeMap::new();
        for entry in entries.iter().filter(|e| e.kind == ListKind::TableData) {
            let file = data_file(dir, entry.dump_id)
                .map_err(|e| StepFailure::new(format!("cannot read the dump: {e}")))?;
            files.insert(entry.oid, file);
        }
        let todo: Vec<usize> = (0..catalog.tables.len())
            .filter(|&i| catalog.tables[i].rows.is_none())
            .collect();
        let read = |i: &usize| -> Result<(usize, Rows), StepFailure> {
            let Some((path, compression)) = files.get(&catalog.tables[*i].oid) else {
                let sha256 = hash.then(catalog::empty_sha256);
                return Ok((*i, Rows { rows: 0, sha256 }));
            };
            let rows = read_copy_file(path, *compression, hash)
                .map_err(|e| StepFailure::new(format!("cannot read {}: {e}", path.display())))?;
            Ok((*i, rows))
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let counted: Vec<Result<(usize, Rows), StepFailure>> = std::thread::scope(|scope| {
            let chunks: Vec<&[usize]> = todo.chunks(todo.len().div_ceil(threads).max(1)).collect();
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| scope.spawn(move || chunk.iter().map(read).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join().unwrap_or_else(|_| {
                        vec![Err(StepFailure::new("counting a dump's rows panicked"))]
                    })
                })
                .collect()
        });
        for result in counted {
            let (i, rows) = result?;
            catalog.tables[i].rows = Some(rows);
        }
        Ok(())
    }

    /// The rows of a custom dump's tables as its table of contents lists
    /// their data (by the table's object id): a table it carries no rows of
    /// has none; one it carries but `exclude_table_data` seemed to name is
    /// counted after all (by [`Self::count_in_snapshot`]).
    pub(in crate::exec) fn rows_as_listed(
        &self,
        path: &Path,
        catalog: &mut Catalog,
    ) -> Result<(), StepFailure> {
        let listed: std::collections::BTreeSet<u32> = list(&self.tools(), path)
            .map_err(|e| StepFailure::new(format!("cannot list the dump: {e}")))?
            .into_iter()
            .filter(|e| e.kind == ListKind::TableData)
            .map(|e| e.oid)
            .collect();
        let empty = Rows {
            rows: 0,
            sha256: self.contents.hashed.then(catalog::empty_sha256),
        };
        let patterns = &self.contents.exclude_table_data;
        for table in &mut catalog.tables {
            if !listed.contains(&table.oid) {
                table.rows = Some(empty.clone());
            } else if patterns
                .iter()
                .any(|p| matches_pattern(p, &table.schema, &table.name))
            {
                table.rows = None;
            }
        }
        Ok(())
    }

    /// The sequence values a directory or custom dump carries.
    pub(in crate::exec) fn sequence_values(&self, path: &Path) -> Result<String, StepFailure> {
        crate::postgres::dump_files::data::sequence_values(&self.tools(), path)
            .map_err(|e| StepFailure::new(format!("cannot read the dump's sequence values: {e}")))
    }
}

/// Writes the catalog artifact the step `step` produces; its sums.
pub(in crate::exec) fn write_catalog(
    cx: &StepContext<'_>,
    step: &Step,
    catalog: &Catalog,
) -> Result<Sums, StepFailure> {
    let name = step
        .produces
        .iter()
        .find(|a| a.kind == ArtifactKind::Catalog)
        .map(|a| a.name.clone())
        .ok_or_else(|| StepFailure::new("the dump step names no catalog"))?;
    let partial = Partial::start(cx, &name)?;
    let text = catalog.to_json();
    crate::io::files::write_atomically(&partial.path, &text)
        .map_err(|e| partial.failure("write", &e))?;
    let sums = Sums::from([(
        name,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&text)),
    )]);
    partial.finish(cx, &sums)?;
    Ok(sums)
}

/// The rows of a file of `COPY` text (and their SHA-256 with `hash`).
pub(in crate::exec) fn read_copy_file(
    path: &Path,
    compression: Compression,
    hash: bool,
) -> std::io::Result<Rows> {
    let mut reader = compression.decoder(File::open(path)?)?;
    if !hash {
        let rows = crate::postgres::dump_files::data::count_copy_rows(reader)?;
        return Ok(Rows { rows, sha256: None });
    }
    let mut text = CopyText::default();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            return Ok(text.finish());
        }
        text.update(&buffer[..n]);
    }
}
