//! The scheduler: starts a node as soon as everything it `needs` passed,
//! runs independent nodes concurrently (commands bounded by
//! `--max-parallel`), and on a failure applies the policy: stop starting
//! work, cancel or let finish what runs, then roll back, abort or pause.
//!
//! Cancellation choice: under `rollback` and `abort`, nodes still running
//! when another fails are cancelled (their process groups get SIGTERM, then
//! SIGKILL after the grace period) so the rollback starts at once; under
//! `pause` they are left to finish. A first SIGINT/SIGTERM acts like a
//! failure under the pipeline's `on_failure`; a second kills everything at
//! once and ends the run.

use std::collections::VecDeque;
use std::sync::Arc;
use tokio::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::context::{millis, RunContext};
use super::event::{
    EventData, FailureSummary, HostSummary, NodeStatus, NodeSummary, RollbackSummary, RunStatus, Summary,
};
use super::gates::{self, GateDecision};
use super::hooks::{run_hooks, HookContext};
use super::monitor::{self, MonitorHandle};
use super::rollback::run_rollback;
use super::rollout::run_stage;
use crate::check::model::{FailurePolicy, HookEvent, NodeId, NodeKind};

/// How a node (all its hosts) ended, and what a failure makes the run do.
#[derive(Debug)]
pub struct NodeResult {
    pub status: NodeStatus,
    pub error: Option<String>,
    pub exit_code: Option<i32>,
    pub failed_host: Option<String>,
    pub hosts: Vec<HostSummary>,
    /// For a failure: `on_failure` of the pipeline, or the gate outcome's policy.
    pub policy: FailurePolicy,
    /// A stage's `monitor`, still watching after the rollout.
    pub monitor: Option<MonitorHandle>,
}

/// What a run ended with.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub status: RunStatus,
    pub summary: Summary,
    pub duration_ms: u64,
}

/// Why the run stopped starting new work.
#[derive(Clone, Debug)]
enum Stop {
    Failure { node: String, host: Option<String>, message: String, policy: FailurePolicy },
    Paused { node: String, message: String },
    Interrupted,
}

impl Stop {
    /// Whether running nodes are cancelled (rather than left to finish).
    fn cancels(&self, pipeline_policy: FailurePolicy) -> bool {
        match self {
            Stop::Failure { policy, .. } => *policy != FailurePolicy::Pause,
            Stop::Paused { .. } => false,
            Stop::Interrupted => pipeline_policy != FailurePolicy::Pause,
        }
    }
}

struct NodeState {
    status: NodeStatus,
    duration_ms: u64,
    hosts: Vec<HostSummary>,
    error: Option<String>,
}

