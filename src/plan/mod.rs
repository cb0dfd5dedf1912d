//! The plan: a frozen graph of steps built from a manifest and, when
//! planning live, from what the systems look like ([`inspect`]).
//!
//! [`PlanBuilder`] may change; [`Plan`] cannot. Acyclicity is checked once,
//! when the builder is turned into a plan, so everything after may assume a DAG.
//! A plan is saved and read back as a [`document::PlanDocument`].

mod builder;
mod difference;
pub mod document;
mod error;
pub mod graph_output;
pub mod inspect;
mod planner;
mod step;

use std::collections::{BTreeMap, BTreeSet};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

pub use self::builder::PlanBuilder;
use self::document::PlanDocument;
pub use self::error::PlanError;
pub use self::inspect::{Inspection, SourceFacts};
#[cfg(test)]
pub(crate) use self::planner::EDGES;
pub use self::planner::plan;
pub use self::step::{
    Action, Artifact, ArtifactKind, EnvValue, EnvVar, Exec, Step, StepId, StepKind, Stream,
};
use crate::manifest::Manifest;
use crate::postgres::Secrets;

/// Inspects the source and target, and plans with what was found: the
/// plan and its document (what `plan` prints and saves).
pub fn live(manifest: &Manifest, secrets: &Secrets) -> Result<(Plan, PlanDocument), PlanError> {
    let inspection = inspect::inspect(manifest, secrets)?;
    let plan = plan(manifest, inspection.facts.as_ref())?;
    let doc = PlanDocument::new(manifest, &plan, Some(&inspection));
    Ok((plan, doc))
}

/// Plans from the manifest alone (`plan --offline`, `graph`, `validate`).
pub fn offline(manifest: &Manifest) -> Result<(Plan, PlanDocument), PlanError> {
    let plan = plan(manifest, None)?;
    let doc = PlanDocument::new(manifest, &plan, None);
    Ok((plan, doc))
}

/// A checked, immutable step graph, with its steps in run order.
#[derive(Debug, Clone)]
pub struct Plan {
    graph: DiGraph<Step, ()>,
    index: BTreeMap<StepId, NodeIndex>,
    /// A topological order; among steps that could go in any order, the
    /// canonical order of [`StepId::ALL`].
    order: Vec<NodeIndex>,
}

impl Plan {
    /// The steps in run order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.order.iter().map(|&n| &self.graph[n])
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn step(&self, id: StepId) -> Option<&Step> {
        self.index.get(&id).map(|&n| &self.graph[n])
    }

    pub fn contains(&self, id: StepId) -> bool {
        self.index.contains_key(&id)
    }

    /// The steps `id` waits for directly.
    pub fn dependencies(&self, id: StepId) -> BTreeSet<StepId> {
        self.neighbors(id, Direction::Incoming)
    }

    /// The steps that wait for `id` directly.
    pub fn dependents(&self, id: StepId) -> BTreeSet<StepId> {
        self.neighbors(id, Direction::Outgoing)
    }

    /// Every step that must finish before `id` starts.
    pub fn ancestors(&self, id: StepId) -> BTreeSet<StepId> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<StepId> = self.dependencies(id).into_iter().collect();
        while let Some(next) = stack.pop() {
            if seen.insert(next) {
                stack.extend(self.dependencies(next));
            }
        }
        seen
    }

    /// Every edge `(before, after)`, sorted.
    pub fn edges(&self) -> Vec<(StepId, StepId)> {
        let mut edges: Vec<(StepId, StepId)> = self
            .graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .map(|(a, b)| (self.graph[a].id, self.graph[b].id))
            .collect();
        edges.sort();
        edges
    }

    fn neighbors(&self, id: StepId, direction: Direction) -> BTreeSet<StepId> {
        self.index
            .get(&id)
            .map(|&n| {
                self.graph
                    .neighbors_directed(n, direction)
                    .map(|m| self.graph[m].id)
                    .collect()
            })
            .unwrap_or_default()
    }
}
