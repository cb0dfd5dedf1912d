//! Bytes and files: hashing on the way, compression, early writeback,
//! files written safely, paths, the `sha256sum` format, signals, and every
//! call into the C library (`sys`). Nothing here knows about PostgreSQL,
//! manifests or plans.

pub mod compression;
pub mod files;
pub mod hashing;
pub mod interrupt;
pub mod paths;
pub mod sha256sum;
pub mod sys;
pub mod writeback;
