//! `COPY ... TO STDOUT` and `COPY ... FROM STDIN`: rows out to a sink, and
//! in from a reader, a chunk at a time.

use std::ffi::{CString, c_char, c_int, c_void};
use std::io::{self, Read};
use std::ptr;

use pq_sys as pq;

use super::result::PqResult;
use super::{CHUNK, Connection, CopyError, PqError};
use crate::io::interrupt;
use crate::io::retry::read_retrying;

impl Connection {
    /// Runs `COPY ... TO STDOUT` and gives `sink` its rows, about
    /// [`CHUNK`] bytes at a time, whole rows each time.
    pub fn copy_out(
        &mut self,
        sql: &str,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<(), CopyError> {
        self.start_copy(sql, pq::ExecStatusType::PGRES_COPY_OUT)
            .map_err(CopyError::Server)?;
        let mut batch: Vec<u8> = Vec::with_capacity(CHUNK + 64 * 1024);
        loop {
            let mut row: *mut c_char = ptr::null_mut();
            // SAFETY: the connection is live and in COPY OUT; a row libpq
            // hands over is ours to free.
            let n = unsafe { pq::PQgetCopyData(self.raw(), &mut row, 0) };
            if n > 0 && !row.is_null() {
                // SAFETY: libpq gives `n` readable bytes at `row`.
                let bytes = unsafe { std::slice::from_raw_parts(row.cast::<u8>(), n as usize) };
                batch.extend_from_slice(bytes);
                // SAFETY: `row` came from libpq and is freed once.
                unsafe { pq::PQfreemem(row.cast::<c_void>()) };
                if batch.len() >= CHUNK {
                    sink(&batch).map_err(CopyError::Local)?;
                    batch.clear();
                }
            } else if n == -1 {
                break;
            } else {
                return Err(CopyError::Server(self.error()));
            }
        }
        if !batch.is_empty() {
            sink(&batch).map_err(CopyError::Local)?;
        }
        let last = self.next_result();
        self.finish(last).map_err(CopyError::Server)
    }

    /// Runs `COPY ... FROM STDIN` with all `rows` gives.
    pub fn copy_in(&mut self, sql: &str, rows: &mut dyn Read) -> Result<(), CopyError> {
        self.start_copy(sql, pq::ExecStatusType::PGRES_COPY_IN)
            .map_err(CopyError::Server)?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match read_retrying(rows, &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    self.abort_copy_in("replicate could not read the rows");
                    return Err(CopyError::Local(e));
                }
            };
            if interrupt::stop_requested() {
                self.abort_copy_in("replicate was told to stop");
                return Err(CopyError::Server(PqError(
                    "replicate was told to stop".into(),
                )));
            }
            // SAFETY: the connection is live and in COPY IN; `n` bytes of
            // `buf` are readable (n <= CHUNK fits a c_int).
            let sent = unsafe { pq::PQputCopyData(self.raw(), buf.as_ptr().cast(), n as c_int) };
            if sent != 1 {
                return Err(CopyError::Server(self.error()));
            }
        }
        // SAFETY: the connection is live and in COPY IN.
        if unsafe { pq::PQputCopyEnd(self.raw(), ptr::null()) } != 1 {
            return Err(CopyError::Server(self.error()));
        }
        let last = self.next_result();
        self.finish(last).map_err(CopyError::Server)
    }

    /// Sends a `COPY` and checks that the server started it in the
    /// direction `expected`; otherwise its error.
    fn start_copy(&mut self, sql: &str, expected: pq::ExecStatusType) -> Result<(), PqError> {
        let first = self.send(sql)?;
        if first.as_ref().map(PqResult::status) == Some(expected) {
            return Ok(());
        }
        Err(match self.finish(first) {
            Err(e) => e,
            Ok(()) => PqError(format!("`{sql}` started no COPY")),
        })
    }

    /// Ends a `COPY FROM STDIN` with an error, so that nothing of it stays.
    fn abort_copy_in(&mut self, why: &str) {
        let why = CString::new(why).unwrap_or_default();
        // SAFETY: the connection is live; `why` outlives the call.
        unsafe { pq::PQputCopyEnd(self.raw(), why.as_ptr()) };
        let last = self.next_result();
        let _ = self.finish(last);
    }
}
