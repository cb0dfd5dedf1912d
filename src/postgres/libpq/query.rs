//! Statements: sent as text, or with their values as parameters, and
//! their results taken to the last.

use std::ffi::{CString, c_char, c_int};
use std::ptr;

use pq_sys as pq;

use super::result::PqResult;
use super::{Connection, PqError};
use crate::io::interrupt;

/// A query's rows, every value as text (`None` for NULL).
pub type Rows = Vec<Vec<Option<String>>>;

impl Connection {
    /// Runs `sql`: one statement, or several (then in one transaction, as
    /// the simple query protocol runs them).
    pub fn execute(&mut self, sql: &str) -> Result<(), PqError> {
        let first = self.send(sql)?;
        self.finish(first)
    }

    /// Runs one query and gives its rows, every value as text (`None` for
    /// NULL).
    pub fn query(&mut self, sql: &str) -> Result<Rows, PqError> {
        let first = self.send(sql)?;
        self.rows_of(first)
    }

    /// Runs one statement with `params` as its values (`$1`, `$2`...),
    /// never spliced into its text, and gives its rows.
    pub fn query_params(&mut self, sql: &str, params: &[&str]) -> Result<Rows, PqError> {
        refuse_after_stop()?;
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
        self.rows_of(first)
    }

    /// Sends `sql` and takes its first result (what a `COPY` starts with).
    pub(super) fn send(&mut self, sql: &str) -> Result<Option<PqResult>, PqError> {
        refuse_after_stop()?;
        let sql = CString::new(sql).map_err(|_| PqError("a statement holds a NUL byte".into()))?;
        // SAFETY: the connection is live and `sql` outlives the call.
        if unsafe { pq::PQsendQuery(self.raw(), sql.as_ptr()) } != 1 {
            return Err(self.error());
        }
        Ok(self.next_result())
    }

    pub(super) fn next_result(&mut self) -> Option<PqResult> {
        PqResult::next(self.raw())
    }

    /// The rows of `first` (none unless it holds rows), once the results
    /// left have been taken without an error.
    fn rows_of(&mut self, first: Option<PqResult>) -> Result<Rows, PqError> {
        let rows = match &first {
            Some(result) if result.status() == pq::ExecStatusType::PGRES_TUPLES_OK => result.rows(),
            _ => Vec::new(),
        };
        self.finish(first).map(|()| rows)
    }

    /// Takes the results left, `first` included: the first error, if any.
    pub(super) fn finish(&mut self, first: Option<PqResult>) -> Result<(), PqError> {
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
}

/// A stop cancels the statement running; none starts after it.
pub(super) fn refuse_after_stop() -> Result<(), PqError> {
    if interrupt::stop_requested() {
        return Err(PqError("replicate was told to stop".into()));
    }
    Ok(())
}
