//! The `check` step: the restored database compared with what the dump
//! holds, as its catalog records it.

use super::context::Planner;
use crate::manifest::{CheckDepth, Strategy};
use crate::plan::step::{Action, Artifact, DatabaseRef, Step, StepId};

impl Planner<'_> {
    pub(super) fn check(&self, catalog: &Artifact) -> Step {
        let database = self.new_database();
        let content = self.manifest.artifacts.check == CheckDepth::Content;
        let t = &self.manifest.target;
        Step {
            id: StepId::Check,
            kind: StepId::Check.kind(),
            description: format!(
                "compare {database} with {}: every object by identity and definition, every table's {}, every sequence and large object, the encoding",
                catalog.name,
                if content { "rows and content" } else { "rows" }
            ),
            action: Action::Check {
                catalog: self.path(catalog),
                url: DatabaseRef::new(&t.database.with_database(&database), "target.database"),
                database,
                owners: self.manifest.include.owners,
                content,
                jobs: self.manifest.artifacts.jobs,
                untouched: (t.strategy == Strategy::Swap).then(|| t.database.database().to_owned()),
            },
            produces: vec![],
            consumes: vec![catalog.clone()],
            destroys: None,
            server: None,
        }
    }
}
