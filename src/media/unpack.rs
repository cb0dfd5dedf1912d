//! Unpacking a media archive into the target folder, safely:
//!
//! 1. one pass reads the whole archive, checks its SHA-256 against
//!    `SHA256SUMS` and every entry's header, and refuses the archive before
//!    anything is written (absolute paths, `..`, links leading out, hard
//!    links, devices, fifos, names that collide);
//! 2. a second pass unpacks into a new folder beside the target (same file
//!    system), hashing each file as it is written against the media sums;
//! 3. the new folder is swapped in with one atomic rename (`RENAME_EXCHANGE`)
//!    and the old one removed. Any failure before the swap leaves the old
//!    folder as it was.
//!
//! The first pass is [`super::entries`], the swap [`super::swap`].

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::Path;

use filetime::FileTime;

use super::entries::{ArchiveCheck, Entry, Kind, check_archive, safe_relative};
use super::error::{MediaError, io_at};
use super::swap::{companion, real_folder, swap_in};
use crate::io::compression::Compression;
use crate::io::files::remove_any;
use crate::io::hashing::copy_hashed;
use crate::io::sha256sum::FileSums;
use crate::io::sys;
use crate::io::tally::{Tally, TallyReader};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExtractReport {
    pub files: u64,
    pub folders: u64,
    pub links: u64,
    pub bytes: u64,
}

/// What becomes of the unpacked folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Swapped in at once; the old content removed (`strategy = "replace"`).
    SwapIn,
    /// Left beside the target as `<folder>.replicate-next`, for `swap`.
    Beside,
}

/// Unpacks `archive` into a new folder beside `into`, checks every file
/// against `file_sums`, and places it. Any failure removes the new folder
/// and leaves `into` as it was. The archive's bytes unpacked are added to
/// `tally` as they are.
pub fn extract(
    archive: &Path,
    compression: Compression,
    check_how: &ArchiveCheck,
    file_sums: &FileSums,
    into: &Path,
    placement: Placement,
    tally: &Tally,
) -> Result<ExtractReport, MediaError> {
    let checked = check(archive, compression, check_how, file_sums)?;
    let entries = &checked.0;

    let into = real_folder(into);
    let parent = into
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_at(parent))?;
    let staging = match placement {
        Placement::SwapIn => {
            let name = into
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "media".to_owned());
            parent.join(format!(".{name}.replicate-new"))
        }
        Placement::Beside => companion(&into, "next"),
    };
    remove_any(&staging).map_err(io_at(&staging))?;
    let old_meta = fs::metadata(&into).ok();
    fs::create_dir(&staging).map_err(io_at(&staging))?;

    let result = unpack(archive, compression, entries, file_sums, &staging, tally)
        .and_then(|report| {
            adopt_owner(&staging, old_meta.as_ref())?;
            if let Some(meta) = &old_meta {
                fs::set_permissions(&staging, meta.permissions()).map_err(io_at(&staging))?;
            }
            Ok(report)
        })
        .and_then(|report| {
            super::error::check_interrupt()?;
            match placement {
                Placement::SwapIn => swap_in(&staging, &into).map(|()| report),
                Placement::Beside => Ok(report),
            }
        });
    if result.is_err() {
        let _ = remove_any(&staging);
    }
    result
}

/// An archive whose entries were all checked, and found to be the files
/// of its folder checksums.
pub struct CheckedArchive(pub(super) Vec<Entry>);

/// Reads the archive's entries and refuses it when one is unsafe to
/// unpack or its files are not those of `file_sums`; nothing is written.
pub fn check(
    archive: &Path,
    compression: Compression,
    check: &ArchiveCheck,
    file_sums: &FileSums,
) -> Result<CheckedArchive, MediaError> {
    let entries = check_archive(archive, compression, check)?;
    let files: BTreeMap<&Path, ()> = entries
        .iter()
        .filter(|e| matches!(e.kind, Kind::File { .. }))
        .map(|e| (e.path.as_path(), ()))
        .collect();
    if let Some(path) = file_sums.keys().find(|p| !files.contains_key(p.as_path())) {
        return Err(MediaError::FileMismatch {
            path: path.clone(),
            reason: "listed in the folder checksums but not in the archive".into(),
        });
    }
    if let Some(path) = files.keys().find(|p| !file_sums.contains_key(**p)) {
        return Err(MediaError::FileMismatch {
            path: path.to_path_buf(),
            reason: "in the archive but not in the folder checksums".into(),
        });
    }
    Ok(CheckedArchive(entries))
}

