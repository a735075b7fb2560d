//! `needs` cycles (E0102), with every edge of a cycle labelled where it is
//! written.

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

use super::model::{NodeDef, NodeId};
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::span::Span;

/// Reports every cycle of `needs` (one diagnostic per strongly connected
/// set, naming one shortest cycle through its first node; a long cycle is
/// shown by its first and last nodes and a count, in linear time). `needs_spans[i]` holds where node `i` names each node it needs.
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
    let mut in_component = vec![false; nodes.len()];
    for component in tarjan_scc(&graph) {
        if component.len() < 2 {
            continue;
        }
        let members: Vec<usize> = component.iter().map(|i| graph[*i]).collect();
        for member in &members {
            in_component[*member] = true;
        }
        let start = members.iter().copied().min().unwrap_or_default();
        let path = shortest_cycle(nodes, &in_component, start);
        for member in &members {
            in_component[*member] = false;
        }
        diagnostics.push(cycle_diagnostic(nodes, &path, &edge_span));
    }
}

/// The shortest walk along `needs` from `start` back to it, inside the
/// strongly connected set marked in `in_component` (breadth first: linear
/// in the set's nodes and edges). Starts with `start`; does not repeat it.
fn shortest_cycle(nodes: &[NodeDef], in_component: &[bool], start: usize) -> Vec<usize> {
    let mut parent: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut last = None;
    'search: while let Some(current) = queue.pop_front() {
        for next in nodes[current].needs.iter().map(|n| n.0) {
            if !in_component.get(next).copied().unwrap_or(false) {
                continue;
            }
            if next == start {
                last = Some(current);
                break 'search;
            }
            if let std::collections::hash_map::Entry::Vacant(entry) = parent.entry(next) {
                entry.insert(current);
                queue.push_back(next);
            }
        }
    }
    let mut path = Vec::new();
    let mut at = last;
    while let Some(node) = at {
        path.push(node);
        at = if node == start { None } else { parent.get(&node).copied() };
    }
    if path.last() != Some(&start) {
        // Not reached in a strongly connected set; show the start alone.
        return vec![start];
    }
    path.reverse();
    path
}

/// Stages of a long cycle shown at its start and at its end; the ones in
/// between are counted, so the diagnostic stays small for any cycle.
const SHOWN_AT_EACH_END: usize = 5;

fn cycle_diagnostic(nodes: &[NodeDef], path: &[usize], edge_span: &dyn Fn(usize, usize) -> Span) -> Diagnostic {
    let name = |i: usize| nodes[i].name.as_str();
    let start = path.first().copied().unwrap_or_default();
    let file = nodes[start].location.file;
    // The positions in `path` that are named and labelled.
    let shown: Vec<usize> = if path.len() <= 2 * SHOWN_AT_EACH_END + 1 {
        (0..path.len()).collect()
    } else {
        (0..SHOWN_AT_EACH_END).chain(path.len() - SHOWN_AT_EACH_END..path.len()).collect()
    };
    let mut text = String::new();
    for (k, position) in shown.iter().enumerate() {
        if k > 0 {
            text.push_str(" → ");
            let skipped = position - shown[k - 1] - 1;
            if skipped > 0 {
                text.push_str(&format!("… {skipped} more … → "));
            }
        }
        text.push_str(name(path[*position]));
    }
    text.push_str(&format!(" → {}", name(start)));
    let message = if shown.len() < path.len() {
        format!("`needs` form a cycle of {} nodes: {text}", path.len())
    } else {
        format!("`needs` form a cycle: {text}")
    };
    let next_of = |position: usize| path[(position + 1) % path.len()];
    let second = next_of(0);
    let mut diagnostic = Diagnostic::new(Code::NeedsCycle, message)
        .at(file, edge_span(start, second), format!("`{}` needs `{}`", name(start), name(second)))
        .with_help("a node can only start after everything it needs; remove one edge of the cycle");
    for position in shown.iter().skip(1) {
        let node = path[*position];
        let next = next_of(*position);
        diagnostic =
            diagnostic.with_secondary(file, edge_span(node, next), format!("`{}` needs `{}`", name(node), name(next)));
    }
    diagnostic
}
