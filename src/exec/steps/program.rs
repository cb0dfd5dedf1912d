//! A step that runs one program as it is (`invalidate-source`).

use crate::exec::process::{self, Output};
use crate::exec::scheduler::{StepReport, StepResult};
use crate::plan::Exec;

use super::context::{StepContext, StepWork};

/// The program, its output left aside.
pub(in crate::exec) struct Program<'a>(pub(in crate::exec) &'a Exec);

impl StepWork for Program<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        process::run(self.0, cx.secrets, Output::Discard)?;
        Ok(StepReport::default())
    }
}