fn unpack(
    archive: &Path,
    compression: Compression,
    entries: &[Entry],
    file_sums: &FileSums,
    staging: &Path,
    tally: &Tally,
) -> Result<ExtractReport, MediaError> {
    let mut tar = tar::Archive::new(read_archive(archive, compression, tally)?);
    let mut report = ExtractReport::default();
    let mut expected = entries.iter();
    let mut buf = vec![0u8; 1 << 20];
    for entry in tar.entries().map_err(io_at(archive))? {
        super::error::check_interrupt()?;
        let mut entry = entry.map_err(io_at(archive))?;
        let raw = entry.path().map_err(io_at(archive))?.into_owned();
        let Ok(Some(path)) = safe_relative(&raw) else {
            continue; // `./`, already checked
        };
        // The archive must not change between the two passes.
        let Some(planned) = expected.next().filter(|e| e.path == path) else {
            return Err(MediaError::Unsafe {
                entry: raw.display().to_string(),
                reason: "changed after it was checked".into(),
            });
        };
        let dest = staging.join(&planned.path);
        match &planned.kind {
            Kind::Folder => {
                fs::create_dir_all(&dest).map_err(io_at(&dest))?;
                report.folders += 1;
            }
            Kind::Link { target } => {
                ensure_parent(&dest)?;
                std::os::unix::fs::symlink(target, &dest).map_err(io_at(&dest))?;
                let time = FileTime::from_unix_time(planned.mtime, 0);
                let _ = filetime::set_symlink_file_times(&dest, time, time);
                report.links += 1;
            }
            Kind::File { size } => {
                ensure_parent(&dest)?;
                let mut out = new_file(&dest)?;
                let (hash, bytes) =
                    copy_hashed(&mut entry, &mut out, *size, &mut buf).map_err(io_at(&dest))?;
                if bytes != *size {
                    return Err(MediaError::FileMismatch {
                        path: planned.path.clone(),
                        reason: "the archive ends inside it".into(),
                    });
                }
                let listed = file_sums.get(&planned.path).map(String::as_str);
                if listed != Some(hash.as_str()) {
                    return Err(MediaError::FileMismatch {
                        path: planned.path.clone(),
                        reason: format!(
                            "its SHA-256 is {hash}, the checksums say {}",
                            listed.unwrap_or("nothing")
                        ),
                    });
                }
                set_mode(&out, planned.mode, &dest)?;
                let time = FileTime::from_unix_time(planned.mtime, 0);
                filetime::set_file_handle_times(&out, Some(time), Some(time))
                    .map_err(io_at(&dest))?;
                report.files += 1;
                report.bytes += bytes;
            }
        }
    }
    if expected.next().is_some() {
        return Err(MediaError::Unsafe {
            entry: archive.display().to_string(),
            reason: "changed after it was checked".into(),
        });
    }
    // Folder modes and times last, deepest first, once nothing more is
    // written into them.
    for planned in entries.iter().rev() {
        if planned.kind == Kind::Folder {
            let dest = staging.join(&planned.path);
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dest, fs::Permissions::from_mode(planned.mode & 0o1777))
                .map_err(io_at(&dest))?;
            let time = FileTime::from_unix_time(planned.mtime, 0);
            filetime::set_file_times(&dest, time, time).map_err(io_at(&dest))?;
        }
    }
    Ok(report)
}

/// The archive's tar stream, decompressed; its bytes read are added to
/// `tally` as they are.
pub(super) fn read_archive(
    archive: &Path,
    compression: Compression,
    tally: &Tally,
) -> Result<impl io::Read, MediaError> {
    let file = File::open(archive).map_err(io_at(archive))?;
    compression
        .decoder(BufReader::with_capacity(
            1 << 20,
            TallyReader::new(file, tally.clone()),
        ))
        .map_err(io_at(archive))
}

fn ensure_parent(dest: &Path) -> Result<(), MediaError> {
    match dest.parent() {
        Some(parent) => fs::create_dir_all(parent).map_err(io_at(parent)),
        None => Ok(()),
    }
}

/// A new file that must not exist yet, never through a link.
fn new_file(path: &Path) -> Result<File, MediaError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW).mode(0o600);
    }
    options.open(path).map_err(io_at(path))
}

/// The archived mode without set-user-id and set-group-id bits.
fn set_mode(file: &File, mode: u32, path: &Path) -> Result<(), MediaError> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode & 0o1777))
        .map_err(io_at(path))
}

/// Run as root, the new tree takes the owner and group of the folder it
/// replaces (NetBox runs as its own user).
fn adopt_owner(staging: &Path, old: Option<&fs::Metadata>) -> Result<(), MediaError> {
    use std::os::unix::fs::MetadataExt;
    let Some(old) = old.filter(|_| sys::is_root()) else {
        return Ok(());
    };
    for entry in walkdir::WalkDir::new(staging) {
        let entry = entry.map_err(|e| MediaError::Io {
            path: staging.to_path_buf(),
            source: io::Error::other(e),
        })?;
        std::os::unix::fs::lchown(entry.path(), Some(old.uid()), Some(old.gid()))
            .map_err(io_at(entry.path()))?;
    }
    Ok(())
}
