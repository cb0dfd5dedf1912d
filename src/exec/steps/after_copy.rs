//! `invalidate-target`: NetBox's own actions after the copy, then the
//! manifest's `invalidate`, one after the other; a failure names the action
//! and the state the target is in.

use crate::exec::process::{self, Output};
use crate::exec::scheduler::{StepReport, StepResult};
use crate::manifest::Strategy;
use crate::plan::Labeled;

use super::context::{StepContext, StepWork};

/// `invalidate-target`: its commands, and the strategy that says what a
/// failure leaves.
pub(in crate::exec) struct AfterCopy<'a> {
    pub(in crate::exec) commands: &'a [Labeled],
    pub(in crate::exec) strategy: Strategy,
}

impl StepWork for AfterCopy<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        let state = match self.strategy {
            Strategy::Swap => {
                "the new database and folders are already swapped in: `replicate rollback` puts the previous copy back"
            }
            Strategy::Replace => "the target already holds the new copy",
        };
        run_labeled(self.commands, cx.secrets, state)?;
        Ok(StepReport::default())
    }
}

/// Runs `commands` in turn; the first failure names what it was doing and
/// says `state`.
pub(in crate::exec) fn run_labeled(
    commands: &[Labeled],
    secrets: &crate::postgres::Secrets,
    state: &str,
) -> Result<(), crate::exec::scheduler::StepFailure> {
    for command in commands {
        process::run(&command.exec, secrets, Output::Discard).map_err(|mut failure| {
            failure.message = format!("{} failed: {}", command.what, failure.message);
            failure.help = Some(match failure.help.take() {
                Some(help) => format!("{state}; {help}"),
                None => state.to_owned(),
            });
            failure
        })?;
    }
    Ok(())
}
