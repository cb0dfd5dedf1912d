//! `replicate apply`: plan live (or take a saved plan), confirm, and run.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use super::super::error::Error;
use super::super::load::load_manifest_for;
use super::super::output::{emit, print, seconds};
use super::super::progress::Progress;
use super::super::style::{GOOD, paint};
use super::super::{exit, plan_text};
use indicatif::{DecimalBytes, HumanCount};

use crate::display::units::count;
use crate::exec;
use crate::io::files::size_of;
use crate::io::paths;
use crate::manifest::{DEFAULT_MANIFEST, Manifest, Strategy};
use crate::plan::document::PlanDocument;
use crate::plan::{self, Plan, Sides, SourceInput, StepId};
use crate::postgres::names::companion;

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

pub fn run(options: &ApplyOptions) -> Result<u8, Error> {
    let saved = options
        .plan_file
        .as_ref()
        .map(|path| PlanDocument::read(path).map(|doc| (path, doc)))
        .transpose()?;
    let manifest_path = match (&saved, &options.manifest) {
        (Some((path, doc)), Some(given)) => {
            let same = std::path::absolute(given)
                .map(|g| paths::normalize(&g) == doc.manifest.path)
                .unwrap_or(false);
            if !same {
                return Err(Error::PlanForAnotherManifest {
                    path: path.display().to_string(),
                    planned: doc.manifest.path.display().to_string(),
                    given: given.display().to_string(),
                });
            }
            doc.manifest.path.clone()
        }
        (Some((_, doc)), None) => doc.manifest.path.clone(),
        (None, given) => given
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_MANIFEST)),
    };
    // A run of some steps reaches only the systems they touch.
    let sides = Sides::for_steps(options.steps.as_deref());
    let manifest = load_manifest_for(&manifest_path, sides)?;
    if let Some((path, saved_doc)) = &saved {
        saved_doc.check_still_valid(path, &manifest)?;
    }
    let source = if sides.source || !manifest.has_database() {
        SourceInput::Live
    } else {
        SourceInput::Recorded(Box::new(exec::source_record::read(&manifest)?))
    };
    let (plan, doc) = plan::live_for(&manifest, &manifest.secrets(), sides, source)?;
    if let Some((path, saved_doc)) = &saved {
        saved_doc.check_same_steps(path, &manifest, &doc)?;
    }
    let mut run_options = exec::ApplyOptions {
        steps: options.steps.clone(),
        resume: options.resume,
        parallelism: options.parallelism,
        selected: None,
    };
    let (selected, skipped) = exec::select_steps(&manifest, &plan, &doc, &run_options)?;
    run_options.selected = Some(selected);
    if saved.is_none() {
        if options.json {
            emit(&serde_json::json!({ "event": "plan", "plan": doc }));
        } else {
            print(&plan_text::render(
                &doc,
                &plan_text::Shown {
                    verbose: options.verbose,
                    skipped,
                },
            ));
        }
        confirm(options.auto_approve, &APPLY)?;
    }

    let observer = Progress::new(options.json);
    let applied = exec::apply(&manifest, &plan, &doc, &run_options, &observer)?;
    drop(observer);
    if !options.json {
        print(&summary(&manifest, &plan, &applied));
    }
    Ok(exit::SUCCESS)
}

/// The last lines of a run: what was copied, how long the target was
/// unavailable, where the previous copy is, where the artifacts are.
fn summary(manifest: &Manifest, plan: &Plan, applied: &exec::Applied) -> String {
    let mut lines = vec![format!(
        "\n{} {} in {}",
        paint(GOOD, "Apply complete:"),
        count(applied.steps_done as u64, "step", "steps"),
        seconds(applied.elapsed)
    )];
    let c = applied.copied;
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
    if let Some(ms) = applied.downtime_ms {
        lines.push(format!("The target could not be reached for {ms} ms."));
    }
    let t = &manifest.target;
    if t.strategy == Strategy::Swap && t.keep_previous && plan.contains(StepId::Swap) {
        let mut kept = Vec::new();
        if manifest.has_database() {
            kept.push(companion(t.database.database(), "__prev"));
        }
        for folder in t.folders.values() {
            kept.push(paths::display(&crate::media::companion(folder, "prev")));
        }
        lines.push(format!(
            "The previous target is kept ({}): `replicate rollback` swaps it back in.",
            kept.join(", ")
        ));
    }
    let dir = &manifest.artifacts.dir;
    let bytes: u64 = plan
        .steps()
        .flat_map(|s| s.produces.iter())
        .filter_map(|a| size_of(&dir.join(&a.name)))
        .sum();
    lines.push(if applied.artifacts_removed {
        format!(
            "Artifacts: removed after the run (keep = \"none\"); state.json stays in {}.",
            paths::display(dir)
        )
    } else {
        format!(
            "Artifacts: {} in {} (`replicate clean` removes them).",
            DecimalBytes(bytes),
            paths::display(dir)
        )
    });
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// A command that asks before it acts.
pub(super) struct Asking {
    /// `apply`, `rollback`.
    pub command: &'static str,
    /// `apply this plan`.
    pub question: &'static str,
    /// What to do without a terminal.
    pub help: &'static str,
}

const APPLY: Asking = Asking {
    command: "apply",
    question: "apply this plan",
    help: "review the plan, then run `replicate apply --auto-approve`, or save it with `replicate plan --out PLAN` and run `replicate apply PLAN`",
};

/// Asks for `yes` on a terminal; without one, only `--auto-approve` will do.
pub(super) fn confirm(auto_approve: bool, asking: &Asking) -> Result<(), Error> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::NotApproved {
            command: asking.command,
            help: asking.help,
        });
    }
    eprint!(
        "\nDo you want to {}? Only `yes` will be accepted: ",
        asking.question
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::Cancelled {
            command: asking.command,
        })
    }
}
