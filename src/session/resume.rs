//! Continuing a paused or crashed run from its journal: nodes and hosts
//! that finished are not run again; recorded approvals are honoured.

use std::path::{Path, PathBuf};

use super::drive::{record_end_with, release, run_finish, Drive, RunEnd};
use super::error::{SessionError, SessionResult};
use super::lease::{LeaseGuard, LockWait};
use super::liveness::{effective_status, lease_scope};
use super::record::{params_as_sets, plan_hash};
use super::reporter::Reporter;
use super::runtime::Interrupts;
use crate::engine::{Approvals, EventSink, Parts, RunOptions, DEFAULT_MAX_PARALLEL};
use crate::state::host_outcome::Topology;
use crate::state::{
    now_ms, Claim, Deployment, DeploymentKind, DeploymentQuery, DeploymentStatus, Holder, StateLocation, StateStore,
};

/// Which run to continue, and how.
pub struct ResumeRequest {
    pub location: StateLocation,
    /// The run [default: the latest paused or crashed run (of `plan`)].
    pub run: Option<String>,
    pub plan: Option<PathBuf>,
    /// Continue with the plan file as it is now even if it changed.
    pub allow_changed_plan: bool,
    /// Answers given now; the recorded ones are added.
    pub approvals: Approvals,
    pub max_parallel: Option<usize>,
    pub lock: LockWait,
    pub views: Vec<Box<dyn EventSink>>,
    pub interrupts: Interrupts,
}

