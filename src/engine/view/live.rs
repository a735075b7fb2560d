//! The live terminal view (stdout is a terminal, no `--json`): a spinner per
//! running node and host with its elapsed time and latest output line, the
//! captured output of what failed, the rollback as it happens, and the
//! summary at the end.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{format_ms, summary};
use crate::engine::bus::EventSink;
use crate::engine::event::{Event, EventData, NodeStatus, RollbackStatus};

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
    fn handle(&mut self, event: &Event) {
        match &event.data {
            EventData::RunStarted { pipeline, version, run_id, .. } => {
                self.println(&format!("deploy: pipeline \"{pipeline}\" version {version} (run {run_id})"));
            }
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
            EventData::GateWaiting { node, reason, .. } => {
                if let Some(bar) = self.bars.get(&(node.clone(), None)) {
                    bar.set_message(reason.clone());
                }
            }
            EventData::GateOutcome { node, outcome, message } => {
                let text = match message {
                    Some(message) => format!("{node}: check {outcome:?}: {message}"),
                    None => format!("{node}: check {outcome:?}"),
                };
                self.println(&text);
            }
            EventData::Approved { node, approver, .. } => self.println(&format!("{node}: approved by {approver}")),
            EventData::Stopping { reason, policy } => self.println(&format!("deploy: {reason}; stopping ({policy})")),
            EventData::RollbackStarted { units, .. } => {
                if units.is_empty() {
                    self.println("deploy: rollback: nothing to undo");
                } else {
                    self.println(&format!("deploy: rolling back {}", units.join(", ")));
                }
            }
            EventData::RollbackStepStarted { node, host } => {
                self.start((format!("rollback {node}"), host.clone()), String::new());
            }
            EventData::RollbackStep { node, host, status, duration_ms, error } => {
                let key = (format!("rollback {node}"), host.clone());
                let (mark, message) = match status {
                    RollbackStatus::Succeeded => ("↶", format!("undone {}", format_ms(*duration_ms))),
                    RollbackStatus::Failed => ("✗", format!("ROLLBACK FAILED: {}", error.clone().unwrap_or_default())),
                    _ => ("·", error.clone().unwrap_or_else(|| format!("{status:?}"))),
                };
                self.finish(&key, mark, message);
                if *status == RollbackStatus::Failed {
                    self.show_captured(&key);
                }
            }
            EventData::RollbackFinished { .. } => {}
            EventData::Warning { message } => self.println(&format!("deploy: warning: {message}")),
            EventData::RunFinished { status, duration_ms, summary, .. } => {
                for bar in self.bars.values() {
                    bar.finish_and_clear();
                }
                self.bars.clear();
                let text = summary::render(*status, *duration_ms, summary);
                self.multi.suspend(|| println!("{text}"));
            }
        }
    }

    fn close(&mut self) {
        for bar in self.bars.values() {
            bar.finish_and_clear();
        }
    }
}
