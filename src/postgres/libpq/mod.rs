//! A connection through libpq, the library `psql` and `pg_dump` are built
//! on: the same connection strings, `PG*` variables, password and service
//! files and TLS settings. The stream format moves its rows over these,
//! with no client program between replicate and the servers. (The only
//! FFI outside `io::sys`: libpq's own functions, wrapped here.)
//!
//! `connect` opens a connection, `query` runs statements (with parameters
//! or not), `copy` moves rows in and out, `cancel` stops a running
//! statement from elsewhere, `result` holds what libpq hands back.

mod cancel;
mod connect;
mod copy;
mod query;
mod result;
mod script;

use std::io;
use std::ptr::NonNull;
use std::sync::Arc;

use pq_sys as pq;

use crate::io::interrupt::StopHook;

pub use cancel::CancelGroup;
pub use script::without_psql_commands;

use cancel::Canceller;

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

impl Drop for Connection {
    fn drop(&mut self) {
        // Nothing cancels this connection once it is gone.
        self._stop.take();
        // SAFETY: the connection was made by PQconnectdbParams and is
        // finished once.
        unsafe { pq::PQfinish(self.raw()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_says_why() {
        let error =
            Connection::open(&[("dbname", "postgresql://127.0.0.1:1/none?connect_timeout=2")])
                .err()
                .expect("nothing listens on port 1");
        assert!(error.0.contains("127.0.0.1"), "{error}");
    }
}
