//! The work of each step: a type a step, one file each, run with a
//! [`StepContext`] that holds only what a step may touch; the rest it
//! needs, its action carries. The stream format's steps are in
//! [`super::stream`].

mod after_copy;
mod archive;
mod catalog;
mod check;
mod context;
mod database;
mod dump;
mod extract;
mod maintenance;
mod partial;
mod program;
mod restore;
mod sanitize;
mod swap;
mod verify;

pub(super) use self::after_copy::{AfterCopy, run_labeled};
pub(super) use self::archive::Archive;
pub(super) use self::catalog::{DumpCatalog, PG_DUMP_SETTINGS, Snapshot, write_catalog};
pub(super) use self::check::Check;
pub(super) use self::context::{StepContext, StepWork};
pub(super) use self::database::{Create, DropTarget};
pub(super) use self::dump::Dump;
pub(super) use self::extract::Extract;
pub(super) use self::maintenance::Maintenance;
pub(super) use self::partial::Partial;
pub(super) use self::program::Program;
pub(super) use self::restore::{Restore, flush_commits, watch_size};
pub(super) use self::sanitize::SanitizedDump;
pub(super) use self::swap::Swap;
pub(super) use self::verify::Verify;
