//! What can go wrong with folders and their archives.

use std::io;
use std::path::{Path, PathBuf};

use crate::io::interrupt;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[diagnostic(code(replicate::media))]
pub enum MediaError {
    #[error("{}: {}", path.display(), crate::io::files::describe_io(source))]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a folder", .0.display())]
    NotAFolder(PathBuf),
    #[error("cannot archive {}: it is a {kind}, not a file, folder or symbolic link", path.display())]
    Special { path: PathBuf, kind: &'static str },
    #[error("{} changed while it was archived", .0.display())]
    Changed(PathBuf),
    #[error("the archive is refused: entry `{entry}` {reason}; nothing was written")]
    Unsafe { entry: String, reason: String },
    #[error(
        "the archive does not match SHA256SUMS (expected {expected}, found {found}); nothing was written"
    )]
    ArchiveChanged { expected: String, found: String },
    #[error("{} does not match the folder checksums: {reason}", path.display())]
    FileMismatch { path: PathBuf, reason: String },
    #[error("the folder checksums are unreadable: {0}")]
    BadSums(String),
    #[error("stopped by {0}")]
    Interrupted(&'static str),
}

/// Attaches the path to an I/O error.
pub fn io_at(path: &Path) -> impl FnOnce(io::Error) -> MediaError + '_ {
    move |source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Fails when a stop was requested (SIGINT, SIGTERM).
pub fn check_interrupt() -> Result<(), MediaError> {
    if interrupt::stop_requested() {
        return Err(MediaError::Interrupted(
            interrupt::signal_name().unwrap_or("a signal"),
        ));
    }
    Ok(())
}
