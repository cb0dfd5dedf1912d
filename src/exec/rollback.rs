//! `rollback`: the previous target (`<target>__prev` and every
//! `<folder>.replicate-prev`) swapped back in the way `swap` put the new one
//! in, so a second rollback undoes the first; then `invalidate-target`.

use std::path::PathBuf;
use std::time::Duration;

use super::error::ApplyError;
use crate::io::interrupt;
use crate::manifest::{Manifest, Strategy};
use crate::media;
use crate::plan::{Action, Labeled, StepId};
use crate::postgres::names::companion;
use crate::postgres::rename::renames_sql;
use crate::postgres::{Secrets, query};

/// What a rollback will exchange.
#[derive(Debug, Clone)]
pub struct Rollback {
    /// The target database and its previous copy.
    pub database: Option<(String, String)>,
    /// Each target folder (the previous content beside it).
    pub folders: Vec<PathBuf>,
    /// `invalidate-target`'s commands (NetBox's own actions through
    /// `target.manage`, then `target.invalidate`), run at the end.
    pub invalidate: Vec<Labeled>,
    terminate: bool,
}

impl Rollback {
    /// What will happen, a line each.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some((target, previous)) = &self.database {
            lines.push(format!(
                "database {previous} becomes {target} again, and {target} becomes {previous}{}",
                if self.terminate {
                    ", its open sessions ended"
                } else {
                    ""
                }
            ));
        }
        for folder in &self.folders {
            lines.push(format!(
                "folder {} exchanged with {}",
                folder.display(),
                media::companion(folder, "prev").display()
            ));
        }
        for command in &self.invalidate {
            lines.push(format!(
                "then, {}: $ {}",
                command.what,
                command.exec.display()
            ));
        }
        lines
    }
}

/// Finds the previous target, or says why there is none to roll back to.
pub fn prepare(manifest: &Manifest, plan: &crate::plan::Plan) -> Result<Rollback, ApplyError> {
    let t = &manifest.target;
    let refuse = |message: String| {
        ApplyError::NoPrevious {
        message,
        help: "a previous copy exists after a `replicate apply` with `strategy = \"swap\"` and `keep_previous = true`".to_owned(),
    }
    };
    if t.strategy == Strategy::Replace {
        return Err(refuse(
            "there is no previous target: `strategy = \"replace\"` keeps none".to_owned(),
        ));
    }
    let secrets = manifest.secrets();
    let database = if manifest.has_database() {
        let target = t.database.database().to_owned();
        let previous = companion(&target, "__prev");
        if !database_exists(manifest, &secrets, &previous)? {
            return Err(refuse(format!(
                "there is no previous target: the database {previous} does not exist"
            )));
        }
        Some((target, previous))
    } else {
        None
    };
    let mut folders = Vec::new();
    for folder in t.folders.values() {
        let previous = media::companion(&media::real_folder(folder), "prev");
        if !previous.is_dir() {
            return Err(refuse(format!(
                "there is no complete previous target: {} does not exist",
                previous.display()
            )));
        }
        folders.push(folder.clone());
    }
    let invalidate = plan
        .step(StepId::InvalidateTarget)
        .map(|s| match &s.action {
            Action::AfterCopy { commands, .. } => commands
                .iter()
                .filter(|c| c.after_rollback)
                .cloned()
                .collect(),
            _ => Vec::new(),
        })
        .unwrap_or_default();
    Ok(Rollback {
        database,
        folders,
        invalidate,
        terminate: t.terminate_connections,
    })
}

/// Runs the rollback; how long the target's name could not be reached.
pub fn run(manifest: &Manifest, rollback: &Rollback) -> Result<Duration, ApplyError> {
    let artifacts = super::artifacts::open_artifacts(manifest)?;
    artifacts.create()?;
    let _lock = artifacts.lock()?;
    interrupt::install();
    let secrets = manifest.secrets();
    let t = &manifest.target;
    let maintenance = super::steps::Maintenance::at(
        t.database.with_database(&t.maintenance_database),
        "target.database",
        &secrets,
    );
    let failed = |message: String, help: &str| ApplyError::StepFailed {
        step: "rollback".to_owned(),
        details: message,
        help: Some(help.to_owned()),
    };
    let mut downtime = Duration::ZERO;
    let exchange_databases = |target: &str, previous: &str| {
        let aside = companion(target, "__rollback");
        maintenance.drop_database(&aside).and_then(|()| {
            maintenance.renames(&renames_sql(
                &[(target, &aside), (previous, target), (&aside, previous)],
                rollback.terminate.then_some(target),
            ))
        })
    };
    if let Some((target, previous)) = &rollback.database {
        downtime = exchange_databases(target, previous).map_err(|e| {
            failed(
                format!("cannot swap {previous} back in: {e}"),
                "nothing was renamed: the target is as it was",
            )
        })?;
    }
    let mut done: Vec<&PathBuf> = Vec::new();
    for folder in &rollback.folders {
        if let Err(e) = media::roll_back_folder(folder) {
            // Back to where the rollback started.
            let mut undone = done
                .iter()
                .try_for_each(|f| media::roll_back_folder(f).map_err(|e| e.to_string()));
            if let (Ok(()), Some((target, previous))) = (&undone, &rollback.database) {
                undone = exchange_databases(target, previous)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
            }
            return Err(failed(
                format!("cannot swap the folder {} back: {e}", folder.display()),
                &match undone {
                    Ok(()) => "the target was put back as it was before the rollback".to_owned(),
                    Err(why) => format!(
                        "putting the target back failed too ({why}); run `replicate rollback` again"
                    ),
                },
            ));
        }
        done.push(folder);
    }
    super::steps::run_labeled(
        &rollback.invalidate,
        &secrets,
        "the previous target is back in place",
    )
    .map_err(|f| {
        failed(
            format!("invalidate-target failed after the rollback: {}", f.message),
            &format!(
                "{}; run it by hand",
                f.help
                    .as_deref()
                    .unwrap_or("the previous target is back in place")
            ),
        )
    })?;
    Ok(downtime)
}

fn database_exists(manifest: &Manifest, secrets: &Secrets, name: &str) -> Result<bool, ApplyError> {
    let t = &manifest.target;
    query::texts(
        &t.database.with_database(&t.maintenance_database),
        "target.database",
        secrets,
        "SELECT 1 FROM pg_database WHERE datname = $1",
        &[name],
    )
    .map(|rows| !rows.is_empty())
    .map_err(|e| ApplyError::Io(format!("cannot reach the target server: {e}")))
}
