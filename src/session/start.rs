//! Starting a run of a plan: lease, deployment row, engine, end recorded,
//! lease released.

use super::drive::{record_end_with, release, run_finish, Drive, RunEnd};
use super::error::SessionResult;
use super::lease::{LeaseGuard, LockWait};
use super::liveness::{effective_status, final_environment, lease_scope, target_environments};
use super::record::NewDeployment;
use super::reporter::Reporter;
use super::runtime::Interrupts;
use crate::engine::{EventSink, Parts, RunOptions};
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;
use crate::state::host_outcome::Topology;
use crate::state::{DeploymentKind, DeploymentQuery, DeploymentStatus, Holder, StateLocation, StateStore};

/// Everything a new run needs; `options.run_id` is its id.
pub struct RunRequest {
    pub location: StateLocation,
    pub graph: ExecutionGraph,
    pub inputs: ResolvedInputs,
    pub options: RunOptions,
    pub lock: LockWait,
    pub views: Vec<Box<dyn EventSink>>,
    pub interrupts: Interrupts,
}

/// Runs the plan to its end under the pipeline's lease.
pub fn start(request: RunRequest, reporter: &dyn Reporter) -> SessionResult<RunEnd> {
    let RunRequest { location, graph, inputs, mut options, lock, views, interrupts } = request;
    let store = super::open(&location, true)?;
    let holder = Holder::current(&options.run_id);
    let mut guard = LeaseGuard::acquire(store, &lease_scope(&graph), &holder, &lock, reporter)?;
    super::survivors::end_survivors_of_taken_over(&mut guard, &graph.plan, options.kill_grace, reporter)?;
    let pipeline = graph.plan.pipeline.name.clone();
    let environments = target_environments(&graph);
    let version = inputs.version();
    let previous = current_version(guard.store(), &pipeline, &final_environment(&graph))?;
    // `--previous-version` wins over the state; otherwise each host's own
    // previous version is what it runs now (hosts of one environment can differ).
    if options.previous_version.is_none() {
        options.host_versions =
            super::host_record::own_previous_versions(guard.store(), &graph.plan, &holder.run_id, &version)?;
    }
    let previous = options.previous_version.clone().unwrap_or(previous);
    options.previous_version = Some(previous.clone());
    warn_if_bad(guard.store(), &pipeline, &version, reporter)?;
    supersede_unfinished(guard.store(), &pipeline, &holder, reporter)?;
    let deployment = NewDeployment {
        kind: DeploymentKind::Run,
        holder: &holder,
        version: version.clone(),
        previous_version: previous,
        environments: environments.clone(),
        undoes: None,
    }
    .row(&graph, &inputs);
    guard.store().insert_deployment(&deployment)?;
    let drive = Drive { location: &location, graph: &graph, base_seq: 0, views, interrupts, reporter };
    let engine_graph = graph.clone();
    let (report, health) = drive.run(&mut guard, move |sinks, interrupts, warnings| async move {
        let parts = Parts { warnings, ..Parts::local(&engine_graph, &options) };
        crate::engine::run(engine_graph, inputs, options, parts, sinks, interrupts).await
    })?;
    let mut found = Vec::new();
    let topology = Topology::of_plan(&graph.plan);
    let finish = run_finish(&mut guard, &report, &pipeline, &version, &topology, &mut found);
    let mut problems = record_end_with(&mut guard, &finish, &health, found);
    release(guard, &mut problems);
    let failure = crate::session::SessionError::of_run(&graph.plan, &report);
    Ok(RunEnd { run_id: holder.run_id, report, problems, failure })
}

/// The version deployed now to `environment`; `""` when none is.
fn current_version(store: &mut dyn StateStore, pipeline: &str, environment: &str) -> SessionResult<String> {
    Ok(store
        .environment_versions(Some(pipeline))?
        .into_iter()
        .find(|entry| entry.environment == environment)
        .map(|entry| entry.current_version)
        .unwrap_or_default())
}

fn warn_if_bad(
    store: &mut dyn StateStore,
    pipeline: &str,
    version: &str,
    reporter: &dyn Reporter,
) -> SessionResult<()> {
    for entry in store.bad_versions(pipeline)?.iter().filter(|entry| entry.version == version) {
        let place = if entry.environment.is_empty() { String::new() } else { format!(" in {}", entry.environment) };
        reporter.notice(&format!(
            "warning: version {version} is known bad{place}: {} on {}",
            entry.reason,
            crate::state::format_time(entry.marked_at)
        ));
    }
    Ok(())
}

/// A paused or crashed run of this pipeline is superseded by a new one.
fn supersede_unfinished(
    store: &mut dyn StateStore,
    pipeline: &str,
    holder: &Holder,
    reporter: &dyn Reporter,
) -> SessionResult<()> {
    let query =
        DeploymentQuery { pipeline: Some(pipeline.to_string()), kind: Some(DeploymentKind::Run), ..Default::default() };
    let Ok(older) = store.deployments(&query) else { return Ok(()) };
    for deployment in older {
        let status = effective_status(&deployment, holder);
        if matches!(status, DeploymentStatus::Paused | DeploymentStatus::Crashed) && deployment.undone_by.is_none() {
            reporter.notice(&format!(
                "warning: run {} ({}) is superseded by this run and can no longer be resumed",
                deployment.run_id,
                status.as_str()
            ));
            if status == DeploymentStatus::Crashed {
                // What it left on its hosts is all there is to know of it now.
                if let Err(error) = super::host_record::record_crashed(store, &deployment) {
                    reporter.notice(&format!(
                        "warning: the hosts of crashed run {} could not be recorded: {error}",
                        deployment.run_id
                    ));
                }
            }
            store.set_status(&deployment.run_id, DeploymentStatus::Abandoned)?;
        }
    }
    Ok(())
}
