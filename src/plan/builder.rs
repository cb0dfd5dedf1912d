//! Building a [`Plan`]: add steps and edges, then freeze.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use petgraph::Direction;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::error::PlanError;
use super::graph::{Edge, Plan};
use super::step::{Step, StepId};

/// A step graph under construction.
#[derive(Debug, Default)]
pub struct PlanBuilder {
    graph: DiGraph<Step, Edge>,
    index: BTreeMap<StepId, NodeIndex>,
}

impl PlanBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a step; a step with the same id replaces the earlier one.
    pub fn step(&mut self, step: Step) -> &mut Self {
        match self.index.get(&step.id) {
            Some(&n) => self.graph[n] = step,
            None => {
                let id = step.id;
                let n = self.graph.add_node(step);
                self.index.insert(id, n);
            }
        }
        self
    }

    pub fn contains(&self, id: StepId) -> bool {
        self.index.contains_key(&id)
    }

    /// `after` waits for `before`. Edges to steps that are not in the plan
    /// are ignored, so the planner can state the full graph once.
    pub fn edge(&mut self, before: StepId, after: StepId) -> &mut Self {
        self.add(before, after, Edge::After)
    }

    /// `follower` starts once `followed` has started, and runs beside it
    /// (ignored, like [`Self::edge`], when either is not in the plan). An
    /// "after" edge between the two stays: it is the stronger.
    pub fn follow(&mut self, followed: StepId, follower: StepId) -> &mut Self {
        self.add(followed, follower, Edge::Follows)
    }

    fn add(&mut self, from: StepId, to: StepId, kind: Edge) -> &mut Self {
        if let (Some(&a), Some(&b)) = (self.index.get(&from), self.index.get(&to)) {
            match self.graph.find_edge(a, b) {
                Some(e) => self.graph[e] = self.graph[e].min(kind),
                None => {
                    self.graph.add_edge(a, b, kind);
                }
            }
        }
        self
    }

    /// Checks that the graph has no cycle, through edges of either kind (a
    /// step cannot start before itself has started), and freezes it.
    pub fn build(self) -> Result<Plan, PlanError> {
        if let Some(cycle) = tarjan_scc(&self.graph)
            .into_iter()
            .find(|component| component.len() > 1)
        {
            let mut names: Vec<&str> = cycle.iter().map(|&n| self.graph[n].id.as_str()).collect();
            names.sort_unstable();
            return Err(PlanError::Cycle(names.join(", ")));
        }
        if let Some(e) = self
            .graph
            .edge_indices()
            .find(|&e| self.graph.edge_endpoints(e).is_some_and(|(a, b)| a == b))
        {
            let name = self
                .graph
                .edge_endpoints(e)
                .map(|(a, _)| self.graph[a].id.as_str())
                .unwrap_or("?");
            return Err(PlanError::Cycle(name.to_owned()));
        }
        let order = self.run_order();
        Ok(Plan {
            graph: self.graph,
            index: self.index,
            order,
        })
    }

    /// Kahn's algorithm over edges of both kinds (a followed step comes
    /// before its follower), always taking the ready step that comes first
    /// in the canonical order, so the order is stable.
    fn run_order(&self) -> Vec<NodeIndex> {
        let mut waiting: BTreeMap<NodeIndex, usize> = self
            .graph
            .node_indices()
            .map(|n| {
                (
                    n,
                    self.graph
                        .neighbors_directed(n, Direction::Incoming)
                        .count(),
                )
            })
            .collect();
        let mut ready: BinaryHeap<Reverse<(StepId, NodeIndex)>> = waiting
            .iter()
            .filter(|(_, count)| **count == 0)
            .map(|(&n, _)| Reverse((self.graph[n].id, n)))
            .collect();
        let mut order = Vec::with_capacity(self.graph.node_count());
        while let Some(Reverse((_, n))) = ready.pop() {
            order.push(n);
            for m in self.graph.neighbors_directed(n, Direction::Outgoing) {
                if let Some(count) = waiting.get_mut(&m) {
                    *count -= 1;
                    if *count == 0 {
                        ready.push(Reverse((self.graph[m].id, m)));
                    }
                }
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_is_refused() {
        let mut b = PlanBuilder::new();
        b.step(Step::fake(StepId::Dump))
            .step(Step::fake(StepId::Verify));
        b.edge(StepId::Dump, StepId::Verify)
            .edge(StepId::Verify, StepId::Dump);
        let err = b.build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "the step graph has a cycle through dump, verify"
        );
    }

    #[test]
    fn a_self_loop_is_refused() {
        let mut b = PlanBuilder::new();
        b.step(Step::fake(StepId::Dump));
        b.edge(StepId::Dump, StepId::Dump);
        assert!(b.build().is_err());
    }

    #[test]
    fn order_respects_edges_against_canonical_order() {
        let mut b = PlanBuilder::new();
        b.step(Step::fake(StepId::Dump))
            .step(Step::fake(StepId::Archive));
        // Unusual on purpose: archive before dump.
        b.edge(StepId::Archive, StepId::Dump);
        let plan = b.build().unwrap();
        let ids: Vec<StepId> = plan.steps().map(|s| s.id).collect();
        assert_eq!(ids, vec![StepId::Archive, StepId::Dump]);
    }

    #[test]
    fn a_follows_edge_orders_and_is_listed_apart() {
        let mut b = PlanBuilder::new();
        b.step(Step::fake(StepId::Restore))
            .step(Step::fake(StepId::Dump))
            .step(Step::fake(StepId::Create));
        b.edge(StepId::Create, StepId::Restore)
            .follow(StepId::Dump, StepId::Restore);
        let plan = b.build().unwrap();
        assert_eq!(plan.edges(), [(StepId::Create, StepId::Restore)]);
        assert_eq!(plan.follows(), [(StepId::Dump, StepId::Restore)]);
        assert!(plan.dependencies(StepId::Restore).contains(&StepId::Create));
        assert!(!plan.ancestors(StepId::Restore).contains(&StepId::Dump));
        assert_eq!(plan.followed(StepId::Restore), [StepId::Dump].into());
        let ids: Vec<StepId> = plan.steps().map(|s| s.id).collect();
        assert_eq!(ids, [StepId::Dump, StepId::Create, StepId::Restore]);
    }

    #[test]
    fn a_cycle_through_a_follows_edge_is_refused() {
        let mut b = PlanBuilder::new();
        for id in [StepId::Dump, StepId::Restore] {
            b.step(Step::fake(id));
        }
        b.follow(StepId::Dump, StepId::Restore)
            .edge(StepId::Restore, StepId::Dump);
        assert!(b.build().is_err());
    }

    #[test]
    fn edges_to_missing_steps_are_ignored() {
        let mut b = PlanBuilder::new();
        b.step(Step::fake(StepId::Verify));
        b.edge(StepId::Dump, StepId::Verify);
        let plan = b.build().unwrap();
        assert!(plan.edges().is_empty());
    }
}
