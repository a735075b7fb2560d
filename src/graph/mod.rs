//! The execution graph: the checked plan's nodes with their `needs` edges,
//! in an order the engine can walk, and the rollback path derived from it.

pub(crate) mod batches;
mod bound;
mod render;
pub(crate) mod timing;
pub(crate) mod traffic_timing;

pub use render::{to_dot, to_mermaid};

use crate::check::model::{NodeId, Plan};

#[derive(Clone, Debug)]
pub struct ExecutionGraph {
    pub plan: Plan,
    /// For each node, the nodes that need it.
    pub dependents: Vec<Vec<NodeId>>,
    /// Nodes in a topological order (every node after all it needs), ties by
    /// declaration order.
    pub order: Vec<NodeId>,
    /// Nodes grouped by depth: every node of a wave can run in parallel once
    /// the waves before it are done.
    pub waves: Vec<Vec<NodeId>>,
}

impl ExecutionGraph {
    /// Builds the graph of a checked plan. The checker has proven `needs`
    /// acyclic; if a cycle slipped through anyway, its nodes are left out of
    /// `order` rather than looping.
    pub fn build(plan: Plan) -> ExecutionGraph {
        let count = plan.nodes.len();
        let mut dependents = vec![Vec::new(); count];
        let mut missing: Vec<usize> = vec![0; count];
        for node in &plan.nodes {
            for need in &node.needs {
                if need.0 < count {
                    dependents[need.0].push(node.id);
                    missing[node.id.0] += 1;
                }
            }
        }
        let mut depth = vec![0usize; count];
        let mut ready: Vec<NodeId> = (0..count).filter(|&i| missing[i] == 0).map(NodeId).collect();
        let mut order = Vec::with_capacity(count);
        while !ready.is_empty() {
            let mut next = Vec::new();
            for id in ready {
                order.push(id);
                for dependent in &dependents[id.0] {
                    depth[dependent.0] = depth[dependent.0].max(depth[id.0] + 1);
                    missing[dependent.0] -= 1;
                    if missing[dependent.0] == 0 {
                        next.push(*dependent);
                    }
                }
            }
            next.sort();
            ready = next;
        }
        let wave_count = order.iter().map(|id| depth[id.0] + 1).max().unwrap_or(0);
        let mut waves = vec![Vec::new(); wave_count];
        for id in &order {
            waves[depth[id.0]].push(*id);
        }
        for wave in &mut waves {
            wave.sort();
        }
        ExecutionGraph { plan, dependents, order, waves }
    }

    /// The static rollback path: every node that has rollback steps, in
    /// reverse topological order. At run time the engine undoes the nodes it
    /// completed in reverse completion order, which this order approximates.
    pub fn rollback_path(&self) -> Vec<NodeId> {
        use crate::check::model::RollbackSpec;
        self.order
            .iter()
            .rev()
            .copied()
            .filter(|id| matches!(self.plan.node(*id).rollback, RollbackSpec::Steps(_)))
            .collect()
    }

    /// Every node that `id` needs, directly or not.
    pub fn ancestors(&self, id: NodeId) -> Vec<NodeId> {
        let mut seen = vec![false; self.plan.nodes.len()];
        let mut stack = vec![id];
        let mut out = Vec::new();
        while let Some(current) = stack.pop() {
            for need in &self.plan.node(current).needs {
                if !seen[need.0] {
                    seen[need.0] = true;
                    out.push(*need);
                    stack.push(*need);
                }
            }
        }
        out.sort();
        out
    }
}
