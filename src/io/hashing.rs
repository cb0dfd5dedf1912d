//! SHA-256 computed on the way: bytes are hashed as they are written, so an
//! artifact is never read a second time to be checksummed.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::tally::{Tally, TallyReader};

/// A writer that hashes and counts everything it passes on.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, the hex SHA-256 and the byte count of all written.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts everything read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// How many bytes were read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The hex SHA-256 and byte count of all read.
    pub fn finish(self) -> (String, u64) {
        (hex::encode(self.hasher.finalize()), self.bytes)
    }

    /// The inner reader, the hex SHA-256 and the byte count of all read.
    pub fn into_parts(self) -> (R, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The hex SHA-256 and size of a file.
pub fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    hash_reader(File::open(path)?)
}

/// A file's hex SHA-256 and size, or why it could not be read.
pub type HashResult = io::Result<(String, u64)>;

/// Hashes many files on all cores, largest first (so that no core is left
/// with one big file at the end); results in the order of `paths`.
pub fn hash_files(paths: &[std::path::PathBuf]) -> Vec<HashResult> {
    hash_files_tallied(paths, &Tally::default())
}

/// [`hash_files`], adding the bytes read to `tally` as it goes.
pub fn hash_files_tallied(paths: &[std::path::PathBuf], tally: &Tally) -> Vec<HashResult> {
    use parking_lot::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len().max(1));
    let mut order: Vec<(u64, usize)> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (std::fs::metadata(p).map_or(0, |m| m.len()), i))
        .collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<HashResult>>> = paths.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(&(_, i)) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let (Some(path), Some(slot)) = (paths.get(i), results.get(i)) else {
                        break;
                    };
                    let hashed = File::open(path)
                        .and_then(|f| hash_reader(TallyReader::new(f, tally.clone())));
                    *slot.lock() = Some(hashed);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|| Err(io::Error::other("not hashed")))
        })
        .collect()
}

/// The hex SHA-256 and size of everything `reader` gives.
pub fn hash_reader(reader: impl Read) -> io::Result<(String, u64)> {
    let mut buf = vec![0u8; 64 * 1024];
    copy_hashed(reader, &mut io::sink(), u64::MAX, &mut buf)
}

/// Copies at most `limit` bytes from `reader` to `writer` through `buf`,
/// hashing them; their hex SHA-256 and how many there were (fewer than
/// `limit` when the reader ended first).
pub fn copy_hashed(
    reader: impl Read,
    writer: &mut impl Write,
    limit: u64,
    buf: &mut [u8],
) -> io::Result<(String, u64)> {
    let mut reader = HashingReader::new(reader);
    while reader.bytes_read() < limit {
        let want = buf
            .len()
            .min(usize::try_from(limit - reader.bytes_read()).unwrap_or(usize::MAX));
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        writer.write_all(&buf[..n])?;
    }
    Ok(reader.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_what_passes_through() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"abc").unwrap();
        let (inner, sum, bytes) = w.finish();
        assert_eq!(inner, b"abc");
        assert_eq!(bytes, 3);
        assert_eq!(
            sum,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash_reader(&b"abc"[..]).unwrap().0, sum);
    }

    #[test]
    fn copies_at_most_the_limit() {
        let mut out = Vec::new();
        let mut buf = [0u8; 2];
        let (sum, n) = copy_hashed(&b"abcdef"[..], &mut out, 3, &mut buf).unwrap();
        assert_eq!((out.as_slice(), n), (&b"abc"[..], 3));
        assert_eq!(sum, hash_reader(&b"abc"[..]).unwrap().0);
        let (_, n) = copy_hashed(&b"ab"[..], &mut Vec::new(), 10, &mut buf).unwrap();
        assert_eq!(n, 2);
    }
}
