//! Plain, line-oriented output for logs (stdout is not a terminal): every
//! line is prefixed with its node and host.

use std::io::Write;

use super::{format_ms, prefix, summary};
use crate::engine::bus::EventSink;
use crate::engine::event::{Event, EventData, NodeStatus, RollbackStatus};

pub struct PlainView<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> PlainView<W> {
    pub fn new(out: W) -> PlainView<W> {
        PlainView { out }
    }
}

/// The plain text of one event, or `None` for events it does not show.
pub fn line(event: &Event) -> Option<String> {
    Some(match &event.data {
        EventData::RunStarted { pipeline, version, run_id, max_parallel, .. } => {
            format!(
                "deploy: running pipeline \"{pipeline}\" version {version} (run {run_id}, max-parallel {max_parallel})"
            )
        }
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
        EventData::GateWaiting { node, reason, until } => match until {
            Some(until) => format!("{} {reason} (until {until})", prefix(node, None)),
            None => format!("{} {reason}", prefix(node, None)),
        },
        EventData::GateOutcome { node, outcome, message } => match message {
            Some(message) => format!("{} check: {outcome:?}: {message}", prefix(node, None)),
            None => format!("{} check: {outcome:?}", prefix(node, None)),
        },
        EventData::Approved { node, approver, .. } => format!("{} approved by {approver}", prefix(node, None)),
        EventData::Stopping { reason, policy } => format!("deploy: {reason}; stopping ({policy})"),
        EventData::RollbackStarted { units, .. } if units.is_empty() => "deploy: rollback: nothing to undo".to_string(),
        EventData::RollbackStarted { units, .. } => format!("deploy: rolling back {}", units.join(", ")),
        EventData::RollbackStepStarted { node, host } => {
            format!("{} started", prefix(&format!("rollback {node}"), host.as_deref()))
        }
        EventData::RollbackStep { node, host, status, duration_ms, error } => {
            let head = prefix(&format!("rollback {node}"), host.as_deref());
            match (status, error) {
                (RollbackStatus::Succeeded, _) => format!("{head} undone in {}", format_ms(*duration_ms)),
                (RollbackStatus::Failed, Some(error)) => format!("{head} ROLLBACK FAILED: {error}"),
                (_, Some(error)) => format!("{head} {error}"),
                (status, None) => format!("{head} {status:?}"),
            }
        }
        EventData::RollbackFinished { succeeded: true, duration_ms, .. } => {
            format!("deploy: rollback finished in {}", format_ms(*duration_ms))
        }
        EventData::RollbackFinished { failed, .. } => {
            format!("deploy: ROLLBACK FAILED for {}", failed.join(", "))
        }
        EventData::Warning { message } => format!("deploy: warning: {message}"),
        EventData::RunFinished { status, duration_ms, summary, .. } => {
            summary::render(*status, *duration_ms, summary).trim_end().to_string()
        }
    })
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
