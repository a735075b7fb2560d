//! `deploy approve GATE [--run RUN]` — records an approval in the state;
//! `deploy resume` then passes the gate (the engine checks the gate's `by`
//! list against the recorded approver). RUN defaults to the latest paused run.

use std::path::PathBuf;

use super::session;
use super::ExitCode;
use crate::state::{now_ms, DeploymentQuery, DeploymentStatus, Holder, StateLocation};

#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The gate (or protected stage) to approve.
    gate: String,
    /// The paused run [default: the latest paused run].
    #[arg(long, value_name = "RUN")]
    run: Option<String>,
    /// Only consider runs of this plan (also locates the state beside it).
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Who approves [default: DEPLOY_USER, else the OS user].
    #[arg(long = "as", value_name = "NAME", env = "DEPLOY_USER")]
    approver: Option<String>,
    /// The state store: a SQLite file or a postgres:// URL.
    #[arg(long, value_name = "PATH|URL", env = "DEPLOY_STATE")]
    state: Option<String>,
}

pub fn run(args: ApproveArgs) -> ExitCode {
    let location = StateLocation::discover(args.state.as_deref(), args.plan.as_deref());
    let mut store = match session::open_existing(&location) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let me = Holder::current("");
    let deployment = match &args.run {
        Some(run) => match store.deployment(run) {
            Ok(Some(deployment)) => deployment,
            Ok(None) => {
                eprintln!("error: no run `{run}` in the state (see `deploy history`)");
                return ExitCode::Usage;
            }
            Err(error) => return session::fail(error),
        },
        None => {
            let plan_file =
                args.plan.as_ref().map(|plan| std::fs::canonicalize(plan).unwrap_or_else(|_| plan.to_path_buf()));
            let found = match store.deployments(&DeploymentQuery::default()) {
                Ok(deployments) => deployments.into_iter().find(|deployment| {
                    deployment.status == DeploymentStatus::Paused
                        && plan_file
                            .as_ref()
                            .map_or(true, |file| std::path::Path::new(&deployment.plan_file) == file.as_path())
                }),
                Err(error) => return session::fail(error),
            };
            match found {
                Some(deployment) => deployment,
                None => {
                    eprintln!("error: no paused run to approve (see `deploy status`)");
                    return ExitCode::Usage;
                }
            }
        }
    };
    let status = session::effective_status(&deployment, &me);
    if !matches!(status, DeploymentStatus::Paused | DeploymentStatus::Crashed) {
        eprintln!("error: run {} is {}, not paused: there is nothing to approve", deployment.run_id, status.as_str());
        return ExitCode::Usage;
    }
    // The gate must be a node of the run (its summary lists every node).
    let nodes = match store.node_runs(&deployment.run_id) {
        Ok(nodes) => nodes,
        Err(error) => return session::fail(error),
    };
    let names: Vec<String> = {
        let mut names: Vec<String> = nodes.iter().map(|node| node.node.clone()).collect();
        names.extend(plan_nodes(&deployment.plan_text));
        names.sort();
        names.dedup();
        names
    };
    if !names.iter().any(|name| name == &args.gate) {
        let close = crate::diagnostic::did_you_mean(&args.gate, names.iter().map(String::as_str));
        eprintln!("error: run {} has no gate or stage `{}`", deployment.run_id, args.gate);
        if let Some(close) = close {
            eprintln!("  help: did you mean `{close}`?");
        }
        return ExitCode::Usage;
    }
    let approver = super::run::approver_name(args.approver);
    if let Err(error) = store.add_approval(&deployment.run_id, &args.gate, &approver, now_ms()) {
        return session::fail(error);
    }
    println!(
        "approved {} for run {} as {approver}; continue it with: deploy resume {}",
        args.gate, deployment.run_id, deployment.run_id
    );
    ExitCode::Success
}

/// The names of the stages and gates declared in a plan's text.
fn plan_nodes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let rest = line.strip_prefix("stage ").or_else(|| line.strip_prefix("gate "))?;
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-').collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}
