//! Counting the bytes work has done, for progress shown while it runs: a
//! shared counter, and a writer and a reader that add to it.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A count of bytes (or items) done, shared between the work and whoever
/// shows it.
#[derive(Debug, Clone, Default)]
pub struct Tally(Arc<AtomicU64>);

impl Tally {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A writer that counts what goes through it.
pub struct TallyWriter<'a, W: ?Sized> {
    tally: &'a Tally,
    inner: &'a mut W,
}

impl<'a, W: Write + ?Sized> TallyWriter<'a, W> {
    pub fn new(inner: &'a mut W, tally: &'a Tally) -> Self {
        Self { tally, inner }
    }
}

impl<W: Write + ?Sized> Write for TallyWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.tally.add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that counts what comes through it.
pub struct TallyReader<R> {
    tally: Tally,
    inner: R,
}

impl<R: Read> TallyReader<R> {
    pub fn new(inner: R, tally: Tally) -> Self {
        Self { tally, inner }
    }
}

impl<R: Read> Read for TallyReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tally.add(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_and_readers_count_their_bytes() {
        let tally = Tally::default();
        let mut out = Vec::new();
        TallyWriter::new(&mut out, &tally)
            .write_all(b"hello")
            .unwrap();
        let mut back = String::new();
        TallyReader::new(&out[..], tally.clone())
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(tally.get(), 10);
        tally.set(3);
        assert_eq!(tally.get(), 3);
    }
}
