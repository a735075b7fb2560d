//! `deploy plan`

use std::path::PathBuf;

use super::ExitCode;

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The plan file.
    file: PathBuf,
    /// Override a param: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
}

pub fn run(args: PlanArgs) -> ExitCode {
    let Some(graph) = super::load::load_graph(&args.file) else {
        return ExitCode::Usage;
    };
    let Some(_inputs) = super::load::load_inputs(&graph, &args.sets) else {
        return ExitCode::Usage;
    };
    ExitCode::Success
}
