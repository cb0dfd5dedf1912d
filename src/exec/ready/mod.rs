//! The one place that decides what is ready and who runs it: a queue of
//! tasks by key, each waiting for others to be done ("after") or started
//! ("follows"), and the workers that take them, at most so many at once,
//! stopping at the first failure or when asked. A plan's steps run on it
//! ([`super::scheduler`]), and so do the stream restore's loads, key
//! builds, foreign keys, validations and statistics, whose tasks are
//! added as the tables come in.

mod queue;
mod workers;

pub(in crate::exec) use self::queue::{Key, ReadyQueue, Waits};
pub(in crate::exec) use self::workers::Workers;

#[cfg(test)]
mod tests;
