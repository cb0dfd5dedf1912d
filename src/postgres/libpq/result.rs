//! What libpq hands back: results (cleared when dropped) and its messages,
//! copied into Rust strings.

use std::ffi::{CStr, c_char};
use std::ptr::NonNull;

use pq_sys as pq;

use super::PqError;

/// A result, cleared when dropped.
pub(super) struct PqResult(NonNull<pq::PGresult>);

impl PqResult {
    /// The next result of the statement running on `conn`, if any.
    pub(super) fn next(conn: *mut pq::PGconn) -> Option<Self> {
        // SAFETY: the caller's connection is live; the result is cleared
        // on drop.
        NonNull::new(unsafe { pq::PQgetResult(conn) }).map(Self)
    }

    pub(super) fn status(&self) -> pq::ExecStatusType {
        // SAFETY: the result is live until `Drop`.
        unsafe { pq::PQresultStatus(self.0.as_ptr()) }
    }

    /// Every row's values, as text.
    pub(super) fn rows(&self) -> Vec<Vec<Option<String>>> {
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

    pub(super) fn error(&self) -> PqError {
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

/// A C string libpq owns, copied, without its final newline.
///
/// # Safety
/// `ptr` is null or points to a NUL-terminated string.
pub(super) unsafe fn text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: the caller's promise.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .trim_end()
        .to_owned()
}
