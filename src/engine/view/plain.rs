//! Plain, line-oriented output for logs (stdout is not a terminal): every
//! line is prefixed with its node and host.

use std::io::Write;

use super::{format_ms, prefix, summary};
use crate::record::bus::EventSink;
use crate::record::event::{Event, EventData, EventFamily, NodeStatus, RollbackStatus};

pub struct PlainView<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> PlainView<W> {
    pub fn new(out: W) -> PlainView<W> {
        PlainView { out }
    }
}

/// The plain text of one event, or `None` for events it does not show.
/// One function per family of event (`EventData::family`).
pub fn line(event: &Event) -> Option<String> {
    match event.data.family() {
        EventFamily::Run => run_line(&event.data),
        EventFamily::Node => node_line(&event.data),
        EventFamily::Gate => gate_line(&event.data),
        EventFamily::Approval => approval_line(&event.data),
        EventFamily::Rollout => rollout_line(&event.data),
        EventFamily::Hook => hook_line(&event.data),
        EventFamily::Rollback => rollback_line(&event.data),
    }
}

/// The plain text of the run as a whole: start, end, stopping, warnings, actions.
fn run_line(data: &EventData) -> Option<String> {
    Some(match data {
        EventData::RunStarted { pipeline, version, run_id, max_parallel, .. } => {
            format!(
                "deploy: running pipeline \"{pipeline}\" version {version} (run {run_id}, max-parallel {max_parallel})"
            )
        }
        EventData::Stopping { reason, policy } => format!("deploy: {reason}; stopping ({policy})"),
        EventData::Warning { message, .. } => format!("deploy: warning: {message}"),
        EventData::ProcessStarted { .. } | EventData::ProcessEnded { .. } | EventData::ProcessReaped { .. } => {
            return None
        }
        EventData::Action { message, .. } => format!("deploy: {message}"),
        EventData::RunFinished { status, duration_ms, summary, .. } => {
            summary::render(*status, *duration_ms, summary).trim_end().to_string()
        }
        _ => return None,
    })
}

/// The plain text of a node or one host of it: start, output, end, retry.
fn node_line(data: &EventData) -> Option<String> {
    Some(match data {
        EventData::NodeStarted { node, host: None, hosts, kind, .. } if hosts.is_empty() => {
            format!("{} {kind} started", prefix(node, None))
        }
        EventData::NodeStarted { node, host: None, hosts, kind, .. } => {
            format!("{} {kind} started on {}", prefix(node, None), hosts.join(", "))
        }
        EventData::NodeStarted { node, host: Some(host), attempt, .. } => match attempt {
            Some(attempt) if *attempt > 1 => format!("{} started (attempt {attempt})", prefix(node, Some(host))),
            _ => format!("{} started", prefix(node, Some(host))),
        },
        EventData::StepOutput { node, host, line, rollback, .. } => {
            let node = if *rollback { format!("rollback {node}") } else { node.clone() };
            format!("{} {line}", prefix(&node, host.as_deref()))
        }
        EventData::NodeFinished { node, host, status, duration_ms, error, .. } => {
            let head = format!("{} {} in {}", prefix(node, host.as_deref()), status.word(), format_ms(*duration_ms));
            match (status, error) {
                (NodeStatus::Failed | NodeStatus::Paused, Some(error)) => format!("{head}: {error}"),
                _ => head,
            }
        }
        EventData::NodeSkipped { node, reason } => format!("{} skipped: {reason}", prefix(node, None)),
        EventData::Retry { node, host, attempt, max_attempts, delay_ms, error } => format!(
            "{} attempt {} failed: {error}; retrying ({attempt}/{max_attempts}) in {}",
            prefix(node, host.as_deref()),
            attempt - 1,
            format_ms(*delay_ms)
        ),
        _ => return None,
    })
}

/// The plain text of gates and monitors.
fn gate_line(data: &EventData) -> Option<String> {
    Some(match data {
        EventData::GateWaiting { node, reason, until, stage } => {
            let head = prefix(&gate_label(node, stage.as_deref()), None);
            match until {
                Some(until) => format!("{head} {reason} (until {until})"),
                None => format!("{head} {reason}"),
            }
        }
        EventData::GateEvaluation { node, stage, role, attempt, outcome, message, remaining_ms } => {
            let head = prefix(&gate_label(node, stage.as_deref()), None);
            let role = role.as_deref().map(|r| format!("{r} ")).unwrap_or_default();
            let message = message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
            format!(
                "{head} {role}evaluation {attempt}: {}{message} ({} left)",
                outcome_word(*outcome),
                format_ms(*remaining_ms)
            )
        }
        EventData::GateOutcome { node, outcome, message, stage, policy, .. } => {
            let head = prefix(&gate_label(node, stage.as_deref()), None);
            let policy = match policy.as_deref() {
                Some(policy) if *outcome != crate::record::event::GateOutcome::Pass => format!(" → {policy}"),
                _ => String::new(),
            };
            match message {
                Some(message) => format!("{head} outcome: {}: {message}{policy}", gate_outcome_word(*outcome)),
                None => format!("{head} outcome: {}{policy}", gate_outcome_word(*outcome)),
            }
        }
        EventData::MonitorStarted { node, gate, duration_ms } => {
            format!(
                "{} monitored by {gate} during the rollout and {} after",
                prefix(node, None),
                format_ms(*duration_ms)
            )
        }
        EventData::MonitorFinished { node, gate, outcome, message } => match message {
            Some(message) => {
                format!("{} monitor {gate}: {}: {message}", prefix(node, None), gate_outcome_word(*outcome))
            }
            None => format!("{} monitor {gate}: {}", prefix(node, None), gate_outcome_word(*outcome)),
        },
        _ => return None,
    })
}

