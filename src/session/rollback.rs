//! Undoing the last deployment of an environment by running its rollback
//! path (the rollback blocks of the units its journal says it completed,
//! most recent first) with `previous_version` bound to the version before
//! it (or the one asked for).
//!
//! Which deployment: the latest run that touched the environment when it
//! was left unfinished (paused, crashed, aborted, interrupted, its rollback
//! failed) and has units left to undo; otherwise every selected host goes
//! back to its own previous version ([`super::host_rollback`]); a store
//! without host records goes back to the run that deployed the
//! environment's current version. The undone version is marked bad.
//! Nothing to roll back to is an error, never a silent success.

use std::path::PathBuf;

use super::drive::{finish_of, record_end, release, Drive, RunEnd};
use super::error::{SessionError, SessionResult};
use super::host_rollback::{HostRollback, HostSelection};
use super::lease::{LeaseGuard, LockWait};
use super::liveness::{effective_status, final_environment, lease_scope, target_environments, touches};
use super::record::{params_as_sets, NewDeployment};
use super::reporter::Reporter;
use super::runtime::Interrupts;
use crate::engine::undo_past_run::PastRun;
use crate::engine::{Approvals, EventSink, Parts, RunOptions};
use crate::graph::ExecutionGraph;
use crate::record::event::RunStatus;
use crate::state::{
    now_ms, Claim, Deployment, DeploymentKind, DeploymentQuery, DeploymentStatus, EnvironmentRollback, Holder,
    RollbackRecord, StateLocation, StateStore,
};

/// What to roll back, and how.
pub struct RollbackRequest {
    /// The id the rollback run gets.
    pub run_id: String,
    pub location: StateLocation,
    /// The plan whose rollback blocks run.
    pub file: PathBuf,
    /// [default: the environment the plan deploys to last]
    pub environment: Option<String>,
    /// Roll back to this version instead of the previous one.
    pub to: Option<String>,
    /// Also evaluate the gates that verify the undone stages.
    pub with_gates: bool,
    /// `NAME=VALUE` over the undone run's params.
    pub sets: Vec<String>,
    /// Answers to `approve` gates met with `with_gates`.
    pub approvals: Approvals,
    pub lock: LockWait,
    pub views: Vec<Box<dyn EventSink>>,
    pub interrupts: Interrupts,
}

/// What will be undone, and to which version.
struct Target {
    deployment: Deployment,
    /// The version `previous_version` is bound to.
    to_version: String,
    /// The undone run finished successfully (its version became current).
    was_current: bool,
}

fn nothing(message: String) -> SessionError {
    SessionError::refused(format!("nothing to roll back: {message}"))
}

/// What a prepared rollback will do.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RollbackPreview {
    /// The run whose stages are undone.
    pub undoes: String,
    pub pipeline: String,
    pub environments: Vec<String>,
    pub from_version: String,
    pub to_version: String,
    /// `node` or `node@host`: the units the undone run completed, in the order they ran.
    pub units: Vec<String>,
    /// Gates that verify the undone stages run too.
    pub with_gates: bool,
    /// Per host: each host's version now, where it goes and the run undone there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<super::host_rollback::HostStep>,
}

/// A version for people: `(nothing)` when none.
fn describe_version(version: &str) -> &str {
    if version.is_empty() {
        "(nothing)"
    } else {
        version
    }
}

/// A rollback found to be possible, ready to take its lease and run.
pub struct PreparedRollback {
    request: RollbackRequest,
    store: Box<dyn StateStore>,
    graph: ExecutionGraph,
    inputs: crate::inputs::ResolvedInputs,
    target: Target,
    units: Vec<(String, Option<String>)>,
    gates: Vec<crate::check::model::NodeId>,
    environments: Vec<String>,
    /// Per host: where each host goes, and from which run.
    hosts: Option<HostRollback>,
}

/// Rolls back the hosts `limit` names (names and globs; empty: every host);
/// `Err` when there is nothing to roll back or it cannot start.
pub fn rollback_limited(request: RollbackRequest, limit: &[String], reporter: &dyn Reporter) -> SessionResult<RunEnd> {
    prepare_limited(request, limit, reporter)?.execute(reporter)
}

