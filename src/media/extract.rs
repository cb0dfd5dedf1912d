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

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::{Component, Path, PathBuf};

use filetime::FileTime;
use sha2::{Digest, Sha256};
use tar::EntryType;

use super::links::{Escape, Links};
use super::sums_file::FileSums;
use super::{MediaError, io_at};
use crate::hashing::HashingReader;
use crate::manifest::Compression;

/// What an archive holds, as checked before extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    pub kind: Kind,
    pub mode: u32,
    pub mtime: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Folder,
    File { size: u64 },
    Link { target: PathBuf },
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExtractReport {
    pub files: u64,
    pub folders: u64,
    pub links: u64,
    pub bytes: u64,
}

/// The archive stream, decompressed.
fn tar_stream<R: Read + 'static>(reader: R, compression: Compression) -> io::Result<Box<dyn Read>> {
    Ok(match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(reader)?),
    })
}

/// How the archive's own integrity is established before extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveCheck {
    /// Hash it while reading it, and compare with this SHA-256.
    Hash(String),
    /// This process verified it against `SHA256SUMS` and it has not changed
    /// since: only its entries are read (seeking over the data when the
    /// archive is not compressed).
    VerifiedUnchanged,
}

/// Reads the archive's entries and refuses any that is unsafe to unpack;
/// with [`ArchiveCheck::Hash`], also checks the archive's SHA-256.
pub fn check_archive(
    archive: &Path,
    compression: Compression,
    check: &ArchiveCheck,
) -> Result<Vec<Entry>, MediaError> {
    let expected_sha256 = match check {
        ArchiveCheck::Hash(sha) => Some(sha.as_str()),
        ArchiveCheck::VerifiedUnchanged if compression == Compression::None => {
            let file = File::open(archive).map_err(io_at(archive))?;
            let mut tar = tar::Archive::new(BufReader::with_capacity(64 * 1024, file));
            let entries = tar.entries_with_seek().map_err(io_at(archive))?;
            return collect_entries(entries, archive);
        }
        ArchiveCheck::VerifiedUnchanged => None,
    };
    let file = File::open(archive).map_err(io_at(archive))?;
    let hashing = std::rc::Rc::new(std::cell::RefCell::new(HashingReader::new(
        BufReader::with_capacity(1 << 20, file),
    )));
    let stream = tar_stream(SharedReader(hashing.clone()), compression).map_err(io_at(archive))?;
    let entries = read_entries(stream, archive)?;
    // Hash what the tar reader did not need (padding after the end marker).
    io::copy(&mut SharedReader(hashing.clone()), &mut io::sink()).map_err(io_at(archive))?;
    let found = std::rc::Rc::try_unwrap(hashing)
        .map(|cell| cell.into_inner().finish().0)
        .unwrap_or_default();
    if let Some(expected) = expected_sha256
        && found != expected
    {
        return Err(MediaError::ArchiveChanged {
            expected: expected.to_owned(),
            found,
        });
    }
    Ok(entries)
}

/// Lets the hashing reader be drained after the decoder is done with it.
struct SharedReader<R>(std::rc::Rc<std::cell::RefCell<R>>);

impl<R: Read> Read for SharedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

fn read_entries(stream: impl Read, archive: &Path) -> Result<Vec<Entry>, MediaError> {
    let mut tar = tar::Archive::new(stream);
    let entries = tar.entries().map_err(io_at(archive))?;
    collect_entries(entries, archive)
}

/// Checks every entry; returns them in archive order.
fn collect_entries<R: Read>(
    tar_entries: tar::Entries<'_, R>,
    archive: &Path,
) -> Result<Vec<Entry>, MediaError> {
    let mut entries = Vec::new();
    let mut seen: BTreeMap<PathBuf, Seen> = BTreeMap::new();
    for entry in tar_entries {
        let entry = entry.map_err(io_at(archive))?;
        let raw = entry.path().map_err(io_at(archive))?.into_owned();
        let shown = raw.display().to_string();
        let refuse = |reason: &str| MediaError::Unsafe {
            entry: shown.clone(),
            reason: reason.to_owned(),
        };
        let header = entry.header();
        let kind = match header.entry_type() {
            EntryType::Regular | EntryType::Continuous => Kind::File {
                size: header.size().map_err(io_at(archive))?,
            },
            EntryType::Directory => Kind::Folder,
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(io_at(archive))?
                    .ok_or_else(|| refuse("is a link without a target"))?
                    .into_owned();
                Kind::Link { target }
            }
            EntryType::Link => return Err(refuse("is a hard link")),
            EntryType::Char | EntryType::Block => return Err(refuse("is a device")),
            EntryType::Fifo => return Err(refuse("is a named pipe")),
            EntryType::GNUSparse => return Err(refuse("is a sparse file")),
            other => return Err(refuse(&format!("has an unsupported type ({other:?})"))),
        };
        let Some(path) = safe_relative(&raw).map_err(&refuse)? else {
            // `./`: the folder itself.
            if kind == Kind::Folder {
                continue;
            }
            return Err(refuse("has an empty name"));
        };
        register(&mut seen, &path, &kind).map_err(|reason| refuse(&reason))?;
        let mode = header.mode().map_err(io_at(archive))?;
        let mtime = header.mtime().map_err(io_at(archive))?;
        entries.push(Entry {
            path,
            kind,
            mode,
            mtime: i64::try_from(mtime).unwrap_or(0),
        });
    }
    check_links(&entries)?;
    Ok(entries)
}

