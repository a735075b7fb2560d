//! Loading a plan for a run: checked, its graph built, its params and
//! secrets resolved. Diagnostics (warnings too) go to the reporter.

use std::path::Path;

use super::error::{SessionError, SessionResult};
use super::reporter::Reporter;
use crate::check::selection::Selection;
use crate::graph::ExecutionGraph;
use crate::inputs::{resolve_inputs_with, ResolvedInputs, SecretReading};
use crate::syntax::span::SourceMap;

/// `NAME=VALUE` pairs; the ones without `=` are left out.
fn pairs(sets: &[String]) -> Vec<(String, String)> {
    sets.iter()
        .filter_map(|set| set.split_once('=').map(|(name, value)| (name.trim().to_string(), value.to_string())))
        .collect()
}

/// Checks the plan and builds its graph.
pub fn load_graph(path: &Path, sets: &[String], reporter: &dyn Reporter) -> SessionResult<ExecutionGraph> {
    load_selected_graph(path, sets, &Selection::default(), reporter)
}

/// [`load_graph`], restricted to `--env` / `--limit` (what is left out stays
/// in the graph, marked as skipped).
pub fn load_selected_graph(
    path: &Path,
    sets: &[String],
    selection: &Selection,
    reporter: &dyn Reporter,
) -> SessionResult<ExecutionGraph> {
    let checked = crate::check::check_file_with(path, &pairs(sets));
    let failed = checked.diagnostics.has_errors();
    let diagnostics = checked.diagnostics.into_sorted();
    reporter.diagnostics(&diagnostics, &checked.sources);
    let mut plan = match checked.plan {
        Some(plan) if !failed => plan,
        _ => return Err(SessionError::plan_of(&diagnostics)),
    };
    if let Err(problems) = selection.apply(&mut plan) {
        reporter.diagnostics(&problems, &SourceMap::default());
        return Err(SessionError::plan_of(&problems));
    }
    Ok(ExecutionGraph::build(plan))
}

/// Resolves params (`--set NAME=VALUE` over defaults) and secrets.
pub fn load_inputs(graph: &ExecutionGraph, sets: &[String], reporter: &dyn Reporter) -> SessionResult<ResolvedInputs> {
    load_inputs_reading(graph, sets, true, reporter)
}

/// [`load_inputs`]; `read_sources`: read `file()` and run `command()`
/// secrets (a preview does not). Only the environments a selected node
/// targets have their `secrets { ... }` read.
pub fn load_inputs_reading(
    graph: &ExecutionGraph,
    sets: &[String],
    read_sources: bool,
    reporter: &dyn Reporter,
) -> SessionResult<ResolvedInputs> {
    let mut bad = Vec::new();
    for set in sets.iter().filter(|set| !set.contains('=')) {
        bad.push(
            crate::diagnostic::Diagnostic::new(
                crate::diagnostic::Code::InvalidSet,
                format!("`--set {set}` is not NAME=VALUE"),
            )
            .with_help("write `--set name=value`"),
        );
    }
    let read_env = |name: &str| std::env::var(name).ok();
    let plan = &graph.plan;
    let environments: Vec<String> = plan
        .nodes
        .iter()
        .filter(|node| node.deselected.is_none())
        .filter_map(|node| node.target.map(|target| plan.environment(target).name.clone()))
        .collect();
    let reading = SecretReading { sources: read_sources, environments: Some(environments) };
    match resolve_inputs_with(plan, &pairs(sets), &read_env, &reading) {
        Ok(inputs) if bad.is_empty() => {
            reporter.diagnostics(&inputs.warnings, &plan.sources);
            Ok(inputs)
        }
        Ok(_) => {
            reporter.diagnostics(&bad, &SourceMap::default());
            Err(SessionError::plan_of(&bad))
        }
        Err(errors) => {
            bad.extend(errors);
            reporter.diagnostics(&bad, &graph.plan.sources);
            Err(SessionError::plan_of(&bad))
        }
    }
}
