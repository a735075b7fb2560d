//! The graph as DOT (Graphviz) and Mermaid.

use super::ExecutionGraph;
use crate::check::model::{NodeKind, RollbackSpec};

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

pub fn to_dot(graph: &ExecutionGraph) -> String {
    let plan = &graph.plan;
    let mut out =
        format!("digraph \"{}\" {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n", escape(&plan.pipeline.name));
    for id in &graph.order {
        let node = plan.node(*id);
        let mut label = node.name.clone();
        if let Some(target) = node.target {
            label.push_str(&format!("\\n→ {}", plan.environment(target).name));
        }
        if node.kind == NodeKind::Stage && !matches!(node.strategy, crate::check::model::Strategy::AllAtOnce) {
            label.push_str(&format!(" ({})", node.strategy.name()));
        }
        let (shape, style) = match (node.kind, &node.rollback) {
            (NodeKind::Gate, _) => ("diamond", "solid"),
            (NodeKind::Stage, RollbackSpec::Irreversible(_)) => ("box", "bold"),
            (NodeKind::Stage, RollbackSpec::Missing) if !node.steps.is_empty() => ("box", "dashed"),
            (NodeKind::Stage, _) => ("box", "rounded"),
        };
        out.push_str(&format!(
            "  \"{}\" [label=\"{}\", shape={shape}, style=\"{style}\"];\n",
            escape(&node.name),
            escape(&label).replace("\\\\n", "\\n")
        ));
    }
    for id in &graph.order {
        let node = plan.node(*id);
        for need in &node.needs {
            out.push_str(&format!("  \"{}\" -> \"{}\";\n", escape(&plan.node(*need).name), escape(&node.name)));
        }
    }
    out.push_str("}\n");
    out
}

pub fn to_mermaid(graph: &ExecutionGraph) -> String {
    let plan = &graph.plan;
    let mut out = String::from("flowchart LR\n");
    for id in &graph.order {
        let node = plan.node(*id);
        let label = node.name.replace('"', "'");
        match node.kind {
            NodeKind::Gate => out.push_str(&format!("  n{}{{\"{label}\"}}\n", id.0)),
            NodeKind::Stage => out.push_str(&format!("  n{}[\"{label}\"]\n", id.0)),
        }
    }
    for id in &graph.order {
        for need in &plan.node(*id).needs {
            out.push_str(&format!("  n{} --> n{}\n", need.0, id.0));
        }
    }
    out
}
