//! Loading a plan for the commands that need a checked graph.

use std::path::Path;

use super::output::print_diagnostics;
use crate::check::inputs::{resolve_inputs, ResolvedInputs};
use crate::graph::ExecutionGraph;
use crate::syntax::span::SourceMap;

/// Checks the plan and builds its graph, printing every diagnostic (warnings
/// too). `None` when the plan has errors.
pub fn load_graph(path: &Path, sets: &[String]) -> Option<ExecutionGraph> {
    let pairs: Vec<(String, String)> = sets
        .iter()
        .filter_map(|set| set.split_once('=').map(|(name, value)| (name.trim().to_string(), value.to_string())))
        .collect();
    let checked = crate::check::check_file_with(path, &pairs);
    let failed = checked.diagnostics.has_errors();
    print_diagnostics(&checked.diagnostics.into_sorted(), &checked.sources);
    if failed {
        return None;
    }
    checked.plan.map(ExecutionGraph::build)
}

/// Resolves params and secrets for a run or a preview, printing diagnostics.
pub fn load_inputs(graph: &ExecutionGraph, sets: &[String]) -> Option<ResolvedInputs> {
    let mut pairs = Vec::new();
    let mut bad = Vec::new();
    for set in sets {
        match set.split_once('=') {
            Some((name, value)) => pairs.push((name.trim().to_string(), value.to_string())),
            None => bad.push(
                crate::diagnostic::Diagnostic::new(
                    crate::diagnostic::Code::InvalidSet,
                    format!("`--set {set}` is not NAME=VALUE"),
                )
                .with_help("write `--set name=value`"),
            ),
        }
    }
    let read_env = |name: &str| std::env::var(name).ok();
    match resolve_inputs(&graph.plan, &pairs, &read_env) {
        Ok(inputs) if bad.is_empty() => Some(inputs),
        Ok(_) => {
            print_diagnostics(&bad, &SourceMap::default());
            None
        }
        Err(errors) => {
            bad.extend(errors);
            print_diagnostics(&bad, &graph.plan.sources);
            None
        }
    }
}
