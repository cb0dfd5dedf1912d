//! Facts read from a dump's own content, without asking the source.
//!
//! - plain: the SQL file, scanned once;
//! - custom: what `pg_restore -f -` prints, scanned once;
//! - directory: the schema from `pg_restore --schema-only -f -`, each
//!   table's rows counted in its own data file (found through
//!   `pg_restore --list`, counted on every core), and the sequence values
//!   from `pg_restore` given only their entries.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Facts;
use super::sql_scan::SqlScan;
use super::toc::{self, ListKind};
use crate::io::compression::Compression;
use crate::io::sys;
use crate::postgres::DumpFormat;
use crate::postgres::tools::Tools;

/// Why a dump's facts could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[diagnostic(code(replicate::dump_facts))]
pub enum DumpFactsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("{program} could not read the dump: {stderr}")]
    Restore { program: String, stderr: String },
    #[error("the dump lists the data of `{0}`, a table it does not define")]
    UnknownTable(String),
    #[error("no data file for entry {id} in {}", dir.display())]
    NoDataFile { id: u32, dir: PathBuf },
}

/// The facts of the dump at `path`.
pub fn read(
    tools: &Tools,
    path: &Path,
    format: DumpFormat,
    compression: Compression,
) -> Result<Facts, DumpFactsError> {
    let read_error = |source| DumpFactsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut scan = SqlScan::default();
    match format {
        DumpFormat::Plain => {
            let file = File::open(path).map_err(read_error)?;
            let reader = compression
                .decoder(BufReader::with_capacity(1 << 20, file))
                .map_err(read_error)?;
            scan.read(reader).map_err(read_error)?;
            Ok(scan.finish().0)
        }
        DumpFormat::Custom => {
            pg_restore_into(tools, &[path.as_os_str().into()], &mut scan)?;
            Ok(scan.finish().0)
        }
        DumpFormat::Directory => directory(tools, path, scan),
        DumpFormat::Stream => super::stream::read(path).map_err(read_error),
    }
}

fn directory(tools: &Tools, dir: &Path, mut scan: SqlScan) -> Result<Facts, DumpFactsError> {
    pg_restore_into(
        tools,
        &["--schema-only".into(), dir.as_os_str().into()],
        &mut scan,
    )?;
    let list = pg_restore_output(tools, &["--list".into(), dir.as_os_str().into()])?;
    let entries = toc::entries(&String::from_utf8_lossy(&list));

    // Sequence values: pg_restore given a list of only their entries.
    let sequences: Vec<&str> = entries
        .iter()
        .filter(|e| e.kind == ListKind::SequenceSet)
        .map(|e| e.line.as_str())
        .collect();
    if !sequences.is_empty() {
        let list_file = tempfile_in(dir, &sequences.join("\n"))?;
        let restored = pg_restore_into(
            tools,
            &[
                format!("--use-list={}", list_file.path.display()).into(),
                dir.as_os_str().into(),
            ],
            &mut scan,
        );
        drop(list_file);
        restored?;
    }
    let (mut facts, by_list_text) = scan.finish();

    // Each table's rows, from its data file.
    let mut files = Vec::new();
    for entry in entries.iter().filter(|e| e.kind == ListKind::TableData) {
        let table = by_list_text
            .get(&entry.rest)
            .ok_or_else(|| DumpFactsError::UnknownTable(entry.rest.clone()))?;
        files.push((table.clone(), data_file(dir, entry.dump_id)?));
    }
    for (table, rows) in count_files(files)? {
        facts.tables.insert(table, rows);
    }
    Ok(facts)
}

/// `ID.dat`, or its compressed form.
fn data_file(dir: &Path, id: u32) -> Result<(PathBuf, Compression), DumpFactsError> {
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
    Err(DumpFactsError::NoDataFile {
        id,
        dir: dir.to_path_buf(),
    })
}

/// Counts the rows of every data file, largest first, on every core.
fn count_files(
    files: Vec<(String, (PathBuf, Compression))>,
) -> Result<HashMap<String, u64>, DumpFactsError> {
    let mut order: Vec<(u64, usize)> = files
        .iter()
        .enumerate()
        .map(|(i, (_, (p, _)))| (std::fs::metadata(p).map_or(0, |m| m.len()), i))
        .collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    let next = AtomicUsize::new(0);
    let counted: Mutex<Vec<Result<(String, u64), DumpFactsError>>> = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(&(_, i)) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let (table, (path, compression)) = &files[i];
                    let result = File::open(path)
                        .and_then(|f| compression.decoder(f))
                        .and_then(count_copy_rows)
                        .map(|rows| (table.clone(), rows))
                        .map_err(|source| DumpFactsError::Read {
                            path: path.clone(),
                            source,
                        });
                    counted
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(result);
                }
            });
        }
    });
    counted
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .collect()
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

/// Runs `pg_restore -f - ARGS` and scans what it prints.
fn pg_restore_into(
    tools: &Tools,
    args: &[std::ffi::OsString],
    scan: &mut SqlScan,
) -> Result<(), DumpFactsError> {
    let program = tools.program("pg_restore");
    let shown = program.display().to_string();
    let mut all: Vec<std::ffi::OsString> = vec!["--file=-".into()];
    all.extend(args.iter().cloned());
    let reader = duct::cmd(program.as_os_str().to_owned(), &all)
        .before_spawn(|command| {
            sys::die_with_parent(command);
            Ok(())
        })
        .stdin_null()
        .stderr_capture()
        .unchecked()
        .reader()
        .map_err(|source| DumpFactsError::Spawn {
            program: shown.clone(),
            source,
        })?;
    let scanned = scan.read(&reader);
    let output = reader
        .try_wait()
        .map_err(|source| DumpFactsError::Spawn {
            program: shown.clone(),
            source,
        })?
        .cloned();
    match output {
        Some(output) if output.status.success() => {
            scanned.map_err(|source| DumpFactsError::Spawn {
                program: shown.clone(),
                source,
            })
        }
        Some(output) => Err(DumpFactsError::Restore {
            program: shown,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        }),
        None => Err(DumpFactsError::Restore {
            program: shown,
            stderr: "it did not end after its output closed".into(),
        }),
    }
}

/// Runs `pg_restore ARGS` and returns what it prints.
fn pg_restore_output(
    tools: &Tools,
    args: &[std::ffi::OsString],
) -> Result<Vec<u8>, DumpFactsError> {
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
        .map_err(|source| DumpFactsError::Spawn {
            program: shown.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(DumpFactsError::Restore {
            program: shown,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(output.stdout)
}

/// A file that is removed when dropped.
struct TempFile {
    path: PathBuf,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A list file for `pg_restore --use-list`, beside the dump (the artifacts
/// folder is private and writable).
fn tempfile_in(dir: &Path, text: &str) -> Result<TempFile, DumpFactsError> {
    let parent = dir.parent().unwrap_or(dir);
    let name = format!(
        ".{}.sequences.list",
        dir.file_name()
            .map_or("dump".into(), |n| n.to_string_lossy())
    );
    let path = parent.join(name);
    std::fs::write(&path, text).map_err(|source| DumpFactsError::Read {
        path: path.clone(),
        source,
    })?;
    Ok(TempFile { path })
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