/// Walks the graph. `interrupts` delivers one message per SIGINT/SIGTERM.
pub async fn execute(ctx: Arc<RunContext>, mut interrupts: mpsc::UnboundedReceiver<()>) -> RunReport {
    let plan = ctx.plan();
    let pipeline_policy = plan.pipeline.on_failure;
    ctx.bus.emit(EventData::RunStarted {
        run_id: ctx.options.run_id.clone(),
        pipeline: plan.pipeline.name.clone(),
        version: ctx.version.clone(),
        previous_version: ctx.previous_version.clone(),
        plan_file: plan.plan_file.display().to_string(),
        nodes: plan.nodes.len(),
        max_parallel: ctx.options.max_parallel,
        on_failure: format!("{pipeline_policy:?}").to_lowercase(),
        environments: ctx.options.selection.environments.clone(),
        limit: ctx.options.selection.limit.clone(),
    });
    // `hard` stops everything, the rollback and hooks included (a second
    // signal); `forward` stops the forward work only.
    let hard = CancellationToken::new();
    let forward = hard.child_token();
    run_hooks(&ctx, &plan.hooks, HookEvent::Start, None, &HookContext::new("running"), &hard).await;
    let count = plan.nodes.len();
    let mut states: Vec<NodeState> = (0..count)
        .map(|_| NodeState { status: NodeStatus::NotStarted, duration_ms: 0, hosts: Vec::new(), error: None })
        .collect();
    let mut missing: Vec<usize> =
        plan.nodes.iter().map(|node| node.needs.iter().filter(|n| n.0 < count).count()).collect();
    let mut ready: VecDeque<NodeId> = ctx.graph.order.iter().copied().filter(|id| missing[id.0] == 0).collect();
    let evaluated_for = evaluated_only_for_stages(plan);
    let mut running: JoinSet<(NodeId, NodeResult, u64)> = JoinSet::new();
    // Monitors still watching stages that finished their rollout.
    let mut monitors: JoinSet<(NodeId, GateDecision)> = JoinSet::new();
    let mut stop: Option<Stop> = None;
    let mut signals = 0u32;
    let mut interrupts_open = true;

    loop {
        if stop.is_none() {
            while let Some(id) = ready.pop_front() {
                if resumed_node(&ctx, id, &mut states[id.0]) {
                    for dependent in &ctx.graph.dependents[id.0] {
                        missing[dependent.0] = missing[dependent.0].saturating_sub(1);
                        if missing[dependent.0] == 0 {
                            ready.push_back(*dependent);
                        }
                    }
                    continue;
                }
                if let Some(reason) = &plan.node(id).deselected {
                    ctx.bus.emit(EventData::NodeSkipped { node: plan.node(id).name.clone(), reason: reason.clone() });
                    states[id.0].status = NodeStatus::Skipped;
                    for dependent in &ctx.graph.dependents[id.0] {
                        missing[dependent.0] = missing[dependent.0].saturating_sub(1);
                        if missing[dependent.0] == 0 {
                            ready.push_back(*dependent);
                        }
                    }
                    continue;
                }
                if let Some(users) = &evaluated_for[id.0] {
                    ctx.bus.emit(EventData::NodeSkipped {
                        node: plan.node(id).name.clone(),
                        reason: format!("evaluated only for {users}"),
                    });
                    states[id.0].status = NodeStatus::Skipped;
                    continue;
                }
                states[id.0].status = NodeStatus::Cancelled; // until it reports
                let ctx = ctx.clone();
                let cancel = forward.clone();
                running.spawn(async move {
                    let started = Instant::now();
                    let result = run_node(ctx, id, cancel).await;
                    (id, result, millis(started.elapsed()))
                });
            }
        }
        if running.is_empty() && monitors.is_empty() {
            break;
        }
        tokio::select! {
            signal = interrupts.recv(), if interrupts_open => {
                if signal.is_none() {
                    interrupts_open = false;
                    continue;
                }
                signals += 1;
                if signals >= 2 {
                    monitors.abort_all();
                    return hard_stop(&ctx, &hard, running, states).await;
                }
                ctx.bus.emit(EventData::Warning {
                    message: "interrupted: no new work starts; press Ctrl-C again to stop at once".into(),
                });
                let interrupted = Stop::Interrupted;
                if interrupted.cancels(pipeline_policy) {
                    forward.cancel();
                }
                if !matches!(stop, Some(Stop::Failure { .. })) {
                    announce(&ctx, "interrupted by a signal", stop_policy(&interrupted, pipeline_policy));
                    stop = Some(interrupted);
                }
            }
            Some(joined) = monitors.join_next() => {
                let Ok((id, decision)) = joined else { continue };
                let GateDecision::Stop { message, policy } = decision else { continue };
                let node = ctx.plan().node(id);
                let state = &mut states[id.0];
                state.status = if policy == FailurePolicy::Pause { NodeStatus::Paused } else { NodeStatus::Failed };
                state.error = Some(message.clone());
                if stop.is_none() || (policy != FailurePolicy::Pause && !matches!(stop, Some(Stop::Failure { .. }))) {
                    announce(&ctx, &format!("the monitor of {} failed", node.name), policy);
                    if policy == FailurePolicy::Pause {
                        stop = Some(Stop::Paused { node: node.name.clone(), message });
                    } else {
                        forward.cancel();
                        stop = Some(Stop::Failure { node: node.name.clone(), host: None, message, policy });
                    }
                }
            }
            Some(joined) = running.join_next() => {
                let Ok((id, mut result, duration_ms)) = joined else { continue };
                if let Some(handle) = result.monitor.take() {
                    monitors.spawn(async move {
                        let stage = handle.stage;
                        let decision = handle_task(handle).await;
                        (stage, decision)
                    });
                }
                let node = ctx.plan().node(id);
                let state = &mut states[id.0];
                state.status = result.status;
                state.duration_ms = duration_ms;
                state.hosts = result.hosts.clone();
                state.error = result.error.clone();
                match result.status {
                    NodeStatus::Succeeded | NodeStatus::Skipped => {
                        for dependent in &ctx.graph.dependents[id.0] {
                            missing[dependent.0] = missing[dependent.0].saturating_sub(1);
                            if missing[dependent.0] == 0 {
                                ready.push_back(*dependent);
                            }
                        }
                    }
                    NodeStatus::Failed => {
                        let failure = Stop::Failure {
                            node: node.name.clone(),
                            host: result.failed_host.clone(),
                            message: result.error.clone().unwrap_or_else(|| "failed".into()),
                            policy: result.policy,
                        };
                        // The first failure decides; a failure overrides a pause or an interrupt.
                        if !matches!(stop, Some(Stop::Failure { .. })) {
                            let reason = format!("{} failed", node.name);
                            announce(&ctx, &reason, result.policy);
                            if failure.cancels(pipeline_policy) {
                                forward.cancel();
                            }
                            stop = Some(failure);
                        }
                    }
                    NodeStatus::Paused => {
                        if stop.is_none() {
                            let message = result.error.clone().unwrap_or_else(|| "paused".into());
                            announce(&ctx, &message, FailurePolicy::Pause);
                            stop = Some(Stop::Paused { node: node.name.clone(), message });
                        }
                    }
                    NodeStatus::Cancelled | NodeStatus::NotStarted => {}
                }
            }
        }
    }

    let mut rollback: Vec<RollbackSummary> = Vec::new();
    let status = match &stop {
        None => RunStatus::Succeeded,
        Some(Stop::Paused { .. }) => RunStatus::Paused,
        Some(Stop::Failure { policy: FailurePolicy::Pause, .. }) => RunStatus::Paused,
        Some(Stop::Failure { policy: FailurePolicy::Abort, .. }) => RunStatus::Aborted,
        Some(Stop::Interrupted) if pipeline_policy != FailurePolicy::Rollback => RunStatus::Interrupted,
        Some(stop @ (Stop::Failure { policy: FailurePolicy::Rollback, .. } | Stop::Interrupted)) => {
            let reason = match stop {
                Stop::Failure { node, message, .. } => format!("{node} failed: {message}"),
                _ => "interrupted by a signal".to_string(),
            };
            let rollback_run = run_rollback(ctx.clone(), reason, hard.clone());
            tokio::pin!(rollback_run);
            let report = loop {
                tokio::select! {
                    report = &mut rollback_run => break Some(report),
                    signal = interrupts.recv(), if interrupts_open => {
                        if signal.is_none() {
                            interrupts_open = false;
                            continue;
                        }
                        signals += 1;
                        if signals >= 2 {
                            break None;
                        }
                        ctx.bus.emit(EventData::Warning {
                            message: "rolling back; press Ctrl-C again to stop at once".into(),
                        });
                    }
                }
            };
            match report {
                None => {
                    // The rollback future is no longer polled; its processes die with the groups.
                    return hard_stop(&ctx, &hard, JoinSet::new(), states).await;
                }
                Some(report) => {
                    let succeeded = report.succeeded;
                    rollback = report.entries;
                    match (succeeded, stop) {
                        (false, _) => RunStatus::RollbackFailed,
                        (true, Stop::Interrupted) => RunStatus::Interrupted,
                        (true, _) => RunStatus::RolledBack,
                    }
                }
            }
        }
    };
    let hook_context = HookContext {
        status: status_word(status).to_string(),
        failed_node: match &stop {
            Some(Stop::Failure { node, .. } | Stop::Paused { node, .. }) => Some(node.clone()),
            _ => None,
        },
        error: match &stop {
            Some(Stop::Failure { message, .. } | Stop::Paused { message, .. }) => Some(message.clone()),
            Some(Stop::Interrupted) => Some("interrupted by a signal".to_string()),
            None => None,
        },
    };
    let hooks = &ctx.plan().hooks;
    if matches!(status, RunStatus::RolledBack | RunStatus::RollbackFailed)
        || (status == RunStatus::Interrupted && !rollback.is_empty())
    {
        run_hooks(&ctx, hooks, HookEvent::Rollback, None, &hook_context, &hard).await;
    }
    let event = match status {
        RunStatus::Succeeded => HookEvent::Success,
        RunStatus::Paused => HookEvent::Paused,
        _ => HookEvent::Failure,
    };
    run_hooks(&ctx, hooks, event, None, &hook_context, &hard).await;
    finish(&ctx, status, states, rollback, stop)
}

