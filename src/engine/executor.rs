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
//!
//! [`Scheduler`] reacts to what happens (a node finished, a monitor fired,
//! a signal arrived); which stop decides and what status it gives the run
//! is the pure policy in [`super::outcome`].

use std::collections::VecDeque;
use std::sync::Arc;
use tokio::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::context::{millis, RunContext};
use super::gates::GateDecision;
use super::hooks::{run_hooks, HookRunState};
use super::monitor::MonitorHandle;
use super::node::{run_node, NodeResult};
use super::outcome::{self, Ending, Stop, INTERRUPTED};
pub use super::run_report::RunReport;
use super::undo::{run_rollback, RollbackReport};
use crate::check::model::{FailurePolicy, HookEvent, NodeId};
use crate::record::event::{EventData, HostSummary, NodeStatus, NodeSummary, RollbackSummary, RunStatus, Summary};

struct NodeState {
    status: NodeStatus,
    duration_ms: u64,
    hosts: Vec<HostSummary>,
    error: Option<String>,
}

/// The SIGINT/SIGTERMs of a run, counted.
struct Signals {
    receiver: mpsc::UnboundedReceiver<()>,
    count: u32,
    open: bool,
}

impl Signals {
    fn new(receiver: mpsc::UnboundedReceiver<()>) -> Signals {
        Signals { receiver, count: 0, open: true }
    }

    /// Waits for the next signal and says whether it is the first; never
    /// resolves once nobody can send one any more.
    async fn next_is_first(&mut self) -> bool {
        while self.open {
            if self.receiver.recv().await.is_some() {
                self.count += 1;
                return self.count == 1;
            }
            self.open = false;
        }
        std::future::pending().await
    }
}

/// How the walk over the graph ended.
enum Walk {
    /// Nothing runs any more.
    Done,
    /// A second signal: stop everything at once.
    HardStop,
}

/// Walks the graph. `interrupts` delivers one message per SIGINT/SIGTERM.
pub async fn execute(ctx: Arc<RunContext>, interrupts: mpsc::UnboundedReceiver<()>) -> RunReport {
    let plan = ctx.plan();
    let pipeline_policy = plan.pipeline.on_failure;
    ctx.log.bus.emit(run_started(&ctx, plan.nodes.len(), format!("{pipeline_policy:?}").to_lowercase()));
    // `hard` stops everything, the rollback and hooks included (a second
    // signal); `forward` stops the forward work only.
    let hard = CancellationToken::new();
    let mut signals = Signals::new(interrupts);
    run_hooks(&ctx, &plan.hooks, HookEvent::Start, None, &HookRunState::new("running"), &hard).await;
    let mut scheduler = Scheduler::new(ctx.clone(), hard.child_token());
    if let Walk::HardStop = scheduler.walk(&mut signals).await {
        return hard_stop(&ctx, &hard, scheduler).await;
    }
    let (status, rollback) = match outcome::ending(scheduler.stop.as_ref(), pipeline_policy) {
        Ending::Status(status) => (status, Vec::new()),
        Ending::RollBack { reason } => match roll_back(&ctx, reason, &hard, &mut signals).await {
            Some(report) => (outcome::after_rollback(scheduler.stop.as_ref(), report.succeeded), report.entries),
            // The rollback future is no longer polled; its processes die with the groups.
            None => return hard_stop(&ctx, &hard, scheduler).await,
        },
    };
    let stop = scheduler.stop.take();
    let hook_context = HookRunState {
        status: outcome::status_word(status).to_string(),
        failed_node: stop.as_ref().and_then(Stop::node).map(str::to_string),
        error: stop.as_ref().map(|stop| stop.message().to_string()),
    };
    for event in outcome::final_hooks(status, !rollback.is_empty()) {
        run_hooks(&ctx, &plan.hooks, event, None, &hook_context, &hard).await;
    }
    finish(&ctx, status, scheduler.states, rollback, stop)
}

