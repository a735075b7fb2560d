//! `--env ENV` and `--limit HOST[,HOST...]`: which part of a plan a command
//! works on. `--limit` keeps, in every environment, the hosts it names (or
//! matches: `web-*`); `--env` keeps the stages that target ENV, the
//! untargeted stages and gates that lead to them, and the gates they use
//! (`analysis`, `verify`, `monitor`); everything else is left out. Unknown
//! environments and hosts are errors that list what exists.

use crate::check::model::{NodeId, Plan, Strategy};
use crate::check::selection::glob_matches;
use crate::graph::ExecutionGraph;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectionArgs {
    /// Only the stages that target ENV, with what leads to them (repeatable).
    #[arg(long = "env", value_name = "ENV")]
    pub env: Vec<String>,
    /// Only these hosts: HOST[,HOST...], or a glob such as `web-*` (repeatable).
    #[arg(long = "limit", value_name = "HOST[,HOST...]", value_delimiter = ',')]
    pub limit: Vec<String>,
}

impl SelectionArgs {
    pub fn is_empty(&self) -> bool {
        self.env.is_empty() && self.limit.is_empty()
    }

    /// The graph of the selected part of the plan.
    pub fn apply(&self, graph: ExecutionGraph) -> Result<ExecutionGraph, String> {
        if self.is_empty() {
            return Ok(graph);
        }
        let mut plan = graph.plan;
        self.limit_hosts(&mut plan)?;
        if !self.env.is_empty() {
            let keep = self.kept_nodes(&plan)?;
            plan = retain_nodes(plan, &keep);
        }
        Ok(ExecutionGraph::build(plan))
    }

    fn limit_hosts(&self, plan: &mut Plan) -> Result<(), String> {
        if self.limit.is_empty() {
            return Ok(());
        }
        let all: Vec<&String> = plan.environments.iter().flat_map(|env| &env.hosts).collect();
        for pattern in &self.limit {
            if !all.iter().any(|host| glob_matches(pattern, host)) {
                let known: Vec<&str> = all.iter().map(|h| h.as_str()).collect();
                return Err(format!("--limit {pattern}: no such host (hosts: {})", known.join(", ")));
            }
        }
        for env in &mut plan.environments {
            env.hosts.retain(|host| self.limit.iter().any(|pattern| glob_matches(pattern, host)));
        }
        Ok(())
    }

    fn kept_nodes(&self, plan: &Plan) -> Result<Vec<bool>, String> {
        for name in &self.env {
            if plan.environment_named(name).is_none() {
                let known: Vec<&str> = plan.environments.iter().map(|e| e.name.as_str()).collect();
                return Err(format!("--env {name}: no such environment (environments: {})", known.join(", ")));
            }
        }
        let wanted = |node: &crate::check::model::NodeDef| {
            node.target.is_some_and(|env| self.env.contains(&plan.environment(env).name))
        };
        let mut keep: Vec<bool> = plan.nodes.iter().map(wanted).collect();
        let mut pending: Vec<NodeId> = plan.nodes.iter().filter(|n| keep[n.id.0]).map(|n| n.id).collect();
        // Every untargeted ancestor is kept, also when a stage of another
        // environment stands between.
        let mut seen = vec![false; plan.nodes.len()];
        while let Some(id) = pending.pop() {
            let node = plan.node(id);
            for need in &node.needs {
                if !seen[need.0] {
                    seen[need.0] = true;
                    keep[need.0] |= plan.node(*need).target.is_none();
                    pending.push(*need);
                }
            }
            for gate in crate::check::node_gates_used_by(node) {
                if !keep[gate.0] {
                    keep[gate.0] = true;
                    pending.push(gate);
                }
            }
        }
        Ok(keep)
    }
}

/// The kept nodes `id` needs: its needs, and for a need left out, that
/// node's kept needs in turn (so the order through it stays).
fn kept_needs(plan: &Plan, keep: &[bool], id: NodeId) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut pending: Vec<NodeId> = plan.node(id).needs.clone();
    let mut seen = vec![false; plan.nodes.len()];
    while let Some(need) = pending.pop() {
        if std::mem::replace(&mut seen[need.0], true) {
            continue;
        }
        if keep[need.0] {
            out.push(need);
        } else {
            pending.extend(plan.node(need).needs.iter().copied());
        }
    }
    out.sort();
    out
}

/// The plan with only the nodes `keep` marks, their ids and edges renumbered
/// (an edge to a node left out goes to what that node needed).
fn retain_nodes(mut plan: Plan, keep: &[bool]) -> Plan {
    let needs: Vec<Vec<NodeId>> = plan.nodes.iter().map(|node| kept_needs(&plan, keep, node.id)).collect();
    let mut new_ids: Vec<Option<NodeId>> = Vec::with_capacity(keep.len());
    let mut next = 0;
    for flag in keep {
        new_ids.push(flag.then(|| {
            next += 1;
            NodeId(next - 1)
        }));
    }
    let map = |id: NodeId| new_ids.get(id.0).copied().flatten();
    let nodes = std::mem::take(&mut plan.nodes);
    plan.nodes = nodes
        .into_iter()
        .filter_map(|mut node| {
            let old_id = node.id;
            node.id = map(node.id)?;
            node.needs =
                needs.get(old_id.0).map(|list| list.iter().filter_map(|n| map(*n)).collect()).unwrap_or_default();
            node.monitor =
                node.monitor.and_then(|m| map(m.gate).map(|gate| crate::check::model::Monitor { gate, ..m }));
            match &mut node.strategy {
                Strategy::Canary { analysis, .. } => *analysis = analysis.and_then(map),
                Strategy::BlueGreen { verify, .. } => *verify = verify.and_then(map),
                _ => {}
            }
            Some(node)
        })
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use crate::check::selection::glob_matches as matches;

    #[test]
    fn globs() {
        assert!(matches("web-*", "web-1"));
        assert!(matches("*-1", "web-1"));
        assert!(matches("w*b*1", "web-1"));
        assert!(!matches("web-*", "db-1"));
        assert!(matches("web-1", "web-1"));
        assert!(!matches("web-1", "web-10"));
    }
}
