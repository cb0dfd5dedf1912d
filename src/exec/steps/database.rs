//! The steps on the target database: `drop`, `create` (a `psql`
//! command, tried again when an earlier killed run's work is still going),
//! and `restore` into the database `create` made.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::exec::connection;
use crate::exec::process::{self, Output};
use crate::exec::runner::StepRunner;
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::files::size_of;
use crate::io::tally::Tally;
use crate::manifest::{Strategy, Text};
use crate::plan::{Exec, Step};
use crate::postgres::dump_files::{data, toc};
use crate::postgres::libpq::Connection;
use crate::postgres::names::companion;
use crate::postgres::query;
use crate::postgres::quote::sql_literal;

impl StepRunner<'_> {
    /// `DROP DATABASE`; when open sessions block it, the error names them.
    pub(in crate::exec) fn drop(&self, exec: &Exec) -> StepResult {
        match process::run(exec, self.secrets, Output::Discard) {
            Ok(()) => Ok(StepReport::default()),
            Err(mut failure) => {
                let blocked = failure
                    .stderr_tail
                    .as_deref()
                    .is_some_and(|t| t.contains("being accessed by other users"));
                if blocked {
                    let sessions = self.open_sessions();
                    failure.message = format!(
                        "the target database {} has open sessions{}",
                        self.manifest.target.database.database(),
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

    /// `CREATE DATABASE`, after dropping a leftover companion under
    /// `swap`. An earlier run killed outright (SIGKILL, a lost machine)
    /// can leave its own work going on the server: a `CREATE DATABASE` of
    /// the companion that lands between this run's drop and create, or a
    /// load still connected to the leftover. Both belong to replicate, so
    /// the step ends that run's sessions on the companion (never anybody
    /// else's) and tries again, a few times, before failing.
    pub(in crate::exec) fn create(&self, exec: &Exec) -> StepResult {
        const ATTEMPTS: u32 = 5;
        let t = &self.manifest.target;
        let mut attempt = 1;
        loop {
            let failure = match process::run(exec, self.secrets, Output::Discard) {
                Ok(()) => return Ok(StepReport::default()),
                Err(failure) => failure,
            };
            let tail = failure.stderr_tail.as_deref().unwrap_or_default();
            let leftover_at_work =
                tail.contains("already exists") || tail.contains("being accessed by other users");
            if t.strategy != Strategy::Swap || !leftover_at_work || attempt == ATTEMPTS {
                return Err(failure);
            }
            attempt += 1;
            let next = companion(t.database.database(), "__next");
            let sql = format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {} AND application_name = 'replicate' AND pid <> pg_backend_pid()",
                sql_literal(&next)
            );
            let _ = query::texts(
                &self.maintenance_url(),
                "target.database",
                self.secrets,
                &sql,
                &[],
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Sets `tally` to the size of the database being restored, every
    /// second, until `done`.
    pub(in crate::exec) fn watch_size(&self, tally: &Tally, done: &AtomicBool) {
        let t = &self.manifest.target;
        let name = match t.strategy {
            Strategy::Swap => companion(t.database.database(), "__next"),
            Strategy::Replace => t.database.database().to_owned(),
        };
        let sql = format!(
            "SELECT pg_database_size(datname) FROM pg_database WHERE datname = {}",
            sql_literal(&name)
        );
        // One session for the whole restore, opened again if it breaks:
        // not a `psql` a second.
        let url = self.maintenance_url();
        let mut session: Option<Connection> = None;
        while !done.load(Ordering::Acquire) {
            if session.is_none() {
                session = connection::connect_to(&url, "target.database", self.secrets).ok();
            }
            if let Some(open) = &mut session {
                match open.query(&sql) {
                    Ok(rows) => {
                        if let Some(size) = rows
                            .first()
                            .and_then(|r| r.first())
                            .and_then(|v| v.as_deref()?.parse().ok())
                        {
                            tally.set(size);
                        }
                    }
                    Err(_) => session = None,
                }
            }
            for _ in 0..10 {
                if done.load(Ordering::Acquire) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    pub(in crate::exec) fn open_sessions(&self) -> Option<String> {
        let target = &self.manifest.target;
        let maintenance = target.database.with_database(&target.maintenance_database);
        let sql = format!(
            "SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), coalesce(client_addr::text, 'local') FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid() ORDER BY pid",
            sql_literal(target.database.database())
        );
        let rows = query::texts(&maintenance, "target.database", self.secrets, &sql, &[]).ok()?;
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

    pub(in crate::exec) fn restore(&self, step: &Step, exec: &Exec) -> StepResult {
        self.restore_commands(step, std::slice::from_ref(exec))
    }

    /// A restore in several programs (sections, sanitized rows), one after
    /// the other; then its commits are made durable.
    pub(in crate::exec) fn restore_commands(&self, step: &Step, commands: &[Exec]) -> StepResult {
        // Progress: the restored database's size, against the source's.
        let meter = self.meters.get(step.id);
        let done = AtomicBool::new(false);
        let mut passes = Vec::new();
        let mut lists = Vec::new();
        for exec in commands {
            passes.extend(self.in_passes(exec, &mut lists)?);
        }
        let ran = std::thread::scope(|scope| {
            scope.spawn(|| self.watch_size(&meter.done, &done));
            let ran = passes
                .iter()
                .try_for_each(|exec| process::run(exec, self.secrets, Output::Discard));
            done.store(true, Ordering::Release);
            ran
        });
        for list in lists {
            let _ = std::fs::remove_file(list);
        }
        ran?;
        self.flush_commits()?;
        let bytes = step
            .consumes
            .iter()
            .filter_map(|a| size_of(&self.artifacts.join(&a.name)))
            .sum();
        Ok(StepReport {
            bytes,
            ..StepReport::default()
        })
    }

    /// `exec` as it is, or, when it is a `pg_restore` with more than one
    /// job restoring an archive whose partitions' indexes are attached to
    /// their partitioned table's, three runs of it over the archive's
    /// list cut around those attachments, the attachments with one job
    /// ([`toc::around_index_attachments`] says why). The lists are written
    /// beside the archive, hidden, and added to `lists`.
    fn in_passes(&self, exec: &Exec, lists: &mut Vec<PathBuf>) -> Result<Vec<Exec>, StepFailure> {
        let pg_restore = self.manifest.tools.program("pg_restore");
        let parallel = exec.args.iter().any(|a| {
            a.value()
                .strip_prefix("--jobs=")
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n > 1)
        });
        let sections: Vec<&str> = exec
            .args
            .iter()
            .filter_map(|a| a.value().strip_prefix("--section="))
            .collect();
        let post_data = sections.is_empty() || sections.contains(&"post-data");
        let archive = exec.args.last().map(|a| PathBuf::from(a.value()));
        let (true, true, Some(archive)) = (
            exec.program.value() == pg_restore.display().to_string() && parallel,
            post_data,
            archive,
        ) else {
            return Ok(vec![exec.clone()]);
        };
        let list = data::list_text(&self.manifest.tools, &archive).map_err(|e| {
            StepFailure::new(format!(
                "reading the table of contents of {}: {e}",
                archive.display()
            ))
        })?;
        let Some(parts) = toc::around_index_attachments(&list) else {
            return Ok(vec![exec.clone()]);
        };
        let name = archive
            .file_name()
            .map_or("dump".into(), |n| n.to_string_lossy().into_owned());
        let mut passes = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            if part.trim().is_empty() {
                continue;
            }
            let file = archive.with_file_name(format!(".{name}.restore-{}.list", i + 1));
            std::fs::write(&file, part).map_err(|e| {
                StepFailure::new(format!("writing the list {}: {e}", file.display()))
            })?;
            lists.push(file.clone());
            let mut pass = exec.clone();
            let archive_arg = pass.args.pop();
            if i == 1 {
                for arg in &mut pass.args {
                    if arg.value().starts_with("--jobs=") {
                        *arg = Text::plain("--jobs=1");
                    }
                }
            }
            pass.args
                .push(Text::plain(format!("--use-list={}", file.display())));
            pass.args.extend(archive_arg);
            passes.push(pass);
        }
        Ok(passes)
    }

    /// The restore's sessions commit without waiting for the disk (see
    /// RESTORE_OPTIONS). One synchronous commit flushes the server's
    /// write-ahead log up to it (the log is the server's, so any of its
    /// databases will do), so every commit before it is durable before
    /// the step says it is done.
    pub(in crate::exec) fn flush_commits(&self) -> Result<(), StepFailure> {
        query::texts(
            &self.maintenance_url(),
            "target.database",
            self.secrets,
            "SET synchronous_commit = on; SELECT txid_current()",
            &[],
        )
        .map(|_| ())
        .map_err(|e| {
            StepFailure::new(format!(
                "the restore finished, but flushing its commits to disk failed: {e}"
            ))
        })
    }
}
