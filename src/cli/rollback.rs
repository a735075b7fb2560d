//! `deploy rollback FILE [--env E] [--to VERSION] [--with-gates]` — undoes
//! the last deployment of an environment by running its rollback path (the
//! rollback blocks of the units its journal says it completed, most recent
//! first) with `previous_version` bound to the version before it (or `--to`).
//!
//! Which deployment: the latest run that touched the environment when it
//! was left unfinished (paused, crashed, aborted, interrupted, its rollback
//! failed); otherwise the run that deployed the environment's current
//! version. The undone version is marked bad. Nothing to roll back to is an
//! error (exit 1), never a silent success.

use std::path::PathBuf;

use super::load::{load_graph, load_inputs};
use super::session::{self, LockArgs};
use super::ExitCode;
use crate::engine::undo::Undo;
use crate::engine::{Parts, RunOptions};
use crate::graph::ExecutionGraph;
use crate::state::{
    now_ms, Deployment, DeploymentKind, DeploymentQuery, DeploymentStatus, EnvironmentRollback, Finish, Holder,
    RollbackRecord, StateLocation, StateStore,
};

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The plan file (its rollback blocks are run).
    file: PathBuf,
    /// The environment to roll back [default: the one the plan deploys to last].
    #[arg(long = "env", value_name = "ENV")]
    environment: Option<String>,
    /// Roll back to this version instead of the previous one.
    #[arg(long, value_name = "VERSION")]
    to: Option<String>,
    /// Also evaluate, after the rollback, the gates that verify the undone
    /// stages (their `analysis`/`verify`/`monitor` gates and the check gates
    /// that need them). Without it no gate, pause or analysis runs.
    #[arg(long)]
    with_gates: bool,
    /// Override a param: NAME=VALUE (repeatable) [default: the undone run's params].
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Print newline-delimited JSON events instead of the terminal view.
    #[arg(long)]
    json: bool,
    /// Approve every `approve` gate met with --with-gates.
    #[arg(long, short = 'y')]
    yes: bool,
    /// The state store: a SQLite file or a postgres:// URL [default: .deploy/state.db beside the plan].
    #[arg(long, value_name = "PATH|URL", env = "DEPLOY_STATE")]
    state: Option<String>,
    #[command(flatten)]
    lock: LockArgs,
}

/// What will be undone, and to which version.
struct Target {
    deployment: Deployment,
    /// The version `previous_version` is bound to.
    to_version: String,
    /// The undone run finished successfully (its version became current).
    was_current: bool,
}

fn refuse(message: String) -> ExitCode {
    eprintln!("error: nothing to roll back: {message}");
    ExitCode::Usage
}

