//! The live terminal view (stdout is a terminal, no `--json`): a spinner per
//! running node and host with its elapsed time and latest output line, the
//! captured output of what failed, the rollback as it happens, and the
//! summary at the end.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::plain::{gate_label, gate_outcome_word, outcome_word};
use super::{format_ms, summary};
use crate::record::bus::EventSink;
use crate::record::event::{Event, EventData, EventFamily, NodeStatus, RollbackStatus};

/// Lines kept per node and host, shown when it fails.
const CAPTURED_LINES: usize = 30;

type Key = (String, Option<String>);

pub struct LiveView {
    multi: MultiProgress,
    bars: HashMap<Key, ProgressBar>,
    captured: HashMap<Key, VecDeque<String>>,
    running: ProgressStyle,
}

impl Default for LiveView {
    fn default() -> Self {
        LiveView::new()
    }
}

impl LiveView {
    pub fn new() -> LiveView {
        let running = ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {elapsed:>4} {wide_msg:.dim}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        LiveView {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            bars: HashMap::new(),
            captured: HashMap::new(),
            running,
        }
    }

    fn start(&mut self, key: Key, message: String) {
        let label = match &key.1 {
            Some(host) => format!("  {} {host}", key.0),
            None => key.0.clone(),
        };
        // A host's line goes right below its node (or its previous host).
        let anchor = self
            .bars
            .iter()
            .filter(|((node, _), bar)| node == &key.0 && !bar.is_finished())
            .map(|(_, bar)| bar.clone())
            .last();
        let bar = ProgressBar::new_spinner().with_style(self.running.clone()).with_prefix(label).with_message(message);
        let bar = match anchor {
            Some(anchor) if key.1.is_some() => self.multi.insert_after(&anchor, bar),
            _ => self.multi.add(bar),
        };
        bar.enable_steady_tick(Duration::from_millis(100));
        if let Some(old) = self.bars.insert(key, bar) {
            old.finish_and_clear();
        }
    }

    /// A finished node or host leaves the live area: its final line is
    /// printed above the spinners and stays there.
    fn finish(&mut self, key: &Key, mark: &str, message: String) {
        if let Some(bar) = self.bars.remove(key) {
            bar.finish_and_clear();
        }
        let line = match &key.1 {
            Some(host) => format!("  {mark} {} {host} {message}", key.0),
            None => format!("{mark} {} {message}", key.0),
        };
        self.println(&line);
    }

