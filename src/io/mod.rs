//! Bytes and files: hashing on the way, compression, early writeback, tees,
//! files written safely, paths, the `sha256sum` format, signals, and every
//! call into the C library (`sys`). Nothing here knows about PostgreSQL,
//! manifests or plans.

pub mod compression;
pub(crate) mod files;
pub mod hashing;
pub(crate) mod interrupt;
pub(crate) mod paths;
pub(crate) mod retry;
#[cfg(test)]
pub(crate) mod scratch;
pub mod sha256sum;
pub(crate) mod sys;
pub mod tally;
pub(crate) mod tee;
pub(crate) mod writeback;
