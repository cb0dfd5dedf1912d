//! `extract`: each archive checked, unpacked beside its target folder and
//! swapped in (`replace`) or left beside it for `swap`.

use std::io;
use std::path::Path;

use crate::exec::process::{self, Output};
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::exec::target_folder::TargetFolder;
use crate::io::compression::Compression;
use crate::io::files::describe_io;
use crate::io::sha256sum::{self, FileSums};
use crate::manifest::Text;
use crate::media::{self, Placement};
use crate::plan::{Artifact, Exec, FolderExtract};
use crate::remote;
use crate::store::Sums;

use super::archive::tree_note;
use super::context::{StepContext, StepWork};

/// `extract`: every folder unpacked and checked beside its target
/// (`<folder>.replicate-next`), then, under `replace`, all swapped in.
pub(in crate::exec) struct Extract<'a> {
    pub(in crate::exec) folders: &'a [FolderExtract],
    pub(in crate::exec) compression: Compression,
    /// The archives and sums files it reads.
    pub(in crate::exec) consumes: &'a [Artifact],
}

impl StepWork for Extract<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        let folders = self.folders;
        let recorded = cx
            .artifacts
            .read_sums()
            .map_err(|e| StepFailure::new(format!("cannot read SHA256SUMS: {e}")))?;
        // Every archive and sums file is checked before any folder is
        // touched.
        for artifact in self.consumes {
            if !recorded.contains_key(&artifact.name) {
                return Err(StepFailure::new(format!(
                    "extract refused: {} is not listed in SHA256SUMS",
                    artifact.name
                )));
            }
        }
        let meter = &cx.meter;
        meter.set_total(
            folders
                .iter()
                .filter_map(|f| crate::io::files::size_of(&f.archive))
                .sum(),
        );
        // Every folder is unpacked and checked beside its target first;
        // only then (`replace`) are they swapped in, one rename each.
        let mut total = StepReport::default();
        let mut notes = Vec::new();
        let mut unpacked: Vec<&FolderExtract> = Vec::new();
        for folder in folders {
            match extract_folder(cx, folder, self.compression, &recorded) {
                Ok(report) => {
                    total.bytes += report.bytes;
                    total.files += report.files;
                    notes.extend(report.note.map(|n| format!("{}: {n}", folder.name)));
                    unpacked.push(folder);
                }
                Err(failure) => {
                    for done in &unpacked {
                        let _ = target_of(done).discard_next();
                    }
                    let untouched: Vec<String> = folders
                        .iter()
                        .map(|f| format!("{} {}", f.name, f.into))
                        .collect();
                    return Err(failure.with_help(format!(
                        "the target folders were not touched: {}",
                        untouched.join(", ")
                    )));
                }
            }
        }
        let mut replaced: Vec<String> = Vec::new();
        for folder in folders.iter().filter(|f| f.next.is_none()) {
            if let Err(e) = target_of(folder).swap_in() {
                // A folder left mixed keeps what is beside it: part of its
                // content is there.
                for f in folders
                    .iter()
                    .filter(|f| !(e.is_mixed() && f.name == folder.name))
                {
                    let _ = target_of(f).discard_next();
                }
                let help = if e.is_mixed() {
                    format!(
                        "the {} folder is left holding part of its old and part of its new content; already replaced: {}",
                        folder.name,
                        if replaced.is_empty() {
                            "none".to_owned()
                        } else {
                            replaced.join(", ")
                        }
                    )
                } else if replaced.is_empty() {
                    "the target folders were not touched".to_owned()
                } else {
                    format!(
                        "already replaced: {}; the others were not touched",
                        replaced.join(", ")
                    )
                };
                return Err(StepFailure::new(format!(
                    "cannot put the new {} folder in place of {}: {e}",
                    folder.name, folder.into
                ))
                .with_help(help));
            }
            replaced.push(format!("{} {}", folder.name, folder.into));
        }
        total.note = Some(notes.join("; "));
        Ok(total)
    }
}

