//! `deploy graph FILE [--format dot|mermaid]`

use std::path::PathBuf;

use super::load::load_graph;
use super::ExitCode;

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
enum GraphFormat {
    /// Graphviz DOT (`deploy graph plan.deploy | dot -Tsvg > graph.svg`).
    #[default]
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
}

#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// The plan file.
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: GraphFormat,
}

pub fn run(args: GraphArgs) -> ExitCode {
    let Some(graph) = load_graph(&args.file, &[]) else {
        return ExitCode::Usage;
    };
    match args.format {
        GraphFormat::Dot => print!("{}", crate::graph::to_dot(&graph)),
        GraphFormat::Mermaid => print!("{}", crate::graph::to_mermaid(&graph)),
    }
    ExitCode::Success
}
