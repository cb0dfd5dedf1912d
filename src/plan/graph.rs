//! The frozen step graph: what a plan is once built.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use super::step::{Step, StepId};

/// A checked, immutable step graph, with its steps in run order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(super) graph: DiGraph<Step, ()>,
    pub(super) index: BTreeMap<StepId, NodeIndex>,
    /// A topological order; among steps that could go in any order, the
    /// canonical order of [`StepId::ALL`].
    pub(super) order: Vec<NodeIndex>,
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
