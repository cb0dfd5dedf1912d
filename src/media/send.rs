//! Sending a checked archive to a program that unpacks it somewhere else
//! (`tar -x` on a host or in a container). The archive's bytes are never
//! passed on as they are: each entry is written anew, from what
//! [`super::check`] found, with replicate's own plain headers, so that the
//! other side's `tar` reads exactly the entries that were checked (two tar
//! readers may disagree on a crafted header). An archive changed since the
//! check stops at the first entry that differs, and every file's content
//! is checked against the folder's sums on the way.

use std::io::{self, Write};
use std::path::Path;

use tar::EntryType;

use super::archive::{CHUNK, append_folder, append_link, copy_content, stable_header_of};
use super::entries::{Kind, safe_relative};
use super::error::{MediaError, check_interrupt, io_at};
use super::unpack::{CheckedArchive, ExtractReport, read_archive};
use crate::io::compression::Compression;
use crate::io::sha256sum::FileSums;
use crate::io::tally::Tally;

/// Writes the checked entries of `archive` as a tar stream into `out`;
/// what it holds. The archive's bytes read are added to `tally` as they
/// are.
pub fn send(
    archive: &Path,
    compression: Compression,
    checked: &CheckedArchive,
    file_sums: &FileSums,
    out: impl Write,
    tally: &Tally,
) -> Result<ExtractReport, MediaError> {
    let mut tar = tar::Archive::new(read_archive(archive, compression, tally)?);
    let mut builder = tar::Builder::new(out);
    let mut report = ExtractReport::default();
    let mut expected = checked.0.iter();
    let mut buf = vec![0u8; CHUNK];
    let changed = |entry: &str| MediaError::Unsafe {
        entry: entry.to_owned(),
        reason: "changed after it was checked".into(),
    };
    // Writing into the pipe fails when the other side stopped: its own
    // error says why.
    let sent = |e: io::Error| MediaError::Io {
        path: "the unpacking command's input".into(),
        source: e,
    };
    for entry in tar.entries().map_err(io_at(archive))? {
        check_interrupt()?;
        let mut entry = entry.map_err(io_at(archive))?;
        let raw = entry.path().map_err(io_at(archive))?.into_owned();
        let shown = raw.display().to_string();
        let Ok(Some(path)) = safe_relative(&raw) else {
            if entry.header().entry_type() == EntryType::Directory {
                continue; // `./`, the folder itself
            }
            return Err(changed(&shown));
        };
        let planned = expected
            .next()
            .filter(|e| e.path == path)
            .ok_or_else(|| changed(&shown))?;
        let header = stable_header_of(planned.mode, u64::try_from(planned.mtime).unwrap_or(0));
        match &planned.kind {
            Kind::Folder if entry.header().entry_type() == EntryType::Directory => {
                append_folder(&mut builder, header, &path).map_err(sent)?;
                report.folders += 1;
            }
            Kind::Link { target }
                if entry.header().entry_type() == EntryType::Symlink
                    && entry.link_name().ok().flatten().as_deref() == Some(target.as_path()) =>
            {
                append_link(&mut builder, header, &path, target).map_err(sent)?;
                report.links += 1;
            }
            Kind::File { size }
                if matches!(
                    entry.header().entry_type(),
                    EntryType::Regular | EntryType::Continuous
                ) && entry.header().size().ok() == Some(*size) =>
            {
                let mut header = header;
                header.set_entry_type(EntryType::Regular);
                header.set_size(*size);
                builder
                    .append_data(&mut header, &path, io::empty())
                    .map_err(sent)?;
                let hash = copy_content(&mut entry, *size, builder.get_mut(), &mut buf)
                    .map_err(sent)?
                    .ok_or_else(|| MediaError::FileMismatch {
                        path: path.clone(),
                        reason: "the archive ends inside it".into(),
                    })?;
                let listed = file_sums.get(&path).map(String::as_str);
                if listed != Some(hash.as_str()) {
                    return Err(MediaError::FileMismatch {
                        path,
                        reason: format!(
                            "its SHA-256 is {hash}, the checksums say {}",
                            listed.unwrap_or("nothing")
                        ),
                    });
                }
                report.files += 1;
                report.bytes += size;
            }
            _ => return Err(changed(&shown)),
        }
    }
    if expected.next().is_some() {
        return Err(changed(&archive.display().to_string()));
    }
    builder
        .into_inner()
        .and_then(|mut out| out.flush())
        .map_err(sent)?;
    Ok(report)
}