/// Refuses the archive when a link, followed through the archive's other
/// links, leads outside the folder or never ends.
fn check_links(entries: &[Entry]) -> Result<(), MediaError> {
    let links = Links::new(entries.iter().filter_map(|e| match &e.kind {
        Kind::Link { target } => Some((e.path.as_path(), target.as_path())),
        _ => None,
    }));
    let Some((path, target, escape)) = links.first_escape() else {
        return Ok(());
    };
    let target = target.display();
    let reason = match escape {
        Escape::Absolute | Escape::Outside { through: None } => {
            format!("is a link to `{target}`, outside the folder")
        }
        Escape::Outside {
            through: Some(other),
        } => format!(
            "is a link to `{target}`, which leads outside the folder through the link `{}`",
            other.display()
        ),
        Escape::Loop => format!("is a link to `{target}`, which leads through a loop of links"),
    };
    Err(MediaError::Unsafe {
        entry: path.display().to_string(),
        reason,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Folder,
    /// A folder only implied by a deeper entry.
    ImpliedFolder,
    File,
    Link,
}

/// Records an entry; refuses duplicates and entries beneath a file or link.
fn register(seen: &mut BTreeMap<PathBuf, Seen>, path: &Path, kind: &Kind) -> Result<(), String> {
    for ancestor in path.ancestors().skip(1) {
        if ancestor.as_os_str().is_empty() {
            break;
        }
        match seen.get(ancestor) {
            Some(Seen::File) => {
                return Err(format!("lies beneath the file `{}`", ancestor.display()));
            }
            Some(Seen::Link) => {
                return Err(format!("lies beneath the link `{}`", ancestor.display()));
            }
            Some(_) => {}
            None => {
                seen.insert(ancestor.to_path_buf(), Seen::ImpliedFolder);
            }
        }
    }
    let new = match kind {
        Kind::Folder => Seen::Folder,
        Kind::File { .. } => Seen::File,
        Kind::Link { .. } => Seen::Link,
    };
    match seen.get(path) {
        None => {}
        Some(Seen::ImpliedFolder) if new == Seen::Folder => {}
        Some(_) => {
            return Err(format!(
                "collides with another entry named `{}`",
                path.display()
            ));
        }
    }
    seen.insert(path.to_path_buf(), new);
    Ok(())
}

/// The path with `.` folded away; `None` for the folder itself. Refuses
/// absolute paths and `..`.
pub fn safe_relative(raw: &Path) -> Result<Option<PathBuf>, &'static str> {
    let mut out = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("has a `..` component"),
            Component::RootDir | Component::Prefix(_) => return Err("is an absolute path"),
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Unpacks `archive` into a new folder beside `into`, checks every file
/// against `file_sums`, and swaps it in. The old content is removed.
pub fn extract(
    archive: &Path,
    compression: Compression,
    check: &ArchiveCheck,
    file_sums: &FileSums,
    into: &Path,
) -> Result<ExtractReport, MediaError> {
    let entries = check_archive(archive, compression, check)?;
    let files: BTreeMap<&Path, ()> = entries
        .iter()
        .filter(|e| matches!(e.kind, Kind::File { .. }))
        .map(|e| (e.path.as_path(), ()))
        .collect();
    if let Some(path) = file_sums.keys().find(|p| !files.contains_key(p.as_path())) {
        return Err(MediaError::FileMismatch {
            path: path.clone(),
            reason: "listed in the media checksums but not in the archive".into(),
        });
    }
    if let Some(path) = files.keys().find(|p| !file_sums.contains_key(**p)) {
        return Err(MediaError::FileMismatch {
            path: path.to_path_buf(),
            reason: "in the archive but not in the media checksums".into(),
        });
    }

    // A target that is a symbolic link to a folder: replace the folder.
    let into = match fs::canonicalize(into) {
        Ok(real) => real,
        Err(_) => into.to_path_buf(),
    };
    let parent = into
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_at(parent))?;
    let name = into
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "media".to_owned());
    let staging = parent.join(format!(".{name}.replicate-new"));
    crate::artifacts::remove_any(&staging).map_err(io_at(&staging))?;
    let old_meta = fs::metadata(&into).ok();
    fs::create_dir(&staging).map_err(io_at(&staging))?;

    let result = unpack(archive, compression, &entries, file_sums, &staging)
        .and_then(|report| {
            adopt_owner(&staging, old_meta.as_ref())?;
            if let Some(meta) = &old_meta {
                fs::set_permissions(&staging, meta.permissions()).map_err(io_at(&staging))?;
            }
            Ok(report)
        })
        .and_then(|report| {
            super::check_interrupt()?;
            swap_in(&staging, &into).map(|()| report)
        });
    if result.is_err() {
        let _ = crate::artifacts::remove_any(&staging);
    }
    result
}

