//! `needs` cycles (E0102), found on the syntax tree so that every edge of a
//! cycle can be labelled where it is written.

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

use super::model::NodeId;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{Entry, NodeDecl, ValueKind};
use crate::syntax::span::{FileId, Span};

/// The span of `other` inside `decl`'s `needs` list.
fn needs_span(decl: &NodeDecl, other: &str) -> Span {
    for entry in &decl.body.entries {
        let Entry::Attribute(a) = entry else { continue };
        if a.name.name != "needs" {
            continue;
        }
        let items: Vec<&crate::syntax::ast::Value> = match &a.value.kind {
            ValueKind::List(items) => items.iter().collect(),
            _ => vec![&a.value],
        };
        for value in items {
            if let ValueKind::Path(path) = &value.kind {
                if path.dotted() == other {
                    return path.span;
                }
            }
        }
    }
    decl.name.span
}

/// Reports every cycle of `needs` (one diagnostic per strongly connected set).
pub fn report(file: FileId, decls: &[NodeDecl], needs: &[Vec<NodeId>], diagnostics: &mut Vec<Diagnostic>) {
    let mut graph = DiGraph::<usize, ()>::new();
    let indices: Vec<_> = (0..decls.len()).map(|i| graph.add_node(i)).collect();
    for (node, node_needs) in needs.iter().enumerate() {
        for need in node_needs.iter().filter(|n| n.0 < decls.len()) {
            graph.add_edge(indices[need.0], indices[node], ());
        }
    }
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
            needs[current].iter().map(|n| n.0).find(|n| members.contains(n) && (!path.contains(n) || *n == start))
        {
            if next == start {
                break;
            }
            path.push(next);
            current = next;
        }
        let name = |i: usize| decls[i].name.name.as_str();
        let names: Vec<&str> = path.iter().map(|i| name(*i)).collect();
        let shown = format!("{} → {}", names.join(" → "), names[0]);
        let second = path.get(1).copied().unwrap_or(start);
        let mut diagnostic = Diagnostic::new(Code::NeedsCycle, format!("`needs` form a cycle: {shown}"))
            .at(file, needs_span(&decls[start], name(second)), format!("`{}` needs `{}`", name(start), name(second)))
            .with_help("a node can only start after everything it needs; remove one edge of the cycle");
        for (index, node) in path.iter().enumerate().skip(1) {
            let next = path[(index + 1) % path.len()];
            diagnostic = diagnostic.with_secondary(
                file,
                needs_span(&decls[*node], name(next)),
                format!("`{}` needs `{}`", name(*node), name(next)),
            );
        }
        diagnostics.push(diagnostic);
    }
}
