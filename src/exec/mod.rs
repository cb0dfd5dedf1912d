//! Running a plan: the `apply` operation (which steps, what must hold before
//! they start, the journal), the scheduler, the steps, and the child
//! processes they run.

mod apply;
mod artifacts;
mod clean;
mod connection;
mod error;
mod follow;
mod meter;
mod preconditions;
mod process;
mod ready;
pub mod rollback;
mod runner;
pub mod scheduler;
mod selection;
mod session;
pub mod source_record;
mod steps;
mod stream;
mod target_state;

pub use self::apply::{Applied, ApplyOptions, apply, select_steps, step_status};
pub use self::artifacts::open_artifacts;
pub use self::clean::clean;
pub use self::error::ApplyError;
pub use self::meter::Meter;
pub use self::scheduler::{Observer, RunEnd, StepResult};
