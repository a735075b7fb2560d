//! The final summary: each node's status and duration, what was rolled
//! back, the total time, and why the run failed.

use super::format_ms;
use crate::record::event::{unit_label, NodeStatus, RollbackStatus, RunStatus, Summary};

pub fn render(status: RunStatus, duration_ms: u64, summary: &Summary) -> String {
    let mut out = String::new();
    out.push('\n');
    let width = summary.nodes.iter().map(|node| node.node.len()).max().unwrap_or(0);
    for node in &summary.nodes {
        let mut line = format!("  {} {:width$}  {:<11}", mark(node.status), node.node, node.status.word());
        if !matches!(node.status, NodeStatus::NotStarted | NodeStatus::Skipped) {
            line.push_str(&format!(" {:>8}", format_ms(node.duration_ms)));
        }
        if !node.hosts.is_empty() {
            let hosts: Vec<String> =
                node.hosts.iter().map(|host| format!("{} {}", mark(host.status), host.host)).collect();
            line.push_str(&format!("  [{}]", hosts.join(", ")));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if !summary.rollback.is_empty() {
        out.push_str("\nrolled back (most recent first):\n");
        for entry in &summary.rollback {
            let label = unit_label(&entry.node, entry.host.as_deref());
            let word = match entry.status {
                RollbackStatus::Succeeded => "undone",
                RollbackStatus::Failed => "rollback failed",
                RollbackStatus::Irreversible => "irreversible, left as is",
                RollbackStatus::Missing => "no rollback block, left as is",
                RollbackStatus::Cancelled => "cancelled",
            };
            match (&entry.error, entry.status) {
                (Some(error), RollbackStatus::Failed) => out.push_str(&format!("  {label}: {word}: {error}\n")),
                _ => out.push_str(&format!("  {label}: {word}\n")),
            }
        }
    }
    if !summary.warnings.is_empty() {
        out.push('\n');
        for warning in &summary.warnings {
            out.push_str(&format!("warning: {warning}\n"));
        }
    }
    if let Some(failure) = &summary.failure {
        let place = match (&failure.node, &failure.host) {
            (Some(node), Some(host)) => format!("{node} on {host}: "),
            (Some(node), None) => format!("{node}: "),
            _ => String::new(),
        };
        let label = if status == RunStatus::Paused { "paused" } else { "why" };
        // A stage's error names its host already.
        let message = match &failure.host {
            Some(host) => failure.message.strip_prefix(&format!("{host}: ")).unwrap_or(&failure.message),
            None => &failure.message,
        };
        // A command's error may hold any byte: a NUL or an escape is shown escaped.
        let message = crate::diagnostic::shown(message.to_string());
        out.push_str(&format!("\n{label}: {place}{message}\n"));
    }
    out.push_str(&format!("\nrun {} in {}\n", status.word(), format_ms(duration_ms)));
    out
}

fn mark(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Succeeded => "ok",
        NodeStatus::Failed => "!!",
        NodeStatus::Skipped => "--",
        NodeStatus::Cancelled => "xx",
        NodeStatus::Paused => "||",
        NodeStatus::NotStarted => "..",
    }
}
