//! The real work of each step, behind the [`Runner`] trait: which work a
//! step is, and which server its errors name. The steps themselves are in
//! [`super::steps`].

use super::meter::Meters;
use super::process::{self, Output};
use super::scheduler::{Runner, StepReport, StepResult};
use super::stream::Hub;
use crate::io::sys;
use crate::manifest::Manifest;
use crate::plan::{Action, Step, StepId};
use crate::postgres::{DbUrl, Secrets};
use crate::store::ArtifactsDir;

/// Runs steps for real: child programs, files, checksums.
pub struct StepRunner<'a> {
    pub manifest: &'a Manifest,
    pub artifacts: &'a ArtifactsDir,
    pub secrets: &'a Secrets,
    /// Each step's progress.
    pub meters: &'a Meters,
    /// The stream format's dump and restore running together: what the
    /// dump has written so far.
    pub live: Option<std::sync::Arc<Hub>>,
}

impl Runner for StepRunner<'_> {
    fn run(&self, step: &Step) -> StepResult {
        self.run_step(step).map_err(|mut failure| {
            if let Some(side) = self.server_of(step.id) {
                failure.message.push_str(&format!(" [{side}]"));
            }
            failure
        })
    }
}

impl StepRunner<'_> {
    /// Which server a step talks to, for its error message.
    fn server_of(&self, id: StepId) -> Option<String> {
        let (side, url) = match id {
            StepId::Dump => ("source", &self.manifest.source.database),
            StepId::Drop | StepId::Create | StepId::Restore | StepId::Check | StepId::Swap => {
                ("target", &self.manifest.target.database)
            }
            _ => return None,
        };
        Some(format!(
            "{side} server {}, database {}",
            url.server_label(),
            url.database()
        ))
    }

    fn run_step(&self, step: &Step) -> StepResult {
        match &step.action {
            Action::Exec(exec) => match step.id {
                StepId::Dump => self.dump(step, exec),
                StepId::Drop => self.drop(exec),
                StepId::Create => self.create(exec),
                StepId::Restore => self.restore(step, exec),
                _ => {
                    process::run(exec, self.secrets, Output::Discard)?;
                    Ok(StepReport::default())
                }
            },
            Action::Verify { .. } => {
                self.off_the_critical_path();
                self.verify(step)
            }
            // The archive runs at the normal priority when `verify` waits
            // for both it and the dump, so that neither lags behind.
            Action::Archive {
                compression,
                folders,
            } => {
                self.off_the_critical_path();
                self.archive(step, folders, *compression)
            }
            Action::Extract {
                compression,
                folders,
            } => {
                // `extract` runs beside `restore`, the critical path, and
                // takes the CPU it leaves idle.
                sys::lower_thread_priority();
                self.extract(step, folders, *compression)
            }
            Action::SanitizedDump(sanitized) => self.sanitized_dump(step, sanitized),
            Action::Commands { commands } => self.restore_commands(step, commands),
            Action::StreamDump(stream) => self.stream_dump(step, stream),
            Action::StreamRestore(stream) => self.stream_restore(step, stream),
            Action::Check {
                catalog,
                database,
                owners,
                content,
            } => self.check(
                catalog,
                database,
                crate::postgres::catalog::Comparison {
                    owners: *owners,
                    content: *content,
                },
            ),
            Action::AfterCopy { commands } => self.after_copy(commands),
            Action::Swap {
                database,
                folders,
                keep_previous,
            } => self.swap(database.as_ref(), folders, *keep_previous),
        }
    }

    /// When the stream's restore follows its dump, the path to `swap` runs
    /// through the servers' work (the dump's reads, the loads, the index
    /// builds), not through `archive` or `verify`, which end long before:
    /// they take the CPU the servers leave idle.
    fn off_the_critical_path(&self) {
        if self.live.is_some() {
            sys::lower_thread_priority();
        }
    }

    /// The target server's maintenance database, where databases are
    /// created, renamed and dropped.
    pub(in crate::exec) fn maintenance_url(&self) -> DbUrl {
        let t = &self.manifest.target;
        t.database.with_database(&t.maintenance_database)
    }
}
