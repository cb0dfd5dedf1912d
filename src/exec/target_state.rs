//! What a failed or stopped run says: the step, its command, status and
//! stderr, and the state the target is left in.

use super::error::ApplyError;
use super::scheduler::{Outcome, StepFailure};
use crate::manifest::Manifest;
use crate::plan::{Plan, StepId};

/// The error for a failed run: the step, its command, status and stderr,
/// and the state the target is left in.
pub fn failed(
    manifest: &Manifest,
    plan: &Plan,
    outcome: &Outcome,
    id: StepId,
    failure: &StepFailure,
) -> ApplyError {
    let mut details = failure.message.clone();
    if let Some(command) = &failure.command {
        details.push_str(&format!("\ncommand: {command}"));
    }
    if let Some(tail) = &failure.stderr_tail {
        details.push_str("\nstderr:");
        for line in tail.lines() {
            details.push_str(&format!("\n  {line}"));
        }
    }
    details.push_str(&format!(
        "\ntarget: {}",
        target_state(manifest, plan, outcome)
    ));
    let mut help = failure.help.clone().unwrap_or_default();
    if !help.is_empty() {
        help.push('\n');
    }
    help.push_str(&format!(
        "state.json in {} records how far the run got; `replicate apply --resume` continues from there",
        manifest.artifacts.dir.display()
    ));
    ApplyError::StepFailed {
        step: id.to_string(),
        details,
        help: Some(help),
    }
}

/// What state the target is left in after `outcome`, in words.
pub fn target_state(manifest: &Manifest, plan: &Plan, outcome: &Outcome) -> String {
    let ran =
        |id: StepId| outcome.done.contains(&id) || outcome.failed.iter().any(|(f, _)| *f == id);
    let done = |id: StepId| outcome.done.contains(&id);
    let db = manifest.target.database.database();
    let folders = folder_words(manifest);
    let mut parts = Vec::new();
    if plan.contains(StepId::Swap) {
        // Nothing touches the live target before `swap`, which undoes itself
        // when it fails.
        let (what, was, are) = match (
            plan.contains(StepId::Create),
            plan.contains(StepId::Extract),
        ) {
            (true, true) => (format!("the database {db} and {folders}"), "were", "are"),
            (true, false) => (format!("the database {db}"), "was", "is"),
            _ if manifest.target.folders.len() > 1 => (folders, "were", "are"),
            _ => (folders, "was", "is"),
        };
        parts.push(if done(StepId::Swap) {
            format!("{what} {was} replaced; the previous copy is kept for `replicate rollback` unless keep_previous = false")
        } else if ran(StepId::Swap) {
            format!("the swap failed and was undone: {what} {are} as before")
        } else {
            format!("{what} {was} not touched")
        });
        return parts.join("; ");
    }
    if plan.contains(StepId::Drop) {
        parts.push(if !ran(StepId::Drop) {
            format!("the database {db} was not touched")
        } else if done(StepId::Check) {
            format!("the database {db} was replaced")
        } else if done(StepId::Restore) {
            format!("the database {db} was replaced, but does not hold what was dumped")
        } else if !done(StepId::Drop) {
            format!("dropping the database {db} failed, so it should be as it was")
        } else if !done(StepId::Create) {
            format!("the database {db} was dropped and not created again")
        } else {
            format!("the database {db} was dropped and recreated, and is not fully restored")
        });
    }
    if plan.contains(StepId::Extract) {
        parts.push(if ran(StepId::Extract) && done(StepId::Extract) {
            format!("{folders} replaced")
        } else if ran(StepId::Extract) {
            format!("extracting failed, so {folders} kept the old content")
        } else {
            format!("{folders} not touched")
        });
    }
    parts.join("; ")
}

/// `the media folder`, `the media and scripts folders`.
fn folder_words(manifest: &Manifest) -> String {
    let names: Vec<&str> = manifest.target.folders.keys().map(|f| f.as_str()).collect();
    match names.split_last() {
        Some((last, [])) => format!("the {last} folder"),
        Some((last, rest)) => format!("the {} and {last} folders", rest.join(", ")),
        None => "no folder".to_owned(),
    }
}
