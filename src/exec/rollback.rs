//! `rollback`: the previous target (`<target>__prev` and every
//! `<folder>.replicate-prev`) swapped back in the way `swap` put the new one
//! in, so a second rollback undoes the first; then `invalidate-target`.

use std::time::Duration;

use super::error::ApplyError;
use super::steps::Maintenance;
use super::target_folder::TargetFolder;
use super::target_server;
use crate::io::interrupt;
use crate::manifest::{Manifest, Strategy};
use crate::plan::{Action, Labeled, StepId};
use crate::postgres::names::companion;
use crate::postgres::query::QueryError;
use crate::postgres::rename::renames_sql;
use crate::remote::{Place, Reach};

/// What a rollback will exchange.
#[derive(Debug, Clone)]
pub struct Rollback {
    /// The target database and its previous copy.
    pub database: Option<(String, String)>,
    /// Each target folder, and the previous content beside it.
    pub folders: Vec<(Place, Place)>,
    /// `invalidate-target`'s commands (NetBox's own actions through
    /// `target.manage`, then `target.invalidate`), run at the end.
    pub invalidate: Vec<Labeled>,
    /// Whether the target database's open sessions are ended first.
    pub terminate: bool,
}

/// A rollback done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolledBack {
    /// How long the target's name could not be reached, when a database
    /// was exchanged.
    pub downtime: Option<Duration>,
}

/// Finds the previous target, or says why there is none to roll back to.
pub fn prepare(manifest: &Manifest) -> Result<Rollback, ApplyError> {
    let (plan, _) = crate::plan::offline(manifest)?;
    let t = &manifest.target;
    if t.strategy == Strategy::Replace {
        return Err(refuse(
            "there is no previous target: `strategy = \"replace\"` keeps none".to_owned(),
        ));
    }
    let database = if manifest.has_database() {
        Some(previous_database(manifest)?)
    } else {
        None
    };
    let mut folders = Vec::new();
    for folder in t.folders.values() {
        let previous = folder.beside("prev");
        let there = TargetFolder::new(folder, Some(&manifest.reach))
            .has_previous()
            .map_err(|e| {
                refuse(format!(
                    "cannot look for the previous content of {folder}: {e}"
                ))
            })?;
        if !there {
            return Err(refuse(format!(
                "there is no complete previous target: the previous content of {folder} does not exist"
            )));
        }
        folders.push((folder.clone(), previous));
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

/// Why there is nothing to roll back to.
fn refuse(message: String) -> ApplyError {
    ApplyError::NoPrevious {
        message,
        help: "a previous copy exists after a `replicate apply` with `strategy = \"swap\"` and `keep_previous = true`".to_owned(),
    }
}

/// The target database and its previous copy, which must be there.
fn previous_database(manifest: &Manifest) -> Result<(String, String), ApplyError> {
    let target = manifest.target.database.database().to_owned();
    let previous = companion(&target, "__prev");
    let exists = target_server::has_database(manifest, &manifest.secrets(), &previous).map_err(
        |source| ApplyError::Query {
            context: "cannot reach the target server".to_owned(),
            source,
        },
    )?;
    if !exists {
        return Err(refuse(format!(
            "there is no previous target: the database {previous} does not exist"
        )));
    }
    Ok((target, previous))
}

/// Runs the rollback.
pub fn run(manifest: &Manifest, rollback: &Rollback) -> Result<RolledBack, ApplyError> {
    let artifacts = super::artifacts::open_artifacts(manifest)?;
    artifacts.create()?;
    let _lock = artifacts.lock()?;
    interrupt::install();
    let secrets = manifest.secrets();
    let t = &manifest.target;
    let maintenance = Maintenance::at(
        t.database.with_database(&t.maintenance_database),
        "target.database",
        &secrets,
    );
    let mut downtime = None;
    if let Some((target, previous)) = &rollback.database {
        let took =
            exchange_databases(&maintenance, rollback, target, previous).map_err(|source| {
                ApplyError::RollbackDatabase {
                    previous: previous.clone(),
                    source,
                }
            })?;
        downtime = Some(took);
    }
    exchange_folders(&maintenance, rollback, &manifest.reach)?;
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
    Ok(RolledBack { downtime })
}

/// The error of a rollback that failed.
fn failed(message: String, help: &str) -> ApplyError {
    ApplyError::StepFailed {
        step: "rollback".to_owned(),
        details: message,
        help: Some(help.to_owned()),
    }
}

/// Exchanges the target database and its previous copy (through a name
/// aside); how long the target's name could not be reached.
fn exchange_databases(
    maintenance: &Maintenance<'_>,
    rollback: &Rollback,
    target: &str,
    previous: &str,
) -> Result<Duration, QueryError> {
    let aside = companion(target, "__rollback");
    maintenance.drop_database(&aside).and_then(|()| {
        maintenance.renames(&renames_sql(
            &[(target, &aside), (previous, target), (&aside, previous)],
            rollback.terminate.then_some(target),
        ))
    })
}

/// Exchanges each target folder with its previous content; when one
/// fails, what was exchanged (the database too) is exchanged back.
fn exchange_folders(
    maintenance: &Maintenance<'_>,
    rollback: &Rollback,
    reach: &Reach,
) -> Result<(), ApplyError> {
    let mut done: Vec<TargetFolder<'_>> = Vec::new();
    for (folder, _) in &rollback.folders {
        let folder = TargetFolder::new(folder, Some(reach));
        if let Err(e) = folder.roll_back() {
            // Back to where the rollback started.
            let mut undone = done
                .iter()
                .try_for_each(|f| f.roll_back().map_err(|e| e.to_string()));
            if let (Ok(()), Some((target, previous))) = (&undone, &rollback.database) {
                undone = exchange_databases(maintenance, rollback, target, previous)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
            }
            return Err(ApplyError::RollbackFolder {
                folder: folder.place.to_string(),
                source: Box::new(e),
                help: match undone {
                    Ok(()) => "the target was put back as it was before the rollback".to_owned(),
                    Err(why) => format!(
                        "putting the target back failed too ({why}); run `replicate rollback` again"
                    ),
                },
            });
        }
        done.push(folder);
    }
    Ok(())
}
