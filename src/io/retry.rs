//! Reads that go on when a signal interrupts them.

use std::io::{self, Read};

/// Reads into `buf` as [`Read::read`] does, again whenever a signal
/// interrupted the read: `Ok(0)` only at the end.
pub fn read_retrying(reader: &mut (impl Read + ?Sized), buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            done => return done,
        }
    }
}
