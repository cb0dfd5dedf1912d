//! Files written safely: private modes, a temporary name until complete and
//! flushed, and errors that say what a full disk means.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::sys::errno;

/// `NAME.partial` beside `NAME`: where an artifact is written until it is
/// complete.
pub fn partial_path(path: &Path) -> PathBuf {
    with_suffix(path, ".partial")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes a file or a folder; absent is fine.
pub fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes through `NAME.tmp` (readable by its owner only), flushed to disk,
/// then renamed over `NAME`: a reader sees the old file or the whole new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = with_suffix(path, ".tmp");
    {
        let mut file = create_private(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// Creates (truncating) a file readable by its owner only.
pub fn create_private(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Creates a folder (and its parents) only its owner can enter.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Makes every file below `root` readable by its owner only (a child such
/// as `pg_dump` writes with the umask's modes).
pub fn make_private(root: &Path) -> io::Result<()> {
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

/// The size of a file, or of every file below a folder.
pub fn size_of(path: &Path) -> Option<u64> {
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

/// An I/O error with what it means for the user when the disk is full.
pub fn describe_io(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(errno::NO_SPACE) | Some(errno::QUOTA) => {
            format!("{error}: the disk is full; free some space or move `artifacts.dir`")
        }
        Some(errno::TOO_BIG) => format!("{error}: a file size limit was reached (ulimit -f)"),
        _ => error.to_string(),
    }
}