/// Gates that only stages use (as `analysis`, `verify` or `monitor`), and
/// router stages that only canaries use (as `traffic`), that neither need
/// nor are needed by anything: they are decided (or run) where they are
/// used, in the stage's environment, not on their own. For each, who
/// uses it (`deploy (monitor)`).
fn evaluated_only_for_stages(plan: &crate::check::model::Plan) -> Vec<Option<String>> {
    use crate::check::model::Strategy;
    let mut users: Vec<Vec<String>> = vec![Vec::new(); plan.nodes.len()];
    let mut needed = vec![false; plan.nodes.len()];
    for node in &plan.nodes {
        for need in &node.needs {
            if let Some(flag) = needed.get_mut(need.0) {
                *flag = true;
            }
        }
        let mut uses = |gate: NodeId, role: &str| {
            if let Some(list) = users.get_mut(gate.0) {
                list.push(format!("{} ({role})", node.name));
            }
        };
        if let Some(monitor) = node.monitor {
            uses(monitor.gate, "monitor");
        }
        if let Some(traffic) = node.strategy.traffic() {
            uses(traffic.router, "traffic");
        }
        match &node.strategy {
            Strategy::Canary { analysis: Some(gate), .. } => uses(*gate, "analysis"),
            Strategy::BlueGreen { verify: Some(gate), .. } => uses(*gate, "verify"),
            _ => {}
        }
    }
    plan.nodes
        .iter()
        .map(|node| {
            let list = &users[node.id.0];
            let detached = !list.is_empty() && node.needs.is_empty() && !needed[node.id.0];
            detached.then(|| list.join(", "))
        })
        .collect()
}

