//! The frozen step graph: what a plan is once built.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use super::step::{Step, StepId};

/// How a step depends on another: an edge's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Edge {
    /// The step starts once the other has finished.
    After,
    /// The step starts once the other has started, and runs beside it,
    /// reading what it writes (the stream restore beside its dump).
    Follows,
}

/// A checked, immutable step graph, with its steps in run order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(super) graph: DiGraph<Step, Edge>,
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

    /// The steps that must finish before `id` starts, directly.
    pub fn dependencies(&self, id: StepId) -> BTreeSet<StepId> {
        self.neighbors(id, Direction::Incoming, Edge::After)
    }

    /// The steps that wait for `id` to finish, directly.
    pub fn dependents(&self, id: StepId) -> BTreeSet<StepId> {
        self.neighbors(id, Direction::Outgoing, Edge::After)
    }

    /// The steps `id` follows: it starts once they have started.
    pub fn followed(&self, id: StepId) -> BTreeSet<StepId> {
        self.neighbors(id, Direction::Incoming, Edge::Follows)
    }

    /// Every step that must finish before `id` starts (through "after"
    /// edges: a step it follows may still be running when it starts).
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

    /// Every "after" edge `(before, after)`, sorted: `after` starts once
    /// `before` has finished.
    pub fn edges(&self) -> Vec<(StepId, StepId)> {
        self.edges_of(Edge::After)
    }

    /// Every "follows" edge `(followed, follower)`, sorted: `follower`
    /// starts once `followed` has started.
    pub fn follows(&self) -> Vec<(StepId, StepId)> {
        self.edges_of(Edge::Follows)
    }

    fn edges_of(&self, kind: Edge) -> Vec<(StepId, StepId)> {
        let mut edges: Vec<(StepId, StepId)> = self
            .graph
            .edge_references()
            .filter(|e| *e.weight() == kind)
            .map(|e| (self.graph[e.source()].id, self.graph[e.target()].id))
            .collect();
        edges.sort();
        edges
    }

    fn neighbors(&self, id: StepId, direction: Direction, kind: Edge) -> BTreeSet<StepId> {
        let Some(&n) = self.index.get(&id) else {
            return BTreeSet::new();
        };
        self.graph
            .edges_directed(n, direction)
            .filter(|e| *e.weight() == kind)
            .map(|e| match direction {
                Direction::Incoming => self.graph[e.source()].id,
                Direction::Outgoing => self.graph[e.target()].id,
            })
            .collect()
    }
}