fn unpack(
    archive: &Path,
    compression: Compression,
    entries: &[Entry],
    file_sums: &FileSums,
    staging: &Path,
) -> Result<ExtractReport, MediaError> {
    let mut file = File::open(archive).map_err(io_at(archive))?;
    file.rewind().map_err(io_at(archive))?;
    let stream =
        tar_stream(BufReader::with_capacity(1 << 20, file), compression).map_err(io_at(archive))?;
    let mut tar = tar::Archive::new(stream);
    let mut report = ExtractReport::default();
    let mut expected = entries.iter();
    let mut buf = vec![0u8; 1 << 20];
    for entry in tar.entries().map_err(io_at(archive))? {
        super::check_interrupt()?;
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
                    write_content(&mut entry, *size, &mut out, &mut buf).map_err(io_at(&dest))?;
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

/// Copies up to `size` bytes of an entry into `out`, hashing them; the
/// hash and how many bytes there were.
fn write_content(
    entry: &mut impl Read,
    size: u64,
    out: &mut File,
    buf: &mut [u8],
) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut done = 0u64;
    while done < size {
        let want = buf
            .len()
            .min(usize::try_from(size - done).unwrap_or(usize::MAX));
        let n = match entry.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        done += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), done))
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
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let Some(old) = old.filter(|_| root) else {
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

/// Puts `staging` in the place of `into`. When `into` exists the two are
/// exchanged atomically and the old content (now at `staging`) removed.
fn swap_in(staging: &Path, into: &Path) -> Result<(), MediaError> {
    if fs::symlink_metadata(into).is_err() {
        return fs::rename(staging, into).map_err(io_at(into));
    }
    match exchange(staging, into) {
        Ok(()) => {}
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {
            // No atomic exchange on this file system: two renames.
            let old = staging.with_extension("replicate-old");
            fs::rename(into, &old).map_err(io_at(into))?;
            if let Err(e) = fs::rename(staging, into) {
                let _ = fs::rename(&old, into);
                return Err(io_at(into)(e));
            }
            return crate::artifacts::remove_any(&old).map_err(io_at(&old));
        }
        Err(e) => return Err(io_at(into)(e)),
    }
    crate::artifacts::remove_any(staging).map_err(io_at(staging))
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let b = CString::new(b.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_folded_and_escapes_refused() {
        assert_eq!(
            safe_relative(Path::new("a/./b")),
            Ok(Some(PathBuf::from("a/b")))
        );
        assert_eq!(safe_relative(Path::new("./")), Ok(None));
        assert!(safe_relative(Path::new("/etc/passwd")).is_err());
        assert!(safe_relative(Path::new("a/../../b")).is_err());
    }

    #[test]
    fn collisions_and_entries_beneath_files_are_refused() {
        let mut seen = BTreeMap::new();
        let file = Kind::File { size: 1 };
        register(&mut seen, Path::new("a/b"), &file).unwrap();
        register(&mut seen, Path::new("a"), &Kind::Folder).unwrap();
        assert!(register(&mut seen, Path::new("a/b"), &file).is_err());
        assert!(register(&mut seen, Path::new("a/b/c"), &file).is_err());
        assert!(register(&mut seen, Path::new("a"), &file).is_err());
        let link = Kind::Link { target: "x".into() };
        register(&mut seen, Path::new("l"), &link).unwrap();
        assert!(register(&mut seen, Path::new("l/x"), &file).is_err());
    }
}
