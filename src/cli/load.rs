//! Loading a plan for the commands that need a checked graph.

use std::path::Path;

use super::output::print_diagnostics;
use crate::check::inputs::{resolve_inputs_with, ResolvedInputs, SecretReading};
use crate::check::selection::Selection;
use crate::graph::ExecutionGraph;
use crate::syntax::span::SourceMap;

/// Checks the plan and builds its graph, printing every diagnostic (warnings
/// too). `None` when the plan has errors.
pub fn load_graph(path: &Path, sets: &[String]) -> Option<ExecutionGraph> {
    load_selected_graph(path, sets, &Selection::default())
}

/// [`load_graph`], restricted to `--env` / `--limit` (what is left out stays
/// in the graph, marked as skipped).
pub fn load_selected_graph(path: &Path, sets: &[String], selection: &Selection) -> Option<ExecutionGraph> {
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
    let mut plan = checked.plan?;
    if let Err(problems) = selection.apply(&mut plan) {
        print_diagnostics(&problems, &SourceMap::default());
        return None;
    }
    Some(ExecutionGraph::build(plan))
}

/// Resolves params and secrets for a run or a preview, printing diagnostics.
pub fn load_inputs(graph: &ExecutionGraph, sets: &[String]) -> Option<ResolvedInputs> {
    load_inputs_reading(graph, sets, true)
}

/// [`load_inputs`]; `read_sources`: read `file()` and run `command()`
/// secrets (a preview does not). Only the environments a selected node
/// targets have their `secrets { ... }` read.
pub fn load_inputs_reading(graph: &ExecutionGraph, sets: &[String], read_sources: bool) -> Option<ResolvedInputs> {
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
    let plan = &graph.plan;
    let mut environments: Vec<String> = Vec::new();
    for node in plan.nodes.iter().filter(|node| node.deselected.is_none()) {
        if let Some(target) = node.target {
            environments.push(plan.environment(target).name.clone());
        }
    }
    let reading = SecretReading { sources: read_sources, environments: Some(environments) };
    match resolve_inputs_with(plan, &pairs, &read_env, &reading) {
        Ok(inputs) if bad.is_empty() => {
            print_diagnostics(&inputs.warnings, &plan.sources);
            Some(inputs)
        }
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
