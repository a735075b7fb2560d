//! A gate's work: in order `wait`, `check`, `approve`, `window`. Each part
//! passes or ends the gate with an outcome whose policy (`on_fail`,
//! `on_inconclusive`, `on_no_data`) decides what the run does. Gates hold no
//! `--max-parallel` permit: they run no command.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::context::RunContext;
use super::event::{EventData, GateOutcome, NodeStatus};
use super::executor::NodeResult;
use super::interpolate::Quoting;
use super::scripts::{CheckOutcome, ScriptLogFn};
use super::steps::output_sink;
use crate::check::format_duration;
use crate::check::model::{Approval, FailurePolicy, NodeDef, NodeId, OutcomePolicy};
use crate::check::window::Window;

pub async fn run_gate(ctx: Arc<RunContext>, id: NodeId, cancel: CancellationToken) -> NodeResult {
    let node = ctx.plan().node(id);
    let Some(gate) = &node.gate else {
        return NodeResult::succeeded();
    };
    if let Some(wait) = gate.wait {
        ctx.bus.emit(EventData::GateWaiting {
            node: node.name.clone(),
            reason: format!("waiting {}", format_duration(wait)),
            until: Some(in_rfc3339(wait)),
        });
        if !sleep_or_cancel(wait, &cancel).await {
            return NodeResult::cancelled();
        }
    }
    if let Some(check) = &gate.check {
        ctx.bus.emit(EventData::GateWaiting {
            node: node.name.clone(),
            reason: format!("checking every {} within {}", format_duration(check.every), format_duration(check.within)),
            until: Some(in_rfc3339(check.within)),
        });
        let deadline = Instant::now() + check.within;
        let output = output_sink(&ctx, &node.name, None, false);
        let log: ScriptLogFn = Arc::new(move |line| output(super::event::Stream::Log, line));
        let mut attempt = 0;
        let last = loop {
            attempt += 1;
            let vars = ctx.script_vars(node, None, attempt);
            let runner = ctx.scripts.clone();
            let script = check.script.clone();
            let log = log.clone();
            let evaluation = tokio::task::spawn_blocking(move || runner.check(&script, &vars, &log));
            let outcome = tokio::select! {
                joined = evaluation => joined.unwrap_or_else(|error| CheckOutcome::Error(format!("the check stopped: {error}"))),
                () = cancel.cancelled() => return NodeResult::cancelled(),
            };
            match outcome {
                CheckOutcome::Pass => break CheckOutcome::Pass,
                // A broken check does not get better by asking again.
                CheckOutcome::Error(_) => break outcome,
                _ if Instant::now() + check.every >= deadline => break outcome,
                _ => {}
            }
            if !sleep_or_cancel(check.every, &cancel).await {
                return NodeResult::cancelled();
            }
        };
        let (outcome, message, policy) = match last {
            CheckOutcome::Pass => (GateOutcome::Pass, None, OutcomePolicy::Continue),
            CheckOutcome::Fail(message) => (GateOutcome::Fail, Some(message), gate.on_fail),
            CheckOutcome::Error(message) => {
                (GateOutcome::Fail, Some(format!("the check failed: {message}")), gate.on_fail)
            }
            CheckOutcome::Inconclusive(message) => (GateOutcome::Inconclusive, Some(message), gate.on_inconclusive),
            CheckOutcome::NoData(message) => (GateOutcome::NoData, Some(message), gate.on_no_data),
        };
        ctx.bus.emit(EventData::GateOutcome { node: node.name.clone(), outcome, message: message.clone() });
        if outcome != GateOutcome::Pass {
            let word = match outcome {
                GateOutcome::Fail => "failed",
                GateOutcome::Inconclusive => "was inconclusive",
                _ => "had no data",
            };
            let text = match message.filter(|m| !m.is_empty()) {
                Some(message) => format!("check {word}: {message}"),
                None => format!("check {word}"),
            };
            match policy {
                OutcomePolicy::Continue => ctx
                    .bus
                    .emit(EventData::Warning { message: format!("gate {}: {text}; continuing by policy", node.name) }),
                OutcomePolicy::Rollback => return NodeResult::failed(text, FailurePolicy::Rollback),
                OutcomePolicy::Pause => return NodeResult::failed(text, FailurePolicy::Pause),
                OutcomePolicy::Abort => return NodeResult::failed(text, FailurePolicy::Abort),
            }
        }
    }
    if let Some(approval) = &gate.approve {
        if let Some(paused) = approve(&ctx, node, Some(approval)) {
            return paused;
        }
    }
    if let Some(window) = &gate.window {
        if !wait_for_window(&ctx, node, window, &cancel).await {
            return NodeResult::cancelled();
        }
    }
    NodeResult::succeeded()
}

