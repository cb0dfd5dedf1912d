//! `dump`: `pg_dump` into the artifacts folder, hashed (and, with an object
//! store, uploaded) as it is written.

use std::fs;
use std::io::{self, BufWriter, Write};

use super::catalog::READER_SETTINGS;
use crate::exec::connection;
use crate::exec::follow::TreeFollower;
use crate::exec::process::{self, Output};
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::compression::{CompressingWriter, Compression};
use crate::io::files::{create_private, create_private_dir, make_private};
use crate::io::hashing::HashingWriter;
use crate::io::tally::{Tally, TallyWriter};
use crate::io::tee::Tee;
use crate::io::writeback::WritebackFile;
use crate::manifest::DumpFormat;
use crate::plan::{self, Exec, Step};
use crate::postgres::dump_files::data::SetvalLines;
use crate::postgres::libpq::CancelGroup;
use crate::store::Sums;
use crate::store::remote::Upload;

use super::catalog::{DumpCatalog, Snapshot, write_catalog};
use super::context::{StepContext, StepWork};
use super::partial::Partial;

/// `dump`: `pg_dump` in a snapshot of the source exported for it, and the
/// dump's catalog read in the same snapshot (its tables' rows counted there
/// while `pg_dump` runs, or, for the directory format, read from the dump's
/// files).
pub(in crate::exec) struct Dump<'a> {
    pub(in crate::exec) step: &'a Step,
    pub(in crate::exec) action: &'a plan::Dump,
}

impl StepWork for Dump<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        let (step, exec) = (self.step, &self.action.dump);
        let reading = DumpCatalog {
            secrets: cx.secrets,
            contents: &self.action.contents,
        };
        let failed = |e| connection::failed(exec, cx.secrets, "cannot export a snapshot", &e);
        let mut exporter = connection::connect(exec, cx.secrets)?;
        exporter
            .execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .map_err(failed)?;
        let snapshot = exporter
            .query("SELECT pg_export_snapshot()")
            .map_err(failed)?
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten())
            .ok_or_else(|| StepFailure::new("the source exported no snapshot"))?;
        let mut exec = exec.clone();
        exec.args.push(format!("--snapshot={snapshot}").into());
        exporter.execute(READER_SETTINGS).map_err(failed)?;
        let format = self.action.contents.format;
        let directory = format == DumpFormat::Directory;
        let readers = CancelGroup::default();
        let mut setvals = SetvalLines::default();
        let at = Snapshot {
            exec: &exec,
            name: &snapshot,
            readers: &readers,
        };
        let (written, catalog) = at.read_while(
            || {
                let mut catalog = reading.source_catalog(at, None)?;
                if !directory {
                    reading.count_in_snapshot(at, &mut catalog)?;
                }
                Ok(catalog)
            },
            || dump_files(cx, step, &exec, format, Some(&mut setvals)),
        );
        let mut report = written?;
        let mut catalog = catalog?;
        let dumped = step
            .produces
            .first()
            .map(|a| cx.artifacts.join(&a.name))
            .ok_or_else(|| StepFailure::new("the dump step names no artifact"))?;
        match format {
            DumpFormat::Directory => reading.rows_from_files(&dumped, &mut catalog)?,
            DumpFormat::Custom => {
                reading.rows_as_listed(&dumped, &mut catalog)?;
                reading.count_in_snapshot(at, &mut catalog)?;
            }
            _ => {}
        }
        drop(exporter);
        let values = match format {
            DumpFormat::Directory | DumpFormat::Custom => reading.sequence_values(&dumped)?,
            _ => setvals.finish(),
        };
        catalog.sequences_from_dump(&values);
        report.checksums.extend(write_catalog(cx, step, &catalog)?);
        Ok(report)
    }
}