/// Finds what to undo and loads the plan; runs nothing.
pub fn prepare(request: RollbackRequest, reporter: &dyn Reporter) -> SessionResult<PreparedRollback> {
    prepare_limited(request, &[], reporter)
}

/// [`prepare`] for the hosts `limit` names only (empty: every host).
///
/// An unfinished run (paused, crashed, interrupted, …) with units left to
/// undo is undone as a whole. Otherwise every selected host goes back to
/// its own previous version (see [`super::host_rollback`]); a store
/// without host records goes back by environment.
pub fn prepare_limited(
    request: RollbackRequest,
    limit: &[String],
    reporter: &dyn Reporter,
) -> SessionResult<PreparedRollback> {
    let graph = super::load::load_graph(&request.file, &[], reporter)?;
    let Some(mut store) = crate::state::open(&request.location, false)? else {
        return Err(nothing(format!("no deployment was recorded (no state at {})", request.location.describe())));
    };
    let pipeline = graph.plan.pipeline.name.clone();
    let explicit = request.environment.is_some();
    let environment = request.environment.clone().unwrap_or_else(|| final_environment(&graph));
    if explicit && graph.plan.environment_named(&environment).is_none() {
        return Err(SessionError::not_found(format!("the plan has no environment `{environment}`")));
    }
    let me = Holder::current("");
    if limit.is_empty() {
        if let Some(target) = unfinished_target(store.as_mut(), &pipeline, &environment, request.to.as_deref(), &me)? {
            let units = unfinished_units(store.as_mut(), &graph, &target, explicit.then_some(environment.as_str()))?;
            // A run that undid itself has nothing left: its hosts go back by their own records.
            if !units.is_empty() {
                let environments =
                    if explicit { vec![environment.clone()] } else { target.deployment.environments.clone() };
                let chosen = Chosen { target, units, environments, hosts: None };
                return finish_prepare(request, store, graph, chosen, reporter);
            }
        }
    }
    let environments = if explicit { vec![environment.clone()] } else { target_environments(&graph) };
    let selection = HostSelection {
        pipeline: &pipeline,
        environments: &environments,
        limit,
        to: request.to.as_deref(),
        untargeted: !explicit && limit.is_empty(),
    };
    if let Some(hosts) = super::host_rollback::plan(store.as_mut(), &graph, &selection)? {
        let place = if explicit { format!(" in {environment}") } else { String::new() };
        if hosts.steps.is_empty() {
            return Err(if hosts.at_first_version.is_empty() {
                nothing(format!("every selected host of `{pipeline}`{place} already runs the version asked for"))
            } else {
                nothing(format!(
                    "{} of `{pipeline}`{place} run the first version recorded there, there is no earlier version \
                     to go back to; name one with --to VERSION",
                    hosts.at_first_version.join(", ")
                ))
            });
        }
        let newest = hosts.runs.last().cloned().unwrap_or_default();
        let Some(deployment) = store.deployment(&newest)? else {
            return Err(SessionError::not_found(format!("no run `{newest}` in the state")));
        };
        let to_version = hosts.common_target().map_or_else(|| request.to.clone().unwrap_or_default(), str::to_string);
        let target = Target { deployment, to_version, was_current: true };
        let units = hosts.units.clone();
        let environments: Vec<String> =
            environments.into_iter().filter(|name| hosts.steps.iter().any(|step| step.environment == *name)).collect();
        let chosen = Chosen { target, units, environments, hosts: Some(hosts) };
        return finish_prepare(request, store, graph, chosen, reporter);
    }
    if !limit.is_empty() {
        return Err(nothing(format!("no host of `{pipeline}` within --limit {} is recorded", limit.join(","))));
    }
    // A store from before hosts were recorded: by environment.
    let target = find_target(store.as_mut(), &pipeline, &environment, request.to.as_deref(), &me)?;
    let units = unfinished_units(store.as_mut(), &graph, &target, explicit.then_some(environment.as_str()))?;
    if units.is_empty() {
        return Err(nothing(format!("run {} completed no stage that could be undone", target.deployment.run_id)));
    }
    let environments = if explicit { vec![environment.clone()] } else { target.deployment.environments.clone() };
    finish_prepare(request, store, graph, Chosen { target, units, environments, hosts: None }, reporter)
}

