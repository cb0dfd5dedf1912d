//! `archive`: each copied folder packed into a tar archive, with its files'
//! sums.

use std::fs;
use std::io::{self, BufWriter};
use std::path::Path;

use crate::display::units::count;
use crate::exec::process::{self, Output};
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::compression::{CompressingWriter, Compression};
use crate::io::files::{create_private, describe_io, partial_path, remove_any, write_atomically};
use crate::io::hashing::HashingWriter;
use crate::io::sha256sum;
use crate::io::tally::TallyWriter;
use crate::io::tee::Tee;
use crate::io::writeback::WritebackFile;
use crate::media;
use crate::plan::{Artifact, FolderArchive};
use crate::store::Sums;
use crate::store::remote::Upload;

use super::context::{StepContext, StepWork};

/// `archive`: every folder in turn; the step's notes name each one.
pub(in crate::exec) struct Archive<'a> {
    /// The artifacts the step writes: each folder's archive and sums.
    pub(in crate::exec) produces: &'a [Artifact],
    pub(in crate::exec) folders: &'a [FolderArchive],
    pub(in crate::exec) compression: Compression,
}

impl StepWork for Archive<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        let mut total = StepReport::default();
        let mut notes = Vec::new();
        for folder in self.folders {
            let report = self.archive_folder(cx, folder)?;
            total.bytes += report.bytes;
            total.checksums.extend(report.checksums);
            notes.extend(report.note.map(|n| format!("{}: {n}", folder.name)));
        }
        total.note = Some(notes.join("; "));
        Ok(total)
    }
}

impl Archive<'_> {
    /// Packs one source folder into `NAME.partial` (compressed and hashed
    /// on the way), writes the per-file sums beside it, then renames both
    /// and records them.
    fn archive_folder(&self, cx: &StepContext<'_>, folder: &FolderArchive) -> StepResult {
        let named = |path: &Path| {
            self.produces
                .iter()
                .find(|a| path.file_name().is_some_and(|n| n == a.name.as_str()))
                .map(|a| a.name.clone())
        };
        let (Some(archive_name), Some(sums_name)) = (named(&folder.to), named(&folder.file_sums))
        else {
            return Err(StepFailure::new(format!(
                "the archive step names no artifacts for the {} folder",
                folder.name
            )));
        };
        let archive_path = cx.artifacts.join(&archive_name);
        let sums_path = cx.artifacts.join(&sums_name);
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
                describe_io(&e)
            ))
        };
        for name in [&archive_name, &sums_name] {
            cx.artifacts
                .forget(name)
                .map_err(|e| fail(format!("cannot clear the previous {name}: {e}")))?;
        }
        let file = create_private(&partials[0]).map_err(|e| io_fail("create", &partials[0], e))?;
        let upload = cx
            .artifacts
            .upload_while_writing(&archive_name)
            .map_err(|e| io_fail("upload", &archive_path, e))?;
        let mut sink = CompressingWriter::new(
            HashingWriter::new(BufWriter::with_capacity(
                1 << 20,
                Tee::new(WritebackFile::new(file), upload),
            )),
            self.compression,
        )
        .map_err(|e| io_fail("write", &partials[0], e))?;
        let report = pack(cx, folder, &mut TallyWriter::new(&mut sink, &cx.meter.done)).map_err(
            |mut e| {
                // The partial files removed; the command and its stderr kept.
                e.message = fail(format!(
                    "archiving the {} folder {} failed: {}",
                    folder.name, folder.from, e.message
                ))
                .message;
                e
            },
        )?;
        let (buffered, archive_sha, archive_bytes) = sink
            .finish()
            .map_err(|e| io_fail("write", &partials[0], e))?
            .finish();
        let (file, upload) = buffered
            .into_inner()
            .map_err(|e| io_fail("write", &partials[0], e.into_error()))?
            .into_parts();
        file.sync().map_err(|e| io_fail("write", &partials[0], e))?;
        let archive_tag = upload
            .map(Upload::finish)
            .transpose()
            .map_err(|e| io_fail("upload", &archive_path, e))?
            .flatten();

        let listing = sha256sum::render_files(&report.file_sums);
        write_atomically(&partials[1], &listing).map_err(|e| io_fail("write", &partials[1], e))?;
        let sums_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&listing));

        for (partial, path) in partials.iter().zip([&archive_path, &sums_path]) {
            fs::rename(partial, path)
                .map_err(|e| fail(format!("cannot rename {}: {e}", partial.display())))?;
        }
        let mut recorded = Sums::new();
        let archive_entry = Sums::from([(archive_name.clone(), archive_sha)]);
        let sums_entry = Sums::from([(sums_name.clone(), sums_sha)]);
        cx.artifacts
            .record_uploaded(&archive_name, &archive_entry, archive_tag)
            .and_then(|()| cx.artifacts.record(&sums_name, &sums_entry))
            .map_err(|e| StepFailure::new(format!("cannot write SHA256SUMS: {e}")))?;
        recorded.extend(archive_entry);
        recorded.extend(sums_entry);
        Ok(StepReport {
            bytes: archive_bytes,
            checksums: recorded,
            note: Some(tree_note(report.files, report.folders, report.links)),
            ..StepReport::default()
        })
    }
}

/// Packs `folder` into `out`: read here, or, for a remote folder, packed
/// where it is by the planned command and rewritten as replicate's own
/// archive on the way.
fn pack(
    cx: &StepContext<'_>,
    folder: &FolderArchive,
    out: &mut impl io::Write,
) -> Result<media::ArchiveReport, StepFailure> {
    let place = folder.from.to_string();
    let Some(exec) = &folder.read else {
        let path = folder
            .from
            .local()
            .ok_or_else(|| StepFailure::new(format!("the plan says no command reads {place}")))?;
        return media::archive(path, out).map_err(|e| StepFailure::new(e.to_string()));
    };
    let (reader, mut writer) = io::pipe().map_err(|e| StepFailure::new(describe_io(&e)))?;
    std::thread::scope(|scope| {
        let packer = scope.spawn(move || {
            let ran = process::run(exec, cx.secrets, Output::Into(&mut writer));
            drop(writer);
            ran
        });
        let repacked = media::repack(reader, out, &place);
        let packed = packer
            .join()
            .unwrap_or_else(|_| Err(StepFailure::new("the packing command's reader panicked")));
        match (packed, repacked) {
            // The command failed: its status and stderr say more than the
            // stream it cut short.
            (Err(failed), _) if failed.status.is_some() => Err(failed),
            // The stream was refused: the command was stopped for it.
            (_, Err(refused)) => Err(StepFailure::new(refused.to_string())),
            (Err(failed), Ok(_)) => Err(failed),
            (Ok(()), Ok(report)) => Ok(report),
        }
    })
}

/// `3 files, 1 folder, 0 links`.
pub(super) fn tree_note(files: u64, folders: u64, links: u64) -> String {
    format!(
        "{}, {}, {}",
        count(files, "file", "files"),
        count(folders, "folder", "folders"),
        count(links, "link", "links")
    )
}
