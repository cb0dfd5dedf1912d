//! Cancelling a connection's running statement from another thread: on a
//! stop, or when the work it serves has failed.

use std::ffi::{c_char, c_int};
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pq_sys as pq;

use super::{Connection, PqError};

/// Connections whose statements are cancelled together when the work
/// they serve has failed (a dump's catalog readers, when `pg_dump` fails):
/// a statement waiting on a lock would otherwise wait as long as the lock.
#[derive(Default)]
pub struct CancelGroup {
    members: parking_lot::Mutex<Vec<Arc<Canceller>>>,
    cancelled: AtomicBool,
}

impl CancelGroup {
    /// Adds `connection`; an error when the group was cancelled already.
    pub fn join(&self, connection: &Connection) -> Result<(), PqError> {
        // Under the lock that `cancel` takes too: a member is either in
        // the list it cancels, or sees that it was cancelled.
        let mut members = self.members.lock();
        if self.cancelled.load(Ordering::Acquire) {
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
        self.cancelled.store(true, Ordering::Release);
        for member in members.iter() {
            member.cancel();
        }
    }
}

/// A connection's cancel request, usable from any thread.
pub(super) struct Canceller(pub(super) NonNull<pq::PGcancel>);

// SAFETY: libpq documents PQcancel as safe to call from any thread (even
// a signal handler) with its own PGcancel object.
unsafe impl Send for Canceller {}
unsafe impl Sync for Canceller {}

impl Canceller {
    pub(super) fn cancel(&self) {
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
