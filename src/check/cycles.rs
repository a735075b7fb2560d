//! `needs` cycles (E0102), with every edge of a cycle labelled where it is
//! written.

use std::num::NonZeroUsize;

use petgraph::graph::{DiGraph, NodeIndex};

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
    for component in strongly_connected_sets(&graph) {
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

/// The strongly connected sets of `graph`, as petgraph's `tarjan_scc` gives
/// them (the same sets in the same order: this is its algorithm, Pearce's
/// Tarjan), with the depth-first search on a stack of its own: the
/// recursive one overflowed the thread's stack on a chain of 24,000 `needs`
/// and aborted `deploy check`.
fn strongly_connected_sets(graph: &DiGraph<usize, ()>) -> Vec<Vec<NodeIndex>> {
    /// A node being visited: the neighbours left, the one visited last
    /// (compared when its visit ends), and whether it is still a root.
    struct Visit<'g> {
        node: NodeIndex,
        neighbours: petgraph::graph::Neighbors<'g, ()>,
        child: Option<NodeIndex>,
        local_root: bool,
    }
    let mut root_index: Vec<Option<NonZeroUsize>> = vec![None; graph.node_count()];
    let mut index = 1usize;
    let mut component_count = usize::MAX;
    let mut stack: Vec<NodeIndex> = Vec::new();
    let mut sets = Vec::new();
    let mut visits: Vec<Visit> = Vec::new();
    for first in graph.node_indices() {
        if root_index[first.index()].is_some() {
            continue;
        }
        root_index[first.index()] = NonZeroUsize::new(index);
        index += 1;
        visits.push(Visit { node: first, neighbours: graph.neighbors(first), child: None, local_root: true });
        while let Some(visit) = visits.last_mut() {
            let v = visit.node.index();
            if let Some(w) = visit.child.take() {
                if root_index[w.index()] < root_index[v] {
                    root_index[v] = root_index[w.index()];
                    visit.local_root = false;
                }
            }
            if let Some(w) = visit.neighbours.next() {
                if root_index[w.index()].is_none() {
                    visit.child = Some(w);
                    root_index[w.index()] = NonZeroUsize::new(index);
                    index += 1;
                    visits.push(Visit { node: w, neighbours: graph.neighbors(w), child: None, local_root: true });
                } else if root_index[w.index()] < root_index[v] {
                    root_index[v] = root_index[w.index()];
                    visit.local_root = false;
                }
                continue;
            }
            let (node, local_root) = (visit.node, visit.local_root);
            visits.pop();
            if !local_root {
                stack.push(node);
                continue;
            }
            let mut index_adjustment = 1;
            let component = NonZeroUsize::new(component_count);
            let start = stack
                .iter()
                .rposition(|w| {
                    if root_index[v] > root_index[w.index()] {
                        true
                    } else {
                        root_index[w.index()] = component;
                        index_adjustment += 1;
                        false
                    }
                })
                .map_or(0, |at| at + 1);
            root_index[v] = component;
            stack.push(node);
            sets.push(stack[start..].to_vec());
            stack.truncate(start);
            index -= index_adjustment;
            component_count -= 1;
        }
    }
    sets
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The same sets in the same order as petgraph's recursive search, on
    /// graphs with cycles, chains, self-loops and shared nodes.
    #[test]
    fn the_sets_of_petgraphs_tarjan() {
        let mut seed = 7u64;
        let mut next = move |bound: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize % bound
        };
        for _ in 0..300 {
            let nodes = 1 + next(12);
            let mut graph = DiGraph::<usize, ()>::new();
            let indices: Vec<_> = (0..nodes).map(|i| graph.add_node(i)).collect();
            for _ in 0..next(nodes * 3) {
                graph.add_edge(indices[next(nodes)], indices[next(nodes)], ());
            }
            assert_eq!(strongly_connected_sets(&graph), petgraph::algo::tarjan_scc(&graph), "{graph:?}");
        }
    }

    /// A chain far longer than a recursive search could follow.
    #[test]
    fn a_long_chain_is_searched_without_recursion() {
        let mut graph = DiGraph::<usize, ()>::new();
        let indices: Vec<_> = (0..200_000).map(|i| graph.add_node(i)).collect();
        for pair in indices.windows(2) {
            graph.add_edge(pair[0], pair[1], ());
        }
        graph.add_edge(indices[indices.len() - 1], indices[0], ());
        let sets = strongly_connected_sets(&graph);
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].len(), 200_000);
    }
}
