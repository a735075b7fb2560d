//! The plan a run was made from, as the graph the page draws: the plan
//! recorded with the run (its text and its imports' texts, as they were
//! when it started), else the server's own plan when it is the run's
//! pipeline, else the run's plan file as it is now; without any, the nodes
//! the journal names, unconnected. An old run is drawn as it ran, not with
//! the stages added to the plan since.

use std::path::Path;

use serde_json::Value;

use super::graph_svg::GraphNode;
use crate::graph::ExecutionGraph;
use crate::state::Deployment;

/// Nodes and waves (indexes into the nodes) to lay out.
pub struct Drawn {
    pub nodes: Vec<GraphNode>,
    pub waves: Vec<Vec<usize>>,
    /// Who may approve each gate (empty: anyone).
    pub approvers: Vec<(String, Vec<String>)>,
}

/// The checked plan at `path` with the run's params, if it is `pipeline`'s.
fn load(path: &Path, deployment: &Deployment) -> Option<ExecutionGraph> {
    let checked = crate::check::check_file_with(path, &deployment.params);
    let plan = checked.plan.filter(|_| !checked.diagnostics.has_errors())?;
    (plan.pipeline.name == deployment.pipeline).then(|| ExecutionGraph::build(plan))
}

/// The plan recorded with the run, checked, if it still checks.
fn recorded(deployment: &Deployment) -> Option<ExecutionGraph> {
    if deployment.plan_text.is_empty() {
        return None;
    }
    let path = Path::new(&deployment.plan_file);
    let base = path.parent().unwrap_or(Path::new(""));
    let imports: Vec<crate::canonical::RecordedSource> =
        serde_json::from_str(&deployment.plan_imports).unwrap_or_default();
    // The imported files as they were (those still on disk; std/ is built in).
    let overlay: crate::check::loader::Overlay = imports
        .into_iter()
        .filter(|source| !source.path.starts_with("std/"))
        .filter_map(|source| {
            let file = std::fs::canonicalize(base.join(&source.path)).ok()?;
            Some((file, std::sync::Arc::from(source.text.as_str())))
        })
        .collect();
    let checked = crate::check::check_source_with(path, deployment.plan_text.clone(), overlay);
    let plan = checked.plan.filter(|_| !checked.diagnostics.has_errors())?;
    (plan.pipeline.name == deployment.pipeline).then(|| ExecutionGraph::build(plan))
}

pub fn graph_of(server_plan: &Path, deployment: &Deployment) -> Option<ExecutionGraph> {
    recorded(deployment)
        .or_else(|| load(server_plan, deployment))
        .or_else(|| load(Path::new(&deployment.plan_file), deployment))
}

/// What to draw for a run.
pub fn drawn(graph: Option<&ExecutionGraph>, journal: &[Value]) -> Drawn {
    match graph {
        Some(graph) => from_graph(graph),
        None => from_journal(journal),
    }
}

fn from_graph(graph: &ExecutionGraph) -> Drawn {
    let plan = &graph.plan;
    let nodes = plan
        .nodes
        .iter()
        .map(|node| GraphNode {
            name: node.name.clone(),
            kind: node.kind.word().to_string(),
            needs: node.needs.iter().map(|need| plan.node(*need).name.clone()).collect(),
        })
        .collect();
    let waves = graph.waves.iter().map(|wave| wave.iter().map(|id| id.0).collect()).collect();
    let approvers = plan
        .nodes
        .iter()
        .filter_map(|node| {
            let approve = node.gate.as_ref()?.approve.as_ref()?;
            Some((node.name.clone(), approve.by.clone()))
        })
        .collect();
    Drawn { nodes, waves, approvers }
}

fn from_journal(journal: &[Value]) -> Drawn {
    let mut nodes: Vec<GraphNode> = Vec::new();
    for event in journal.iter().filter(|event| event.get("type").and_then(Value::as_str) == Some("node_started")) {
        let name = event.get("node").and_then(Value::as_str).unwrap_or("");
        if !name.is_empty() && !nodes.iter().any(|node| node.name == name) {
            let kind = event.get("kind").and_then(Value::as_str).unwrap_or("stage").to_string();
            nodes.push(GraphNode { name: name.to_string(), kind, needs: Vec::new() });
        }
    }
    let waves = vec![(0..nodes.len()).collect()];
    Drawn { nodes, waves, approvers: Vec::new() }
}