/// The units of the target run not undone yet — by itself or by a rollback
/// of it that failed half-way — of `environment` only when given.
fn unfinished_units(
    store: &mut dyn StateStore,
    graph: &ExecutionGraph,
    target: &Target,
    environment: Option<&str>,
) -> SessionResult<Vec<(String, Option<String>)>> {
    let run_id = &target.deployment.run_id;
    let (events, _) = crate::state::journal::read_events(&store.journal(run_id)?);
    let mut units = crate::engine::replay::started_units(&events, graph);
    let rollbacks = store.deployments(&DeploymentQuery {
        pipeline: Some(target.deployment.pipeline.clone()),
        kind: Some(DeploymentKind::Rollback),
        ..Default::default()
    })?;
    for rollback in rollbacks.iter().filter(|rollback| rollback.undoes.as_deref() == Some(run_id.as_str())) {
        for (node, host, status) in
            crate::state::host_outcome::undos(&store.journal_of_type(&rollback.run_id, "rollback_step")?)
        {
            if status == crate::record::event::RollbackStatus::Succeeded {
                units.retain(|unit| unit.0 != node || unit.1 != host);
            }
        }
    }
    if let Some(environment) = environment {
        units.retain(|(node, _)| {
            graph
                .plan
                .node_named(node)
                .and_then(|def| def.target)
                .is_some_and(|target| graph.plan.environment(target).name == environment)
        });
    }
    Ok(units)
}

/// What a rollback undoes: the run (or the newest of the runs), its units,
/// the environments, and where each host goes when it goes per host.
struct Chosen {
    target: Target,
    units: Vec<(String, Option<String>)>,
    environments: Vec<String>,
    hosts: Option<HostRollback>,
}

fn finish_prepare(
    request: RollbackRequest,
    store: Box<dyn StateStore>,
    graph: ExecutionGraph,
    chosen: Chosen,
    reporter: &dyn Reporter,
) -> SessionResult<PreparedRollback> {
    let Chosen { target, units, environments, hosts } = chosen;
    let mut sets = params_as_sets(&target.deployment, &graph);
    sets.extend(request.sets.iter().cloned());
    let inputs = super::load::load_inputs(&graph, &sets, reporter)?;
    let gates = if request.with_gates { verifying_gates(&graph, &units) } else { Vec::new() };
    Ok(PreparedRollback { request, store, graph, inputs, target, units, gates, environments, hosts })
}

impl PreparedRollback {
    /// What the rollback will undo, before it runs (the dashboard's confirmation).
    pub fn preview(&self) -> RollbackPreview {
        preview(&self.target, &self.environments, &self.units, &self.gates, self.hosts.as_ref())
    }

    /// Takes the lease and runs the rollback path.
    pub fn execute(self, reporter: &dyn Reporter) -> SessionResult<RunEnd> {
        self.claim(reporter)?.execute(reporter)
    }

    /// Takes the lease and records the rollback's start in one
    /// compare-and-set: of many rollbacks of the same run at once exactly
    /// one gets here; every other fails naming the rollback that goes on
    /// (or went on) instead (exit 1, HTTP 409).
    pub fn claim(self, reporter: &dyn Reporter) -> SessionResult<ClaimedRollback> {
        let PreparedRollback { request, store, graph, inputs, target, units, gates, environments, hosts } = self;
        let holder = Holder::current(&request.run_id);
        let mut guard = LeaseGuard::acquire(store, &lease_scope(&graph), &holder, &request.lock, reporter)?;
        // Per host, the hosts' records are the claim: a run already undone
        // as a whole may be the source of a host walked back further.
        let undoes = match &hosts {
            Some(hosts) => {
                hosts.still_current(guard.store(), &target.deployment.pipeline)?;
                target.deployment.undone_by.is_none().then(|| target.deployment.run_id.clone())
            }
            None => Some(target.deployment.run_id.clone()),
        };
        let deployment = NewDeployment {
            kind: DeploymentKind::Rollback,
            holder: &holder,
            version: target.to_version.clone(),
            previous_version: target.deployment.version.clone(),
            environments: environments.clone(),
            undoes,
        }
        .row(&graph, &inputs);
        let ttl_ms = i64::try_from(crate::state::lease::ttl().as_millis()).unwrap_or(i64::MAX);
        if let Claim::Lost { winner } = guard.store().start_rollback(&deployment, &holder, ttl_ms)? {
            return Err(SessionError::refused(format!(
                "run {} was rolled back by run {winner} first; nothing was started",
                target.deployment.run_id
            ))
            .with_code("already_rolled_back")
            .with_winner(winner));
        }
        // Claimed but never run (the request went away): the rollback ends before its first step.
        let run_id = holder.run_id.clone();
        guard.on_abandon(move |store| {
            let _ = store.finish_deployment(&abandoned(&run_id));
        });
        Ok(ClaimedRollback { request, guard, holder, graph, inputs, target, units, gates, environments, hosts })
    }
}

