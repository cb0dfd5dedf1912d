//! The real work of each step, behind the [`Runner`] trait.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::artifacts::{ArtifactsDir, Sums, create_private, partial_path, remove_any};
use crate::exec::follow::TreeFollower;
use crate::exec::process::{self, Output, Secrets};
use crate::exec::scheduler::{Runner, StepFailure, StepReport, StepResult};
use crate::hashing::HashingWriter;
use crate::manifest::{Compression, Manifest};
use crate::media::{self, sums_file};
use crate::plan::{Action, Exec, Step, StepId};
use crate::psql;
use crate::quote::sql_literal;
use crate::units::count;
use crate::writeback::WritebackFile;

/// Runs steps for real: child programs, files, checksums.
pub struct StepRunner<'a> {
    pub manifest: &'a Manifest,
    pub artifacts: &'a ArtifactsDir,
    pub secrets: &'a Secrets,
}

impl Runner for StepRunner<'_> {
    fn run(&self, step: &Step) -> StepResult {
        self.run_step(step).map_err(|mut failure| {
            if let Some(side) = self.server_of(step.id) {
                failure.message.push_str(&format!(" [{side}]"));
            }
            failure
        })
    }
}

impl StepRunner<'_> {
    /// Which server a step talks to, for its error message.
    fn server_of(&self, id: StepId) -> Option<String> {
        let (side, url) = match id {
            StepId::Dump => ("source", &self.manifest.source.database),
            StepId::Drop | StepId::Create | StepId::Restore => {
                ("target", &self.manifest.target.database)
            }
            _ => return None,
        };
        Some(format!(
            "{side} server {}, database {}",
            url.server_label(),
            url.database()
        ))
    }

    fn run_step(&self, step: &Step) -> StepResult {
        match &step.action {
            Action::Exec(exec) => match step.id {
                StepId::Dump => self.dump(step, exec),
                StepId::Drop => self.drop(exec),
                StepId::Restore => self.restore(step, exec),
                _ => {
                    process::run(exec, self.secrets, Output::Discard)?;
                    Ok(StepReport::default())
                }
            },
            Action::Verify { .. } => self.verify(step),
            // The archive runs at the normal priority: `verify` waits for
            // both it and the dump, so neither should lag behind the other.
            Action::Archive {
                from, compression, ..
            } => self.archive(step, from, *compression),
            Action::Extract {
                archive,
                compression,
                into,
                file_sums,
            } => {
                yield_cpu();
                self.extract(step, archive, *compression, into, file_sums)
            }
        }
    }

    /// `pg_dump` into `NAME.partial`, hashed on the way (for the directory
    /// format, each file followed as `pg_dump` writes it), then renamed.
    fn dump(&self, step: &Step, exec: &Exec) -> StepResult {
        let artifact = step
            .produces
            .first()
            .ok_or_else(|| StepFailure::new("the dump step names no artifact"))?;
        let name = artifact.name.as_str();
        let final_path = self.artifacts.join(name);
        let partial = partial_path(&final_path);
        let io_failure = |what: &str, e: io::Error| {
            let _ = remove_any(&partial);
            StepFailure::new(format!(
                "cannot {what} {}: {}",
                partial.display(),
                process::describe_io(&e)
            ))
        };
        self.artifacts
            .forget(name)
            .map_err(|e| io_failure("clear the previous dump at", e))?;

        let (sums, bytes) = match &exec.stdout {
            Some(stream) => {
                let file = create_private(&partial).map_err(|e| io_failure("create", e))?;
                let mut sink = CompressingSink::new(
                    HashingWriter::new(BufWriter::with_capacity(1 << 20, WritebackFile::new(file))),
                    stream.compression,
                )
                .map_err(|e| io_failure("write", e))?;
                if let Err(failure) = process::run(exec, self.secrets, Output::Into(&mut sink)) {
                    let _ = remove_any(&partial);
                    return Err(failure);
                }
                let (buffered, sha, bytes) =
                    sink.finish().map_err(|e| io_failure("write", e))?.finish();
                buffered
                    .into_inner()
                    .map_err(|e| io_failure("write", e.into_error()))?
                    .sync()
                    .map_err(|e| io_failure("flush", e))?;
                (Sums::from([(name.to_owned(), sha)]), bytes)
            }
            None => {
                // pg_dump accepts an empty folder; creating it first lets
                // the files be followed (and keeps the folder private).
                create_private_dir(&partial).map_err(|e| io_failure("create", e))?;
                let follower = TreeFollower::start(partial.clone(), name.to_owned());
                let ran = process::run(exec, self.secrets, Output::Discard);
                let followed = follower.finish();
                if let Err(failure) = ran {
                    let _ = remove_any(&partial);
                    return Err(failure);
                }
                make_private(&partial).map_err(|e| io_failure("protect", e))?;
                followed.map_err(|e| io_failure("hash", e))?
            }
        };
        fs::rename(&partial, &final_path).map_err(|e| io_failure("rename", e))?;
        self.artifacts
            .record(name, &sums)
            .map_err(|e| StepFailure::new(format!("cannot write SHA256SUMS: {e}")))?;
        Ok(StepReport {
            bytes,
            checksums: sums,
            note: None,
        })
    }

    /// Packs the source media folder into `NAME.partial` (compressed and
    /// hashed on the way), writes the per-file sums beside it, then renames
    /// both and records them.
    fn archive(&self, step: &Step, from: &Path, compression: Compression) -> StepResult {
        let [archive, sums] = step.produces.as_slice() else {
            return Err(StepFailure::new("the archive step names no artifacts"));
        };
        let archive_path = self.artifacts.join(&archive.name);
        let sums_path = self.artifacts.join(&sums.name);
        let partials = [partial_path(&archive_path), partial_path(&sums_path)];
        let fail = |message: String| {
            for p in &partials {
                let _ = remove_any(p);
            }
            StepFailure::new(message)
        };
        let io_fail = |what: &str, path: &Path, e: io::Error| {
            fail(format!(
                "cannot {what} {}: {}",
                path.display(),
                process::describe_io(&e)
            ))
        };
        for name in [&archive.name, &sums.name] {
            self.artifacts
                .forget(name)
                .map_err(|e| fail(format!("cannot clear the previous {name}: {e}")))?;
        }
        let file = create_private(&partials[0]).map_err(|e| io_fail("create", &partials[0], e))?;
        let mut sink = CompressingSink::new(
            HashingWriter::new(BufWriter::with_capacity(1 << 20, WritebackFile::new(file))),
            compression,
        )
        .map_err(|e| io_fail("write", &partials[0], e))?;
        let report = media::archive::archive(from, &mut sink)
            .map_err(|e| fail(format!("archive failed: {e}")))?;
        let (buffered, archive_sha, archive_bytes) = sink
            .finish()
            .map_err(|e| io_fail("write", &partials[0], e))?
            .finish();
        buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(WritebackFile::sync)
            .map_err(|e| io_fail("write", &partials[0], e))?;

        let listing = sums_file::render(&report.file_sums);
        crate::artifacts::write_atomically(&partials[1], &listing)
            .map_err(|e| io_fail("write", &partials[1], e))?;
        let sums_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&listing));

        for (partial, path) in partials.iter().zip([&archive_path, &sums_path]) {
            fs::rename(partial, path)
                .map_err(|e| fail(format!("cannot rename {}: {e}", partial.display())))?;
        }
        let mut recorded = Sums::new();
        for (name, sha) in [(&archive.name, archive_sha), (&sums.name, sums_sha)] {
            let entry = Sums::from([(name.clone(), sha)]);
            self.artifacts
                .record(name, &entry)
                .map_err(|e| StepFailure::new(format!("cannot write SHA256SUMS: {e}")))?;
            recorded.extend(entry);
        }
        Ok(StepReport {
            bytes: archive_bytes,
            checksums: recorded,
            note: Some(tree_note(report.files, report.folders, report.links)),
        })
    }

    /// Checks the archive and the media sums against `SHA256SUMS`, then
    /// unpacks, checks and swaps in the target media folder.
    fn extract(
        &self,
        step: &Step,
        archive: &Path,
        compression: Compression,
        into: &Path,
        file_sums: &Path,
    ) -> StepResult {
        let recorded = self
            .artifacts
            .read_sums()
            .map_err(|e| StepFailure::new(format!("cannot read SHA256SUMS: {e}")))?;
        let mut expected = None;
        for artifact in &step.consumes {
            if artifact.kind == crate::plan::ArtifactKind::MediaSums {
                self.artifacts
                    .verify_artifact(&artifact.name, &recorded)
                    .map_err(|m| StepFailure::new(format!("extract refused: {m}")))?;
            } else {
                expected = recorded.get(&artifact.name).cloned();
                if expected.is_none() {
                    return Err(StepFailure::new(format!(
                        "extract refused: {} is not listed in SHA256SUMS",
                        artifact.name
                    )));
                }
            }
        }
        let sums = sums_file::read(file_sums).map_err(StepFailure::new)?;
        // `verify` re-hashed the archive moments ago in this process: unless
        // the file changed since, extract need not hash it a third time.
        let archive_name = step
            .consumes
            .iter()
            .find(|a| a.kind == crate::plan::ArtifactKind::MediaArchive)
            .map(|a| a.name.as_str())
            .unwrap_or_default();
        let check = if self.artifacts.verified_unchanged(archive_name) {
            media::extract::ArchiveCheck::VerifiedUnchanged
        } else {
            media::extract::ArchiveCheck::Hash(expected.unwrap_or_default())
        };
        let report =
            media::extract::extract(archive, compression, &check, &sums, into).map_err(|e| {
                StepFailure::new(format!("extract failed: {e}")).with_help(format!(
                    "the target media folder {} was left as it was",
                    into.display()
                ))
            })?;
        Ok(StepReport {
            bytes: report.bytes,
            checksums: Sums::new(),
            note: Some(tree_note(report.files, report.folders, report.links)),
        })
    }

    /// Re-hashes every artifact the plan produces against `SHA256SUMS`.
    fn verify(&self, step: &Step) -> StepResult {
        let sums = self.artifacts.read_sums().map_err(|e| {
            StepFailure::new(format!(
                "cannot read {}: {e}",
                self.artifacts.join(crate::artifacts::SUMS_FILE).display()
            ))
        })?;
        let names: Vec<&str> = step.consumes.iter().map(|a| a.name.as_str()).collect();
        let bytes = self
            .artifacts
            .verify_artifacts(&names, &sums)
            .map_err(|mismatch| {
                StepFailure::new(format!("verify failed: {mismatch}")).with_help(format!(
                    "the artifacts in {} changed after they were written; produce them again (`replicate apply --steps dump` or a full `replicate apply`)",
                    self.artifacts.path().display()
                ))
            })?;
        Ok(StepReport {
            bytes,
            checksums: Sums::new(),
            note: Some(count(step.consumes.len() as u64, "artifact", "artifacts")),
        })
    }

    /// `DROP DATABASE`; when open sessions block it, the error names them.
    fn drop(&self, exec: &Exec) -> StepResult {
        match process::run(exec, self.secrets, Output::Discard) {
            Ok(()) => Ok(StepReport::default()),
            Err(mut failure) => {
                let blocked = failure
                    .stderr_tail
                    .as_deref()
                    .is_some_and(|t| t.contains("being accessed by other users"));
                if blocked {
                    let sessions = self.open_sessions();
                    failure.message = format!(
                        "the target database {} has open sessions{}",
                        self.manifest.target.database.database(),
                        sessions.map(|s| format!(": {s}")).unwrap_or_default()
                    );
                    failure.help = Some(
                        "stop the application using it (NetBox, its workers), or set `terminate_connections = true` in [target] to end them at drop".to_owned(),
                    );
                }
                Err(failure)
            }
        }
    }

    fn open_sessions(&self) -> Option<String> {
        let target = &self.manifest.target;
        let maintenance = target.database.with_database(&target.maintenance_database);
        let sql = format!(
            "SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), coalesce(client_addr::text, 'local') FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid() ORDER BY pid",
            sql_literal(target.database.database())
        );
        let rows = psql::query(
            &self.manifest.tools,
            &maintenance,
            "target.database",
            self.secrets,
            &sql,
        )
        .ok()?;
        let sessions: Vec<String> = rows
            .iter()
            .map(|r| {
                let app = r
                    .get(2)
                    .filter(|a| !a.is_empty())
                    .map(|a| format!(" ({a})"));
                format!(
                    "pid {} user {}{} from {}",
                    r.first().map_or("?", String::as_str),
                    r.get(1).map_or("?", String::as_str),
                    app.unwrap_or_default(),
                    r.get(3).map_or("?", String::as_str)
                )
            })
            .collect();
        (!sessions.is_empty()).then(|| sessions.join("; "))
    }

    fn restore(&self, step: &Step, exec: &Exec) -> StepResult {
        process::run(exec, self.secrets, Output::Discard)?;
        // The restore's sessions commit without waiting for the disk (see
        // RESTORE_OPTIONS). One synchronous commit flushes the server's
        // write-ahead log up to it, so every commit before it is durable
        // before the step says it is done.
        psql::query(
            &self.manifest.tools,
            &self.manifest.target.database,
            "target.database",
            self.secrets,
            "SET synchronous_commit = on; SELECT txid_current()",
        )
        .map_err(|e| {
            StepFailure::new(format!(
                "the restore finished, but flushing its commits to disk failed: {e}"
            ))
        })?;
        let bytes = step
            .consumes
            .iter()
            .filter_map(|a| dir_or_file_size(&self.artifacts.join(&a.name)))
            .sum();
        Ok(StepReport {
            bytes,
            ..StepReport::default()
        })
    }
}

