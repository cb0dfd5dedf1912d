//! The work of each step that is more than running one program: the
//! methods of [`super::runner::StepRunner`], one file a step.

mod archive;
mod database;
mod dump;
mod extract;
mod verify;