/// A rollback that won: its lease held, its row recorded as `running`.
pub struct ClaimedRollback {
    request: RollbackRequest,
    guard: LeaseGuard,
    holder: Holder,
    graph: ExecutionGraph,
    inputs: crate::inputs::ResolvedInputs,
    target: Target,
    units: Vec<(String, Option<String>)>,
    gates: Vec<crate::check::model::NodeId>,
    environments: Vec<String>,
    /// Each host back to its own version (`None`: a store from before hosts were recorded).
    hosts: Option<HostRollback>,
}

impl ClaimedRollback {
    /// Who may interrupt the run, chosen once it is known to start.
    pub fn with_interrupts(mut self, interrupts: Interrupts) -> ClaimedRollback {
        self.request.interrupts = interrupts;
        self
    }

    pub fn run_id(&self) -> &str {
        &self.holder.run_id
    }

    /// What the rollback undoes.
    pub fn preview(&self) -> RollbackPreview {
        preview(&self.target, &self.environments, &self.units, &self.gates, self.hosts.as_ref())
    }

    /// Ends what a crashed runner of the undone run left running, then runs the rollback path.
    pub fn execute(self, reporter: &dyn Reporter) -> SessionResult<RunEnd> {
        let ClaimedRollback { request, mut guard, holder, graph, inputs, target, units, gates, environments, hosts } =
            self;
        guard.started();
        let options = RunOptions {
            run_id: request.run_id.clone(),
            previous_version: Some(target.to_version.clone()),
            approvals: request.approvals,
            kill_grace: super::kill_grace(),
            host_versions: hosts.as_ref().map(HostRollback::host_versions).unwrap_or_default(),
            ..RunOptions::default()
        };
        let undone = target.deployment.run_id.clone();
        let before = guard.store().journal(&undone).map_err(SessionError::from).and_then(|journal| {
            let (events, _) = crate::state::journal::read_events(&journal);
            let crashed = super::liveness::effective_status(&target.deployment, &holder)
                == crate::state::DeploymentStatus::Crashed;
            let survivors = if crashed { crate::engine::survivors::survivors(&events) } else { Vec::new() };
            super::survivors::end_survivors(
                guard.store(),
                &undone,
                &survivors,
                &graph.plan,
                options.kill_grace,
                reporter,
            )?;
            Ok(events)
        });
        let events = match before {
            Ok(events) => events,
            Err(error) => {
                // Nothing ran: the rollback ends before its first step.
                let _ = guard.store().finish_deployment(&abandoned(&holder.run_id));
                return Err(error);
            }
        };
        match hosts.as_ref().filter(|hosts| hosts.common_target().is_none() || hosts.runs.len() > 1) {
            Some(hosts) => reporter.notice(&format!(
                "rolling back {} host(s), each to its own version: {} — {} unit(s)",
                hosts.steps.len(),
                hosts
                    .steps
                    .iter()
                    .map(|step| format!("{} {} → {}", step.host, step.from, describe_version(&step.to)))
                    .collect::<Vec<_>>()
                    .join(", "),
                units.len()
            )),
            None => reporter.notice(&format!(
                "rolling back run {} (version {}) to {} — {} unit(s)",
                target.deployment.run_id,
                target.deployment.version,
                describe_version(&target.to_version),
                units.len()
            )),
        }
        let phases = crate::engine::replay::traffic_phases(&events, &graph);
        let undo =
            PastRun { units, reason: format!("deploy rollback of run {}", target.deployment.run_id), gates, phases };
        let drive = Drive {
            location: &request.location,
            graph: &graph,
            base_seq: 0,
            views: request.views,
            interrupts: request.interrupts,
            reporter,
        };
        let engine_graph = graph.clone();
        let (report, health) = drive.run(&mut guard, move |sinks, interrupts, warnings| async move {
            let parts = Parts { warnings, ..Parts::local(&engine_graph, &options) };
            crate::engine::undo_past_run::undo_past_run(engine_graph, inputs, options, parts, sinks, interrupts, undo)
                .await
        })?;
        // What the hosts run now first, then the rollback's end: whoever
        // sees it finished (`deploy status`, GET /api/runs) then finds its
        // hosts recorded, never the window between the two.
        let end = Undone { holder: &holder, target: &target, environments: &environments, hosts: hosts.as_ref() };
        let recorded = end.record(guard.store(), &graph, report.status);
        let mut problems = record_end(&mut guard, &finish_of(&holder.run_id, &report, None), &health);
        problems.extend(recorded);
        release(guard, &mut problems);
        let failure = crate::session::SessionError::of_run(&graph.plan, &report);
        Ok(RunEnd { run_id: holder.run_id, report, problems, failure })
    }
}

