//! Early writeback: artifacts must be on disk before they are renamed into
//! place, and one `fsync` of hundreds of megabytes at the end of a step
//! stalls it for as long as the disk needs. Starting the disk writes while
//! the data is still being produced leaves the final `fsync` little to do.

use std::fs::File;
use std::io::{self, Write};

/// How much newly written data starts its writeback at once.
pub const WRITEBACK_CHUNK: u64 = 8 << 20;

/// Asks the kernel to start writing `len` bytes of `file` from `offset` to
/// disk, without waiting for them. Advisory: errors are ignored (the final
/// `fsync` reports real ones), and it does nothing off Linux.
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
            return;
        };
        // SAFETY: sync_file_range only reads its integer arguments; the
        // descriptor is open for as long as `file` is borrowed.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

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

    #[test]
    fn writes_everything_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
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