/// Approves a gate from `--yes`/`--approve`, or pauses the run. `approval`
/// is `None` for the approval a protected environment demands of a stage.
pub fn approve(ctx: &RunContext, node: &NodeDef, approval: Option<&Approval>) -> Option<NodeResult> {
    let question = match approval {
        Some(approval) => ctx
            .scope(node, None, 1)
            .render(&approval.question, Quoting::None)
            .unwrap_or_else(|_| format!("Approve {}?", node.name)),
        None => format!("Run {} in a protected environment?", node.name),
    };
    let approvals = &ctx.options.approvals;
    if !approvals.approves(&node.name) {
        return Some(NodeResult::paused(format!(
            "{} waits for approval: \"{question}\" (run again with --approve {} or --yes)",
            node.name, node.name
        )));
    }
    let allowed: &[String] = approval.map(|a| a.by.as_slice()).unwrap_or_default();
    let approver = approvals.approver_for(&node.name, allowed);
    if !allowed.is_empty() && !allowed.iter().any(|name| name == approver) {
        return Some(NodeResult::paused(format!(
            "{} may only be approved by {}; `{}` is not one of them (use --as NAME)",
            node.name,
            allowed.join(", "),
            approver
        )));
    }
    ctx.bus.emit(EventData::Approved { node: node.name.clone(), approver: approver.to_string(), question });
    None
}

/// Waits until `window` is open; `false` when cancelled first.
pub async fn wait_for_window(ctx: &RunContext, node: &NodeDef, window: &Window, cancel: &CancellationToken) -> bool {
    let now = chrono::Utc::now();
    if window.contains(now) {
        return true;
    }
    let Some(opens) = window.next_open(now) else {
        ctx.bus
            .emit(EventData::Warning { message: format!("{}: the window `{}` never opens", node.name, window.text) });
        return true;
    };
    ctx.bus.emit(EventData::GateWaiting {
        node: node.name.clone(),
        reason: format!("outside the window `{}`", window.text),
        until: Some(opens.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    });
    let wait = (opens - now).to_std().unwrap_or_default();
    sleep_or_cancel(wait, cancel).await
}

/// Sleeps; `false` when cancelled first.
pub async fn sleep_or_cancel(duration: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        () = cancel.cancelled() => false,
    }
}

fn in_rfc3339(duration: Duration) -> String {
    let later = chrono::Utc::now() + chrono::Duration::from_std(duration).unwrap_or_default();
    later.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl NodeResult {
    pub fn succeeded() -> NodeResult {
        NodeResult::with_status(NodeStatus::Succeeded, None, FailurePolicy::Rollback)
    }

    pub fn cancelled() -> NodeResult {
        NodeResult::with_status(NodeStatus::Cancelled, None, FailurePolicy::Rollback)
    }

    pub fn failed(error: String, policy: FailurePolicy) -> NodeResult {
        NodeResult::with_status(NodeStatus::Failed, Some(error), policy)
    }

    pub fn paused(reason: String) -> NodeResult {
        NodeResult::with_status(NodeStatus::Paused, Some(reason), FailurePolicy::Pause)
    }

    fn with_status(status: NodeStatus, error: Option<String>, policy: FailurePolicy) -> NodeResult {
        NodeResult { status, error, exit_code: None, failed_host: None, hosts: Vec::new(), policy }
    }
}