pub fn run(args: RollbackArgs) -> ExitCode {
    let Some(graph) = load_graph(&args.file, &[]) else {
        return ExitCode::Usage;
    };
    let location = StateLocation::for_plan(args.state.as_deref(), &args.file);
    let mut store = match session::open_store(&location, false) {
        Ok(Some(store)) => store,
        Ok(None) => return refuse(format!("no deployment was recorded (no state at {})", location.describe())),
        Err(code) => return code,
    };
    let pipeline = graph.plan.pipeline.name.clone();
    let explicit_environment = args.environment.is_some();
    let environment = args.environment.clone().unwrap_or_else(|| session::final_environment(&graph));
    if explicit_environment && graph.plan.environment_named(&environment).is_none() {
        eprintln!("error: the plan has no environment `{environment}`");
        return ExitCode::Usage;
    }
    let me = Holder::current("");
    let target = match find_target(store.as_mut(), &pipeline, &environment, args.to.as_deref(), &me) {
        Ok(target) => target,
        Err(code) => return code,
    };
    let journal = match store.journal(&target.deployment.run_id) {
        Ok(journal) => journal,
        Err(error) => return session::fail(error),
    };
    let (events, _) = crate::state::resume::events(&journal);
    let mut units = crate::state::resume::started_units(&events, &graph);
    if explicit_environment {
        units.retain(|(node, _)| {
            graph
                .plan
                .node_named(node)
                .and_then(|def| def.target)
                .is_some_and(|target| graph.plan.environment(target).name == environment)
        });
    }
    if units.is_empty() {
        return refuse(format!("run {} completed no stage that could be undone", target.deployment.run_id));
    }
    let mut sets = session::params_as_sets(&target.deployment, &graph);
    sets.extend(args.sets.iter().cloned());
    let Some(inputs) = load_inputs(&graph, &sets) else {
        return ExitCode::Usage;
    };
    let gates = if args.with_gates { verifying_gates(&graph, &units) } else { Vec::new() };
    let mut options = RunOptions { previous_version: Some(target.to_version.clone()), ..RunOptions::default() };
    options.approvals.all = args.yes;
    options.approvals.approver = super::run::approver_name(None);
    options.approvals.interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let holder = Holder::current(&options.run_id);
    if let Err(code) =
        session::acquire(store.as_mut(), &pipeline, session::lock_environments(&graph), &holder, &args.lock)
    {
        return code;
    }
    let environments =
        if explicit_environment { vec![environment.clone()] } else { target.deployment.environments.clone() };
    let deployment = session::new_deployment(
        DeploymentKind::Rollback,
        &holder,
        &graph,
        &inputs,
        target.to_version.clone(),
        target.deployment.version.clone(),
        environments.clone(),
        Some(target.deployment.run_id.clone()),
    );
    let code = match store.insert_deployment(&deployment) {
        Ok(()) => {
            eprintln!(
                "deploy: rolling back run {} (version {}) to {} — {} unit(s)",
                target.deployment.run_id,
                target.deployment.version,
                if target.to_version.is_empty() { "(nothing)" } else { &target.to_version },
                units.len()
            );
            let undo = Undo { units, reason: format!("deploy rollback of run {}", target.deployment.run_id), gates };
            execute(store.as_mut(), &location, &holder, &target, graph, inputs, options, undo, environments, args.json)
        }
        Err(error) => session::fail(error),
    };
    if let Err(error) = store.release_leases(&holder.run_id) {
        eprintln!("error: the lock of run {} could not be released: {error}", holder.run_id);
    }
    code
}