/// `pg_dump` into `NAME.partial`, hashed on the way (for the directory
/// format, each file followed as `pg_dump` writes it), then renamed.
/// A plain dump's `setval` lines are kept in `setvals` as they pass.
pub(super) fn dump_files(
    cx: &StepContext<'_>,
    step: &Step,
    exec: &Exec,
    format: DumpFormat,
    setvals: Option<&mut SetvalLines>,
) -> StepResult {
    let artifact = step
        .produces
        .first()
        .ok_or_else(|| StepFailure::new("the dump step names no artifact"))?;
    let meter = &cx.meter;
    if let Some(stream) = &exec.stdout {
        return stream_artifact(
            cx,
            &artifact.name,
            stream.compression,
            &meter.done,
            |sink| match setvals {
                Some(setvals) => {
                    let mut see = |bytes: &[u8]| setvals.update(bytes);
                    let mut seen = Seen {
                        sink,
                        see: &mut see,
                    };
                    process::run(exec, cx.secrets, Output::Into(&mut seen))
                }
                None => process::run(exec, cx.secrets, Output::Into(sink)),
            },
        );
    }
    let partial = Partial::start(cx, &artifact.name)?;
    if format == DumpFormat::Custom {
        return dump_file(cx, exec, partial, &meter.done);
    }
    // pg_dump accepts an empty folder; creating it first lets the files
    // be followed (and keeps the folder private).
    create_private_dir(&partial.path).map_err(|e| partial.failure("create", &e))?;
    let follower = TreeFollower::start(
        partial.path.clone(),
        artifact.name.clone(),
        meter.done.clone(),
    );
    let ran = process::run(exec, cx.secrets, Output::Discard);
    let followed = follower.finish();
    if let Err(failure) = ran {
        partial.abandon();
        return Err(failure);
    }
    make_private(&partial.path).map_err(|e| partial.failure("protect", &e))?;
    let (sums, bytes) = followed.map_err(|e| partial.failure("hash", &e))?;
    partial.finish(cx, &sums)?;
    Ok(StepReport {
        bytes,
        checksums: sums,
        ..StepReport::default()
    })
}

/// A custom-format dump: `pg_dump` writes the file itself (it goes back
/// to write each table's data offset), then the file is hashed, with
/// the meter counting its bytes.
fn dump_file(cx: &StepContext<'_>, exec: &Exec, partial: Partial, tally: &Tally) -> StepResult {
    // Created first so that it is private from the start.
    create_private(&partial.path).map_err(|e| partial.failure("create", &e))?;
    if let Err(failure) = process::run(exec, cx.secrets, Output::Discard) {
        partial.abandon();
        return Err(failure);
    }
    let file = fs::File::open(&partial.path).map_err(|e| partial.failure("read", &e))?;
    file.sync_all().map_err(|e| partial.failure("flush", &e))?;
    let reader = crate::io::tally::TallyReader::new(file, tally.clone());
    let (sha, bytes) =
        crate::io::hashing::hash_reader(reader).map_err(|e| partial.failure("hash", &e))?;
    let sums = Sums::from([(partial.name.clone(), sha)]);
    partial.finish(cx, &sums)?;
    Ok(StepReport {
        bytes,
        checksums: sums,
        ..StepReport::default()
    })
}

/// Writes the artifact `name` from a stream: `fill` writes into a sink
/// that compresses and hashes on the way into `NAME.partial`, which is
/// flushed, renamed and recorded when `fill` succeeds, removed when it
/// fails. `tally` counts the bytes written, before compression.
pub(super) fn stream_artifact(
    cx: &StepContext<'_>,
    name: &str,
    compression: Compression,
    tally: &Tally,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), StepFailure>,
) -> StepResult {
    let partial = Partial::start(cx, name)?;
    let file = create_private(&partial.path).map_err(|e| partial.failure("create", &e))?;
    let upload = cx
        .artifacts
        .upload_while_writing(name)
        .map_err(|e| partial.failure("upload", &e))?;
    let mut sink = CompressingWriter::new(
        HashingWriter::new(BufWriter::with_capacity(
            1 << 20,
            Tee::new(WritebackFile::new(file), upload),
        )),
        compression,
    )
    .map_err(|e| partial.failure("write", &e))?;
    if let Err(failure) = fill(&mut TallyWriter::new(&mut sink, tally)) {
        partial.abandon();
        return Err(failure);
    }
    let (buffered, sha, bytes) = sink
        .finish()
        .map_err(|e| partial.failure("write", &e))?
        .finish();
    let (file, upload) = buffered
        .into_inner()
        .map_err(|e| partial.failure("write", e.error()))?
        .into_parts();
    file.sync().map_err(|e| partial.failure("flush", &e))?;
    let tag = upload
        .map(Upload::finish)
        .transpose()
        .map_err(|e| partial.failure("upload", &e))?
        .flatten();
    let sums = Sums::from([(name.to_owned(), sha)]);
    partial.finish_uploaded(cx, &sums, tag)?;
    Ok(StepReport {
        bytes,
        checksums: sums,
        ..StepReport::default()
    })
}

/// A sink that also shows `see` every byte written through it.
pub(super) struct Seen<'a> {
    pub(super) sink: &'a mut dyn Write,
    pub(super) see: &'a mut dyn FnMut(&[u8]),
}

impl Write for Seen<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.sink.write(buf)?;
        (self.see)(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}
