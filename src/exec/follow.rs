//! Hashing a folder while a child process writes into it.
//!
//! `pg_dump --format=directory` writes its files itself, so they cannot be
//! hashed on the way through a pipe. Hashing them after `pg_dump` exits puts
//! a full read of the dump on the critical path; instead a thread follows
//! the folder while the dump runs, hashing each file's new bytes as they
//! appear (they are still in the page cache) and starting their writeback
//! to disk. When the child has exited, one last pass hashes what is left,
//! re-hashes any file that was replaced or shrank, and flushes it all.
//!
//! This relies on the writer only appending, as `pg_dump` does. A writer
//! that rewrote bytes it had already written would make the sums wrong;
//! `verify` re-hashes every artifact before anything uses it, so that
//! would stop the run, never pass unnoticed.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use walkdir::WalkDir;

use crate::io::hashing::{HashingReader, hash_reader};
use crate::io::tally::Tally;
use crate::io::writeback::{WRITEBACK_CHUNK, start_writeback};
use crate::store::Sums;

/// How long the follower sleeps when the writer has written nothing new.
const IDLE: Duration = Duration::from_millis(10);

/// At most this many files are followed (held open) at once; a dump of a
/// database with more tables has its other files hashed at the end, so the
/// process never runs short of file descriptors.
const MAX_FOLLOWED: usize = 256;

/// A thread hashing the files below a folder as they grow.
pub struct TreeFollower {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<io::Result<(Sums, u64)>>,
}

/// One file being followed: read (and hashed) up to where the writer is.
struct Followed {
    reader: HashingReader<File>,
    ino: u64,
    /// How far its writeback has been started.
    flushed: u64,
}

impl TreeFollower {
    /// Starts following `root` (which must exist); sums will name its files
    /// `NAME/relative/path`.
    pub fn start(root: PathBuf, name: String, tally: Tally) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || follow(&root, &name, &flag, MAX_FOLLOWED, &tally));
        Self { stop, thread }
    }

    /// Call once the writer has exited: hashes what is left, flushes every
    /// file and folder to disk, and returns the sums and the total bytes.
    pub fn finish(self) -> io::Result<(Sums, u64)> {
        self.stop.store(true, Ordering::Release);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the hashing thread panicked")))
    }
}

fn follow(
    root: &Path,
    name: &str,
    stop: &AtomicBool,
    limit: usize,
    tally: &Tally,
) -> io::Result<(Sums, u64)> {
    let mut files: BTreeMap<PathBuf, Followed> = BTreeMap::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        // Read the flag before the pass: once it is set the writer is gone,
        // so the pass that follows sees every byte it wrote.
        let last = stop.load(Ordering::Acquire);
        let progressed = catch_up(root, &mut files, &mut buf, limit)?;
        tally.set(files.values().map(|f| f.reader.bytes_read()).sum());
        if last {
            break;
        }
        if !progressed {
            std::thread::sleep(IDLE);
        }
    }
    settle(root, name, files)
}