/// What a finished rollback leaves to record.
struct Undone<'a> {
    holder: &'a Holder,
    target: &'a Target,
    environments: &'a [String],
    hosts: Option<&'a HostRollback>,
}

impl Undone<'_> {
    /// Records the hosts the rollback undid (or failed to), and when its
    /// steps ran, the environments' versions, the bad version and who undid
    /// the run; returns what could not be recorded.
    fn record(&self, store: &mut dyn StateStore, graph: &ExecutionGraph, status: RunStatus) -> Vec<SessionError> {
        let Undone { holder, target, environments, hosts } = *self;
        let mut problems = Vec::new();
        // Each host undone runs the version rolled back to; a host whose undo failed is unknown.
        let topology = crate::state::host_outcome::Topology::of_plan(&graph.plan);
        let targets: Vec<(String, String)> = hosts
            .map(|hosts| hosts.steps.iter().map(|step| (step.host.clone(), step.to.clone())).collect())
            .unwrap_or_default();
        let recorded_hosts = super::host_record::rollback_hosts(
            store,
            &target.deployment.pipeline,
            &holder.run_id,
            &target.deployment.version,
            &target.to_version,
            &targets,
            &topology,
        )
        .and_then(|record| store.record_hosts(&record));
        if let Err(error) = recorded_hosts {
            problems.push(error.into());
        }
        // The rollback steps ran: the undone run is undone even if a gate then failed.
        if matches!(status, RunStatus::Succeeded | RunStatus::RolledBack) {
            // An environment whose hosts went to different versions (or that
            // is mixed now) keeps the version its hosts sum up to.
            let per_host = hosts.is_some_and(|hosts| hosts.common_target().is_none());
            let recorded = rollback_record(store, holder, target, environments)
                .and_then(|mut record| {
                    let mixed: Vec<String> = store
                        .environment_versions(Some(&target.deployment.pipeline))?
                        .into_iter()
                        .filter(|entry| entry.mixed)
                        .map(|entry| entry.environment)
                        .collect();
                    for environment in &mut record.environments {
                        if per_host || mixed.contains(&environment.environment) {
                            environment.current = None;
                        }
                    }
                    // Per host, a run is undone when no host runs what it put there any more.
                    if hosts.is_some() {
                        let undone = &target.deployment.run_id;
                        record.whole = target.deployment.undone_by.is_none()
                            && !store
                                .host_versions(Some(&target.deployment.pipeline))?
                                .iter()
                                .any(|host| host.run_id == *undone);
                    }
                    Ok(record)
                })
                .and_then(|record| store.record_rollback(&record));
            if let Err(error) = recorded {
                problems.push(error.into());
            }
            if target.deployment.status != DeploymentStatus::Succeeded {
                let _ = store.set_status(&target.deployment.run_id, DeploymentStatus::RolledBack);
            }
        }
        problems
    }
}

/// The end of a rollback that never ran its first step.
fn abandoned(run_id: &str) -> crate::state::Finish {
    let end = finish_of(run_id, &super::drive::interrupted_report(), None);
    crate::state::Finish { status: DeploymentStatus::Aborted, ..end }
}

