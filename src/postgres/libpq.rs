//! A connection through libpq, the library `psql` and `pg_dump` are built
//! on: the same connection strings, `PG*` variables, password and service
//! files and TLS settings. The stream format moves its rows over these,
//! with no client program between replicate and the servers. (The only
//! FFI outside `io::sys`: libpq's own functions, wrapped here.)

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::io::{self, Read};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use pq_sys as pq;

use crate::io::interrupt::{self, StopHook};

/// How many bytes of rows go to the sink, or to the server, at once.
pub const CHUNK: usize = 256 * 1024;

/// libpq's or the server's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PqError(pub String);

/// Why a `COPY` stopped.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The server (or the connection) failed.
    #[error("{0}")]
    Server(PqError),
    /// Our side of it: the rows could not be read, or written.
    #[error("{0}")]
    Local(io::Error),
}

/// One open connection. It may move between threads, one at a time.
pub struct Connection {
    conn: NonNull<pq::PGconn>,
    /// Cancels the running statement when replicate is told to stop.
    _stop: Option<StopHook>,
    /// Cancels the running statement from another thread.
    canceller: Option<Arc<Canceller>>,
}

// SAFETY: a PGconn may be used from any thread as long as only one uses it
// at a time, which `&mut self` on every call guarantees.
unsafe impl Send for Connection {}

impl Connection {
    /// Connects with `params` (libpq keywords and values), read in order:
    /// a later one overrides an earlier one, and `dbname` may be a URL or
    /// a `key=value` string whose settings override those before it.
    pub fn open(params: &[(&str, &str)]) -> Result<Self, PqError> {
        let owned = |text: &str| {
            CString::new(text).map_err(|_| PqError("a connection setting holds a NUL byte".into()))
        };
        let keys = params
            .iter()
            .map(|(k, _)| owned(k))
            .collect::<Result<Vec<_>, _>>()?;
        let values = params
            .iter()
            .map(|(_, v)| owned(v))
            .collect::<Result<Vec<_>, _>>()?;
        let key_ptrs: Vec<*const c_char> = keys
            .iter()
            .map(|k| k.as_ptr())
            .chain([ptr::null()])
            .collect();
        let value_ptrs: Vec<*const c_char> = values
            .iter()
            .map(|v| v.as_ptr())
            .chain([ptr::null()])
            .collect();
        // SAFETY: both arrays end with a null pointer and outlive the call.
        let raw = unsafe { pq::PQconnectdbParams(key_ptrs.as_ptr(), value_ptrs.as_ptr(), 1) };
        let conn = NonNull::new(raw)
            .ok_or_else(|| PqError("libpq could not allocate a connection".into()))?;
        let mut connection = Self {
            conn,
            _stop: None,
            canceller: None,
        };
        // SAFETY: `raw` is a live connection until `Drop`.
        if unsafe { pq::PQstatus(raw) } != pq::ConnStatusType::CONNECTION_OK {
            return Err(connection.error());
        }
        // SAFETY: as above; the processor ignores its arguments.
        unsafe { pq::PQsetNoticeProcessor(raw, Some(ignore_notice), ptr::null_mut()) };
        // SAFETY: as above; the cancel object is freed by `Canceller`.
        if let Some(cancel) = NonNull::new(unsafe { pq::PQgetCancel(raw) }) {
            let canceller = Arc::new(Canceller(cancel));
            connection.canceller = Some(canceller.clone());
            connection._stop = Some(StopHook::register(Arc::new(move || canceller.cancel())));
        }
        Ok(connection)
    }

    fn raw(&self) -> *mut pq::PGconn {
        self.conn.as_ptr()
    }

    fn error(&self) -> PqError {
        // SAFETY: the connection is live; libpq owns the message.
        let text = unsafe { text(pq::PQerrorMessage(self.raw())) };
        PqError(if text.is_empty() {
            "the connection failed".to_owned()
        } else {
            text
        })
    }

    /// Sends `sql` and takes its first result (what a `COPY` starts with).
    fn send(&mut self, sql: &str) -> Result<Option<PqResult>, PqError> {
        // A stop cancels the statement running; none starts after it.
        if interrupt::stop_requested() {
            return Err(PqError("replicate was told to stop".into()));
        }
        let sql = CString::new(sql).map_err(|_| PqError("a statement holds a NUL byte".into()))?;
        // SAFETY: the connection is live and `sql` outlives the call.
        if unsafe { pq::PQsendQuery(self.raw(), sql.as_ptr()) } != 1 {
            return Err(self.error());
        }
        Ok(self.next_result())
    }

    fn next_result(&mut self) -> Option<PqResult> {
        // SAFETY: the connection is live; the result is cleared on drop.
        NonNull::new(unsafe { pq::PQgetResult(self.raw()) }).map(PqResult)
    }