/// The plain text of approvals.
fn approval_line(data: &EventData) -> Option<String> {
    Some(match data {
        EventData::ApprovalRequested { node, question, approver, .. } => {
            format!("{} asking {approver}: {question}", prefix(node, None))
        }
        EventData::Approved { node, approver, .. } => format!("{} approved by {approver}", prefix(node, None)),
        EventData::ApprovalRefused { node, reason, .. } => format!("{} approval refused: {reason}", prefix(node, None)),
        _ => return None,
    })
}

/// The plain text of a strategy's steps and pauses.
fn rollout_line(data: &EventData) -> Option<String> {
    Some(match data {
        EventData::RolloutStep { node, phase, index, count, label, hosts, .. } => {
            format!("{} {phase} {index}/{count} ({label}): {}", prefix(node, None), hosts.join(", "))
        }
        EventData::RolloutPause { node, duration_ms, until } => {
            format!("{} pausing {} (until {until})", prefix(node, None), format_ms(*duration_ms))
        }
        EventData::PreviousKept { node, version, until, .. } => {
            format!("{} keeping the previous version {version} until {until}", prefix(node, None))
        }
        _ => return None,
    })
}

/// The plain text of hooks.
fn hook_line(data: &EventData) -> Option<String> {
    Some(match data {
        EventData::HookStarted { node, event } => {
            format!("{} on {event} started", prefix(node.as_deref().unwrap_or("pipeline"), None))
        }
        EventData::HookFinished { node, event, status, duration_ms, error } => {
            let head = prefix(node.as_deref().unwrap_or("pipeline"), None);
            match error {
                Some(error) => format!("{head} on {event} {status:?} in {}: {error}", format_ms(*duration_ms)),
                None => format!("{head} on {event} {status:?} in {}", format_ms(*duration_ms)),
            }
        }
        _ => return None,
    })
}

/// The plain text of the rollback.
fn rollback_line(data: &EventData) -> Option<String> {
    Some(match data {
        EventData::RollbackStarted { units, .. } if units.is_empty() => "deploy: rollback: nothing to undo".to_string(),
        EventData::RollbackStarted { units, .. } => format!("deploy: rolling back {}", units.join(", ")),
        EventData::RollbackStepStarted { node, host, switch_back } => {
            let what = if *switch_back { "switch back" } else { "rollback" };
            format!("{} started", prefix(&format!("{what} {node}"), host.as_deref()))
        }
        EventData::RollbackStep { node, host, status, duration_ms, error, switch_back } => {
            let what = if *switch_back { "switch back" } else { "rollback" };
            let head = prefix(&format!("{what} {node}"), host.as_deref());
            match (status, error) {
                (RollbackStatus::Succeeded, _) => format!("{head} undone in {}", format_ms(*duration_ms)),
                (RollbackStatus::Failed, Some(error)) => format!("{head} rollback failed: {error}"),
                (_, Some(error)) => format!("{head} {error}"),
                (status, None) => format!("{head} {status:?}"),
            }
        }
        EventData::RollbackFinished { succeeded: true, duration_ms, .. } => {
            format!("deploy: rollback finished in {}", format_ms(*duration_ms))
        }
        EventData::RollbackFinished { failed, .. } => {
            format!("deploy: rollback failed for {}", failed.join(", "))
        }
        _ => return None,
    })
}

/// `gate` or `gate for stage`.
pub fn gate_label(node: &str, stage: Option<&str>) -> String {
    match stage {
        Some(stage) => format!("{node} for {stage}"),
        None => node.to_string(),
    }
}

pub fn outcome_word(outcome: crate::record::event::EvaluationOutcome) -> &'static str {
    use crate::record::event::EvaluationOutcome;
    match outcome {
        EvaluationOutcome::Pass => "pass",
        EvaluationOutcome::Fail => "fail",
        EvaluationOutcome::Inconclusive => "inconclusive",
        EvaluationOutcome::NoData => "no data",
        EvaluationOutcome::Error => "error",
    }
}

pub fn gate_outcome_word(outcome: crate::record::event::GateOutcome) -> &'static str {
    use crate::record::event::GateOutcome;
    match outcome {
        GateOutcome::Pass => "pass",
        GateOutcome::Fail => "fail",
        GateOutcome::Inconclusive => "inconclusive",
        GateOutcome::NoData => "no data",
    }
}

impl<W: Write + Send> EventSink for PlainView<W> {
    fn handle(&mut self, event: &Event) {
        if let Some(text) = line(event) {
            let _ = writeln!(self.out, "{text}");
        }
    }

    fn close(&mut self) {
        let _ = self.out.flush();
    }
}