/// `run_started` for a run of `nodes` nodes under `on_failure` (a
/// `deploy rollback` too).
pub(crate) fn run_started(ctx: &RunContext, nodes: usize, on_failure: String) -> EventData {
    let plan = ctx.plan();
    let options = &ctx.run.options;
    EventData::RunStarted {
        run_id: options.run_id.clone(),
        pipeline: plan.pipeline.name.clone(),
        version: ctx.run.version.clone(),
        previous_version: ctx.run.previous_version().to_string(),
        plan_file: plan.plan_file.display().to_string(),
        nodes,
        max_parallel: options.max_parallel,
        on_failure,
        environments: options.selection.environments.clone(),
        limit: options.selection.limit.clone(),
    }
}

/// Undoes what ran; `None` when a second signal stopped it.
async fn roll_back(
    ctx: &Arc<RunContext>,
    reason: String,
    hard: &CancellationToken,
    signals: &mut Signals,
) -> Option<RollbackReport> {
    let rollback_run = run_rollback(ctx.clone(), reason, hard.clone());
    tokio::pin!(rollback_run);
    loop {
        tokio::select! {
            report = &mut rollback_run => return Some(report),
            first = signals.next_is_first() => {
                if !first {
                    return None;
                }
                ctx.log.bus.emit(EventData::warning("rolling back; press Ctrl-C again to stop at once"));
            }
        }
    }
}

/// The walk's state: each node's, what waits, what runs, why it stopped.
struct Scheduler {
    ctx: Arc<RunContext>,
    pipeline_policy: FailurePolicy,
    /// Cancels the forward work (not the rollback or the hooks).
    forward: CancellationToken,
    states: Vec<NodeState>,
    /// For each node, how many of its `needs` have not passed yet.
    missing: Vec<usize>,
    ready: VecDeque<NodeId>,
    /// Nodes decided only where a stage uses them, and by whom.
    evaluated_for: Vec<Option<String>>,
    running: JoinSet<(NodeId, NodeResult, u64)>,
    /// Monitors still watching stages that finished their rollout.
    monitors: JoinSet<(NodeId, GateDecision)>,
    stop: Option<Stop>,
}

impl Scheduler {
    fn new(ctx: Arc<RunContext>, forward: CancellationToken) -> Scheduler {
        let plan = ctx.plan();
        let count = plan.nodes.len();
        let states = (0..count)
            .map(|_| NodeState { status: NodeStatus::NotStarted, duration_ms: 0, hosts: Vec::new(), error: None })
            .collect();
        let missing: Vec<usize> =
            plan.nodes.iter().map(|node| node.needs.iter().filter(|n| n.0 < count).count()).collect();
        let ready = ctx.run.graph.order.iter().copied().filter(|id| missing[id.0] == 0).collect();
        Scheduler {
            pipeline_policy: plan.pipeline.on_failure,
            evaluated_for: evaluated_only_for_stages(plan),
            forward,
            states,
            missing,
            ready,
            running: JoinSet::new(),
            monitors: JoinSet::new(),
            stop: None,
            ctx,
        }
    }

    /// Starts what is ready and handles what happens until nothing runs.
    async fn walk(&mut self, signals: &mut Signals) -> Walk {
        loop {
            if self.stop.is_none() {
                self.start_ready();
            }
            if self.running.is_empty() && self.monitors.is_empty() {
                return Walk::Done;
            }
            tokio::select! {
                first = signals.next_is_first() => {
                    if !first {
                        return Walk::HardStop;
                    }
                    self.signal_received();
                }
                Some(joined) = self.monitors.join_next() => {
                    if let Ok((id, decision)) = joined {
                        self.monitor_fired(id, decision);
                    }
                }
                Some(joined) = self.running.join_next() => {
                    if let Ok((id, result, duration_ms)) = joined {
                        self.node_finished(id, result, duration_ms);
                    }
                }
            }
        }
    }

