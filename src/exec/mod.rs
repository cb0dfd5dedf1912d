//! Running a plan, and the other operations on a manifest's artifacts and
//! target: each takes what it needs and returns a report for the command
//! line to show (`prepare` then `apply`, `verify`, `rollback`, `clean`,
//! `force_unlock`); the scheduler, the steps, and the child processes they
//! run.

mod apply;
mod apply_report;
mod artifacts;
mod clean;
mod connection;
mod error;
mod follow;
mod journaling;
mod load;
mod meter;
mod preconditions;
mod prepare;
mod process;
mod ready;
pub mod rollback;
mod runner;
pub mod scheduler;
mod selection;
mod session;
mod source_record;
mod start;
mod steps;
mod stream;
mod target_folder;
mod target_server;
mod target_state;
mod verify;
mod verify_target;

pub use self::apply::apply;
pub use self::apply_report::ApplyReport;
pub use self::artifacts::force_unlock;
pub use self::clean::clean;
pub use self::error::ApplyError;
pub use self::journaling::step_status;
pub use self::load::load_manifest;
pub use self::meter::Meter;
pub use self::prepare::{ApplyRequest, prepare};
pub use self::scheduler::{Observer, RunEnd, StepResult};
pub use self::verify::{FolderVerdict, VerifyReport, verify};
pub use self::verify_target::TargetVerdict;