/// Opens new files and hashes every file's new bytes; whether any were read.
fn catch_up(
    root: &Path,
    files: &mut BTreeMap<PathBuf, Followed>,
    buf: &mut [u8],
    limit: usize,
) -> io::Result<bool> {
    for entry in WalkDir::new(root).min_depth(1) {
        if files.len() >= limit {
            break;
        }
        let entry = entry.map_err(io::Error::other)?;
        if !entry.file_type().is_file() || files.contains_key(entry.path()) {
            continue;
        }
        let Ok(file) = File::open(entry.path()) else {
            continue; // gone again: the last pass decides
        };
        let ino = file.metadata()?.ino();
        files.insert(
            entry.into_path(),
            Followed {
                reader: HashingReader::new(file),
                ino,
                flushed: 0,
            },
        );
    }
    let mut progressed = false;
    for followed in files.values_mut() {
        loop {
            match followed.reader.read(buf) {
                Ok(0) => break,
                Ok(_) => progressed = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let hashed = followed.reader.bytes_read();
        if hashed - followed.flushed >= WRITEBACK_CHUNK {
            start_writeback(
                followed.reader.get_ref(),
                followed.flushed,
                hashed - followed.flushed,
            );
            followed.flushed = hashed;
        }
    }
    Ok(progressed)
}

/// The sums of the files as they are now: a file followed to its end and
/// still the same file keeps its running hash; any other is hashed afresh.
/// Every file and folder is flushed to disk.
fn settle(
    root: &Path,
    name: &str,
    mut files: BTreeMap<PathBuf, Followed>,
) -> io::Result<(Sums, u64)> {
    let mut sums = Sums::new();
    let mut bytes = 0;
    for entry in WalkDir::new(root).sort_by_file_name() {
        let entry = entry.map_err(io::Error::other)?;
        let path = entry.path();
        if entry.file_type().is_dir() {
            File::open(path)?.sync_all()?;
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let meta = fs::symlink_metadata(path)?;
        let (hash, size) = match files.remove(path) {
            Some(f) if f.ino == meta.ino() && f.reader.bytes_read() == meta.len() => {
                let (file, hash, size) = f.reader.into_parts();
                file.sync_all()?;
                (hash, size)
            }
            _ => {
                let file = File::open(path)?;
                let hashed = hash_reader(&file)?;
                file.sync_all()?;
                hashed
            }
        };
        let rel = path.strip_prefix(root).map_err(io::Error::other)?;
        sums.insert(format!("{name}/{}", rel.to_string_lossy()), hash);
        bytes += size;
    }
    Ok((sums, bytes))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::io::scratch;
    use crate::store::hash_tree;

    /// What following `root` found is what hashing it afterwards finds:
    /// the same sums, of `files` files, and the same number of bytes.
    #[track_caller]
    fn assert_as_hashed_afterwards(
        (sums, bytes): (Sums, u64),
        root: &Path,
        name: &str,
        files: usize,
    ) {
        let (expected, expected_bytes) = hash_tree(root, name).unwrap();
        assert_eq!(sums, expected);
        assert_eq!(bytes, expected_bytes);
        assert_eq!(sums.len(), files);
    }

    #[test]
    fn follows_growing_files_to_the_same_sums_as_hashing_afterwards() {
        let (_dir, root) = scratch::folder("dump.dir");
        let follower = TreeFollower::start(root.clone(), "dump.dir".into(), Tally::default());
        let mut a = File::create(root.join("1.dat")).unwrap();
        for i in 0..200u32 {
            a.write_all(&i.to_le_bytes().repeat(10_000)).unwrap();
            if i == 50 {
                fs::write(root.join("2.dat"), b"small").unwrap();
            }
            if i % 40 == 0 {
                std::thread::sleep(Duration::from_millis(15));
            }
        }
        drop(a);
        // Replaced (a new file renamed over it) after it was followed.
        fs::write(root.join("2.tmp"), b"other content").unwrap();
        fs::rename(root.join("2.tmp"), root.join("2.dat")).unwrap();
        fs::create_dir(root.join("sub")).unwrap();
        fs::write(root.join("sub/toc.dat"), b"toc").unwrap();
        assert_as_hashed_afterwards(follower.finish().unwrap(), &root, "dump.dir", 3);
    }

    #[test]
    fn files_beyond_the_limit_are_hashed_at_the_end() {
        let (_dir, root) = scratch::folder("d");
        for i in 0..7 {
            fs::write(root.join(format!("{i}.dat")), vec![i as u8; 1000 + i]).unwrap();
        }
        let stop = AtomicBool::new(true);
        let followed = follow(&root, "d", &stop, 3, &Tally::default()).unwrap();
        assert_as_hashed_afterwards(followed, &root, "d", 7);
    }

    #[test]
    fn a_truncated_file_is_hashed_again() {
        let (_dir, root) = scratch::folder("d");
        fs::write(root.join("x"), vec![1u8; 100_000]).unwrap();
        let follower = TreeFollower::start(root.clone(), "d".into(), Tally::default());
        std::thread::sleep(Duration::from_millis(50));
        let f = fs::OpenOptions::new()
            .write(true)
            .open(root.join("x"))
            .unwrap();
        f.set_len(10).unwrap();
        drop(f);
        let (sums, bytes) = follower.finish().unwrap();
        assert_eq!(bytes, 10);
        assert_eq!(sums, hash_tree(&root, "d").unwrap().0);
    }
}
