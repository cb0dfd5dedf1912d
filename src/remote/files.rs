//! Single files where a remote place is: what lies at a path, and a file's
//! text (`init` reading a NetBox install on a host or in a container).

use super::command::Reach;
use super::place::Place;
use super::run::{RemoteError, output};

/// Prints what lies at `$1`.
const FOUND: &str =
    r#"if [ -f "$1" ]; then echo file; elif [ -d "$1" ]; then echo folder; else echo nothing; fi"#;

/// Prints the file `$1`.
const READ: &str = r#"exec cat -- "$1""#;

/// What lies at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    File,
    Folder,
    Nothing,
}

/// What lies at `path` where `place` is.
pub fn path_kind(reach: &Reach, place: &Place, path: &str) -> Result<PathKind, RemoteError> {
    let out = output(reach, place, FOUND, &[path])?;
    Ok(match String::from_utf8_lossy(&out).trim() {
        "file" => PathKind::File,
        "folder" => PathKind::Folder,
        _ => PathKind::Nothing,
    })
}

/// The bytes of the file `path` where `place` is.
pub fn read_file(reach: &Reach, place: &Place, path: &str) -> Result<Vec<u8>, RemoteError> {
    output(reach, place, READ, &[path])
}
