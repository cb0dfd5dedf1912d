//! The `sha256sum` file format: `HASH  NAME` a line, with sha256sum's
//! escaping for names holding a backslash or a newline (the line starts
//! with `\`), so that `sha256sum -c` reads back every file replicate writes.
//! `SHA256SUMS` (names are artifact paths) and the per-folder sums (names
//! are paths inside the folder) are both written and read here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// SHA-256 of every file of a folder, by its path inside the folder.
pub type FileSums = BTreeMap<PathBuf, String>;

/// Lines for `(name, hash)` pairs, in the order given.
pub fn render<'a>(entries: impl IntoIterator<Item = (&'a [u8], &'a str)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, hash) in entries {
        let escape = name.contains(&b'\\') || name.contains(&b'\n') || name.contains(&b'\r');
        if escape {
            out.push(b'\\');
        }
        out.extend_from_slice(hash.as_bytes());
        out.extend_from_slice(b"  ");
        for &b in name {
            match b {
                b'\\' if escape => out.extend_from_slice(b"\\\\"),
                b'\n' if escape => out.extend_from_slice(b"\\n"),
                b'\r' if escape => out.extend_from_slice(b"\\r"),
                _ => out.push(b),
            }
        }
        out.push(b'\n');
    }
    out
}

/// Why a checksum list cannot be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[diagnostic(code(replicate::sums))]
pub enum SumsError {
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("line {line} is not `HASH  PATH`")]
    NotALine { line: usize },
    #[error("line {line} has no SHA-256")]
    NoHash { line: usize },
    #[error("{} is not a checksum list: {source}", path.display())]
    Malformed {
        path: PathBuf,
        #[source]
        source: Box<SumsError>,
    },
}

/// The `(name, hash)` pairs of a listing; the error names the bad line.
pub fn parse(bytes: &[u8]) -> Result<Vec<(Vec<u8>, String)>, SumsError> {
    let mut entries = Vec::new();
    for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let (escaped, line) = match line.strip_prefix(b"\\") {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        if line.len() < 66 || &line[64..66] != b"  " {
            return Err(SumsError::NotALine { line: number + 1 });
        }
        let hash = String::from_utf8_lossy(&line[..64]).into_owned();
        if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SumsError::NoHash { line: number + 1 });
        }
        let raw = &line[66..];
        let mut name = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            match (escaped, raw[i], raw.get(i + 1)) {
                (true, b'\\', Some(b'\\')) => {
                    name.push(b'\\');
                    i += 2;
                }
                (true, b'\\', Some(b'n')) => {
                    name.push(b'\n');
                    i += 2;
                }
                // Newer GNU sha256sum escapes a carriage return too.
                (true, b'\\', Some(b'r')) => {
                    name.push(b'\r');
                    i += 2;
                }
                (_, b, _) => {
                    name.push(b);
                    i += 1;
                }
            }
        }
        entries.push((name, hash));
    }
    Ok(entries)
}

/// A folder's sums as a listing.
pub fn render_files(sums: &FileSums) -> Vec<u8> {
    let names: Vec<(Vec<u8>, &str)> = sums
        .iter()
        .map(|(path, hash)| (path_bytes(path), hash.as_str()))
        .collect();
    render(names.iter().map(|(name, hash)| (name.as_slice(), *hash)))
}

/// A folder's sums from a listing.
pub fn parse_files(bytes: &[u8]) -> Result<FileSums, SumsError> {
    Ok(parse(bytes)?
        .into_iter()
        .map(|(name, hash)| (bytes_path(name), hash))
        .collect())
}

/// Reads and parses the folder sums at `path`; the error says which file
/// and why.
pub fn read_files(path: &Path) -> Result<FileSums, SumsError> {
    let listing = std::fs::read(path).map_err(|source| SumsError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    parse_files(&listing).map_err(|e| SumsError::Malformed {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(unix)]
fn bytes_path(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_odd_names() {
        let hash = "a".repeat(64);
        let mut sums = FileSums::new();
        for name in [
            "plain.png",
            "with space.jpg",
            "back\\slash",
            "new\nline",
            "carriage return\r",
            "ünïcødé/名前.txt",
        ] {
            sums.insert(PathBuf::from(name), hash.clone());
        }
        let text = render_files(&sums);
        assert_eq!(parse_files(&text).unwrap(), sums);
        let shown = String::from_utf8(text).unwrap();
        assert!(shown.contains(&format!("\\{hash}  back\\\\slash\n")));
        assert!(shown.contains(&format!("{hash}  with space.jpg\n")));
        // GNU sha256sum -c drops an unescaped carriage return at a line's end.
        assert!(shown.contains(&format!("\\{hash}  carriage return\\r\n")));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"not a sums line\n").is_err());
    }
}
