//! `deploy resume [RUN]` — continues a paused or crashed run from its
//! journal: nodes and hosts that finished are not run again; approvals given
//! with `deploy approve` are honoured. RUN defaults to the latest resumable
//! run (of `--plan FILE` when given).

use super::flags::{LockWaitArgs, StateArgs};
use super::report::{self, CliReporter};
use super::ExitCode;
use crate::session::{Interrupts, ResumeRequest};

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The run to resume [default: the latest paused or crashed run].
    run: Option<String>,
    #[command(flatten)]
    state: StateArgs,
    #[command(flatten)]
    approval: super::flags::ApprovalArgs,
    /// Resume even though the plan file changed since the run started.
    #[arg(long)]
    allow_changed_plan: bool,
    #[command(flatten)]
    lock: LockWaitArgs,
}

pub fn run(args: ResumeArgs) -> ExitCode {
    let json = args.state.json;
    let request = ResumeRequest {
        location: args.state.location(),
        run: args.run,
        plan: args.state.plan.clone(),
        allow_changed_plan: args.allow_changed_plan,
        approvals: args.approval.approvals(std::io::IsTerminal::is_terminal(&std::io::stdin())),
        max_parallel: args.approval.max_parallel.map(|n| n as usize),
        lock: args.lock.wait(),
        views: vec![report::view(args.state.json)],
        interrupts: Interrupts::Signals,
    };
    match crate::session::resume::resume(request, &CliReporter) {
        Ok(end) => report::exit_of(end, json),
        Err(error) => report::error_as(error, json),
    }
}
