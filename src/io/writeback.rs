//! Early writeback: artifacts must be on disk before they are renamed into
//! place, and one `fsync` of hundreds of megabytes at the end of a step
//! stalls it for as long as the disk needs. Starting the disk writes while
//! the data is still being produced leaves the final `fsync` little to do.

use std::fs::File;
use std::io::{self, Write};

pub use super::sys::start_writeback;

/// How much newly written data starts its writeback at once.
pub const WRITEBACK_CHUNK: u64 = 8 << 20;

/// A file writer that starts the writeback of every [`WRITEBACK_CHUNK`]
/// written, so that [`WritebackFile::sync`] at the end is short.
pub struct WritebackFile {
    file: File,
    written: u64,
    flushed: u64,
}

impl WritebackFile {
    pub fn new(file: File) -> Self {
        Self {
            file,
            written: 0,
            flushed: 0,
        }
    }

    /// Flushes everything to disk and gives the file back.
    pub fn sync(self) -> io::Result<File> {
        self.file.sync_all()?;
        Ok(self.file)
    }
}

impl Write for WritebackFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.flushed >= WRITEBACK_CHUNK {
            start_writeback(&self.file, self.flushed, self.written - self.flushed);
            self.flushed = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::scratch;

    #[test]
    fn writes_everything_through() {
        let (_dir, path) = scratch::path("f");
        let mut w = WritebackFile::new(File::create(&path).unwrap());
        let chunk = vec![7u8; 3 << 20];
        for _ in 0..4 {
            w.write_all(&chunk).unwrap();
        }
        w.sync().unwrap();
        let back = std::fs::read(&path).unwrap();
        assert_eq!(back.len(), 12 << 20);
        assert!(back.iter().all(|&b| b == 7));
    }
}
