//! `deploy resume [RUN]` — continues a paused or crashed run from its
//! journal: nodes and hosts that finished are not run again; approvals given
//! with `deploy approve` are honoured. RUN defaults to the latest resumable
//! run (of `--plan FILE` when given).

use std::path::PathBuf;
use std::time::Duration;

use super::load::{load_inputs, load_selected_graph};
use super::session::{self, LockArgs};
use super::ExitCode;
use crate::engine::context::DEFAULT_KILL_GRACE;
use crate::engine::{Approvals, Parts, RunOptions, DEFAULT_MAX_PARALLEL};
use crate::state::{
    now_ms, Deployment, DeploymentKind, DeploymentQuery, DeploymentStatus, Finish, Holder, Promotion, StateLocation,
    StateStore,
};

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The run to resume [default: the latest paused or crashed run].
    run: Option<String>,
    /// Only consider runs of this plan (also locates the state beside it).
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// The state store: a SQLite file or a postgres:// URL.
    #[arg(long, value_name = "PATH|URL", env = "DEPLOY_STATE")]
    state: Option<String>,
    /// Print newline-delimited JSON events instead of the terminal view.
    #[arg(long)]
    json: bool,
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

/// Whether a run can be resumed, and if not why.
pub fn resumable(deployment: &Deployment, store: &mut dyn StateStore, me: &Holder) -> Result<(), String> {
    if deployment.kind != DeploymentKind::Run {
        return Err(format!("{} is a rollback, not a run", deployment.run_id));
    }
    if deployment.undone_by.is_some() {
        return Err(format!("run {} was rolled back", deployment.run_id));
    }
    let status = session::effective_status(deployment, me);
    match status {
        DeploymentStatus::Paused
        | DeploymentStatus::Crashed
        | DeploymentStatus::Aborted
        | DeploymentStatus::Interrupted => {}
        DeploymentStatus::Running => {
            return Err(format!(
                "run {} is still running (pid {} on {})",
                deployment.run_id, deployment.pid, deployment.started_by
            ))
        }
        other => return Err(format!("run {} {}; there is nothing to resume", deployment.run_id, describe(other))),
    }
    let journal = store.journal(&deployment.run_id).map_err(|error| error.to_string())?;
    if journal.iter().any(|entry| entry.kind == "rollback_started") {
        return Err(format!("run {} already started its rollback; use `deploy rollback` instead", deployment.run_id));
    }
    Ok(())
}

fn describe(status: DeploymentStatus) -> &'static str {
    match status {
        DeploymentStatus::Succeeded => "succeeded",
        DeploymentStatus::RolledBack => "failed and was rolled back",
        DeploymentStatus::RollbackFailed => "failed and its rollback failed",
        DeploymentStatus::Abandoned => "was superseded by a newer run",
        _ => "is not resumable",
    }
}

pub fn run(args: ResumeArgs) -> ExitCode {
    let location = StateLocation::discover(args.state.as_deref(), args.plan.as_deref());
    let mut store = match session::open_existing(&location) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let probe = Holder::current("");
    let deployment = match pick(store.as_mut(), args.run.as_deref(), args.plan.as_deref(), &probe) {
        Ok(deployment) => deployment,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::Usage;
        }
    };
    if let Err(message) = resumable(&deployment, store.as_mut(), &probe) {
        eprintln!("error: {message}");
        return ExitCode::Usage;
    }
    let plan_file = PathBuf::from(&deployment.plan_file);
    let text = std::fs::read_to_string(&plan_file).unwrap_or_default();
    if session::plan_hash(&text) != deployment.plan_hash {
        let diff = super::plan_diff::unified(&deployment.plan_text, &text, &deployment.plan_file);
        if !args.allow_changed_plan {
            eprintln!("error: {} changed since run {} started:", deployment.plan_file, deployment.run_id);
            eprint!("{diff}");
            eprintln!("  help: resume with --allow-changed-plan to continue with the changed plan");
            return ExitCode::Usage;
        }
        eprintln!("deploy: warning: the plan changed since run {} started", deployment.run_id);
    }
    let journal = match store.journal(&deployment.run_id) {
        Ok(journal) => journal,
        Err(error) => return session::fail(error),
    };
    let (events, unreadable) = crate::state::resume::events(&journal);
    if unreadable > 0 {
        eprintln!("deploy: warning: {unreadable} journal entries of run {} could not be read", deployment.run_id);
    }
    // The run's own `--env` / `--limit`: a resumed run stays within them.
    let selection = crate::state::resume::selection(&events);
    let Some(graph) = load_selected_graph(&plan_file, &[], &selection) else {
        return ExitCode::Usage;
    };
    let sets = session::params_as_sets(&deployment, &graph);
    let Some(inputs) = load_inputs(&graph, &sets) else {
        return ExitCode::Usage;
    };
    let recorded = match store.approvals(&deployment.run_id) {
        Ok(approvals) => approvals.into_iter().map(|approval| (approval.gate, approval.approver)).collect(),
        Err(error) => return session::fail(error),
    };
    let kill_grace = std::env::var("DEPLOY_KILL_GRACE_MS")
        .ok()
        .and_then(|ms| ms.parse::<u64>().ok())
        .map_or(DEFAULT_KILL_GRACE, Duration::from_millis);
    let options = RunOptions {
        run_id: deployment.run_id.clone(),
        max_parallel: args
            .max_parallel
            .map(|n| n as usize)
            .or(graph.plan.pipeline.max_parallel)
            .unwrap_or(DEFAULT_MAX_PARALLEL)
            .max(1),
        previous_version: Some(deployment.previous_version.clone()),
        approvals: Approvals {
            all: args.yes,
            gates: args.approve,
            approver: super::run::approver_name(args.approver),
            interactive: std::io::IsTerminal::is_terminal(&std::io::stdin()),
            recorded,
        },
        kill_grace,
        resumed: crate::state::resume::resume_point(&events, &graph),
        selection,
    };
    let holder = Holder::current(&deployment.run_id);
    let pipeline = graph.plan.pipeline.name.clone();
    if let Err(code) =
        session::acquire(store.as_mut(), &pipeline, session::lock_environments(&graph), &holder, &args.lock)
    {
        return code;
    }
    let code = resume_holding_lease(store.as_mut(), &location, &holder, &deployment, graph, inputs, options, args.json);
    if let Err(error) = store.release_leases(&holder.run_id) {
        eprintln!("error: the lock of run {} could not be released: {error}", holder.run_id);
    }
    code
}

