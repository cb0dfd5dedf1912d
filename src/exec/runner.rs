//! The real work of each step, behind the [`Runner`] trait: which step
//! type an action is, the context it runs with, and which server its
//! errors name. The steps themselves are in [`super::steps`].

use std::sync::Arc;

use super::meter::Meters;
use super::scheduler::{Runner, StepFailure, StepResult};
use super::steps::{self, StepContext, StepWork};
use super::stream::{self, Hub};
use crate::io::sys;
use crate::plan::{Action, Step};
use crate::postgres::catalog::Comparison;
use crate::postgres::{DbUrl, Secrets};
use crate::store::ArtifactsDir;

/// Runs a plan's steps for real: child programs, files, checksums.
pub struct PlanRunner<'a> {
    pub artifacts: &'a ArtifactsDir,
    pub secrets: &'a Secrets,
    /// Each step's progress.
    pub meters: &'a Meters,
    /// The stream format's dump and restore running together: what the
    /// dump has written so far.
    pub live: Option<Arc<Hub>>,
}

impl Runner for PlanRunner<'_> {
    fn run(&self, step: &Step) -> StepResult {
        let streams = matches!(
            step.action,
            Action::StreamDump(_) | Action::StreamRestore(_)
        );
        let cx = StepContext {
            artifacts: self.artifacts,
            secrets: self.secrets,
            meter: self.meters.get(step.id),
            live: self.live.clone().filter(|_| streams),
        };
        self.run_step(step, &cx)
            .map_err(|failure| naming_the_server(step, failure))
    }
}

/// A failure that names the server the step talks to, as the manifest
/// writes it (through a tunnel, the URL used names the tunnel's end).
fn naming_the_server(step: &Step, mut failure: StepFailure) -> StepFailure {
    if let Some(server) = &step.server
        && let Ok(url) =
            DbUrl::parse(server.database.url.shown()).or_else(|_| server.database.parse())
    {
        failure.message.push_str(&format!(
            " [{} server {}, database {}]",
            server.side,
            url.server_label(),
            url.database()
        ));
    }
    failure
}

impl PlanRunner<'_> {
    fn run_step(&self, step: &Step, cx: &StepContext<'_>) -> StepResult {
        match &step.action {
            Action::Run(exec) => steps::Program(exec).run(cx),
            Action::Dump(action) => steps::Dump { step, action }.run(cx),
            Action::SanitizedDump(action) => steps::SanitizedDump { step, action }.run(cx),
            Action::StreamDump(action) => stream::StreamStep {
                step,
                action: &**action,
            }
            .run(cx),
            Action::Verify { .. } => {
                self.off_the_critical_path();
                let consumes = &step.consumes;
                steps::Verify { consumes }.run(cx)
            }
            // The archive runs at the normal priority when `verify` waits
            // for both it and the dump, so that neither lags behind.
            Action::Archive {
                compression,
                folders,
            } => {
                self.off_the_critical_path();
                let compression = *compression;
                steps::Archive {
                    produces: &step.produces,
                    folders,
                    compression,
                }
                .run(cx)
            }
            Action::DropDatabase(action) => steps::DropTarget(action).run(cx),
            Action::CreateDatabase(action) => steps::Create(action).run(cx),
            Action::Restore(action) => steps::Restore { step, action }.run(cx),
            Action::StreamRestore(action) => stream::StreamStep {
                step,
                action: &**action,
            }
            .run(cx),
            Action::Check {
                catalog,
                database,
                owners,
                content,
                url,
                jobs,
                untouched,
            } => steps::Check {
                catalog,
                database,
                url,
                how: Comparison {
                    owners: *owners,
                    content: *content,
                },
                jobs: *jobs,
                untouched: untouched.as_deref(),
            }
            .run(cx),
            Action::Extract {
                compression,
                folders,
            } => {
                // `extract` runs beside `restore`, the critical path, and
                // takes the CPU it leaves idle.
                sys::lower_thread_priority();
                let compression = *compression;
                steps::Extract {
                    folders,
                    compression,
                    consumes: &step.consumes,
                }
                .run(cx)
            }
            Action::Swap {
                database,
                folders,
                keep_previous,
            } => steps::Swap {
                database: database.as_ref(),
                folders,
                keep_previous: *keep_previous,
            }
            .run(cx),
            Action::AfterCopy { commands, strategy } => steps::AfterCopy {
                commands,
                strategy: *strategy,
            }
            .run(cx),
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
}