#[allow(clippy::too_many_arguments)]
fn execute(
    store: &mut dyn StateStore,
    location: &StateLocation,
    holder: &Holder,
    target: &Target,
    graph: ExecutionGraph,
    inputs: crate::check::inputs::ResolvedInputs,
    options: RunOptions,
    undo: Undo,
    environments: Vec<String>,
    json: bool,
) -> ExitCode {
    let outcome = session::journaled(location, &holder.run_id, &graph, 0, session::view(json), |sinks| {
        let engine_graph = graph.clone();
        session::block_on(&graph, move |interrupts| async move {
            let parts = Parts::local(&engine_graph, &options);
            crate::engine::undo::undo(engine_graph, inputs, options, parts, sinks, interrupts, undo).await
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
    let succeeded = report.status == crate::engine::event::RunStatus::Succeeded;
    let finish = Finish {
        run_id: holder.run_id.clone(),
        status: DeploymentStatus::from_run(report.status),
        exit_code: i64::from(report.status.exit_code().code()),
        ended_at: now_ms(),
        promote: None,
    };
    let mut code = session::finish(store, &finish, &health);
    // The rollback steps ran: the undone run is undone even if a gate then failed.
    if matches!(report.status, crate::engine::event::RunStatus::Succeeded | crate::engine::event::RunStatus::RolledBack)
    {
        let record = rollback_record(store, holder, target, &environments);
        match record.and_then(|record| store.record_rollback(&record)) {
            Ok(()) => {}
            Err(error) => code = session::fail(error),
        }
        if target.deployment.status != DeploymentStatus::Succeeded {
            let _ = store.set_status(&target.deployment.run_id, DeploymentStatus::RolledBack);
        }
    }
    if code != ExitCode::Success && succeeded {
        return code;
    }
    report.status.exit_code()
}

/// The versions after the rollback: the target version is current, with
/// the run that deployed it (when history has it) and its previous version,
/// so the next rollback goes one step further back.
fn rollback_record(
    store: &mut dyn StateStore,
    holder: &Holder,
    target: &Target,
    environments: &[String],
) -> crate::state::StateResult<RollbackRecord> {
    let keys: Vec<String> = if environments.is_empty() { vec![String::new()] } else { environments.to_vec() };
    let mut changes = Vec::new();
    for environment in keys {
        let current = if target.was_current || !target.to_version.is_empty() {
            let earlier = store
                .deployments(&DeploymentQuery {
                    pipeline: Some(target.deployment.pipeline.clone()),
                    kind: Some(DeploymentKind::Run),
                    ..Default::default()
                })?
                .into_iter()
                .filter(|deployment| session::touches(deployment, &environment))
                .find(|deployment| {
                    deployment.status == DeploymentStatus::Succeeded
                        && deployment.undone_by.is_none()
                        && deployment.run_id != target.deployment.run_id
                        && deployment.version == target.to_version
                        && deployment.started_at <= target.deployment.started_at
                });
            if target.was_current || earlier.is_some() {
                Some(match earlier {
                    Some(deployment) => (target.to_version.clone(), deployment.run_id, deployment.previous_version),
                    None => (target.to_version.clone(), holder.run_id.clone(), String::new()),
                })
            } else {
                None
            }
        } else {
            None
        };
        changes.push(EnvironmentRollback {
            environment,
            bad_version: Some(target.deployment.version.clone()),
            current,
        });
    }
    Ok(RollbackRecord {
        rollback_run: holder.run_id.clone(),
        undone_run: target.deployment.run_id.clone(),
        pipeline: target.deployment.pipeline.clone(),
        environments: changes,
        at: now_ms(),
    })
}

fn find_target(
    store: &mut dyn StateStore,
    pipeline: &str,
    environment: &str,
    to: Option<&str>,
    me: &Holder,
) -> Result<Target, ExitCode> {
    let place = if environment.is_empty() { String::new() } else { format!(" in {environment}") };
    let runs = store
        .deployments(&DeploymentQuery {
            pipeline: Some(pipeline.to_string()),
            kind: Some(DeploymentKind::Run),
            ..Default::default()
        })
        .map_err(session::fail)?;
    let latest = runs.iter().find(|deployment| session::touches(deployment, environment));
    if let Some(latest) = latest {
        let status = session::effective_status(latest, me);
        if status == DeploymentStatus::Running {
            eprintln!(
                "error: run {} of `{pipeline}` is still running (pid {} of {}); wait for it or stop it first",
                latest.run_id, latest.pid, latest.started_by
            );
            return Err(ExitCode::Usage);
        }
        if status.is_unfinished() && latest.undone_by.is_none() {
            return Ok(Target {
                to_version: to.map(str::to_string).unwrap_or_else(|| latest.previous_version.clone()),
                deployment: latest.clone(),
                was_current: false,
            });
        }
    }
    let versions = store.environment_versions(Some(pipeline)).map_err(session::fail)?;
    let Some(current) = versions.iter().find(|entry| entry.environment == environment) else {
        return Err(refuse(format!("no successful deployment of `{pipeline}`{place} is recorded")));
    };
    let deployment = match store.deployment(&current.current_run).map_err(session::fail)? {
        Some(deployment) if deployment.kind == DeploymentKind::Run && deployment.undone_by.is_none() => deployment,
        _ => {
            return Err(refuse(format!(
                "the current version {} of `{pipeline}`{place} was itself restored by a rollback and \
                 no run that deployed it is recorded",
                current.current_version
            )))
        }
    };
    let to_version = match to {
        Some(version) => version.to_string(),
        None if current.previous_version.is_empty() => {
            return Err(refuse(format!(
                "version {} (run {}) is the first version of `{pipeline}` recorded{place}, \
                 there is no earlier version to go back to; name one with --to VERSION",
                current.current_version, current.current_run
            )))
        }
        None => current.previous_version.clone(),
    };
    Ok(Target { deployment, to_version, was_current: true })
}

/// The gates that verify the undone stages: their strategy's `analysis` /
/// `verify` and `monitor` gates, and the gates that directly need them.
fn verifying_gates(graph: &ExecutionGraph, units: &[(String, Option<String>)]) -> Vec<crate::check::model::NodeId> {
    use crate::check::model::{NodeKind, Strategy};
    let plan = &graph.plan;
    let mut gates = Vec::new();
    for (name, _) in units {
        let Some(node) = plan.node_named(name) else { continue };
        let mut own = Vec::new();
        match &node.strategy {
            Strategy::Canary { analysis: Some(gate), .. } => own.push(*gate),
            Strategy::BlueGreen { verify: Some(gate), .. } => own.push(*gate),
            _ => {}
        }
        if let Some(monitor) = &node.monitor {
            own.push(monitor.gate);
        }
        for dependent in &graph.dependents[node.id.0] {
            if plan.node(*dependent).kind == NodeKind::Gate {
                own.push(*dependent);
            }
        }
        for gate in own {
            if !gates.contains(&gate) {
                gates.push(gate);
            }
        }
    }
    gates
}
