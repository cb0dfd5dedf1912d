//! `swap`: the new database and folders put in the place of the live ones.
//! The database's renames happen in one transaction; then each folder is
//! exchanged. A folder that fails undoes the folders done and the database
//! renames, so the target is left as it was. What was set aside (an older
//! previous copy) is removed once all is done, and the replaced copy too
//! with `keep_previous = false`.

use std::time::{Duration, Instant};

use crate::exec::runner::StepRunner;
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::media::{self, SwappedFolder};
use crate::plan::{DatabaseSwap, FolderSwap};
use crate::postgres::names::companion;
use crate::postgres::query;
use crate::postgres::query::QueryError;
use crate::postgres::quote::sql_identifier;
use crate::postgres::rename::{busy, renames_sql};

/// How often a rename refused for sessions that came back is tried.
const ATTEMPTS: u32 = 3;

/// The suffix an older previous database is set aside under.
const OLD: &str = "__old";

impl StepRunner<'_> {
    pub(in crate::exec) fn swap(
        &self,
        database: Option<&DatabaseSwap>,
        folders: &[FolderSwap],
        keep_previous: bool,
    ) -> StepResult {
        let mut downtime = Duration::ZERO;
        if let Some(db) = database {
            downtime = self.swap_database(db)?;
        }
        let mut swapped: Vec<SwappedFolder> = Vec::new();
        for folder in folders {
            match media::swap_folder(&folder.folder) {
                Ok(done) => swapped.push(done),
                Err(e) => {
                    let undone = self.undo(database, &swapped);
                    let mut failure = StepFailure::new(format!(
                        "cannot swap in the folder {}: {e}",
                        folder.folder.display()
                    ));
                    failure.help = Some(match undone {
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
        if let Some(db) = database {
            let mut gone = vec![companion(&db.target, OLD)];
            if !keep_previous {
                gone.push(db.previous.clone());
            }
            for name in gone {
                if let Err(e) = self.drop_database(&name) {
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

    /// The renames, in one transaction; how long they took.
    fn swap_database(&self, db: &DatabaseSwap) -> Result<Duration, StepFailure> {
        let old = companion(&db.target, OLD);
        // An older set-aside copy left by a failed run goes first.
        self.drop_database(&old)
            .map_err(|e| StepFailure::new(format!("cannot drop the leftover {old}: {e}")))?;
        let sql = renames_sql(
            &[
                (&db.previous, &old),
                (&db.target, &db.previous),
                (&db.next, &db.target),
            ],
            db.terminate_connections.then_some(db.target.as_str()),
        );
        self.renames(&sql).map_err(|e| {
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

    /// Runs a renames statement, trying again while sessions hold on; how
    /// long the names were locked.
    pub(in crate::exec) fn renames(&self, sql: &str) -> Result<Duration, QueryError> {
        let maintenance = self.maintenance_url();
        let mut spent = Duration::ZERO;
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let result = query::texts(&maintenance, "target.database", self.secrets, sql, &[]);
            spent += started.elapsed();
            match result {
                Ok(_) => return Ok(spent),
                Err(e) if attempt < ATTEMPTS && busy(&e.to_string()) => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Puts the database back after a folder failed to swap.
    fn undo(
        &self,
        database: Option<&DatabaseSwap>,
        swapped: &[SwappedFolder],
    ) -> Result<(), String> {
        for done in swapped.iter().rev() {
            done.undo().map_err(|e| e.to_string())?;
        }
        if let Some(db) = database {
            let old = companion(&db.target, OLD);
            let sql = renames_sql(
                &[
                    (&db.target, &db.next),
                    (&db.previous, &db.target),
                    (&old, &db.previous),
                ],
                db.terminate_connections.then_some(db.target.as_str()),
            );
            self.renames(&sql).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// `DROP DATABASE IF EXISTS name` on the target server.
    pub(in crate::exec) fn drop_database(&self, name: &str) -> Result<(), QueryError> {
        query::texts(
            &self.maintenance_url(),
            "target.database",
            self.secrets,
            &format!("DROP DATABASE IF EXISTS {}", sql_identifier(name)),
            &[],
        )
        .map(|_| ())
    }
}
