//! `replicate apply`: plan live (or take a saved plan), confirm, and run.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::artifacts::ArtifactsDir;
use crate::cli::exit;
use crate::error::Error;
use crate::exec::interrupt;
use crate::exec::scheduler::{self, Outcome, StepFailure};
use crate::exec::steps::StepRunner;
use crate::inspect::{inspect, secrets_of};
use crate::lock::RunLock;
use crate::manifest::Manifest;
use crate::plan::document::PlanDocument;
use crate::plan::{self, Plan, StepId, render};
use crate::state::{Journal, RunStatus, StepStatus};

use super::progress::{self, Progress};
use crate::style::{GOOD, paint};

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
                .map(|g| crate::paths::normalize(&g) == doc.manifest.path)
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
            .unwrap_or_else(|| PathBuf::from(crate::manifest::DEFAULT_MANIFEST)),
    };
    let manifest = super::load_manifest(&manifest_path)?;
    if let Some((path, doc)) = &saved
        && doc.manifest.sha256 != manifest.sha256
    {
        return Err(Error::StalePlan {
            path: path.display().to_string(),
            reason: format!(
                "{} changed since the plan was made",
                manifest_path.display()
            ),
        });
    }

    let secrets = secrets_of(&manifest);
    let inspection = inspect(&manifest, &secrets).map_err(|e| Error::inspect(e, &manifest))?;
    let plan = plan::plan(&manifest, inspection.facts.as_ref())?;
    let doc = PlanDocument::new(&manifest, &plan, Some(&inspection));

    match &saved {
        Some((path, saved_doc)) => {
            // The steps must be the ones the manifest plans now: this also
            // refuses a plan file whose steps were edited by hand.
            let now = if saved_doc.live {
                doc.clone()
            } else {
                PlanDocument::new(&manifest, &plan::plan(&manifest, None)?, None)
            };
            if saved_doc.digest() != now.digest() {
                let difference = saved_doc
                    .difference(&now)
                    .unwrap_or_else(|| "the steps' order or content changed".to_owned());
                return Err(Error::StalePlan {
                    path: path.display().to_string(),
                    reason: format!(
                        "its steps differ from what the manifest plans now (the systems changed, or the file was edited): {difference}"
                    ),
                });
            }
        }
        None => {
            if options.json {
                progress::emit(&serde_json::json!({ "event": "plan", "plan": doc }));
            } else {
                super::print(&render::render(&doc));
            }
            confirm(options.auto_approve)?;
        }
    }

    // Nothing is written before the plan is approved.
    let artifacts = ArtifactsDir::new(&manifest.artifacts.dir);
    check_artifacts_folder(artifacts.path())?;
    artifacts.create().map_err(|source| Error::Write {
        path: manifest.artifacts.dir.display().to_string(),
        source,
    })?;
    let _lock = RunLock::acquire(artifacts.path())?;
    interrupt::install();

    let selected = select_steps(&plan, options, &artifacts, &doc)?;
    check_inputs(&plan, &selected, &artifacts)?;

    let journal = Journal::start(
        artifacts.path(),
        &doc.digest(),
        &manifest.sha256,
        plan.steps().map(|s| s.id),
    )
    .map_err(|e| Error::Io(format!("cannot write state.json: {e}")))?;
    for step in plan.steps().filter(|s| !selected.contains(&s.id)) {
        let _ = journal.update(step.id, |s| s.status = StepStatus::Skipped);
    }

    let runner = StepRunner {
        manifest: &manifest,
        artifacts: &artifacts,
        secrets: &secrets,
    };
    let observer = Progress::new(&journal, options.json);
    let started = Instant::now();
    let outcome = scheduler::run(
        &plan,
        &selected,
        options.parallelism,
        &runner,
        &observer,
        interrupt::flag(),
    );
    let status = if outcome.succeeded() {
        RunStatus::Succeeded
    } else if interrupt::stop_requested() {
        RunStatus::Interrupted
    } else {
        RunStatus::Failed
    };
    let _ = journal.finish(status);
    if options.json {
        progress::emit(&serde_json::json!({
            "event": "finished",
            "status": status,
            "steps_done": outcome.done.len(),
            "duration_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }));
    }

    if status == RunStatus::Interrupted {
        let running: Vec<&str> = outcome.failed.iter().map(|(id, _)| id.as_str()).collect();
        return Err(Error::Interrupted {
            signal: interrupt::signal_name().unwrap_or("a signal").to_owned(),
            during: if running.is_empty() {
                "between steps".to_owned()
            } else {
                format!("during {}", running.join(", "))
            },
            target: target_state(&manifest, &plan, &outcome),
        });
    }

    if let Some((id, failure)) = outcome.failed.first() {
        return Err(failed(&manifest, &plan, &outcome, *id, failure));
    }
    if !options.json {
        super::print(&format!(
            "\n{} {} in {}\n",
            paint(GOOD, "Apply complete:"),
            crate::units::count(outcome.done.len() as u64, "step", "steps"),
            seconds(started.elapsed())
        ));
    }
    Ok(exit::SUCCESS)
}

/// Refuses an artifacts folder that is a symbolic link (it could send the
/// dumps anywhere), and warns when other users can read it.
fn check_artifacts_folder(path: &std::path::Path) -> Result<(), Error> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        return Err(Error::ArtifactsFolder {
            message: format!("the artifacts folder {} is a symbolic link", path.display()),
            help: "point `artifacts.dir` at the real folder; a link could send dumps (password hashes, tokens) anywhere".to_owned(),
        });
    }
    if !meta.is_dir() {
        return Err(Error::ArtifactsFolder {
            message: format!("the artifacts folder {} is not a folder", path.display()),
            help: "remove it or choose another `artifacts.dir`".to_owned(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            crate::cli::report(&crate::error::Warning {
                message: format!(
                    "the artifacts folder {} can be read by other users (mode {mode:o})",
                    path.display()
                ),
                help: format!(
                    "dumps hold password hashes and API tokens: `chmod 700 {}`",
                    path.display()
                ),
            });
        }
    }
    Ok(())
}

/// Asks for `yes` on a terminal; without one, only `--auto-approve` will do.
fn confirm(auto_approve: bool) -> Result<(), Error> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::NotApproved);
    }
    eprint!("\nDo you want to apply this plan? Only `yes` will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::Cancelled)
    }
}

