//! `deploy run FILE`: check the plan, resolve its inputs, walk the graph.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::load::{load_inputs_reading, load_selected_graph};
use super::session;
use super::ExitCode;
use crate::engine::context::DEFAULT_KILL_GRACE;
use crate::engine::{Approvals, Parts, RunOptions, RunReport, DEFAULT_MAX_PARALLEL};
use crate::state::{DeploymentStatus, Finish, Holder, Promotion, StateLocation};

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
    /// Print newline-delimited JSON events (docs/events.md) instead of the terminal view.
    #[arg(long)]
    json: bool,
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
    /// The state store: a SQLite file or a postgres:// URL [default: .deploy/state.db beside the plan].
    #[arg(long, value_name = "PATH|URL", env = "DEPLOY_STATE")]
    state: Option<String>,
    #[command(flatten)]
    lock: super::session::LockArgs,
    /// The version deployed before this run (`${previous_version}`; what a
    /// blue/green rollback switches back to) [default: from the state].
    #[arg(long, value_name = "VERSION")]
    previous_version: Option<String>,
    #[command(flatten)]
    selection: SelectionArgs,
}

/// `--env` and `--limit`: shared by `run` and `plan`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectionArgs {
    /// Run only the stages that target ENV (repeatable), with the untargeted
    /// stages and gates around them; the others are skipped.
    #[arg(long = "env", value_name = "ENV")]
    pub environments: Vec<String>,
    /// Run only on these hosts: names or globs, comma-separated (`web-1,db-*`).
    #[arg(long = "limit", value_name = "HOST,GLOB")]
    pub limit: Vec<String>,
}

impl SelectionArgs {
    pub fn selection(&self) -> crate::check::selection::Selection {
        crate::check::selection::Selection::from_args(&self.environments, &self.limit)
    }
}

pub fn run(args: RunArgs) -> ExitCode {
    let selection = args.selection.selection();
    let Some(graph) = load_selected_graph(&args.file, &args.sets, &selection) else {
        return ExitCode::Usage;
    };
    let Some(inputs) = load_inputs_reading(&graph, &args.sets, !args.dry_run) else {
        return ExitCode::Usage;
    };
    if args.dry_run {
        let preview = super::plan::preview(&graph, &inputs, "");
        print!("{}", super::plan::render(&preview));
        return ExitCode::Success;
    }
    let approver = approver_name(args.approver);
    let kill_grace = std::env::var("DEPLOY_KILL_GRACE_MS")
        .ok()
        .and_then(|ms| ms.parse::<u64>().ok())
        .map_or(DEFAULT_KILL_GRACE, Duration::from_millis);
    let mut options = RunOptions {
        max_parallel: args
            .max_parallel
            .map(|n| n as usize)
            .or(graph.plan.pipeline.max_parallel)
            .unwrap_or(DEFAULT_MAX_PARALLEL)
            .max(1),
        approvals: Approvals {
            all: args.yes,
            gates: args.approve,
            approver,
            interactive: std::io::stdin().is_terminal(),
            recorded: Vec::new(),
        },
        previous_version: args.previous_version,
        kill_grace,
        selection,
        ..RunOptions::default()
    };
    let location = StateLocation::for_plan(args.state.as_deref(), &args.file);
    let mut store = match session::open_store(&location, true) {
        Ok(Some(store)) => store,
        Ok(None) | Err(_) => return ExitCode::Usage,
    };
    let holder = Holder::current(&options.run_id);
    let pipeline = graph.plan.pipeline.name.clone();
    if let Err(code) =
        session::acquire(store.as_mut(), &pipeline, session::lock_environments(&graph), &holder, &args.lock)
    {
        return code;
    }
    // From here on the lease is ours: every way out releases it.
    let code = run_holding_lease(store.as_mut(), &location, &holder, graph, inputs, &mut options, args.json);
    if let Err(error) = store.release_leases(&holder.run_id) {
        eprintln!("error: the lock of run {} could not be released: {error}", holder.run_id);
    }
    code
}

