//! `deploy run FILE`: check the plan, resolve its inputs, walk the graph.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::flags::{LockArgs, PlanStateArgs};
use super::load::{load_inputs_reading, load_selected_graph};
use super::report::{self, CliReporter};
use super::ExitCode;
use crate::engine::{Approvals, RunOptions, DEFAULT_MAX_PARALLEL};
use crate::session::{Interrupts, RunRequest};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The plan file.
    file: PathBuf,
    /// Override a param: NAME=VALUE (repeatable); checked against the param's type.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// How many commands (a stage on one host) run at once [default: the
    /// pipeline's `max_parallel`, else 16].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_parallel: Option<u32>,
    /// Show what would run, run nothing (the same as `deploy plan`).
    #[arg(long)]
    dry_run: bool,
    /// Approve every `approve` gate (and protected environment).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Approve the gate (or protected stage) NAME (repeatable).
    #[arg(long = "approve", value_name = "NAME")]
    approve: Vec<String>,
    /// Who approves (recorded; must be in a gate's `by` list when it has one).
    #[arg(long = "as", value_name = "NAME", env = "DEPLOY_USER")]
    approver: Option<String>,
    #[command(flatten)]
    state: PlanStateArgs,
    #[command(flatten)]
    lock: LockArgs,
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
        let preview = super::plan::preview(&graph, &inputs, "");
        print!("{}", super::plan::render(&preview));
        return ExitCode::Success;
    }
    let options = RunOptions {
        max_parallel: args
            .max_parallel
            .map(|n| n as usize)
            .or(graph.plan.pipeline.max_parallel)
            .unwrap_or(DEFAULT_MAX_PARALLEL)
            .max(1),
        approvals: Approvals {
            all: args.yes,
            gates: args.approve,
            approver: crate::session::approver_name(args.approver),
            interactive: std::io::stdin().is_terminal(),
            recorded: Vec::new(),
        },
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