/// The steps this run executes: `--steps`, or `--resume`'s remainder, or all.
fn select_steps(
    plan: &Plan,
    options: &ApplyOptions,
    artifacts: &ArtifactsDir,
    doc: &PlanDocument,
) -> Result<BTreeSet<StepId>, Error> {
    let all: BTreeSet<StepId> = plan.steps().map(|s| s.id).collect();
    let mut selected = match &options.steps {
        Some(ids) => {
            let missing: Vec<&str> = ids
                .iter()
                .filter(|id| !all.contains(id))
                .map(|id| id.as_str())
                .collect();
            if !missing.is_empty() {
                let present: Vec<&str> = all.iter().map(|id| id.as_str()).collect();
                return Err(Error::BadSteps {
                    message: format!("this plan has no step {}", missing.join(", ")),
                    help: Some(format!("its steps are: {}", present.join(", "))),
                });
            }
            ids.iter().copied().collect()
        }
        None => all.clone(),
    };
    if options.resume {
        let previous =
            crate::state::Journal::read(artifacts.path()).map_err(|e| Error::BadSteps {
                message: format!("cannot resume: {e}"),
                help: Some("run `replicate apply` without --resume to start over".to_owned()),
            })?;
        let Some(previous) = previous else {
            return Err(Error::BadSteps {
                message: "cannot resume: no earlier run left a state.json".to_owned(),
                help: Some("run `replicate apply` without --resume".to_owned()),
            });
        };
        if previous.plan_digest != doc.digest() {
            return Err(Error::BadSteps {
                message: "cannot resume: the earlier run followed another plan".to_owned(),
                help: Some(
                    "the manifest or the systems changed since; run `replicate apply` without --resume"
                        .to_owned(),
                ),
            });
        }
        let sums = artifacts.read_sums().unwrap_or_default();
        for step in plan.steps() {
            let keep = match step.id {
                // An artifact listed in SHA256SUMS is complete by construction:
                // keep it when it still verifies, whichever run made it.
                StepId::Dump | StepId::Archive => step
                    .produces
                    .iter()
                    .all(|a| artifacts.verify_artifact(&a.name, &sums).is_ok()),
                StepId::InvalidateSource => previous
                    .steps
                    .get(&step.id)
                    .is_some_and(|s| s.status == StepStatus::Done),
                // The database chain restarts at drop; verify runs again.
                _ => false,
            };
            if keep {
                selected.remove(&step.id);
            }
        }
    }
    Ok(selected)
}