fn preview(
    target: &Target,
    environments: &[String],
    units: &[(String, Option<String>)],
    gates: &[crate::check::model::NodeId],
    hosts: Option<&HostRollback>,
) -> RollbackPreview {
    RollbackPreview {
        undoes: target.deployment.run_id.clone(),
        pipeline: target.deployment.pipeline.clone(),
        environments: environments.to_vec(),
        from_version: target.deployment.version.clone(),
        to_version: target.to_version.clone(),
        units: units
            .iter()
            .map(|(node, host)| host.as_ref().map_or_else(|| node.clone(), |host| format!("{node}@{host}")))
            .collect(),
        with_gates: !gates.is_empty(),
        hosts: hosts.map(|hosts| hosts.steps.clone()).unwrap_or_default(),
    }
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
                .filter(|deployment| touches(deployment, &environment))
                .find(|deployment| {
                    deployment.status == DeploymentStatus::Succeeded
                        && deployment.undone_by.is_none()
                        && deployment.run_id != target.deployment.run_id
                        && deployment.version == target.to_version
                        && deployment.started_at <= target.deployment.started_at
                });
            match earlier {
                Some(deployment) => Some((target.to_version.clone(), deployment.run_id, deployment.previous_version)),
                None if target.was_current => Some((target.to_version.clone(), holder.run_id.clone(), String::new())),
                None => None,
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
        whole: true,
        pipeline: target.deployment.pipeline.clone(),
        environments: changes,
        at: now_ms(),
    })
}

/// The latest run that touched `environment`, when it was left unfinished
/// (paused, crashed, aborted, interrupted, its rollback failed) and not
/// undone yet; a run still running is refused.
fn unfinished_target(
    store: &mut dyn StateStore,
    pipeline: &str,
    environment: &str,
    to: Option<&str>,
    me: &Holder,
) -> SessionResult<Option<Target>> {
    let runs = store.deployments(&DeploymentQuery {
        pipeline: Some(pipeline.to_string()),
        kind: Some(DeploymentKind::Run),
        ..Default::default()
    })?;
    unfinished_in(&runs, pipeline, environment, to, me)
}

fn unfinished_in(
    runs: &[Deployment],
    pipeline: &str,
    environment: &str,
    to: Option<&str>,
    me: &Holder,
) -> SessionResult<Option<Target>> {
    let Some(latest) = runs.iter().find(|deployment| touches(deployment, environment)) else { return Ok(None) };
    let status = effective_status(latest, me);
    if status == DeploymentStatus::Running {
        return Err(SessionError::refused(format!(
            "run {} of `{pipeline}` is still running (pid {} of {}); wait for it or stop it first",
            latest.run_id, latest.pid, latest.started_by
        )));
    }
    if status.is_unfinished() && latest.undone_by.is_none() {
        return Ok(Some(Target {
            to_version: to.map(str::to_string).unwrap_or_else(|| latest.previous_version.clone()),
            deployment: latest.clone(),
            was_current: false,
        }));
    }
    Ok(None)
}

fn find_target(
    store: &mut dyn StateStore,
    pipeline: &str,
    environment: &str,
    to: Option<&str>,
    me: &Holder,
) -> SessionResult<Target> {
    let place = if environment.is_empty() { String::new() } else { format!(" in {environment}") };
    let runs = store.deployments(&DeploymentQuery {
        pipeline: Some(pipeline.to_string()),
        kind: Some(DeploymentKind::Run),
        ..Default::default()
    })?;
    if let Some(target) = unfinished_in(&runs, pipeline, environment, to, me)? {
        return Ok(target);
    }
    let versions = store.environment_versions(Some(pipeline))?;
    let Some(current) = versions.iter().find(|entry| entry.environment == environment) else {
        return Err(nothing(format!("no successful deployment of `{pipeline}`{place} is recorded")));
    };
    let deployment = match store.deployment(&current.current_run)? {
        Some(deployment) if deployment.kind == DeploymentKind::Run && deployment.undone_by.is_none() => deployment,
        _ => {
            return Err(nothing(format!(
                "the current version {} of `{pipeline}`{place} was itself restored by a rollback and \
                 no run that deployed it is recorded",
                current.current_version
            )))
        }
    };
    let to_version = match to {
        Some(version) => version.to_string(),
        None if current.previous_version.is_empty() => {
            return Err(nothing(format!(
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