/// `3 files, 1 folder, 0 links`.
fn tree_note(files: u64, folders: u64, links: u64) -> String {
    format!(
        "{}, {}, {}",
        count(files, "file", "files"),
        count(folders, "folder", "folders"),
        count(links, "link", "links")
    )
}

/// Lowers this thread's CPU priority: `extract` runs beside `restore`,
/// which is the critical path, and should take the CPU it leaves idle.
/// (The thread ends with the step.)
fn yield_cpu() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority have no memory-safety preconditions;
    // a failure only leaves the priority as it was.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, u32::try_from(tid).unwrap_or(0), 10);
    }
}

/// Creates an empty folder only its owner can enter.
fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Makes every file below `root` readable by its owner only: `pg_dump`
/// writes directory dumps with the umask's modes.
fn make_private(root: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for entry in walkdir::WalkDir::new(root) {
            let entry = entry.map_err(io::Error::other)?;
            let mode = if entry.file_type().is_dir() {
                0o700
            } else {
                0o600
            };
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}

fn dir_or_file_size(path: &Path) -> Option<u64> {
    let meta = fs::metadata(path).ok()?;
    if meta.is_file() {
        return Some(meta.len());
    }
    Some(
        walkdir::WalkDir::new(path)
            .into_iter()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum(),
    )
}

/// Compresses (or not) into a hashing writer, so the hash is of the bytes on disk.
enum CompressingSink<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> CompressingSink<W> {
    fn new(inner: W, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Self::Plain(inner),
            Compression::Gzip => Self::Gzip(flate2::write::GzEncoder::new(
                inner,
                flate2::Compression::fast(),
            )),
            Compression::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(inner, 3)?;
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                let _ = encoder.multithread(u32::try_from(threads).unwrap_or(1));
                Self::Zstd(encoder)
            }
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Self::Plain(mut w) => {
                w.flush()?;
                Ok(w)
            }
            Self::Gzip(e) => e.finish(),
            Self::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for CompressingSink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(w) => w.write(buf),
            Self::Gzip(w) => w.write(buf),
            Self::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(w) => w.flush(),
            Self::Gzip(w) => w.flush(),
            Self::Zstd(w) => w.flush(),
        }
    }
}
