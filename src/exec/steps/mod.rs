//! The work of each step that is more than running one program: the
//! methods of [`super::runner::StepRunner`], one file a step (and the
//! stream restore's shared work queue).

mod after_copy;
mod archive;
mod catalog;
mod check;
mod database;
mod dump;
mod extract;
mod sanitize;
mod stream_dump;
mod stream_post_data;
mod stream_restore;
mod stream_sequences;
mod stream_work;
mod swap;
mod verify;

pub(super) use self::after_copy::run_labeled;
