//! `restore`: the dump loaded into the database `create` made, by
//! PostgreSQL's programs, with the database's size as its progress.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::exec::process::{self, Output};
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::files::size_of;
use crate::io::tally::Tally;
use crate::manifest::Text;
use crate::plan::{self, Exec, RestoreInto, Step};
use crate::postgres::dump_files::{data, toc};
use crate::postgres::libpq::Connection;
use crate::postgres::quote::sql_literal;
use crate::postgres::{Secrets, Tools};

use super::context::{StepContext, StepWork};
use super::maintenance::Maintenance;

/// `restore`: its programs one after the other (sections, sanitized rows);
/// then its commits are made durable.
pub(in crate::exec) struct Restore<'a> {
    pub(in crate::exec) step: &'a Step,
    pub(in crate::exec) action: &'a plan::Restore,
}

impl StepWork for Restore<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        let action = self.action;
        let tools = Tools {
            bindir: action.bindir.clone(),
        };
        // Progress: the restored database's size, against the source's.
        let done = AtomicBool::new(false);
        let mut passes = Vec::new();
        let mut lists = Vec::new();
        for exec in &action.commands {
            passes.extend(in_passes(&tools, exec, &mut lists)?);
        }
        let ran = std::thread::scope(|scope| {
            scope.spawn(|| watch_size(cx.secrets, &action.into, &cx.meter.done, &done));
            let ran = passes
                .iter()
                .try_for_each(|exec| process::run(exec, cx.secrets, Output::Discard));
            done.store(true, Ordering::Release);
            ran
        });
        for list in lists {
            let _ = std::fs::remove_file(list);
        }
        ran?;
        flush_commits(cx.secrets, &action.into)?;
        let bytes = self
            .step
            .consumes
            .iter()
            .filter_map(|a| size_of(&cx.artifacts.join(&a.name)))
            .sum();
        Ok(StepReport {
            bytes,
            ..StepReport::default()
        })
    }
}

/// `exec` as it is, or, when it is a `pg_restore` with more than one
/// job restoring an archive whose partitions' indexes are attached to
/// their partitioned table's, three runs of it over the archive's
/// list cut around those attachments, the attachments with one job
/// ([`toc::around_index_attachments`] says why). The lists are written
/// beside the archive, hidden, and added to `lists`.
fn in_passes(
    tools: &Tools,
    exec: &Exec,
    lists: &mut Vec<PathBuf>,
) -> Result<Vec<Exec>, StepFailure> {
    let pg_restore = tools.program("pg_restore");
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
    let list = data::list_text(tools, &archive).map_err(|e| {
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
        std::fs::write(&file, part)
            .map_err(|e| StepFailure::new(format!("writing the list {}: {e}", file.display())))?;
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

/// Sets `tally` to the size of the database being restored, every
/// second, until `done`.
pub(in crate::exec) fn watch_size(
    secrets: &Secrets,
    into: &RestoreInto,
    tally: &Tally,
    done: &AtomicBool,
) {
    let sql = format!(
        "SELECT pg_database_size(datname) FROM pg_database WHERE datname = {}",
        sql_literal(&into.database)
    );
    // One session for the whole restore, opened again if it breaks:
    // not a `psql` a second.
    let Ok(maintenance) = Maintenance::planned(&into.maintenance, secrets) else {
        return;
    };
    let mut session: Option<Connection> = None;
    while !done.load(Ordering::Acquire) {
        if session.is_none() {
            session = maintenance.connect().ok();
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

/// The restore's sessions commit without waiting for the disk (see
/// RESTORE_OPTIONS). One synchronous commit flushes the server's
/// write-ahead log up to it (the log is the server's, so any of its
/// databases will do), so every commit before it is durable before
/// the step says it is done.
pub(in crate::exec) fn flush_commits(
    secrets: &Secrets,
    into: &RestoreInto,
) -> Result<(), StepFailure> {
    Maintenance::planned(&into.maintenance, secrets)?
        .query("SET synchronous_commit = on; SELECT txid_current()")
        .map(|_| ())
        .map_err(|e| {
            StepFailure::new(format!(
                "the restore finished, but flushing its commits to disk failed: {e}"
            ))
        })
}