#[allow(clippy::too_many_arguments)]
fn resume_holding_lease(
    store: &mut dyn StateStore,
    location: &StateLocation,
    holder: &Holder,
    deployment: &Deployment,
    graph: crate::graph::ExecutionGraph,
    inputs: crate::check::inputs::ResolvedInputs,
    options: RunOptions,
    json: bool,
) -> ExitCode {
    let base_seq = match store.next_seq(&deployment.run_id) {
        Ok(seq) => seq,
        Err(error) => return session::fail(error),
    };
    if let Err(error) = store.resume_deployment(&deployment.run_id, holder, now_ms()) {
        return session::fail(error);
    }
    eprintln!(
        "deploy: resuming run {} ({} nodes and {} hosts finished before)",
        deployment.run_id,
        options.resumed.nodes.len(),
        options.resumed.hosts.len()
    );
    let outcome = session::journaled(location, &holder.run_id, &graph, base_seq, session::view(json), |sinks| {
        let engine_graph = graph.clone();
        session::block_on(&graph, move |interrupts| async move {
            let parts = Parts::local(&engine_graph, &options);
            crate::engine::run(engine_graph, inputs, options, parts, sinks, interrupts).await
        })
        .unwrap_or_else(super::run::interrupted_report)
    });
    let (report, health) = match outcome {
        Ok(outcome) => outcome,
        Err(code) => {
            let _ = store.set_status(&holder.run_id, DeploymentStatus::Crashed);
            return code;
        }
    };
    let promote = (report.status == crate::engine::event::RunStatus::Succeeded).then(|| Promotion {
        pipeline: deployment.pipeline.clone(),
        environments: if deployment.environments.is_empty() {
            vec![String::new()]
        } else {
            deployment.environments.clone()
        },
        version: deployment.version.clone(),
    });
    let finish = Finish {
        run_id: holder.run_id.clone(),
        status: DeploymentStatus::from_run(report.status),
        exit_code: i64::from(report.status.exit_code().code()),
        ended_at: now_ms(),
        promote,
    };
    match session::finish(store, &finish, &health) {
        ExitCode::Success => report.status.exit_code(),
        failed if report.status == crate::engine::event::RunStatus::Succeeded => failed,
        _ => report.status.exit_code(),
    }
}

/// RUN, or the latest paused/crashed run (of `plan` when given).
pub fn pick(
    store: &mut dyn StateStore,
    run: Option<&str>,
    plan: Option<&std::path::Path>,
    me: &Holder,
) -> Result<Deployment, String> {
    if let Some(run) = run {
        return match store.deployment(run).map_err(|error| error.to_string())? {
            Some(deployment) => Ok(deployment),
            None => Err(format!("no run `{run}` in the state (see `deploy history`)")),
        };
    }
    let plan_file = plan.map(|plan| std::fs::canonicalize(plan).unwrap_or_else(|_| plan.to_path_buf()));
    let deployments = store
        .deployments(&DeploymentQuery { kind: Some(DeploymentKind::Run), ..Default::default() })
        .map_err(|error| error.to_string())?;
    deployments
        .into_iter()
        .filter(|deployment| {
            plan_file.as_ref().map_or(true, |file| std::path::Path::new(&deployment.plan_file) == file.as_path())
        })
        .find(|deployment| {
            deployment.undone_by.is_none()
                && matches!(
                    session::effective_status(deployment, me),
                    DeploymentStatus::Paused | DeploymentStatus::Crashed
                )
        })
        .ok_or_else(|| "no paused or crashed run to resume (see `deploy status`)".to_string())
}
