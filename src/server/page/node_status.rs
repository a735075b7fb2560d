//! What the journal says about each node of a run: its status, its hosts,
//! its rollout step, its gate's last outcome, its retries and its output.
//! The page's script folds the live events the same way (assets/dashboard.js).

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Default, Clone)]
pub struct HostView {
    pub status: String,
    pub attempt: Option<i64>,
    pub batch: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct NodeView {
    pub status: String,
    pub hosts: BTreeMap<String, HostView>,
    /// `step 2/4: 25%` for a canary, `batch 1/3` for a rolling stage.
    pub rollout: Option<String>,
    /// The gate's last outcome, with its message.
    pub outcome: Option<String>,
    /// When a waiting gate gives up or goes on (ms since the epoch), or how long a check has left.
    pub until: Option<String>,
    pub retries: u32,
    /// (host, stream, line), `host` empty for the node itself.
    pub output: Vec<(String, String, String)>,
}

fn text<'a>(event: &'a Value, key: &str) -> &'a str {
    event.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Every node's view after `journal` (oldest first); `gates` are the gate names.
pub fn fold(journal: &[Value], is_gate: &dyn Fn(&str) -> bool) -> BTreeMap<String, NodeView> {
    let mut nodes: BTreeMap<String, NodeView> = BTreeMap::new();
    for event in journal {
        let node = text(event, "node");
        if node.is_empty() {
            continue;
        }
        let view = nodes.entry(node.to_string()).or_default();
        apply(view, event, is_gate(node));
    }
    nodes
}

fn apply(view: &mut NodeView, event: &Value, gate: bool) {
    let host = text(event, "host").to_string();
    let status = text(event, "status");
    match text(event, "type") {
        "node_started" if host.is_empty() => view.status = "running".into(),
        "node_started" => {
            let entry = view.hosts.entry(host).or_default();
            entry.status = "running".into();
            entry.attempt = event.get("attempt").and_then(Value::as_i64);
        }
        "node_finished" if host.is_empty() => {
            view.status = if gate && status == "paused" { "waiting".into() } else { status.into() };
        }
        "node_finished" => view.hosts.entry(host).or_default().status = status.into(),
        // A resumed run skips what finished before it: that keeps its status.
        "node_skipped" if view.status != "succeeded" => view.status = "skipped".into(),
        "gate_waiting" | "approval_requested" => {
            view.status = "waiting".into();
            if let Some(until) = event.get("until").and_then(Value::as_str) {
                view.until = Some(format!("until {until}"));
            }
        }
        "gate_evaluation" => {
            if let Some(left) = event.get("remaining_ms").and_then(Value::as_i64) {
                view.until = Some(format!("{} left", super::html::duration(Some(left))));
            }
        }
        "gate_outcome" | "approval_refused" => view.outcome = Some(outcome(event)),
        "approved" => view.outcome = Some(format!("approved by {}", text(event, "approver"))),
        "retry" => view.retries += 1,
        "rollout_step" => rollout_step(view, event),
        "rollback_step_started" => set(view, &host, "rolling back"),
        "rollback_step" => set(view, &host, if status == "succeeded" { "rolled back" } else { "rollback failed" }),
        "step_output" => view.output.push((host, text(event, "stream").into(), text(event, "line").into())),
        _ => {}
    }
}

fn outcome(event: &Value) -> String {
    let word = match text(event, "type") {
        "approval_refused" => format!("refused for {}: {}", text(event, "approver"), text(event, "reason")),
        _ => text(event, "outcome").to_string(),
    };
    match event.get("message").and_then(Value::as_str) {
        Some(message) if !message.is_empty() => format!("{word}: {message}"),
        _ => word,
    }
}

fn rollout_step(view: &mut NodeView, event: &Value) {
    let index = event.get("index").and_then(Value::as_i64).unwrap_or(1);
    let count = event.get("count").and_then(Value::as_i64).unwrap_or(0);
    let phase = text(event, "phase");
    let label = text(event, "label");
    // A traffic canary's share, unless its label already says it.
    view.rollout = Some(match event.get("weight").and_then(Value::as_f64) {
        Some(weight) if !label.contains('%') => format!("{phase} {index}/{count}: {label} ({weight}% of requests)"),
        _ => format!("{phase} {index}/{count}: {label}"),
    });
    let hosts = event.get("hosts").and_then(Value::as_array).cloned().unwrap_or_default();
    for host in hosts.iter().filter_map(Value::as_str) {
        view.hosts.entry(host.to_string()).or_default().batch = Some(format!("{phase} {index}"));
    }
}

/// A rollback of one host marks the host; of a unit without host, the node.
fn set(view: &mut NodeView, host: &str, status: &str) {
    if host.is_empty() {
        view.status = status.into();
    } else {
        view.hosts.entry(host.to_string()).or_default().status = status.into();
        view.status = status.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(lines: &[&str]) -> Vec<Value> {
        lines.iter().map(|line| serde_json::from_str(line).unwrap_or(Value::Null)).collect()
    }

    #[test]
    fn a_paused_gate_waits_and_a_rolled_back_stage_says_so() {
        let journal = events(&[
            r#"{"type":"node_started","node":"build","kind":"stage"}"#,
            r#"{"type":"step_output","node":"build","stream":"stdout","line":"hi"}"#,
            r#"{"type":"node_finished","node":"build","status":"succeeded"}"#,
            r#"{"type":"node_started","node":"go","kind":"gate"}"#,
            r#"{"type":"node_finished","node":"go","status":"paused"}"#,
            r#"{"type":"node_skipped","node":"build","reason":"finished before the run was resumed"}"#,
            r#"{"type":"rollback_step_started","node":"build"}"#,
            r#"{"type":"rollback_step","node":"build","status":"succeeded"}"#,
        ]);
        let nodes = fold(&journal, &|name| name == "go");
        assert_eq!(nodes["go"].status, "waiting");
        assert_eq!(nodes["build"].status, "rolled back");
        assert_eq!(nodes["build"].output, vec![(String::new(), "stdout".into(), "hi".into())]);
    }

    #[test]
    fn a_canary_step_its_share_a_countdown_an_outcome_and_retries_are_shown() {
        let journal = events(&[
            r#"{"type":"rollout_step","node":"web","strategy":"canary","phase":"step","index":2,"count":4,"label":"25% of requests","hosts":["web-1"],"weight":25.0}"#,
            r#"{"type":"retry","node":"web","host":"web-1","attempt":2,"max_attempts":3,"delay_ms":10,"error":"x"}"#,
            r#"{"type":"node_started","node":"web","host":"web-1","attempt":2}"#,
            r#"{"type":"gate_evaluation","node":"healthy","attempt":1,"outcome":"fail","remaining_ms":4000}"#,
            r#"{"type":"gate_outcome","node":"healthy","outcome":"fail","message":"error rate 9%"}"#,
        ]);
        let nodes = fold(&journal, &|name| name == "healthy");
        assert_eq!(nodes["web"].rollout.as_deref(), Some("step 2/4: 25% of requests"));
        assert_eq!(nodes["web"].hosts["web-1"].batch.as_deref(), Some("step 2"));
        assert_eq!(nodes["web"].hosts["web-1"].attempt, Some(2));
        assert_eq!(nodes["web"].retries, 1);
        assert_eq!(nodes["healthy"].until.as_deref(), Some("4.0 s left"));
        assert_eq!(nodes["healthy"].outcome.as_deref(), Some("fail: error rate 9%"));
    }
}
