//! Opening a connection, and what libpq says when it fails.

use std::ffi::{CString, c_char, c_void};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use pq_sys as pq;

use super::cancel::Canceller;
use super::result::text;
use super::{Connection, PqError};
use crate::io::interrupt::StopHook;

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
        let (key_ptrs, value_ptrs) = (null_terminated(&keys), null_terminated(&values));
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

    pub(super) fn raw(&self) -> *mut pq::PGconn {
        self.conn.as_ptr()
    }

    /// The connection's last error, as libpq words it.
    pub(super) fn error(&self) -> PqError {
        // SAFETY: the connection is live; libpq owns the message.
        let text = unsafe { text(pq::PQerrorMessage(self.raw())) };
        PqError(if text.is_empty() {
            "the connection failed".to_owned()
        } else {
            text
        })
    }
}

/// Pointers to `strings`, then a null one: an array as libpq reads it.
fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain([ptr::null()])
        .collect()
}

/// Notices (`NOTICE: ...`) are not shown: psql's stderr was not either.
unsafe extern "C" fn ignore_notice(_arg: *mut c_void, _message: *const c_char) {}
