//! Lifecycle hooks: `on EVENT { steps }` in the pipeline block (`start`,
//! `success`, `failure`, `rollback`, `paused`) and in a stage (`start`,
//! `success`, `failure`). Their steps run locally, once, and see the run's
//! context: `DEPLOY_STATUS`, `DEPLOY_FAILED_NODE`, `DEPLOY_ERROR` and
//! `DEPLOY_HOOK` for `run`, the variables `status`, `failed_node`, `error`
//! and `hook` for `script`. A failing hook is reported (`hook_finished` with
//! `failed`, and a warning) and never changes the run's outcome or exit code.

use std::sync::Arc;
use tokio::time::Instant;

use rhai::Dynamic;
use tokio_util::sync::CancellationToken;

use super::context::{millis, RunContext};
use super::steps::{run_steps, StepSite};
use crate::check::model::{HookDef, HookEvent, NodeDef};
use crate::record::event::{EventData, HookStatus};

/// The state of the run a hook sees (its `status`, the failed node, the error).
#[derive(Clone, Debug, Default)]
pub struct HookRunState {
    /// `running`, `succeeded`, `failed`, `rolled_back`, `aborted`, `paused`, ...
    pub status: String,
    pub failed_node: Option<String>,
    pub error: Option<String>,
}

impl HookRunState {
    pub fn new(status: &str) -> HookRunState {
        HookRunState { status: status.to_string(), ..HookRunState::default() }
    }
}

/// Runs the hooks of `event` among `hooks`, in order, as part of `node`
/// (`None`: the pipeline's hooks).
pub async fn run_hooks(
    ctx: &Arc<RunContext>,
    hooks: &[HookDef],
    event: HookEvent,
    node: Option<&NodeDef>,
    context: &HookRunState,
    cancel: &CancellationToken,
) {
    for hook in hooks.iter().filter(|hook| hook.event == event) {
        let owner = node.unwrap_or(&ctx.run.pipeline_node);
        let node_name = node.map(|n| n.name.clone());
        ctx.log.bus.emit(EventData::HookStarted { node: node_name.clone(), event: event.word().to_string() });
        let started = Instant::now();
        let failed_node = context.failed_node.clone().unwrap_or_default();
        let error = context.error.clone().unwrap_or_default();
        let site = StepSite {
            hook: Some(event.word()),
            env: vec![
                ("DEPLOY_HOOK".to_string(), event.word().to_string()),
                ("DEPLOY_STATUS".to_string(), context.status.clone()),
                ("DEPLOY_FAILED_NODE".to_string(), failed_node.clone()),
                ("DEPLOY_ERROR".to_string(), error.clone()),
            ],
            vars: vec![
                ("hook".to_string(), Dynamic::from(event.word().to_string())),
                ("status".to_string(), Dynamic::from(context.status.clone())),
                ("failed_node".to_string(), Dynamic::from(failed_node)),
                ("error".to_string(), Dynamic::from(error)),
            ],
            ..StepSite::default()
        };
        let hook_cancel = cancel.child_token();
        let timer = node.and_then(|n| n.timeout).map(|limit| {
            let token = hook_cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                token.cancel();
            })
        });
        let result = run_steps(ctx, owner, &hook.steps, None, 1, &site, &hook_cancel).await;
        if let Some(timer) = timer {
            timer.abort();
        }
        let (status, error) = match result {
            Ok(()) => (HookStatus::Succeeded, None),
            Err(failure) if failure.cancelled && cancel.is_cancelled() => (HookStatus::Cancelled, None),
            Err(failure) if failure.cancelled => (HookStatus::Failed, Some("timed out".to_string())),
            Err(failure) => (HookStatus::Failed, Some(failure.message)),
        };
        if let Some(error) = &error {
            let owner = node_name.as_deref().map(|n| format!(" of {n}")).unwrap_or_default();
            ctx.log.bus.emit(EventData::warning(format!(
                "the `on {}` hook{owner} failed: {error} (the run's outcome is unchanged)",
                event.word()
            )));
        }
        ctx.log.bus.emit(EventData::HookFinished {
            node: node_name,
            event: event.word().to_string(),
            status,
            duration_ms: millis(started.elapsed()),
            error,
        });
    }
}

/// The stand-in node the pipeline's hooks run as: no target, no bindings,
/// named after the pipeline.
pub fn pipeline_node(plan: &crate::check::model::Plan) -> NodeDef {
    use crate::check::model::{NodeId, NodeKind};
    let location = plan.pipeline.location.unwrap_or_default();
    NodeDef::new(NodeId(usize::MAX), plan.pipeline.name.clone(), NodeKind::Stage, location, location)
}
