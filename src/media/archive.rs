//! Packing a media folder: files in sorted order with stable headers, so the
//! same tree always gives the same bytes; every file hashed as it is read.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};
use walkdir::WalkDir;

use super::error::{MediaError, io_at};
use crate::io::hashing::copy_hashed;
use crate::io::sha256sum::FileSums;

/// What archiving found.
#[derive(Debug, Default)]
pub struct ArchiveReport {
    pub files: u64,
    pub folders: u64,
    pub links: u64,
    /// Bytes of file content.
    pub bytes: u64,
    pub file_sums: FileSums,
}

/// The folders replicate keeps inside a target folder that is a mount
/// point (its new, previous and set-aside contents): never copied, never
/// compared.
const OWN: [&str; 4] = [
    ".replicate-next",
    ".replicate-prev",
    ".replicate-old",
    ".replicate-exchange",
];

/// Whether a walked entry is one of [`OWN`] at the top of the folder.
pub(super) fn is_own(entry: &walkdir::DirEntry) -> bool {
    entry.depth() == 1 && OWN.iter().any(|own| entry.file_name() == *own)
}

/// Writes `from` as a tar stream into `out` (compressed and hashed by the
/// caller). Entry paths are relative to `from`; owners are not kept (the
/// target decides them), modes and modification times are.
pub fn archive(from: &Path, out: impl Write) -> Result<ArchiveReport, MediaError> {
    let meta = std::fs::metadata(from).map_err(io_at(from))?;
    if !meta.is_dir() {
        return Err(MediaError::NotAFolder(from.to_path_buf()));
    }
    let mut builder = tar::Builder::new(out);
    let mut report = ArchiveReport::default();
    let mut buf = vec![0u8; CHUNK];
    let walk = WalkDir::new(from)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| !is_own(e));
    for entry in walk {
        super::error::check_interrupt()?;
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map_or_else(|| from.to_path_buf(), Path::to_path_buf);
            MediaError::Io {
                path,
                source: io::Error::other(e),
            }
        })?;
        let path = entry.path();
        let rel = path.strip_prefix(from).map_err(|e| MediaError::Io {
            path: path.to_path_buf(),
            source: io::Error::other(e),
        })?;
        let meta = entry.path().symlink_metadata().map_err(io_at(path))?;
        let mut header = stable_header(&meta);
        let file_type = meta.file_type();
        if file_type.is_dir() {
            append_folder(&mut builder, header, rel).map_err(io_at(path))?;
            report.folders += 1;
        } else if file_type.is_symlink() {
            let target = std::fs::read_link(path).map_err(io_at(path))?;
            append_link(&mut builder, header, rel, &target).map_err(io_at(path))?;
            report.links += 1;
        } else if file_type.is_file() {
            let size = meta.len();
            header.set_entry_type(EntryType::Regular);
            header.set_size(size);
            let file = File::open(path).map_err(io_at(path))?;
            // The header (and a long-name entry if needed) through the
            // builder; the content straight from the file, in big chunks.
            builder
                .append_data(&mut header, rel, io::empty())
                .map_err(io_at(path))?;
            let hash = copy_content(file, size, builder.get_mut(), &mut buf)
                .map_err(io_at(path))?
                .ok_or_else(|| MediaError::Changed(path.to_path_buf()))?;
            report.files += 1;
            report.bytes += size;
            report.file_sums.insert(rel.to_path_buf(), hash);
        } else {
            return Err(MediaError::Special {
                path: path.to_path_buf(),
                kind: special_kind(&meta),
            });
        }
    }
    builder
        .into_inner()
        .and_then(|mut out| out.flush())
        .map_err(io_at(from))?;
    Ok(report)
}

/// A folder's entry: its name with a trailing `/`.
pub(super) fn append_folder(
    builder: &mut tar::Builder<impl Write>,
    mut header: Header,
    rel: &Path,
) -> io::Result<()> {
    header.set_entry_type(EntryType::Directory);
    header.set_size(0);
    let mut name = rel.as_os_str().to_owned();
    name.push("/");
    builder.append_data(&mut header, PathBuf::from(name), io::empty())
}

/// A symbolic link's entry.
pub(super) fn append_link(
    builder: &mut tar::Builder<impl Write>,
    mut header: Header,
    rel: &Path,
    target: &Path,
) -> io::Result<()> {
    header.set_entry_type(EntryType::Symlink);
    header.set_size(0);
    builder.append_link(&mut header, rel, target)
}

/// How much of a file is read, hashed and written at once.
pub(super) const CHUNK: usize = 256 * 1024;

/// Writes the `size` bytes of `file` as a tar entry's content, padded to the
/// 512-byte block, and returns their SHA-256; `None` when the file is now
/// shorter than its header says (it changed while being archived).
pub(super) fn copy_content(
    file: impl io::Read,
    size: u64,
    out: &mut impl Write,
    buf: &mut [u8],
) -> io::Result<Option<String>> {
    let (hash, copied) = copy_hashed(file, out, size, buf)?;
    if copied < size {
        return Ok(None);
    }
    let padding = (512 - size % 512) % 512;
    out.write_all(&[0u8; 512][..usize::try_from(padding).unwrap_or(0)])?;
    Ok(Some(hash))
}

/// A GNU header with only what should travel: mode and modification time.
fn stable_header(meta: &std::fs::Metadata) -> Header {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        stable_header_of(meta.mode(), u64::try_from(meta.mtime()).unwrap_or(0))
    }
    #[cfg(not(unix))]
    stable_header_of(0o644, 0)
}

/// A GNU header with a mode (its permission bits) and a modification
/// time, owned by nobody in particular.
pub(super) fn stable_header_of(mode: u32, mtime: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_mode(mode & 0o7777);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header
}

fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "named pipe";
        }
        if t.is_socket() {
            return "socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "device";
        }
    }
    "special file"
}
