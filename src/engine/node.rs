//! One node of the graph: its `when`, the approval and window its
//! environment demands, then the stage's rollout (with its hooks and
//! `monitor`) or the gate's decision; and how it ended.

use std::sync::Arc;
use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use super::context::{millis, RunContext};
use super::gates::{self, GateDecision};
use super::hooks::{run_hooks, HookRunState};
use super::monitor;
pub use super::node_result::NodeResult;
use super::rollout::run_stage;
use crate::check::model::{FailurePolicy, HookEvent, NodeId, NodeKind};
use crate::record::event::{EventData, NodeStatus};

/// One node: its `when`, the approval and window its environment demands,
/// then the stage's hosts or the gate's decision.
pub(crate) async fn run_node(ctx: Arc<RunContext>, id: NodeId, cancel: CancellationToken) -> NodeResult {
    let node = ctx.plan().node(id);
    let policy = ctx.plan().pipeline.on_failure;
    if let Some(when) = &node.when {
        let context = ctx.script_context(node, None, 1);
        let log = super::evaluate::log_sink(&super::steps::output_sink(&ctx, &node.name, None, false));
        match super::evaluate::condition(&ctx, when, context, log).await {
            Ok(true) => {}
            Ok(false) => {
                ctx.log.bus.emit(EventData::NodeSkipped {
                    node: node.name.clone(),
                    reason: format!("`when` is false: {}", when.source.trim()),
                });
                return NodeResult { status: NodeStatus::Skipped, ..NodeResult::succeeded() };
            }
            Err(message) => {
                let error = format!("`when` could not be evaluated: {message}");
                ctx.log.bus.emit(EventData::NodeFinished {
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
    ctx.log.bus.emit(EventData::NodeStarted {
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
    ctx.log.bus.emit(EventData::NodeFinished {
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
    run_hooks(ctx, &node.hooks, HookEvent::Start, Some(node), &HookRunState::new("running"), &cancel).await;
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
        let context = HookRunState {
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