/// The status as hooks see it (`DEPLOY_STATUS`).
fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Succeeded => "succeeded",
        RunStatus::RolledBack => "rolled_back",
        RunStatus::Aborted => "aborted",
        RunStatus::Paused => "paused",
        RunStatus::RollbackFailed => "rollback_failed",
        RunStatus::Interrupted => "interrupted",
    }
}

/// The monitor's task as a future of its decision.
fn handle_task(handle: MonitorHandle) -> impl std::future::Future<Output = GateDecision> {
    let MonitorHandle { task, .. } = handle;
    async move { task.await.unwrap_or(GateDecision::Cancelled) }
}

/// A resumed run does not run again a node that finished before: it is
/// reported as skipped and counts as succeeded.
fn resumed_node(ctx: &RunContext, id: NodeId, state: &mut NodeState) -> bool {
    let node = ctx.plan().node(id);
    if !ctx.options.resumed.node_done(&node.name) {
        return false;
    }
    ctx.bus.emit(EventData::NodeSkipped {
        node: node.name.clone(),
        reason: "finished before the run was resumed".to_string(),
    });
    state.status = NodeStatus::Succeeded;
    true
}

fn stop_policy(stop: &Stop, pipeline_policy: FailurePolicy) -> FailurePolicy {
    match stop {
        Stop::Failure { policy, .. } => *policy,
        Stop::Paused { .. } => FailurePolicy::Pause,
        Stop::Interrupted => pipeline_policy,
    }
}

fn announce(ctx: &RunContext, reason: &str, policy: FailurePolicy) {
    ctx.bus.emit(EventData::Stopping { reason: reason.to_string(), policy: format!("{policy:?}").to_lowercase() });
}

/// A second signal: kill every process group, end every task, report.
async fn hard_stop(
    ctx: &Arc<RunContext>,
    hard: &CancellationToken,
    mut running: JoinSet<(NodeId, NodeResult, u64)>,
    states: Vec<NodeState>,
) -> RunReport {
    hard.cancel();
    ctx.kill_all();
    running.abort_all();
    while running.join_next().await.is_some() {}
    // A process spawned while the tasks were being aborted.
    ctx.kill_all();
    finish(ctx, RunStatus::Interrupted, states, Vec::new(), Some(Stop::Interrupted))
}

fn finish(
    ctx: &RunContext,
    status: RunStatus,
    states: Vec<NodeState>,
    rollback: Vec<RollbackSummary>,
    stop: Option<Stop>,
) -> RunReport {
    let plan = ctx.plan();
    let nodes = ctx
        .graph
        .order
        .iter()
        .map(|id| {
            let node = plan.node(*id);
            let state = &states[id.0];
            NodeSummary {
                node: node.name.clone(),
                kind: node.kind.word().to_string(),
                status: state.status,
                duration_ms: state.duration_ms,
                hosts: state.hosts.clone(),
                error: state.error.clone(),
            }
        })
        .collect();
    let failure = stop.map(|stop| match stop {
        Stop::Failure { node, host, message, .. } => FailureSummary { node: Some(node), host, message },
        Stop::Paused { node, message } => FailureSummary { node: Some(node), host: None, message },
        Stop::Interrupted => FailureSummary { node: None, host: None, message: "interrupted by a signal".into() },
    });
    let summary = Summary { nodes, rollback, failure };
    let duration_ms = ctx.elapsed_ms();
    ctx.bus.emit(EventData::RunFinished {
        status,
        exit_code: status.exit_code().code(),
        duration_ms,
        summary: summary.clone(),
    });
    RunReport { status, summary, duration_ms }
}