    /// Takes the results left, `first` included: the first error, if any.
    fn finish(&mut self, first: Option<PqResult>) -> Result<(), PqError> {
        let mut failure = None;
        let mut next = first;
        while let Some(result) = next {
            match result.status() {
                pq::ExecStatusType::PGRES_COMMAND_OK
                | pq::ExecStatusType::PGRES_TUPLES_OK
                | pq::ExecStatusType::PGRES_EMPTY_QUERY => {}
                pq::ExecStatusType::PGRES_COPY_IN
                | pq::ExecStatusType::PGRES_COPY_OUT
                | pq::ExecStatusType::PGRES_COPY_BOTH => {
                    // Not ours to serve: the connection is left unusable,
                    // and dropped by the caller.
                    return Err(PqError("a statement started an unexpected COPY".into()));
                }
                _ => {
                    failure.get_or_insert_with(|| result.error());
                }
            }
            next = self.next_result();
        }
        failure.map_or(Ok(()), Err)
    }

    /// Connects to `url` as replicate's own queries do: application name
    /// `replicate`, the password of `origin` if one was given (secrets
    /// hidden in the error).
    pub fn to_url(
        url: &crate::postgres::DbUrl,
        origin: &str,
        secrets: &crate::postgres::Secrets,
    ) -> Result<Self, PqError> {
        let mut params = vec![("application_name", "replicate".to_owned())];
        if let Some(secret) = secrets.get(origin) {
            params.push(("password", secret.expose().to_owned()));
        }
        params.push(("dbname", url.conninfo()));
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Self::open(&refs).map_err(|e| PqError(secrets.redact(&e.0)))
    }

    /// Runs `sql`: one statement, or several (then in one transaction, as
    /// the simple query protocol runs them).
    pub fn execute(&mut self, sql: &str) -> Result<(), PqError> {
        let first = self.send(sql)?;
        self.finish(first)
    }

    /// Runs one query and gives its rows, every value as text (`None` for
    /// NULL).
    pub fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, PqError> {
        let first = self.send(sql)?;
        let rows = match &first {
            Some(result) if result.status() == pq::ExecStatusType::PGRES_TUPLES_OK => result.rows(),
            _ => Vec::new(),
        };
        self.finish(first).map(|()| rows)
    }

    /// Runs one statement with `params` as its values (`$1`, `$2`...),
    /// never spliced into its text, and gives its rows.
    pub fn query_params(
        &mut self,
        sql: &str,
        params: &[&str],
    ) -> Result<Vec<Vec<Option<String>>>, PqError> {
        if interrupt::stop_requested() {
            return Err(PqError("replicate was told to stop".into()));
        }
        let nul = || PqError("a statement or a value holds a NUL byte".into());
        let sql = CString::new(sql).map_err(|_| nul())?;
        let values = params
            .iter()
            .map(|p| CString::new(*p).map_err(|_| nul()))
            .collect::<Result<Vec<_>, _>>()?;
        let pointers: Vec<*const c_char> = values.iter().map(|v| v.as_ptr()).collect();
        let count =
            c_int::try_from(pointers.len()).map_err(|_| PqError("too many values".into()))?;
        // SAFETY: the connection is live; `sql`, the values and their
        // pointers outlive the call; null types, lengths and formats mean
        // text values, as libpq documents.
        let sent = unsafe {
            pq::PQsendQueryParams(
                self.raw(),
                sql.as_ptr(),
                count,
                ptr::null(),
                pointers.as_ptr(),
                ptr::null(),
                ptr::null(),
                0,
            )
        };
        if sent != 1 {
            return Err(self.error());
        }
        let first = self.next_result();
        let rows = match &first {
            Some(result) if result.status() == pq::ExecStatusType::PGRES_TUPLES_OK => result.rows(),
            _ => Vec::new(),
        };
        self.finish(first).map(|()| rows)
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
            let n = match rows.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
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

    /// Ends a `COPY FROM STDIN` with an error, so that nothing of it stays.
    fn abort_copy_in(&mut self, why: &str) {
        let why = CString::new(why).unwrap_or_default();
        // SAFETY: the connection is live; `why` outlives the call.
        unsafe { pq::PQputCopyEnd(self.raw(), why.as_ptr()) };
        let last = self.next_result();
        let _ = self.finish(last);
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Nothing cancels this connection once it is gone.
        self._stop.take();
        // SAFETY: the connection was made by PQconnectdbParams and is
        // finished once.
        unsafe { pq::PQfinish(self.raw()) };
    }
}

/// A result, cleared when dropped.
struct PqResult(NonNull<pq::PGresult>);

impl PqResult {
    fn status(&self) -> pq::ExecStatusType {
        // SAFETY: the result is live until `Drop`.
        unsafe { pq::PQresultStatus(self.0.as_ptr()) }
    }