    /// Starts every ready node, or settles it without running: finished
    /// before a resume, deselected, or decided only where a stage uses it.
    fn start_ready(&mut self) {
        let ctx = self.ctx.clone();
        let plan = ctx.plan();
        while let Some(id) = self.ready.pop_front() {
            let node = plan.node(id);
            if ctx.run.options.resumed.node_done(&node.name) {
                // Counts as succeeded.
                self.skip(id, "finished before the run was resumed".to_string(), NodeStatus::Succeeded);
                self.release_dependents(id);
            } else if let Some(reason) = &node.deselected {
                self.skip(id, reason.clone(), NodeStatus::Skipped);
                self.release_dependents(id);
            } else if let Some(users) = &self.evaluated_for[id.0] {
                self.skip(id, format!("evaluated only for {users}"), NodeStatus::Skipped);
            } else if let Some(why) = ctx.log.unrecorded() {
                // A run that cannot record what it does starts nothing more.
                self.ready.push_front(id);
                let name = node.name.clone();
                let message = format!("stopped before {name}: {why}");
                self.stop_for(&message.clone(), Stop::Paused { node: name, message });
                break;
            } else {
                self.states[id.0].status = NodeStatus::Cancelled; // until it reports
                let ctx = ctx.clone();
                let cancel = self.forward.clone();
                self.running.spawn(async move {
                    let started = Instant::now();
                    let result = run_node(ctx, id, cancel).await;
                    (id, result, millis(started.elapsed()))
                });
            }
        }
    }

    fn skip(&mut self, id: NodeId, reason: String, status: NodeStatus) {
        self.ctx.log.bus.emit(EventData::NodeSkipped { node: self.ctx.plan().node(id).name.clone(), reason });
        self.states[id.0].status = status;
    }

    /// `id` passed: the nodes that were waiting only for it are ready.
    fn release_dependents(&mut self, id: NodeId) {
        for dependent in &self.ctx.run.graph.dependents[id.0] {
            let missing = &mut self.missing[dependent.0];
            *missing = missing.saturating_sub(1);
            if *missing == 0 {
                self.ready.push_back(*dependent);
            }
        }
    }

    /// Makes `stop` the reason the run stops if it supersedes the current
    /// one: says so, and cancels what runs if the policy demands it.
    fn stop_for(&mut self, reason: &str, stop: Stop) {
        if !stop.supersedes(self.stop.as_ref()) {
            return;
        }
        let policy = stop.policy(self.pipeline_policy);
        self.ctx
            .log
            .bus
            .emit(EventData::Stopping { reason: reason.to_string(), policy: format!("{policy:?}").to_lowercase() });
        if stop.cancels(self.pipeline_policy) {
            self.forward.cancel();
        }
        self.stop = Some(stop);
    }

    /// A first SIGINT/SIGTERM.
    fn signal_received(&mut self) {
        if let Some(node) = self.only_gates_waiting() {
            let message = format!(
                "interrupted while {node} waited; the stages that finished are kept, nothing was undone \
                 (continue with `deploy resume {}`, or undo with `deploy rollback`)",
                self.ctx.run.options.run_id
            );
            self.ctx.log.bus.emit(EventData::warning(&message));
            self.forward.cancel();
            self.stop_for(INTERRUPTED, Stop::InterruptedWaiting { node, message });
            return;
        }
        self.ctx
            .log
            .bus
            .emit(EventData::warning("interrupted: no new work starts; press Ctrl-C again to stop at once"));
        // Cancels what runs even when a failure that lets it finish decided.
        if Stop::Interrupted.cancels(self.pipeline_policy) {
            self.forward.cancel();
        }
        self.stop_for(INTERRUPTED, Stop::Interrupted);
    }

    /// The first of the running nodes when every one of them is a gate
    /// that only waits (a `wait` or a `window`, no `check` or approval) and
    /// no monitor watches a stage: a signal then stops the waiting, not the
    /// release (docs/runtime.md "Signals").
    fn only_gates_waiting(&self) -> Option<String> {
        if self.stop.is_some() || !self.monitors.is_empty() {
            return None;
        }
        let plan = self.ctx.plan();
        // A node spawned and not reported yet is `Cancelled` until it reports.
        let running: Vec<_> =
            plan.nodes.iter().filter(|node| self.states[node.id.0].status == NodeStatus::Cancelled).collect();
        let waits = |node: &&crate::check::model::NodeDef| {
            node.gate.as_deref().is_some_and(|gate| {
                (gate.wait.is_some() || gate.window.is_some()) && gate.check.is_none() && gate.approve.is_none()
            }) && node.steps.is_empty()
        };
        (!running.is_empty() && running.iter().all(waits)).then(|| running[0].name.clone())
    }