/// Whether a run can be resumed, and if not why.
pub fn resumable(deployment: &Deployment, store: &mut dyn StateStore, me: &Holder) -> SessionResult<()> {
    if deployment.kind != DeploymentKind::Run {
        return Err(SessionError::refused(format!("{} is a rollback, not a run", deployment.run_id)));
    }
    if let Some(rollback) = &deployment.undone_by {
        return Err(SessionError::refused(format!("run {} was rolled back by run {rollback}", deployment.run_id))
            .with_winner(rollback.clone()));
    }
    match effective_status(deployment, me) {
        DeploymentStatus::Paused
        | DeploymentStatus::Crashed
        | DeploymentStatus::Aborted
        | DeploymentStatus::Interrupted => {}
        DeploymentStatus::Running => {
            return Err(SessionError::refused(format!(
                "run {} is running already (pid {} on {})",
                deployment.run_id, deployment.pid, deployment.machine
            ))
            .with_code("already_running")
            .with_winner(deployment.run_id.clone()))
        }
        other => {
            return Err(SessionError::refused(format!(
                "run {} {}; there is nothing to resume",
                deployment.run_id,
                describe(other)
            ))
            .with_winner(deployment.run_id.clone()))
        }
    }
    if started_rollback(store, &deployment.run_id)? {
        return Err(SessionError::refused(format!(
            "run {} already started its rollback; use `deploy rollback` instead",
            deployment.run_id
        )));
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

/// RUN, or the latest paused/crashed run (of `plan` when given).
pub fn pick(
    store: &mut dyn StateStore,
    run: Option<&str>,
    plan: Option<&Path>,
    me: &Holder,
) -> SessionResult<Deployment> {
    if let Some(run) = run {
        return store
            .deployment(run)?
            .ok_or_else(|| SessionError::not_found(format!("no run `{run}` in the state (see `deploy history`)")));
    }
    let plan_file = plan.map(|plan| std::fs::canonicalize(plan).unwrap_or_else(|_| plan.to_path_buf()));
    let deployments = store.deployments(&DeploymentQuery { kind: Some(DeploymentKind::Run), ..Default::default() })?;
    for deployment in deployments {
        let same_plan = plan_file.as_ref().map_or(true, |file| Path::new(&deployment.plan_file) == file.as_path());
        if !same_plan || deployment.undone_by.is_some() {
            continue;
        }
        match effective_status(&deployment, me) {
            DeploymentStatus::Paused | DeploymentStatus::Crashed => return Ok(deployment),
            // Interrupted while a gate waited: nothing was undone, it goes on.
            DeploymentStatus::Interrupted if !started_rollback(store, &deployment.run_id)? => return Ok(deployment),
            _ => {}
        }
    }
    Err(SessionError::not_found("no paused, crashed or interrupted run to resume (see `deploy status`)"))
}

/// Whether the run began undoing itself (it can then only be rolled back).
fn started_rollback(store: &mut dyn StateStore, run_id: &str) -> SessionResult<bool> {
    Ok(store.journal(run_id)?.iter().any(|entry| entry.kind == "rollback_started"))
}

/// Refuses a plan file that changed since the run started, unless allowed.
fn check_plan_unchanged(deployment: &Deployment, allow: bool, reporter: &dyn Reporter) -> SessionResult<()> {
    let text =
        crate::check::loader::read_to_string_limited(std::path::Path::new(&deployment.plan_file)).unwrap_or_default();
    if plan_hash(&text) == deployment.plan_hash {
        return Ok(());
    }
    if allow {
        reporter.notice(&format!("warning: the plan changed since run {} started", deployment.run_id));
        return Ok(());
    }
    let diff = super::record::unified(&deployment.plan_text, &text, &deployment.plan_file);
    Err(SessionError::refused(format!("{} changed since run {} started:", deployment.plan_file, deployment.run_id))
        .with_detail(diff)
        .with_help("resume with --allow-changed-plan to continue with the changed plan"))
}

/// A run found resumable, its plan loaded, ready to take its lease.
pub struct PreparedResume {
    location: StateLocation,
    lock: LockWait,
    views: Vec<Box<dyn EventSink>>,
    interrupts: Interrupts,
    store: Box<dyn StateStore>,
    deployment: Deployment,
    graph: crate::graph::ExecutionGraph,
    inputs: crate::inputs::ResolvedInputs,
    options: RunOptions,
    /// Step processes the crashed runner left running.
    survivors: Vec<crate::engine::survivors::Survivor>,
    /// Answers the approvals the run asks for instead of the terminal.
    prompt: Option<std::sync::Arc<dyn crate::engine::approval::ApprovalPrompt>>,
}

/// Continues the run to its end under the pipeline's lease.
pub fn resume(request: ResumeRequest, reporter: &dyn Reporter) -> SessionResult<RunEnd> {
    prepare(request, reporter)?.execute(reporter)
}

/// Finds the run, checks it can be resumed and loads its plan; runs nothing.
pub fn prepare(request: ResumeRequest, reporter: &dyn Reporter) -> SessionResult<PreparedResume> {
    let mut store = super::open_existing(&request.location)?;
    let probe = Holder::current("");
    let deployment = pick(store.as_mut(), request.run.as_deref(), request.plan.as_deref(), &probe)?;
    resumable(&deployment, store.as_mut(), &probe)?;
    check_plan_unchanged(&deployment, request.allow_changed_plan, reporter)?;
    let journal = store.journal(&deployment.run_id)?;
    let (events, unreadable) = crate::state::journal::read_events(&journal);
    // The run's own `--env` / `--limit`: a resumed run stays within them.
    let selection = crate::engine::replay::selection(&events);
    // The run's own params (every `--set` it was started with): they decide
    // constant values of the plan too (durations, windows, waits), so the
    // plan is checked with them, as the run's was.
    let recorded = super::record::recorded_sets(&deployment);
    let graph = super::load::load_selected_graph(Path::new(&deployment.plan_file), &recorded, &selection, reporter)?;
    let mut inputs = super::load::load_inputs(&graph, &params_as_sets(&deployment, &graph), reporter)?;
    super::record::restore_bound(&deployment, &graph, &mut inputs);
    if unreadable > 0 {
        reporter
            .notice(&format!("warning: {unreadable} journal entries of run {} could not be read", deployment.run_id));
    }
    let mut approvals = request.approvals;
    approvals.recorded =
        store.approvals(&deployment.run_id)?.into_iter().map(|approval| (approval.gate, approval.approver)).collect();
    let survivors = crate::engine::survivors::survivors(&events);
    let options = RunOptions {
        run_id: deployment.run_id.clone(),
        max_parallel: request.max_parallel.or(graph.plan.pipeline.max_parallel).unwrap_or(DEFAULT_MAX_PARALLEL).max(1),
        previous_version: Some(deployment.previous_version.clone()),
        approvals,
        kill_grace: super::kill_grace(),
        resumed: crate::engine::replay::resume_point(&events, &graph),
        simulated: false,
        selection,
        // Each host's own previous version, as when the run started.
        host_versions: super::host_record::own_previous_versions(
            store.as_mut(),
            &graph.plan,
            &deployment.run_id,
            &deployment.version,
        )?,
    };
    Ok(PreparedResume {
        location: request.location,
        lock: request.lock,
        views: request.views,
        interrupts: request.interrupts,
        store,
        deployment,
        graph,
        inputs,
        options,
        survivors,
        prompt: None,
    })
}

impl PreparedResume {
    /// Who answers the approvals the run asks for (a rejection given over
    /// the API answers "no" for its gate); the run asks instead of pausing.
    pub fn with_prompt(
        mut self,
        prompt: std::sync::Arc<dyn crate::engine::approval::ApprovalPrompt>,
    ) -> PreparedResume {
        self.options.approvals.interactive = true;
        self.prompt = Some(prompt);
        self
    }

    /// Takes the lease and runs what is left of the run.
    pub fn execute(self, reporter: &dyn Reporter) -> SessionResult<RunEnd> {
        self.claim(reporter)?.execute(reporter)
    }

    /// Takes the lease and makes the run `running` again in one
    /// compare-and-set: of many resumes at once (approvals, terminals,
    /// processes on other machines) exactly one gets here; every other
    /// fails naming the run that goes on (exit 1, HTTP 409).
    pub fn claim(self, reporter: &dyn Reporter) -> SessionResult<ClaimedResume> {
        let PreparedResume {
            location,
            lock,
            views,
            interrupts,
            store,
            deployment,
            graph,
            inputs,
            options,
            survivors,
            prompt,
        } = self;
        let holder = Holder::current(&deployment.run_id);
        let mut guard = LeaseGuard::acquire(store, &lease_scope(&graph), &holder, &lock, reporter)?;
        match guard.store().resume_deployment(&deployment, &holder, now_ms())? {
            Claim::Won => {}
            Claim::Lost { winner } => return Err(lost_resume(guard.store(), &deployment.run_id, &winner)),
        }
        // Claimed but never run (the request went away): the run is left as it was found.
        let (run_id, before) = (deployment.run_id.clone(), unclaimed_status(deployment.status));
        guard.on_abandon(move |store| {
            let _ = store.set_status(&run_id, before);
        });
        Ok(ClaimedResume {
            guard,
            location,
            views,
            interrupts,
            deployment,
            graph,
            inputs,
            options,
            survivors,
            prompt,
            holder,
        })
    }
}

/// The status a claimed run goes back to when it does not run after all.
fn unclaimed_status(seen: DeploymentStatus) -> DeploymentStatus {
    match seen {
        DeploymentStatus::Running => DeploymentStatus::Crashed,
        status => status,
    }
}

/// Why a resume that lost its race cannot go on: who won.
fn lost_resume(store: &mut dyn StateStore, run_id: &str, winner: &str) -> SessionError {
    let message = if winner == run_id {
        match store.deployment(run_id) {
            Ok(Some(now)) => format!(
                "run {run_id} was resumed by another request first (pid {} on {}); it is {} now",
                now.pid,
                now.machine,
                now.status.as_str()
            ),
            _ => format!("run {run_id} was resumed by another request first"),
        }
    } else {
        format!("run {run_id} was rolled back by run {winner} first; there is nothing to resume")
    };
    SessionError::refused(message).with_code("already_resumed").with_winner(winner)
}

/// A resume that won: its lease held, its run `running` under this process.
pub struct ClaimedResume {
    guard: LeaseGuard,
    location: StateLocation,
    views: Vec<Box<dyn EventSink>>,
    interrupts: Interrupts,
    deployment: Deployment,
    graph: crate::graph::ExecutionGraph,
    inputs: crate::inputs::ResolvedInputs,
    options: RunOptions,
    survivors: Vec<crate::engine::survivors::Survivor>,
    prompt: Option<std::sync::Arc<dyn crate::engine::approval::ApprovalPrompt>>,
    holder: Holder,
}

impl ClaimedResume {
    /// Who may interrupt the run, chosen once it is known to start.
    pub fn with_interrupts(mut self, interrupts: Interrupts) -> ClaimedResume {
        self.interrupts = interrupts;
        self
    }

    pub fn run_id(&self) -> &str {
        &self.deployment.run_id
    }

    /// Ends what the crashed runner left running, then runs what is left of the run.
    pub fn execute(self, reporter: &dyn Reporter) -> SessionResult<RunEnd> {
        let ClaimedResume {
            mut guard,
            location,
            views,
            interrupts,
            deployment,
            graph,
            inputs,
            options,
            survivors,
            prompt,
            holder,
        } = self;
        guard.started();
        let ended = super::survivors::end_survivors(
            guard.store(),
            &deployment.run_id,
            &survivors,
            &graph.plan,
            options.kill_grace,
            reporter,
        )
        .and_then(|()| Ok(guard.store().next_seq(&deployment.run_id)?));
        let base_seq = match ended {
            Ok(seq) => seq,
            Err(error) => {
                // Nothing ran: the run is left as it was found.
                let _ = guard.store().set_status(&deployment.run_id, unclaimed_status(deployment.status));
                return Err(error);
            }
        };
        reporter.notice(&format!(
            "resuming run {} ({} nodes and {} hosts finished before)",
            deployment.run_id,
            options.resumed.nodes.len(),
            options.resumed.hosts.len()
        ));
        let drive = Drive { location: &location, graph: &graph, base_seq, views, interrupts, reporter };
        let engine_graph = graph.clone();
        let (report, health) = drive.run(&mut guard, move |sinks, interrupts, warnings| async move {
            let mut parts = Parts { warnings, ..Parts::local(&engine_graph, &options) };
            if prompt.is_some() {
                parts.prompt = prompt;
            }
            crate::engine::run(engine_graph, inputs, options, parts, sinks, interrupts).await
        })?;
        let mut found = Vec::new();
        let topology = Topology::of_plan(&graph.plan);
        let finish = run_finish(&mut guard, &report, &deployment.pipeline, &deployment.version, &topology, &mut found);
        let mut problems = record_end_with(&mut guard, &finish, &health, found);
        release(guard, &mut problems);
        let failure = crate::session::SessionError::of_run(&graph.plan, &report);
        Ok(RunEnd { run_id: holder.run_id, report, problems, failure })
    }
}