    /// Every row's values, as text.
    fn rows(&self) -> Vec<Vec<Option<String>>> {
        let raw = self.0.as_ptr();
        // SAFETY: the result is live until `Drop`; libpq owns the values,
        // copied before it goes, and both indexes stay in its bounds.
        unsafe {
            let (rows, fields) = (pq::PQntuples(raw), pq::PQnfields(raw));
            (0..rows)
                .map(|row| {
                    (0..fields)
                        .map(|field| {
                            (pq::PQgetisnull(raw, row, field) == 0).then(|| {
                                CStr::from_ptr(pq::PQgetvalue(raw, row, field))
                                    .to_string_lossy()
                                    .into_owned()
                            })
                        })
                        .collect()
                })
                .collect()
        }
    }

    fn error(&self) -> PqError {
        // SAFETY: as above; libpq owns the message.
        let text = unsafe { text(pq::PQresultErrorMessage(self.0.as_ptr())) };
        PqError(if text.is_empty() {
            format!("the server answered {:?}", self.status())
        } else {
            text
        })
    }
}

impl Drop for PqResult {
    fn drop(&mut self) {
        // SAFETY: cleared once.
        unsafe { pq::PQclear(self.0.as_ptr()) };
    }
}

/// Connections whose statements are cancelled together when the work
/// they serve has failed (a dump's catalog readers, when `pg_dump` fails):
/// a statement waiting on a lock would otherwise wait as long as the lock.
#[derive(Default)]
pub struct CancelGroup {
    members: parking_lot::Mutex<Vec<Arc<Canceller>>>,
    cancelled: std::sync::atomic::AtomicBool,
}

impl CancelGroup {
    /// Adds `connection`; an error when the group was cancelled already.
    pub fn join(&self, connection: &Connection) -> Result<(), PqError> {
        // Under the lock that `cancel` takes too: a member is either in
        // the list it cancels, or sees that it was cancelled.
        let mut members = self.members.lock();
        if self.cancelled.load(std::sync::atomic::Ordering::Acquire) {
            return Err(PqError("cancelled: the work it served failed".into()));
        }
        if let Some(canceller) = &connection.canceller {
            members.push(canceller.clone());
        }
        Ok(())
    }

    /// Cancels every member's running statement, and every later join.
    pub fn cancel(&self) {
        let members = self.members.lock();
        self.cancelled
            .store(true, std::sync::atomic::Ordering::Release);
        for member in members.iter() {
            member.cancel();
        }
    }
}

/// A connection's cancel request, usable from any thread.
struct Canceller(NonNull<pq::PGcancel>);

// SAFETY: libpq documents PQcancel as safe to call from any thread (even
// a signal handler) with its own PGcancel object.
unsafe impl Send for Canceller {}
unsafe impl Sync for Canceller {}

impl Canceller {
    fn cancel(&self) {
        let mut errbuf = [0 as c_char; 256];
        // SAFETY: the cancel object is live until `Drop`; the buffer's size
        // is given.
        unsafe { pq::PQcancel(self.0.as_ptr(), errbuf.as_mut_ptr(), errbuf.len() as c_int) };
    }
}

impl Drop for Canceller {
    fn drop(&mut self) {
        // SAFETY: freed once, after every use (the hook holding it is gone).
        unsafe { pq::PQfreeCancel(self.0.as_ptr()) };
    }
}

/// Notices (`NOTICE: ...`) are not shown: psql's stderr was not either.
unsafe extern "C" fn ignore_notice(_arg: *mut c_void, _message: *const c_char) {}

/// A C string libpq owns, copied, without its final newline.
///
/// # Safety
/// `ptr` is null or points to a NUL-terminated string.
unsafe fn text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: the caller's promise.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .trim_end()
        .to_owned()
}

/// pg_dump's plain SQL as libpq can run it: without the psql commands
/// it may hold (`\restrict KEY`, `\unrestrict KEY`, which only psql reads).
pub fn without_psql_commands(sql: &str) -> String {
    sql.split_inclusive('\n')
        .filter(|line| {
            let line = line.trim_end();
            !["\\restrict ", "\\unrestrict "].iter().any(|command| {
                line.strip_prefix(command).is_some_and(|key| {
                    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric())
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psql_commands_of_pg_dump_are_left_out() {
        let sql = "\\restrict Ab12\nSET x = 1;\nCREATE INDEX i ON t (a);\n\\unrestrict Ab12\n";
        assert_eq!(
            without_psql_commands(sql),
            "SET x = 1;\nCREATE INDEX i ON t (a);\n"
        );
        // A line of a statement that only looks like one stays.
        let literal = "COMMENT ON TABLE t IS 'a\n\\restrict this, please\n';\n";
        assert_eq!(without_psql_commands(literal), literal);
    }

    #[test]
    fn a_refused_connection_says_why() {
        let error =
            Connection::open(&[("dbname", "postgresql://127.0.0.1:1/none?connect_timeout=2")])
                .err()
                .expect("nothing listens on port 1");
        assert!(error.0.contains("127.0.0.1"), "{error}");
    }
}
