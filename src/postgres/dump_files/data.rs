//! A dump's own files read without SQL: the entries of an archive's
//! table of contents (`pg_restore --list`), and the rows of a table's data
//! file in a directory dump.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::toc::{self};
use crate::io::compression::Compression;
use crate::io::retry::read_retrying;
use crate::io::sys;
use crate::postgres::tools::Tools;

/// Why a dump's files could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[diagnostic(code(replicate::dump_files))]
pub enum DumpFileError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("{program} could not read the dump: {stderr}")]
    Restore { program: String, stderr: String },
    #[error("no data file for entry {id} in {}", dir.display())]
    NoDataFile { id: u32, dir: PathBuf },
}

/// `ID.dat`, or its compressed form.
pub fn data_file(dir: &Path, id: u32) -> Result<(PathBuf, Compression), DumpFileError> {
    for (suffix, compression) in [
        ("", Compression::None),
        (".gz", Compression::Gzip),
        (".zst", Compression::Zstd),
    ] {
        let path = dir.join(format!("{id}.dat{suffix}"));
        if path.is_file() {
            return Ok((path, compression));
        }
    }
    Err(DumpFileError::NoDataFile {
        id,
        dir: dir.to_path_buf(),
    })
}

/// The rows of `COPY` data: the lines before the line `\.`, or all of them
/// when there is none.
pub fn count_copy_rows(mut reader: impl Read) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut rows = 0u64;
    // The current line's length so far and its first two bytes.
    let mut line_len = 0usize;
    let mut head = [0u8; 2];
    loop {
        let n = read_retrying(&mut reader, &mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            line_len = note_head(&mut head, line_len, &chunk[start..end]);
            if line_len == 2 && &head == b"\\." {
                return Ok(rows);
            }
            rows += 1;
            line_len = 0;
            start = end + 1;
        }
        line_len = note_head(&mut head, line_len, &chunk[start..]);
    }
    Ok(rows + u64::from(line_len > 0))
}

/// Keeps in `head` the first two bytes of a line `line_len` bytes long so
/// far, of which `part` comes next; the line's new length.
fn note_head(head: &mut [u8; 2], line_len: usize, part: &[u8]) -> usize {
    for (i, &b) in part
        .iter()
        .take(2usize.saturating_sub(line_len))
        .enumerate()
    {
        head[line_len + i] = b;
    }
    line_len + part.len()
}

/// The table data and sequence entries of the archive at `path` (`pg_restore
/// --list`).
pub fn list(tools: &Tools, path: &Path) -> Result<Vec<toc::ListEntry>, DumpFileError> {
    Ok(toc::entries(&list_text(tools, path)?))
}

/// The archive's table of contents as `pg_restore --list` prints it.
pub fn list_text(tools: &Tools, path: &Path) -> Result<String, DumpFileError> {
    let list = pg_restore_output(tools, &["--list".into(), path.as_os_str().into()])?;
    Ok(String::from_utf8_lossy(&list).into_owned())
}

/// The SQL of the archive's sequence values (its `SEQUENCE SET` entries,
/// given to `pg_restore` as the list of what to print), empty when it has
/// none. The list file is written beside the archive, and removed.
pub fn sequence_values(tools: &Tools, path: &Path) -> Result<String, DumpFileError> {
    let lines: Vec<String> = list(tools, path)?
        .into_iter()
        .filter(|e| e.kind == toc::ListKind::SequenceSet)
        .map(|e| e.line)
        .collect();
    if lines.is_empty() {
        return Ok(String::new());
    }
    let name = path
        .file_name()
        .map_or("dump".into(), |n| n.to_string_lossy().into_owned());
    let list_file = path.with_file_name(format!(".{name}.sequences.list"));
    std::fs::write(&list_file, lines.join("\n") + "\n").map_err(|source| DumpFileError::Spawn {
        program: list_file.display().to_string(),
        source,
    })?;
    let printed = pg_restore_output(
        tools,
        &[
            "--file=-".into(),
            format!("--use-list={}", list_file.display()).into(),
            path.as_os_str().into(),
        ],
    );
    let _ = std::fs::remove_file(&list_file);
    Ok(String::from_utf8_lossy(&printed?).into_owned())
}

