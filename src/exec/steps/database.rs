//! The steps that make the target database: `drop` and `create` (a
//! `psql` command, tried again when an earlier killed run's work is still
//! going).

use std::time::Duration;

use crate::exec::process::{self, Output};
use crate::exec::scheduler::{StepReport, StepResult};
use crate::plan::{CreateDatabase, DropDatabase};
use crate::postgres::quote::sql_literal;

use super::context::{StepContext, StepWork};
use super::maintenance::Maintenance;

/// `drop`: `DROP DATABASE`; when open sessions block it, the error names
/// them.
pub(in crate::exec) struct DropTarget<'a>(pub(in crate::exec) &'a DropDatabase);

impl StepWork for DropTarget<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        let action = self.0;
        match process::run(&action.psql, cx.secrets, Output::Discard) {
            Ok(()) => Ok(StepReport::default()),
            Err(mut failure) => {
                let blocked = failure
                    .stderr_tail
                    .as_deref()
                    .is_some_and(|t| t.contains("being accessed by other users"));
                if blocked {
                    let sessions = Maintenance::planned(&action.maintenance, cx.secrets)
                        .ok()
                        .and_then(|m| open_sessions(&m, &action.database));
                    failure.message = format!(
                        "the target database {} has open sessions{}",
                        action.database,
                        sessions.map(|s| format!(": {s}")).unwrap_or_default()
                    );
                    failure.help = Some(
                        "stop the application using it (NetBox, its workers), or set `terminate_connections = true` in [target] to end them at drop".to_owned(),
                    );
                }
                Err(failure)
            }
        }
    }
}

/// `create`: `CREATE DATABASE`, after dropping a leftover companion under
/// `swap`. An earlier run killed outright (SIGKILL, a lost machine) can
/// leave its own work going on the server: a `CREATE DATABASE` of the
/// companion that lands between this run's drop and create, or a load
/// still connected to the leftover. Both belong to replicate, so the step
/// ends that run's sessions on the companion (never anybody else's) and
/// tries again, a few times, before failing.
pub(in crate::exec) struct Create<'a>(pub(in crate::exec) &'a CreateDatabase);

impl StepWork for Create<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        const ATTEMPTS: u32 = 5;
        let action = self.0;
        let mut attempt = 1;
        loop {
            let failure = match process::run(&action.psql, cx.secrets, Output::Discard) {
                Ok(()) => return Ok(StepReport::default()),
                Err(failure) => failure,
            };
            let tail = failure.stderr_tail.as_deref().unwrap_or_default();
            let leftover_at_work =
                tail.contains("already exists") || tail.contains("being accessed by other users");
            let Some(next) = action.leftover.as_deref() else {
                return Err(failure);
            };
            if !leftover_at_work || attempt == ATTEMPTS {
                return Err(failure);
            }
            attempt += 1;
            let sql = format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {} AND application_name = 'replicate' AND pid <> pg_backend_pid()",
                sql_literal(next)
            );
            if let Ok(maintenance) = Maintenance::planned(&action.maintenance, cx.secrets) {
                let _ = maintenance.query(&sql);
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

/// The client sessions open on `database`, for a message.
fn open_sessions(maintenance: &Maintenance<'_>, database: &str) -> Option<String> {
    let sql = format!(
        "SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), coalesce(client_addr::text, 'local') FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid() ORDER BY pid",
        sql_literal(database)
    );
    let rows = maintenance.query(&sql).ok()?;
    let sessions: Vec<String> = rows
        .iter()
        .map(|r| {
            let app = r
                .get(2)
                .filter(|a| !a.is_empty())
                .map(|a| format!(" ({a})"));
            format!(
                "pid {} user {}{} from {}",
                r.first().map_or("?", String::as_str),
                r.get(1).map_or("?", String::as_str),
                app.unwrap_or_default(),
                r.get(3).map_or("?", String::as_str)
            )
        })
        .collect();
    (!sessions.is_empty()).then(|| sessions.join("; "))
}