fn run_holding_lease(
    store: &mut dyn crate::state::StateStore,
    location: &StateLocation,
    holder: &Holder,
    graph: crate::graph::ExecutionGraph,
    inputs: crate::check::inputs::ResolvedInputs,
    options: &mut RunOptions,
    json: bool,
) -> ExitCode {
    let pipeline = graph.plan.pipeline.name.clone();
    let environments = session::target_environments(&graph);
    let final_environment = session::final_environment(&graph);
    let version = inputs.version();
    let versions = match store.environment_versions(Some(&pipeline)) {
        Ok(versions) => versions,
        Err(error) => return session::fail(error),
    };
    let previous = versions
        .iter()
        .find(|entry| entry.environment == final_environment)
        .map(|entry| entry.current_version.clone())
        .unwrap_or_default();
    // `--previous-version` wins over the state.
    let previous = options.previous_version.clone().unwrap_or(previous);
    options.previous_version = Some(previous.clone());
    match store.bad_versions(&pipeline) {
        Ok(bad) => {
            for entry in bad.iter().filter(|entry| entry.version == version) {
                let place =
                    if entry.environment.is_empty() { String::new() } else { format!(" in {}", entry.environment) };
                eprintln!(
                    "deploy: warning: version {version} is known bad{place}: {} on {}",
                    entry.reason,
                    crate::state::format_time(entry.marked_at)
                );
            }
        }
        Err(error) => return session::fail(error),
    }
    // A paused or crashed run of this pipeline is superseded by this one.
    if let Ok(older) = store.deployments(&crate::state::DeploymentQuery {
        pipeline: Some(pipeline.clone()),
        kind: Some(crate::state::DeploymentKind::Run),
        ..Default::default()
    }) {
        for deployment in older {
            let status = session::effective_status(&deployment, holder);
            if matches!(status, DeploymentStatus::Paused | DeploymentStatus::Crashed) && deployment.undone_by.is_none()
            {
                eprintln!(
                    "deploy: warning: run {} ({}) is superseded by this run and can no longer be resumed",
                    deployment.run_id,
                    status.as_str()
                );
                if let Err(error) = store.set_status(&deployment.run_id, DeploymentStatus::Abandoned) {
                    return session::fail(error);
                }
            }
        }
    }
    let deployment = session::new_deployment(
        crate::state::DeploymentKind::Run,
        holder,
        &graph,
        &inputs,
        version.clone(),
        previous,
        environments.clone(),
        None,
    );
    if let Err(error) = store.insert_deployment(&deployment) {
        return session::fail(error);
    }
    let run_options = options.clone();
    let outcome = session::journaled(location, &holder.run_id, &graph, 0, session::view(json), |sinks| {
        let engine_graph = graph.clone();
        session::block_on(&graph, move |interrupts| async move {
            let parts = Parts::local(&engine_graph, &run_options);
            crate::engine::run(engine_graph, inputs, run_options, parts, sinks, interrupts).await
        })
        .unwrap_or_else(interrupted_report)
    });
    let (report, health) = match outcome {
        Ok(outcome) => outcome,
        Err(code) => {
            let _ = store.set_status(&holder.run_id, DeploymentStatus::Crashed);
            return code;
        }
    };
    let promote = (report.status == crate::engine::event::RunStatus::Succeeded).then(|| Promotion {
        pipeline: pipeline.clone(),
        environments: if environments.is_empty() { vec![String::new()] } else { environments },
        version,
    });
    let finish = Finish {
        run_id: holder.run_id.clone(),
        status: DeploymentStatus::from_run(report.status),
        exit_code: i64::from(report.status.exit_code().code()),
        ended_at: crate::state::now_ms(),
        promote,
    };
    match session::finish(store, &finish, &health) {
        ExitCode::Success => report.status.exit_code(),
        failed => {
            if report.status == crate::engine::event::RunStatus::Succeeded {
                failed
            } else {
                report.status.exit_code()
            }
        }
    }
}

/// The approver: `--as`/`DEPLOY_USER`, else the OS user.
pub fn approver_name(given: Option<String>) -> String {
    given
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

/// When the runtime could not even start.
pub fn interrupted_report() -> RunReport {
    RunReport { status: crate::engine::event::RunStatus::Interrupted, summary: Default::default(), duration_ms: 0 }
}

/// One message per SIGINT or SIGTERM delivered to deploy.
pub fn listen_for_signals() -> tokio::sync::mpsc::UnboundedReceiver<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        eprintln!("warning: cannot listen for Ctrl-C; it will stop deploy without rolling back");
        return receiver;
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            if sender.send(()).is_err() {
                break;
            }
        }
    });
    receiver
}