    /// A monitor watching a stage after its rollout decided.
    fn monitor_fired(&mut self, id: NodeId, decision: GateDecision) {
        let GateDecision::Stop { message, policy } = decision else { return };
        let name = self.ctx.plan().node(id).name.clone();
        let state = &mut self.states[id.0];
        state.status = if policy == FailurePolicy::Pause { NodeStatus::Paused } else { NodeStatus::Failed };
        state.error = Some(message.clone());
        let stop = if policy == FailurePolicy::Pause {
            Stop::Paused { node: name.clone(), message }
        } else {
            Stop::Failure { node: name.clone(), host: None, message, policy }
        };
        self.stop_for(&format!("the monitor of {name} failed"), stop);
    }

    fn node_finished(&mut self, id: NodeId, mut result: NodeResult, duration_ms: u64) {
        if let Some(handle) = result.monitor.take() {
            self.monitors.spawn(async move {
                let stage = handle.stage;
                let decision = handle_task(handle).await;
                (stage, decision)
            });
        }
        let name = self.ctx.plan().node(id).name.clone();
        let state = &mut self.states[id.0];
        state.status = result.status;
        state.duration_ms = duration_ms;
        state.hosts = result.hosts;
        state.error = result.error.clone();
        match result.status {
            NodeStatus::Succeeded | NodeStatus::Skipped => self.release_dependents(id),
            NodeStatus::Failed => {
                let message = result.error.unwrap_or_else(|| "failed".into());
                let failure =
                    Stop::Failure { node: name.clone(), host: result.failed_host, message, policy: result.policy };
                self.stop_for(&format!("{name} failed"), failure);
            }
            NodeStatus::Paused => {
                let message = result.error.unwrap_or_else(|| "paused".into());
                self.stop_for(&message.clone(), Stop::Paused { node: name, message });
            }
            NodeStatus::Cancelled | NodeStatus::NotStarted => {}
        }
    }
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

/// The monitor's task as a future of its decision.
fn handle_task(handle: MonitorHandle) -> impl std::future::Future<Output = GateDecision> {
    let MonitorHandle { task, .. } = handle;
    async move { task.await.unwrap_or(GateDecision::Cancelled) }
}

/// A second signal: kill every process group, end every task, report.
async fn hard_stop(ctx: &Arc<RunContext>, hard: &CancellationToken, mut scheduler: Scheduler) -> RunReport {
    hard.cancel();
    scheduler.monitors.abort_all();
    ctx.kill_all();
    scheduler.running.abort_all();
    while scheduler.running.join_next().await.is_some() {}
    // A process spawned while the tasks were being aborted.
    ctx.kill_all();
    finish(ctx, RunStatus::Interrupted, scheduler.states, Vec::new(), Some(Stop::Interrupted))
}

/// Each host that failed while its stage succeeded (`max_failures`), as a warning.
fn tolerated_failures(nodes: &[NodeSummary], version: &str) -> Vec<String> {
    nodes
        .iter()
        .filter(|node| node.status == NodeStatus::Succeeded)
        .flat_map(|node| node.hosts.iter())
        .filter(|host| host.status == NodeStatus::Failed)
        .map(|host| crate::record::warning::tolerated_failure(&host.host, version))
        .collect()
}

fn finish(
    ctx: &RunContext,
    status: RunStatus,
    states: Vec<NodeState>,
    rollback: Vec<RollbackSummary>,
    stop: Option<Stop>,
) -> RunReport {
    let plan = ctx.plan();
    let nodes: Vec<NodeSummary> = ctx
        .run
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
    let warnings = tolerated_failures(&nodes, &ctx.run.version);
    let summary = Summary { nodes, rollback, failure: stop.map(Stop::into_summary), warnings };
    let duration_ms = ctx.elapsed_ms();
    ctx.log.bus.emit(EventData::RunFinished {
        status,
        exit_code: status.exit_code().code(),
        duration_ms,
        summary: summary.clone(),
    });
    RunReport { status, summary, duration_ms }
}
