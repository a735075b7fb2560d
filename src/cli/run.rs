//! `deploy run FILE`: check the plan, resolve its inputs, walk the graph.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::flags::{LockWaitArgs, PlanStateArgs};
use super::load::{load_inputs_reading, load_selected_graph};
use super::report::{self, CliReporter};
use super::ExitCode;
use crate::engine::RunOptions;
use crate::session::{Interrupts, RunRequest};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The plan file.
    file: PathBuf,
    /// Override a param: NAME=VALUE (repeatable); checked against the param's type.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Show what would run, run nothing (the same as `deploy plan`).
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    approval: super::flags::ApprovalArgs,
    #[command(flatten)]
    state: PlanStateArgs,
    #[command(flatten)]
    lock: LockWaitArgs,
    /// The version deployed before this run (`${previous_version}`; what a
    /// blue/green rollback switches back to) [default: from the state].
    #[arg(long, value_name = "VERSION")]
    previous_version: Option<String>,
    #[command(flatten)]
    selection: super::flags::SelectionArgs,
}

pub fn run(args: RunArgs) -> ExitCode {
    let selection = args.selection.selection();
    let json = args.state.json;
    let graph = match load_selected_graph(&args.file, &args.sets, &selection) {
        Ok(graph) => graph,
        Err(error) => return report::error_as(error, json),
    };
    let inputs = match load_inputs_reading(&graph, &args.sets, !args.dry_run) {
        Ok(inputs) => inputs,
        Err(error) => return report::error_as(error, json),
    };
    if args.dry_run {
        let preview = super::plan::preview(&graph, &inputs, "", &[]);
        print!("{}", super::plan::render(&preview));
        return ExitCode::Success;
    }
    let options = RunOptions {
        max_parallel: args.approval.max_parallel(&graph.plan),
        approvals: args.approval.approvals(std::io::stdin().is_terminal()),
        previous_version: args.previous_version,
        kill_grace: crate::session::kill_grace(),
        selection,
        ..RunOptions::default()
    };
    let request = RunRequest {
        location: args.state.location(&args.file),
        graph,
        inputs,
        options,
        lock: args.lock.wait(),
        views: vec![report::view(args.state.json)],
        interrupts: Interrupts::Signals,
    };
    match crate::session::start::start(request, &CliReporter) {
        Ok(end) => report::exit_of(end, json),
        Err(error) => report::error_as(error, json),
    }
}