/// A selected step whose inputs come from a step that does not run now
/// uses the artifacts on disk, which must verify; a destructive step needs
/// every artifact verified, by this run's `verify` or here.
fn check_inputs(
    plan: &Plan,
    selected: &BTreeSet<StepId>,
    artifacts: &ArtifactsDir,
) -> Result<(), Error> {
    // `verify` runs before every step that reads or destroys, and checks
    // every artifact itself.
    if selected.contains(&StepId::Verify) {
        return Ok(());
    }
    let produced_now: BTreeSet<String> = plan
        .steps()
        .filter(|s| selected.contains(&s.id))
        .flat_map(|s| s.produces.iter().map(|a| a.name.clone()))
        .collect();
    let mut needed: BTreeSet<String> = plan
        .steps()
        .filter(|s| selected.contains(&s.id))
        .flat_map(|s| s.consumes.iter().map(|a| a.name.clone()))
        .collect();
    let destructive = plan
        .steps()
        .any(|s| selected.contains(&s.id) && s.is_destructive());
    if destructive {
        needed.extend(
            plan.steps()
                .flat_map(|s| s.produces.iter().map(|a| a.name.clone())),
        );
    }
    let sums = artifacts
        .read_sums()
        .map_err(|e| Error::Io(format!("cannot read SHA256SUMS: {e}")))?;
    for name in needed.difference(&produced_now) {
        artifacts
            .verify_artifact(name, &sums)
            .map_err(|mismatch| Error::ArtifactsNotReady {
                message: mismatch.to_string(),
                help: Some(format!(
                    "produce it first (`replicate apply --steps dump,archive`) or copy the whole artifacts folder {} from where it was produced",
                    artifacts.path().display()
                )),
            })?;
    }
    Ok(())
}

pub(super) fn seconds(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}

/// The error for a failed run: the step, its command, status and stderr,
/// and the state the target is left in.
fn failed(
    manifest: &Manifest,
    plan: &Plan,
    outcome: &Outcome,
    id: StepId,
    failure: &StepFailure,
) -> Error {
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
    Error::StepFailed {
        step: id.to_string(),
        details,
        help: Some(help),
    }
}

fn target_state(manifest: &Manifest, plan: &Plan, outcome: &Outcome) -> String {
    let ran =
        |id: StepId| outcome.done.contains(&id) || outcome.failed.iter().any(|(f, _)| *f == id);
    let db = manifest.target.database.database();
    let mut parts = Vec::new();
    if plan.contains(StepId::Drop) {
        parts.push(if !ran(StepId::Drop) {
            format!("the database {db} was not touched")
        } else if outcome.done.contains(&StepId::Restore) {
            format!("the database {db} was replaced")
        } else if !outcome.done.contains(&StepId::Drop) {
            format!("dropping the database {db} failed, so it should be as it was")
        } else if !outcome.done.contains(&StepId::Create) {
            format!("the database {db} was dropped and not created again")
        } else {
            format!("the database {db} was dropped and recreated, and is not fully restored")
        });
    }
    if plan.contains(StepId::Extract) {
        parts.push(
            if ran(StepId::Extract) && outcome.done.contains(&StepId::Extract) {
                "the media folder was replaced".to_owned()
            } else if ran(StepId::Extract) {
                "extracting the media failed; the old media folder was kept".to_owned()
            } else {
                "the media folder was not touched".to_owned()
            },
        );
    }
    parts.join("; ")
}
