//! Loading a plan for the commands that need a checked graph, printing
//! every diagnostic (warnings too).

use std::path::Path;

use super::report::CliReporter;
use crate::check::selection::Selection;
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;
use crate::session::SessionResult;

/// The plan's graph; `None` when the plan has errors.
pub fn load_graph(path: &Path, sets: &[String]) -> Option<ExecutionGraph> {
    load_selected_graph(path, sets, &Selection::default()).ok()
}

/// [`load_graph`], restricted to `--env` / `--limit`; the error's diagnostics were printed.
pub fn load_selected_graph(path: &Path, sets: &[String], selection: &Selection) -> SessionResult<ExecutionGraph> {
    crate::session::load::load_selected_graph(path, sets, selection, &CliReporter)
}

/// Resolves params and secrets for a run or a preview; `read_sources`: read `file()` and run `command()` secrets (a preview does not).
pub fn load_inputs_reading(
    graph: &ExecutionGraph,
    sets: &[String],
    read_sources: bool,
) -> SessionResult<ResolvedInputs> {
    crate::session::load::load_inputs_reading(graph, sets, read_sources, &CliReporter)
}