/// One node: its `when`, the approval and window its environment demands,
/// then the stage's hosts or the gate's decision.
async fn run_node(ctx: Arc<RunContext>, id: NodeId, cancel: CancellationToken) -> NodeResult {
    let node = ctx.plan().node(id);
    let policy = ctx.plan().pipeline.on_failure;
    if let Some(when) = &node.when {
        let context = ctx.script_context(node, None, 1);
        let log = super::evaluate::log_sink(&super::steps::output_sink(&ctx, &node.name, None, false));
        match super::evaluate::condition(&ctx, when, context, log).await {
            Ok(true) => {}
            Ok(false) => {
                ctx.bus.emit(EventData::NodeSkipped {
                    node: node.name.clone(),
                    reason: format!("`when` is false: {}", when.source.trim()),
                });
                return NodeResult { status: NodeStatus::Skipped, ..NodeResult::succeeded() };
            }
            Err(message) => {
                let error = format!("`when` could not be evaluated: {message}");
                ctx.bus.emit(EventData::NodeFinished {
                    node: node.name.clone(),
                    host: None,
                    status: NodeStatus::Failed,
                    duration_ms: 0,
                    attempt: None,
                    exit_code: None,
                    error: Some(error.clone()),
                });
                return NodeResult::failed(error, policy);
            }
        }
    }
    let hosts = ctx.target_of(node).map(|env| env.hosts.clone()).unwrap_or_default();
    ctx.bus.emit(EventData::NodeStarted {
        node: node.name.clone(),
        kind: node.kind.word().to_string(),
        host: None,
        attempt: None,
        hosts,
    });
    let started = Instant::now();
    let result = match node.kind {
        NodeKind::Gate => gates::run_gate(ctx.clone(), id, cancel).await,
        NodeKind::Stage => match gates::protect(&ctx, id, &cancel).await {
            Some(stopped) => stopped,
            None => run_stage_with_hooks(&ctx, id, cancel).await,
        },
    };
    ctx.bus.emit(EventData::NodeFinished {
        node: node.name.clone(),
        host: None,
        status: result.status,
        duration_ms: millis(started.elapsed()),
        attempt: None,
        exit_code: result.exit_code,
        error: result.error.clone(),
    });
    result
}

/// A stage's `on start` hooks, its rollout (watched by its `monitor`), then
/// its `on success` or `on failure` hooks.
async fn run_stage_with_hooks(ctx: &Arc<RunContext>, id: NodeId, cancel: CancellationToken) -> NodeResult {
    let node = ctx.plan().node(id);
    run_hooks(ctx, &node.hooks, HookEvent::Start, Some(node), &HookContext::new("running"), &cancel).await;
    let mut result = match node.monitor {
        None => run_stage(ctx.clone(), id, cancel.clone()).await,
        Some(watch) => {
            let mut monitor = monitor::start(ctx, id, watch, &cancel);
            let rollout_cancel = cancel.child_token();
            let rollout = run_stage(ctx.clone(), id, rollout_cancel.clone());
            tokio::pin!(rollout);
            let mut monitor_done = false;
            let mut result = tokio::select! {
                result = &mut rollout => result,
                joined = &mut monitor.task => {
                    monitor_done = true;
                    match joined.unwrap_or(GateDecision::Cancelled) {
                        GateDecision::Stop { message, policy } => {
                            // The monitor failed during the rollout: stop the rollout.
                            rollout_cancel.cancel();
                            let stopped = rollout.await;
                            let status =
                                if policy == FailurePolicy::Pause { NodeStatus::Paused } else { NodeStatus::Failed };
                            NodeResult { status, error: Some(message), policy, hosts: stopped.hosts, ..NodeResult::succeeded() }
                        }
                        _ => rollout.await,
                    }
                }
            };
            if result.status == NodeStatus::Succeeded && !monitor_done {
                monitor.rollout_finished();
                result.monitor = Some(monitor);
            } else {
                monitor.stop();
            }
            result
        }
    };
    let event = match result.status {
        NodeStatus::Succeeded => Some((HookEvent::Success, "succeeded")),
        NodeStatus::Failed => Some((HookEvent::Failure, "failed")),
        _ => None,
    };
    if let Some((event, status)) = event {
        let context = HookContext {
            status: status.to_string(),
            failed_node: (event == HookEvent::Failure).then(|| node.name.clone()),
            error: result.error.clone(),
        };
        run_hooks(ctx, &node.hooks, event, Some(node), &context, &cancel).await;
    }
    if result.status != NodeStatus::Succeeded {
        if let Some(monitor) = result.monitor.take() {
            monitor.stop();
        }
    }
    result
}
