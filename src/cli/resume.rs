//! `deploy resume [RUN]` — continues a paused or crashed run from its
//! journal: nodes and hosts that finished are not run again; approvals given
//! with `deploy approve` are honoured. RUN defaults to the latest resumable
//! run (of `--plan FILE` when given).

use super::flags::{LockArgs, StateArgs};
use super::report::{self, CliReporter};
use super::ExitCode;
use crate::engine::Approvals;
use crate::session::{Interrupts, ResumeRequest};

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The run to resume [default: the latest paused or crashed run].
    run: Option<String>,
    #[command(flatten)]
    state: StateArgs,
    /// Approve every `approve` gate.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Approve the gate NAME (repeatable).
    #[arg(long = "approve", value_name = "NAME")]
    approve: Vec<String>,
    /// Who approves.
    #[arg(long = "as", value_name = "NAME", env = "DEPLOY_USER")]
    approver: Option<String>,
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_parallel: Option<u32>,
    /// Resume even though the plan file changed since the run started.
    #[arg(long)]
    allow_changed_plan: bool,
    #[command(flatten)]
    lock: LockArgs,
}

pub fn run(args: ResumeArgs) -> ExitCode {
    let json = args.state.json;
    let request = ResumeRequest {
        location: args.state.location(),
        run: args.run,
        plan: args.state.plan.clone(),
        allow_changed_plan: args.allow_changed_plan,
        approvals: Approvals {
            all: args.yes,
            gates: args.approve,
            approver: crate::session::approver_name(args.approver),
            interactive: std::io::IsTerminal::is_terminal(&std::io::stdin()),
            recorded: Vec::new(),
        },
        max_parallel: args.max_parallel.map(|n| n as usize),
        lock: args.lock.wait(),
        views: vec![report::view(args.state.json)],
        interrupts: Interrupts::Signals,
    };
    match crate::session::resume::resume(request, &CliReporter) {
        Ok(end) => report::exit_of(end, json),
        Err(error) => report::error_as(error, json),
    }
}