    /// Shows a countdown to `deadline` on the bar of `key` (a check's
    /// `within`, a canary's pause), started if it is not there yet.
    fn countdown(&mut self, key: Key, deadline: Instant, message: String) {
        if !self.bars.contains_key(&key) {
            self.start(key.clone(), String::new());
        }
        let style =
            ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {elapsed:>4} {left:.yellow} {wide_msg:.dim}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner())
                .with_key("left", move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let _ = write!(w, "{}s left", left.as_secs());
                });
        if let Some(bar) = self.bars.get(&key) {
            bar.set_style(style);
            bar.set_message(message);
        }
    }

    /// How the live view shows the run as a whole: start, end, stopping, warnings, actions.
    fn run_event(&mut self, data: &EventData) {
        match data {
            EventData::RunStarted { pipeline, version, run_id, .. } => {
                self.println(&format!("deploy: pipeline \"{pipeline}\" version {version} (run {run_id})"));
            }
            EventData::Stopping { reason, policy } => self.println(&format!("deploy: {reason}; stopping ({policy})")),
            EventData::Warning { message, .. } => self.println(&format!("deploy: warning: {message}")),
            // Process records are for the journal (`deploy status`, `deploy resume`).
            EventData::ProcessStarted { .. } | EventData::ProcessEnded { .. } | EventData::ProcessReaped { .. } => {}
            EventData::Action { message, .. } => self.println(&format!("deploy: {message}")),
            EventData::RunFinished { status, duration_ms, summary, .. } => {
                for bar in self.bars.values() {
                    bar.finish_and_clear();
                }
                self.bars.clear();
                let text = summary::render(*status, *duration_ms, summary);
                self.multi.suspend(|| println!("{text}"));
            }
            _ => {}
        }
    }

    /// How the live view shows a node or one host of it: start, output, end, retry.
    fn node_event(&mut self, data: &EventData) {
        match data {
            EventData::NodeStarted { node, host, attempt, hosts, .. } => {
                let message = match (host, attempt) {
                    (Some(_), Some(attempt)) if *attempt > 1 => format!("attempt {attempt}"),
                    (None, _) if !hosts.is_empty() => format!("{} hosts", hosts.len()),
                    _ => String::new(),
                };
                self.start((node.clone(), host.clone()), message);
            }
            EventData::StepOutput { node, host, line, rollback, .. } => {
                let key =
                    if *rollback { (format!("rollback {node}"), host.clone()) } else { (node.clone(), host.clone()) };
                if let Some(bar) = self.bars.get(&key) {
                    bar.set_message(line.clone());
                }
                self.capture(key, line.clone());
            }
            EventData::NodeFinished { node, host, status, duration_ms, error, .. } => {
                if host.is_none() {
                    if let Some(bar) = self.bars.remove(&(format!("{node} pause"), None)) {
                        bar.finish_and_clear();
                    }
                }
                let key = (node.clone(), host.clone());
                let mut message = format!("{} {}", status.word(), format_ms(*duration_ms));
                if let Some(error) = error {
                    message.push_str(&format!(": {error}"));
                }
                self.finish(&key, mark(*status), message);
                if *status == NodeStatus::Failed {
                    self.show_captured(&key);
                } else {
                    self.captured.remove(&key);
                }
            }
            EventData::NodeSkipped { node, reason } => {
                self.finish(&(node.clone(), None), mark(NodeStatus::Skipped), format!("skipped: {reason}"));
            }
            EventData::Retry { node, host, attempt, max_attempts, delay_ms, error } => {
                if let Some(bar) = self.bars.get(&(node.clone(), host.clone())) {
                    bar.set_message(format!("retry {attempt}/{max_attempts} in {}: {error}", format_ms(*delay_ms)));
                }
            }
            _ => {}
        }
    }

    /// How the live view shows gates and monitors.
    fn gate_event(&mut self, data: &EventData) {
        match data {
            EventData::GateWaiting { node, reason, until, stage } => {
                let key = (gate_label(node, stage.as_deref()), None);
                let deadline = until
                    .as_deref()
                    .and_then(|until| chrono::DateTime::parse_from_rfc3339(until).ok())
                    .and_then(|at| (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().ok())
                    .map(|left| Instant::now() + left);
                match deadline {
                    Some(deadline) => self.countdown(key, deadline, reason.clone()),
                    None => {
                        if let Some(bar) = self.bars.get(&key) {
                            bar.set_message(reason.clone());
                        }
                    }
                }
            }
            EventData::GateEvaluation { node, stage, role, attempt, outcome, message, remaining_ms } => {
                let key = match role.as_deref() {
                    Some("monitor") => (format!("{} monitor {node}", stage.clone().unwrap_or_default()), None),
                    _ => (gate_label(node, stage.as_deref()), None),
                };
                let message = message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                let text = format!("evaluation {attempt}: {}{message}", outcome_word(*outcome));
                self.countdown(key, Instant::now() + Duration::from_millis(*remaining_ms), text);
            }
            EventData::GateOutcome { node, outcome, message, stage, policy, .. } => {
                let label = gate_label(node, stage.as_deref());
                if stage.is_some() {
                    if let Some(bar) = self.bars.remove(&(label.clone(), None)) {
                        bar.finish_and_clear();
                    }
                }
                let policy =
                    policy.as_deref().filter(|_| message.is_some()).map(|p| format!(" → {p}")).unwrap_or_default();
                let text = match message {
                    Some(message) => format!("  {label}: {}: {message}{policy}", gate_outcome_word(*outcome)),
                    None => format!("  {label}: {}", gate_outcome_word(*outcome)),
                };
                self.println(&text);
            }
            EventData::MonitorStarted { node, gate, duration_ms } => {
                self.start(
                    (format!("{node} monitor {gate}"), None),
                    format!("watching during the rollout and {} after", format_ms(*duration_ms)),
                );
            }
            EventData::MonitorFinished { node, gate, outcome, message } => {
                let key = (format!("{node} monitor {gate}"), None);
                let text = match message {
                    Some(message) => format!("{}: {message}", gate_outcome_word(*outcome)),
                    None => gate_outcome_word(*outcome).to_string(),
                };
                let mark = if *outcome == crate::record::event::GateOutcome::Pass { "✓" } else { "✗" };
                self.finish(&key, mark, text);
            }
            _ => {}
        }
    }

    /// How the live view shows approvals.
    fn approval_event(&mut self, data: &EventData) {
        match data {
            EventData::ApprovalRequested { node, question, .. } => {
                for bar in self.bars.values() {
                    bar.disable_steady_tick();
                }
                self.println(&format!("{node}: waiting for your answer: {question}"));
            }
            EventData::Approved { node, approver, .. } => {
                for bar in self.bars.values() {
                    bar.enable_steady_tick(Duration::from_millis(100));
                }
                self.println(&format!("{node}: approved by {approver}"));
            }
            EventData::ApprovalRefused { node, reason, .. } => {
                for bar in self.bars.values() {
                    bar.enable_steady_tick(Duration::from_millis(100));
                }
                self.println(&format!("{node}: approval refused: {reason}"));
            }
            _ => {}
        }
    }

    /// How the live view shows a strategy's steps and pauses.
    fn rollout_event(&mut self, data: &EventData) {
        match data {
            EventData::RolloutStep { node, phase, index, count, label, hosts, .. } => {
                if let Some(bar) = self.bars.remove(&(format!("{node} pause"), None)) {
                    bar.finish_and_clear();
                }
                self.println(&format!("  {node} {phase} {index}/{count} ({label}): {}", hosts.join(", ")));
            }
            EventData::RolloutPause { node, duration_ms, .. } => {
                let deadline = Instant::now() + Duration::from_millis(*duration_ms);
                self.countdown(
                    (format!("{node} pause"), None),
                    deadline,
                    format!("baking {}", format_ms(*duration_ms)),
                );
            }
            EventData::PreviousKept { node, version, until, .. } => {
                self.println(&format!("  {node}: previous version {version} kept until {until}"));
            }
            _ => {}
        }
    }

    /// How the live view shows hooks.
    fn hook_event(&mut self, data: &EventData) {
        match data {
            EventData::HookStarted { node, event } => {
                let owner = node.clone().unwrap_or_else(|| "pipeline".into());
                self.start((format!("{owner} on {event}"), None), String::new());
            }
            EventData::HookFinished { node, event, status, duration_ms, error } => {
                let owner = node.clone().unwrap_or_else(|| "pipeline".into());
                let key = (format!("{owner} on {event}"), None);
                let (mark, text) = match error {
                    Some(error) => ("✗", format!("hook failed: {error}")),
                    None => ("✓", format!("{status:?} {}", format_ms(*duration_ms)).to_lowercase()),
                };
                self.finish(&key, mark, text);
            }
            _ => {}
        }
    }

    /// How the live view shows the rollback.
    fn rollback_event(&mut self, data: &EventData) {
        match data {
            EventData::RollbackStarted { units, .. } => {
                if units.is_empty() {
                    self.println("deploy: rollback: nothing to undo");
                } else {
                    self.println(&format!("deploy: rolling back {}", units.join(", ")));
                }
            }
            EventData::RollbackStepStarted { node, host, switch_back } => {
                let what = if *switch_back { "switch back" } else { "rollback" };
                self.start((format!("{what} {node}"), host.clone()), String::new());
            }
            EventData::RollbackStep { node, host, status, duration_ms, error, switch_back } => {
                let what = if *switch_back { "switch back" } else { "rollback" };
                let key = (format!("{what} {node}"), host.clone());
                let (mark, message) = match status {
                    RollbackStatus::Succeeded => ("↶", format!("undone {}", format_ms(*duration_ms))),
                    RollbackStatus::Failed => ("✗", format!("rollback failed: {}", error.clone().unwrap_or_default())),
                    _ => ("·", error.clone().unwrap_or_else(|| format!("{status:?}"))),
                };
                self.finish(&key, mark, message);
                if *status == RollbackStatus::Failed {
                    self.show_captured(&key);
                }
            }
            EventData::RollbackFinished { .. } => {}
            _ => {}
        }
    }

    fn println(&self, text: &str) {
        let _ = self.multi.println(text);
    }

    fn capture(&mut self, key: Key, line: String) {
        let lines = self.captured.entry(key).or_default();
        if lines.len() == CAPTURED_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    fn show_captured(&mut self, key: &Key) {
        if let Some(lines) = self.captured.remove(key) {
            let label = match &key.1 {
                Some(host) => format!("{} {host}", key.0),
                None => key.0.clone(),
            };
            self.println(&format!("── output of {label} (last {} lines) ──", lines.len()));
            for line in lines {
                self.println(&format!("  {line}"));
            }
        }
    }
}

fn mark(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Succeeded => "✓",
        NodeStatus::Failed => "✗",
        NodeStatus::Skipped => "–",
        NodeStatus::Cancelled => "⊘",
        NodeStatus::Paused => "‖",
        NodeStatus::NotStarted => "·",
    }
}

impl EventSink for LiveView {
    /// One handler per family of event (`EventData::family`).
    fn handle(&mut self, event: &Event) {
        match event.data.family() {
            EventFamily::Run => self.run_event(&event.data),
            EventFamily::Node => self.node_event(&event.data),
            EventFamily::Gate => self.gate_event(&event.data),
            EventFamily::Approval => self.approval_event(&event.data),
            EventFamily::Rollout => self.rollout_event(&event.data),
            EventFamily::Hook => self.hook_event(&event.data),
            EventFamily::Rollback => self.rollback_event(&event.data),
        }
    }

    fn close(&mut self) {
        for bar in self.bars.values() {
            bar.finish_and_clear();
        }
    }
}
