//! `needs` cycles (E0102), with every edge of a cycle labelled where it is
//! written.

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

use super::model::{NodeDef, NodeId};
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::span::Span;

/// Reports every cycle of `needs` (one diagnostic per strongly connected
/// set). `needs_spans[i]` holds where node `i` names each node it needs.
pub fn report(nodes: &[NodeDef], needs_spans: &[Vec<(NodeId, Span)>], diagnostics: &mut Vec<Diagnostic>) {
    let mut graph = DiGraph::<usize, ()>::new();
    let indices: Vec<_> = (0..nodes.len()).map(|i| graph.add_node(i)).collect();
    for node in nodes {
        for need in node.needs.iter().filter(|n| n.0 < nodes.len()) {
            graph.add_edge(indices[need.0], indices[node.id.0], ());
        }
    }
    // Where `from` names `to` in its `needs`.
    let edge_span = |from: usize, to: usize| -> Span {
        needs_spans
            .get(from)
            .and_then(|spans| spans.iter().find(|(id, _)| id.0 == to).map(|(_, span)| *span))
            .unwrap_or(nodes[from].name_location.span)
    };
    for component in tarjan_scc(&graph) {
        if component.len() < 2 {
            continue;
        }
        let mut members: Vec<usize> = component.iter().map(|i| graph[*i]).collect();
        members.sort();
        // Walk the cycle from its first member, following `needs` inside it.
        let start = members[0];
        let mut path = vec![start];
        let mut current = start;
        while let Some(next) =
            nodes[current].needs.iter().map(|n| n.0).find(|n| members.contains(n) && (!path.contains(n) || *n == start))
        {
            if next == start {
                break;
            }
            path.push(next);
            current = next;
        }
        let name = |i: usize| nodes[i].name.as_str();
        let file = nodes[start].location.file;
        let names: Vec<&str> = path.iter().map(|i| name(*i)).collect();
        let shown = format!("{} → {}", names.join(" → "), names[0]);
        let second = path.get(1).copied().unwrap_or(start);
        let mut diagnostic = Diagnostic::new(Code::NeedsCycle, format!("`needs` form a cycle: {shown}"))
            .at(file, edge_span(start, second), format!("`{}` needs `{}`", name(start), name(second)))
            .with_help("a node can only start after everything it needs; remove one edge of the cycle");
        for (index, node) in path.iter().enumerate().skip(1) {
            let next = path[(index + 1) % path.len()];
            diagnostic = diagnostic.with_secondary(
                file,
                edge_span(*node, next),
                format!("`{}` needs `{}`", name(*node), name(next)),
            );
        }
        diagnostics.push(diagnostic);
    }
}