/// Keeps, of a plain dump's text going through it, the lines that set a
/// sequence's value (outside the rows of `COPY` blocks, whose lines may hold
/// any text): [`crate::postgres::catalog::Catalog::sequences_from_dump`]
/// reads them.
#[derive(Default)]
pub struct SetvalLines {
    /// The current line's first bytes (a `setval` line is short).
    line: Vec<u8>,
    /// The line is longer than any `setval` line: not kept.
    long: bool,
    in_copy: bool,
    in_setval: bool,
    kept: String,
}

impl SetvalLines {
    const MAX: usize = 4096;

    pub fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let (part, end) = match memchr::memchr(b'\n', bytes) {
                Some(at) => (&bytes[..at], true),
                None => (bytes, false),
            };
            if !self.long && self.line.len() + part.len() <= Self::MAX {
                self.line.extend_from_slice(part);
            } else {
                self.long = true;
                self.line.truncate(64);
            }
            bytes = &bytes[part.len() + usize::from(end)..];
            if end {
                self.line_ended();
            }
        }
    }

    fn line_ended(&mut self) {
        let line = std::mem::take(&mut self.line);
        let long = std::mem::take(&mut self.long);
        if self.in_copy {
            self.in_copy = line != b"\\.";
            return;
        }
        if self.in_setval {
            // The rest of a `setval` whose name holds a line break.
            self.kept.push_str(&String::from_utf8_lossy(&line));
            self.kept.push('\n');
            self.in_setval = !long && !line.ends_with(b");");
        } else if line.starts_with(b"COPY ") && line.ends_with(b" FROM stdin;") {
            self.in_copy = true;
        } else if !long && line.starts_with(b"SELECT pg_catalog.setval(") {
            self.kept.push_str(&String::from_utf8_lossy(&line));
            self.kept.push('\n');
            self.in_setval = !line.ends_with(b");");
        }
    }

    /// The `setval` lines seen.
    pub fn finish(self) -> String {
        self.kept
    }
}

/// Runs `pg_restore ARGS` and returns what it prints.
fn pg_restore_output(tools: &Tools, args: &[std::ffi::OsString]) -> Result<Vec<u8>, DumpFileError> {
    let program = tools.program("pg_restore");
    let shown = program.display().to_string();
    let output = duct::cmd(program.as_os_str().to_owned(), args)
        .before_spawn(|command| {
            sys::die_with_parent(command);
            Ok(())
        })
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|source| DumpFileError::Spawn {
            program: shown.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(DumpFileError::Restore {
            program: shown,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(output.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_end_at_the_terminator() {
        assert_eq!(count_copy_rows(&b"1\tx\n2\ty\n\\.\n\n\n"[..]).unwrap(), 2);
        assert_eq!(count_copy_rows(&b"\\.\n\n\n"[..]).unwrap(), 0);
        assert_eq!(count_copy_rows(&b"a\\nb\n\\\\.\n\\.\n"[..]).unwrap(), 2);
        assert_eq!(count_copy_rows(&b"1\n2"[..]).unwrap(), 2);
        assert_eq!(count_copy_rows(&b""[..]).unwrap(), 0);
    }

    #[test]
    fn setval_lines_are_kept_outside_copy_rows() {
        let mut lines = SetvalLines::default();
        let text = b"SET x = 1;\nCOPY public.t (a) FROM stdin;\nSELECT pg_catalog.setval('public.s', 9, true);\n\\.\n\nSELECT pg_catalog.setval('public.s', 42, true);\n";
        for chunk in text.chunks(7) {
            lines.update(chunk);
        }
        assert_eq!(
            lines.finish(),
            "SELECT pg_catalog.setval('public.s', 42, true);\n"
        );
    }

    #[test]
    fn rows_split_across_reads_are_counted_once() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        assert_eq!(count_copy_rows(Trickle(b"12\n\\.x\n\\.\n\n\n")).unwrap(), 2);
    }
}
