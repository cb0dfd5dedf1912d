//! Reading an archive's entries before anything is written, and refusing
//! it when one is unsafe to unpack: absolute paths, `..`, links leading out
//! (followed through the archive's other links), hard links, devices,
//! fifos, entries beneath a file or a link, and names that collide.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

use super::error::{MediaError, io_at};
use super::links::{Escape, Links};
use crate::io::compression::Compression;
use crate::io::hashing::HashingReader;

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
    let stream = compression
        .decoder(SharedReader(hashing.clone()))
        .map_err(io_at(archive))?;
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
