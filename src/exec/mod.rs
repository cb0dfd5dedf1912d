//! Running a plan: the scheduler, the steps, and the child processes.

pub mod follow;
pub mod interrupt;
pub mod process;
pub mod scheduler;
pub mod steps;
