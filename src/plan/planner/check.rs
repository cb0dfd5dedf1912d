//! The `check` step: the restored database compared with what the dump
//! holds.

use super::context::Planner;
use crate::plan::step::{Action, Artifact, Step, StepId};

impl Planner<'_> {
    pub(super) fn check(&self, dump: &Artifact, sanitized: Option<&Artifact>) -> Step {
        let database = self.new_database();
        Step {
            id: StepId::Check,
            kind: StepId::Check.kind(),
            description: format!(
                "compare {database} with {}: every table's rows, every sequence, the indexes, constraints, triggers, views and functions, the encoding",
                dump.name
            ),
            action: Action::Check {
                dump: self.path(dump),
                format: self.manifest.artifacts.format,
                compression: self.manifest.artifacts.compression,
                database,
                sanitized: sanitized.map(|s| self.path(s)),
            },
            produces: vec![],
            consumes: std::iter::once(dump).chain(sanitized).cloned().collect(),
            destroys: None,
        }
    }
}
