//! `deploy approve GATE [--run RUN]` — records an approval in the state;
//! `deploy resume` then passes the gate (the engine checks the gate's `by`
//! list against the recorded approver). RUN defaults to the latest paused run.

use super::flags::StateArgs;
use super::report;
use super::ExitCode;
use crate::session::approve::ApproveRequest;

#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The gate (or protected stage) to approve.
    gate: String,
    /// The paused run [default: the latest paused run].
    #[arg(long, value_name = "RUN")]
    run: Option<String>,
    /// Who approves [default: DEPLOY_USER, else the OS user].
    #[arg(long = "as", value_name = "NAME", env = "DEPLOY_USER")]
    approver: Option<String>,
    #[command(flatten)]
    state: StateArgs,
}

pub fn run(args: ApproveArgs) -> ExitCode {
    let mut store = match report::open_existing(&args.state.location()) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let request = ApproveRequest {
        run: args.run,
        plan: args.state.plan.clone(),
        gate: args.gate,
        approver: crate::session::approver_name(args.approver),
        check_by: false,
    };
    let approved = match crate::session::approve::approve(store.as_mut(), &request) {
        Ok(approved) => approved,
        Err(error) => return report::error(error),
    };
    if args.state.json {
        return super::output::print_json(&approved);
    }
    println!(
        "approved {} for run {} as {}; continue it with: deploy resume {}",
        approved.gate, approved.run_id, approved.approver, approved.run_id
    );
    ExitCode::Success
}
