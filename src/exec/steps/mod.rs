//! The work of each step that is more than running one program: the
//! methods of [`super::runner::StepRunner`], one file a step.

mod archive;
mod check;
mod database;
mod dump;
mod extract;
mod sanitize;
mod stream_dump;
mod stream_restore;
mod swap;
mod verify;
