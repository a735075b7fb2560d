//! Loading a plan for a run: checked, its graph built, its params and
//! secrets resolved. Diagnostics (warnings too) go to the reporter.

use std::path::Path;

use super::error::{SessionError, SessionResult};
use super::reporter::Reporter;
use crate::check::inputs::{resolve_inputs, ResolvedInputs};
use crate::graph::ExecutionGraph;
use crate::syntax::span::SourceMap;

/// `NAME=VALUE` pairs; the ones without `=` are left out.
fn pairs(sets: &[String]) -> Vec<(String, String)> {
    sets.iter()
        .filter_map(|set| set.split_once('=').map(|(name, value)| (name.trim().to_string(), value.to_string())))
        .collect()
}

/// Checks the plan and builds its graph.
pub fn load_graph(path: &Path, sets: &[String], reporter: &dyn Reporter) -> SessionResult<ExecutionGraph> {
    let checked = crate::check::check_file_with(path, &pairs(sets));
    let failed = checked.diagnostics.has_errors();
    reporter.diagnostics(&checked.diagnostics.into_sorted(), &checked.sources);
    match checked.plan {
        Some(plan) if !failed => Ok(ExecutionGraph::build(plan)),
        _ => Err(SessionError::plan()),
    }
}

/// Resolves params (`--set NAME=VALUE` over defaults) and secrets.
pub fn load_inputs(graph: &ExecutionGraph, sets: &[String], reporter: &dyn Reporter) -> SessionResult<ResolvedInputs> {
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
    match resolve_inputs(&graph.plan, &pairs(sets), &read_env) {
        Ok(inputs) if bad.is_empty() => Ok(inputs),
        Ok(_) => {
            reporter.diagnostics(&bad, &SourceMap::default());
            Err(SessionError::plan())
        }
        Err(errors) => {
            bad.extend(errors);
            reporter.diagnostics(&bad, &graph.plan.sources);
            Err(SessionError::plan())
        }
    }
}
