//! `swap`: the new database and folders put in the place of the live ones.
//! The database's renames happen in one transaction; then each folder is
//! exchanged. A folder that fails undoes the folders done and the database
//! renames, so the target is left as it was. What was set aside (an older
//! previous copy) is removed once all is done, and the replaced copy too
//! with `keep_previous = false`.

use std::time::Duration;

use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::exec::target_folder::{Swapped, TargetFolder};
use crate::plan::{DatabaseSwap, FolderSwap};
use crate::postgres::names::companion;
use crate::postgres::rename::{busy, renames_sql};

use super::context::{StepContext, StepWork};
use super::maintenance::Maintenance;

/// The suffix an older previous database is set aside under.
const OLD: &str = "__old";

/// `swap`: the new database's renames and the folders' exchanges.
pub(in crate::exec) struct Swap<'a> {
    pub(in crate::exec) database: Option<&'a DatabaseSwap>,
    pub(in crate::exec) folders: &'a [FolderSwap],
    /// Keep the replaced database and folders for `rollback`.
    pub(in crate::exec) keep_previous: bool,
}

impl StepWork for Swap<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        let Swap {
            database,
            folders,
            keep_previous,
        } = *self;
        let maintenance = database
            .map(|db| Maintenance::planned(&db.maintenance, cx.secrets))
            .transpose()?;
        let mut downtime = Duration::ZERO;
        if let (Some(db), Some(maintenance)) = (database, &maintenance) {
            downtime = swap_database(maintenance, db)?;
        }
        let mut swapped: Vec<Swapped<'_>> = Vec::new();
        for folder in folders {
            match TargetFolder::new(&folder.folder, folder.reach.as_ref()).swap() {
                Ok(done) => swapped.push(done),
                Err(e) => {
                    let undone = undo(maintenance.as_ref().zip(database), &swapped);
                    let mut failure = StepFailure::new(format!(
                        "cannot swap in the folder {}: {e}",
                        folder.folder
                    ));
                    failure.help = Some(match undone {
                        Ok(()) if e.is_mixed() => format!(
                            "the other folders and the database were put back; {} is left holding part of its old and part of its new content",
                            folder.folder
                        ),
                        Ok(()) => {
                            "the target database and folders were put back as they were".to_owned()
                        }
                        Err(why) => format!(
                            "putting the target back failed too ({why}): `replicate rollback` swaps the previous copy in"
                        ),
                    });
                    return Err(failure);
                }
            }
        }
        // Off the critical path: what was set aside, and the replaced copy
        // unless it is kept.
        let mut left = Vec::new();
        if let (Some(db), Some(maintenance)) = (database, &maintenance) {
            let mut gone = vec![companion(&db.target, OLD)];
            if !keep_previous {
                gone.push(db.previous.clone());
            }
            for name in gone {
                if let Err(e) = maintenance.drop_database(&name) {
                    left.push(format!("{name} ({e})"));
                }
            }
        }
        for done in &swapped {
            if let Err(e) = done.finish(keep_previous) {
                left.push(e.to_string());
            }
        }
        let mut note = match (database, keep_previous) {
            (Some(db), true) => format!("the previous copy is {}", db.previous),
            (None, true) => "the previous copy is kept".to_owned(),
            (_, false) => "the previous copy was removed".to_owned(),
        };
        if database.is_some() {
            note = format!("target unreachable for {} ms; {note}", downtime.as_millis());
        }
        if !left.is_empty() {
            note.push_str(&format!("; could not remove {}", left.join(", ")));
        }
        Ok(StepReport {
            note: Some(note),
            downtime_ms: database.map(|_| u64::try_from(downtime.as_millis()).unwrap_or(u64::MAX)),
            ..StepReport::default()
        })
    }
}

/// The renames, in one transaction; how long they took.
fn swap_database(
    maintenance: &Maintenance<'_>,
    db: &DatabaseSwap,
) -> Result<Duration, StepFailure> {
    let old = companion(&db.target, OLD);
    // An older set-aside copy left by a failed run goes first.
    maintenance
        .drop_database(&old)
        .map_err(|e| StepFailure::new(format!("cannot drop the leftover {old}: {e}")))?;
    let sql = renames_sql(
        &[
            (&db.previous, &old),
            (&db.target, &db.previous),
            (&db.next, &db.target),
        ],
        db.terminate_connections.then_some(db.target.as_str()),
    );
    maintenance.renames(&sql).map_err(|e| {
        StepFailure::new(format!("cannot swap {} in: {e}", db.next)).with_help(format!(
            "nothing was renamed: {} is as it was{}",
            db.target,
            if busy(&e.to_string()) && !db.terminate_connections {
                "; close its sessions, or set `terminate_connections = true` in [target]"
            } else {
                ""
            }
        ))
    })
}

/// Puts the folders done and the database back after a folder failed to
/// swap.
fn undo(
    database: Option<(&Maintenance<'_>, &DatabaseSwap)>,
    swapped: &[Swapped<'_>],
) -> Result<(), String> {
    for done in swapped.iter().rev() {
        done.undo().map_err(|e| e.to_string())?;
    }
    if let Some((maintenance, db)) = database {
        let old = companion(&db.target, OLD);
        let sql = renames_sql(
            &[
                (&db.target, &db.next),
                (&db.previous, &db.target),
                (&old, &db.previous),
            ],
            db.terminate_connections.then_some(db.target.as_str()),
        );
        maintenance.renames(&sql).map_err(|e| e.to_string())?;
    }
    Ok(())
}
