//! Loading a plan for the commands that need a checked graph, printing
//! every diagnostic (warnings too).

use std::path::Path;

use super::report::CliReporter;
use crate::check::inputs::ResolvedInputs;
use crate::graph::ExecutionGraph;

/// The plan's graph; `None` when the plan has errors.
pub fn load_graph(path: &Path, sets: &[String]) -> Option<ExecutionGraph> {
    crate::session::load::load_graph(path, sets, &CliReporter).ok()
}

/// Resolves params and secrets for a run or a preview.
pub fn load_inputs(graph: &ExecutionGraph, sets: &[String]) -> Option<ResolvedInputs> {
    crate::session::load::load_inputs(graph, sets, &CliReporter).ok()
}
