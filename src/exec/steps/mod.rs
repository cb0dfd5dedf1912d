//! The work of each step that is more than running one program: the
//! methods of [`super::runner::StepRunner`], one file a step (the stream
//! format's are in [`super::stream`]).

mod after_copy;
mod archive;
mod catalog;
mod check;
mod database;
mod dump;
mod extract;
mod sanitize;
mod swap;
mod verify;

pub(super) use self::after_copy::run_labeled;
pub(super) use self::catalog::PG_DUMP_SETTINGS;
pub(super) use self::dump::Partial;
