//! `replicate apply`: plan live (or take a saved plan), confirm, run, and
//! show what the run did.

use std::path::PathBuf;

use super::super::confirm::{Asking, confirm};
use super::super::error::Error;
use super::super::load::show_warnings;
use super::super::output::{emit, print, seconds};
use super::super::progress::Progress;
use super::super::style::{GOOD, paint};
use super::super::{exit, plan_text};
use indicatif::{DecimalBytes, HumanCount};

use crate::display::units::count;
use crate::exec::{self, ApplyReport, ApplyRequest};
use crate::io::paths;
use crate::plan::StepId;

pub struct ApplyOptions {
    pub plan_file: Option<PathBuf>,
    /// The manifest named with `-m` or `REPLICATE_MANIFEST`, if any.
    pub manifest: Option<PathBuf>,
    pub auto_approve: bool,
    pub steps: Option<Vec<StepId>>,
    pub resume: bool,
    pub parallelism: usize,
    /// JSON lines on stdout: the plan, then an event per step.
    pub json: bool,
    /// Show every command in the plan.
    pub verbose: bool,
}

const APPLY: Asking = Asking {
    command: "apply",
    question: "apply this plan",
    help: "review the plan, then run `replicate apply --auto-approve`, or save it with `replicate plan --out PLAN` and run `replicate apply PLAN`",
};

pub fn run(options: &ApplyOptions) -> Result<u8, Error> {
    let request = ApplyRequest {
        plan_file: options.plan_file.clone(),
        manifest: options.manifest.clone(),
        steps: options.steps.clone(),
        resume: options.resume,
    };
    let prepared = exec::prepare(&request, &show_warnings)?;
    // A saved plan was shown and approved when it was made.
    if !prepared.saved {
        if options.json {
            emit(&serde_json::json!({ "event": "plan", "plan": prepared.document }));
        } else {
            print(&plan_text::render(
                &prepared.document,
                &plan_text::Shown {
                    verbose: options.verbose,
                    skipped: prepared.skipped.clone(),
                },
            ));
        }
        confirm(options.auto_approve, &APPLY)?;
    }
    let observer = Progress::new(options.json);
    let report = exec::apply(prepared, options.parallelism, &observer)?;
    drop(observer);
    if !options.json {
        print(&summary(&report));
    }
    Ok(exit::SUCCESS)
}

/// The last lines of a run: what was copied, how long the target was
/// unavailable, where the previous copy is, where the artifacts are.
fn summary(report: &ApplyReport) -> String {
    let mut lines = vec![format!(
        "\n{} {} in {}",
        paint(GOOD, "Apply complete:"),
        count(report.steps_done as u64, "step", "steps"),
        seconds(report.elapsed)
    )];
    let c = report.copied;
    let mut copied = Vec::new();
    if c.tables > 0 {
        copied.push(format!(
            "{}, {} rows (checked against the dump)",
            count(c.tables, "table", "tables"),
            HumanCount(c.rows)
        ));
    }
    if c.files > 0 {
        copied.push(format!(
            "{}, {}",
            count(c.files, "file", "files"),
            DecimalBytes(c.file_bytes)
        ));
    }
    if !copied.is_empty() {
        lines.push(format!("Copied: {}", copied.join("; ")));
    }
    if let Some(ms) = report.downtime_ms {
        lines.push(format!("The target could not be reached for {ms} ms."));
    }
    if let Some(previous) = &report.previous {
        let kept: Vec<String> = previous
            .database
            .iter()
            .cloned()
            .chain(previous.folders.iter().map(crate::remote::Place::shown))
            .collect();
        lines.push(format!(
            "The previous target is kept ({}): `replicate rollback` swaps it back in.",
            kept.join(", ")
        ));
    }
    let a = &report.artifacts;
    let dir = paths::display(&a.dir);
    lines.push(if a.removed {
        format!("Artifacts: removed after the run (keep = \"none\"); state.json stays in {dir}.")
    } else {
        format!(
            "Artifacts: {} in {dir} (`replicate clean` removes them).",
            DecimalBytes(a.bytes)
        )
    });
    let mut text = lines.join("\n");
    text.push('\n');
    text
}
