//! A dump's own files read without SQL: the entries of an archive's
//! table of contents (`pg_restore --list`), and the rows of a table's data
//! file in a directory dump.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::toc::{self};
use crate::io::compression::Compression;
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
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            let part = &chunk[start..end];
            for (i, &b) in part
                .iter()
                .take(2usize.saturating_sub(line_len))
                .enumerate()
            {
                head[line_len + i] = b;
            }
            line_len += part.len();
            if line_len == 2 && &head == b"\\." {
                return Ok(rows);
            }
            rows += 1;
            line_len = 0;
            start = end + 1;
        }
        let part = &chunk[start..];
        for (i, &b) in part
            .iter()
            .take(2usize.saturating_sub(line_len))
            .enumerate()
        {
            head[line_len + i] = b;
        }
        line_len += part.len();
    }
    Ok(rows + u64::from(line_len > 0))
}

/// The table data and sequence entries of the archive at `path` (`pg_restore
/// --list`).
pub fn list(tools: &Tools, path: &Path) -> Result<Vec<toc::ListEntry>, DumpFileError> {
    let list = pg_restore_output(tools, &["--list".into(), path.as_os_str().into()])?;
    Ok(toc::entries(&String::from_utf8_lossy(&list)))
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