/// Checks one folder's sums file against `SHA256SUMS`, then unpacks,
/// checks and places the folder.
fn extract_folder(
    cx: &StepContext<'_>,
    folder: &FolderExtract,
    compression: Compression,
    recorded: &Sums,
) -> StepResult {
    let tally = &cx.meter.done;
    let name_of = |path: &Path| {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let (archive_name, sums_name) = (name_of(&folder.archive), name_of(&folder.file_sums));
    cx.artifacts
        .verify_artifact(&sums_name, recorded)
        .map_err(|m| StepFailure::new(format!("extract refused: {m}")))?;
    let expected = recorded.get(&archive_name).cloned().ok_or_else(|| {
        StepFailure::new(format!(
            "extract refused: {archive_name} is not listed in SHA256SUMS"
        ))
    })?;
    let sums =
        sha256sum::read_files(&folder.file_sums).map_err(|e| StepFailure::new(e.to_string()))?;
    // `verify` re-hashed the archive moments ago in this process: unless
    // the file changed since, extract need not hash it a third time.
    let check = if cx.artifacts.verified_unchanged(&archive_name) {
        media::ArchiveCheck::VerifiedUnchanged
    } else {
        media::ArchiveCheck::Hash(expected)
    };
    let target = target_of(folder);
    let report = match folder.into.local() {
        Some(into) => media::extract(
            &folder.archive,
            compression,
            &check,
            &sums,
            into,
            Placement::Beside,
            tally,
        )
        .map_err(|e| {
            StepFailure::new(format!("extracting the {} folder failed: {e}", folder.name))
        })?,
        None => {
            let sent = extract_there(cx, folder, target, compression, &check, &sums);
            if sent.is_err() {
                let _ = target.discard_next();
            }
            sent?
        }
    };
    Ok(StepReport {
        bytes: report.bytes,
        checksums: Sums::new(),
        note: Some(tree_note(report.files, report.folders, report.links)),
        files: report.files,
        ..StepReport::default()
    })
}

/// The target folder of `folder`, where it is.
fn target_of(folder: &FolderExtract) -> TargetFolder<'_> {
    TargetFolder::new(&folder.into, folder.reach.as_ref())
}

/// A remote folder: the archive checked here entry by entry (a hostile
/// one is refused before anything is sent), its tar stream unpacked beside
/// the folder by `tar` there, each entry compared again as it goes, then
/// every file checked there by `sha256sum -c`.
fn extract_there(
    cx: &StepContext<'_>,
    folder: &FolderExtract,
    target: TargetFolder<'_>,
    compression: Compression,
    check: &media::ArchiveCheck,
    sums: &FileSums,
) -> Result<media::ExtractReport, StepFailure> {
    let refused = |e: media::MediaError| {
        StepFailure::new(format!("extracting the {} folder failed: {e}", folder.name))
    };
    let checked = media::check(&folder.archive, compression, check, sums).map_err(refused)?;
    let reach = target.reach();
    let unpack = remote_exec(remote::unpack_argv(reach, &folder.into));
    let (reader, writer) = io::pipe().map_err(|e| StepFailure::new(describe_io(&e)))?;
    let tally = &cx.meter.done;
    let report = std::thread::scope(|scope| {
        let sender = scope.spawn(move || {
            media::send(&folder.archive, compression, &checked, sums, writer, tally)
        });
        let unpacked = process::run_fed(&unpack, cx.secrets, Box::new(reader), Output::Discard);
        let sent = sender
            .join()
            .unwrap_or_else(|_| Err(media::MediaError::BadSums("the sender panicked".into())));
        match (unpacked, sent) {
            // The other side stopped reading: its status and stderr say why.
            (Err(failed), Err(media::MediaError::Io { source, .. }))
                if source.kind() == io::ErrorKind::BrokenPipe =>
            {
                Err(failed)
            }
            // What was sent was refused or could not be read here: the
            // other side's complaint (a cut stream) follows from it.
            (_, Err(refused_now)) => Err(refused(refused_now)),
            (Err(failed), Ok(_)) => Err(failed),
            (Ok(()), Ok(report)) => Ok(report),
        }
    })
    .map_err(|mut e| {
        e.message = format!(
            "unpacking the {} folder beside {} failed: {}",
            folder.name, folder.into, e.message
        );
        e
    })?;
    if !sums.is_empty() {
        let check = remote_exec(remote::check_argv(reach, &folder.into));
        let listing = std::fs::File::open(&folder.file_sums).map_err(|e| {
            StepFailure::new(format!(
                "cannot read {}: {}",
                folder.file_sums.display(),
                describe_io(&e)
            ))
        })?;
        process::run_fed(&check, cx.secrets, Box::new(listing), Output::Discard).map_err(
            |mut e| {
                e.message = format!(
                    "the {} files unpacked beside {} do not match their checksums: {}",
                    folder.name, folder.into, e.message
                );
                e
            },
        )?;
    }
    Ok(report)
}

/// A command that runs a script where a remote folder is.
fn remote_exec(argv: Vec<String>) -> Exec {
    let mut words = argv.into_iter().map(Text::plain);
    Exec {
        program: words.next().unwrap_or_else(|| Text::plain("sh")),
        args: words.collect(),
        env: Vec::new(),
        cwd: None,
        stdin: None,
        stdout: None,
    }
}
