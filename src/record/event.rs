//! The event stream: everything a run does, as data. The terminal views,
//! `--json` and (later) the state journal all consume these events; the
//! schema is documented in docs/events.md and versioned by [`SCHEMA_VERSION`].

use serde::{Deserialize, Serialize};

/// Version of the event schema. Bumped when a field changes meaning or is
/// removed; adding a field or an event type does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// One event: a sequence number (monotonically increasing within a run,
/// starting at 0), a UTC timestamp (RFC 3339 with milliseconds) and the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub schema: u32,
    pub seq: u64,
    pub time: String,
    /// The event comes from `deploy simulate`: nothing ran, the time is virtual.
    #[serde(default, skip_serializing_if = "is_false")]
    pub simulated: bool,
    #[serde(flatten)]
    pub data: EventData,
}

/// Which stream a line of output came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
    /// `print`/`log` of a script step.
    Log,
}

/// The status of a node, or of one host of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    Succeeded,
    Failed,
    /// `when` was false.
    Skipped,
    /// Killed because the run stopped (a failure elsewhere, or Ctrl-C).
    Cancelled,
    /// Waiting for an approval: the run paused here.
    Paused,
    /// Never started because the run stopped first.
    NotStarted,
}

impl NodeStatus {
    pub fn word(self) -> &'static str {
        match self {
            NodeStatus::Succeeded => "succeeded",
            NodeStatus::Failed => "failed",
            NodeStatus::Skipped => "skipped",
            NodeStatus::Cancelled => "cancelled",
            NodeStatus::Paused => "paused",
            NodeStatus::NotStarted => "not started",
        }
    }
}

/// How a run ended. Maps to the exit code in [`super::run_status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Succeeded,
    /// A node failed under `rollback` and every rollback step succeeded.
    RolledBack,
    /// A node failed under `abort`: stopped, nothing undone.
    Aborted,
    /// A node failed under `pause`, or a gate waits for an approval.
    Paused,
    /// A rollback step failed: manual attention needed.
    RollbackFailed,
    /// Stopped by SIGINT/SIGTERM.
    Interrupted,
}

impl RunStatus {
    pub fn word(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::RolledBack => "failed and rolled back",
            RunStatus::Aborted => "failed and aborted",
            RunStatus::Paused => "paused",
            RunStatus::RollbackFailed => "failed and the rollback failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// The outcome of a gate evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    Pass,
    Fail,
    Inconclusive,
    NoData,
}

/// The outcome of one evaluation of a gate's `check` (one poll).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationOutcome {
    Pass,
    Fail,
    Inconclusive,
    NoData,
    /// The script is broken (runtime error, limit, deadline); counts as a fail.
    Error,
}

/// How a lifecycle hook ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookStatus {
    Succeeded,
    Failed,
    Cancelled,
}

/// What happened to one unit (a node on one host) on the rollback path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackStatus {
    Succeeded,
    Failed,
    /// The node declares `irreversible = "why"`: nothing to run.
    Irreversible,
    /// The node has neither `rollback` nor `irreversible` (warning W0001).
    Missing,
    /// Stopped by a second Ctrl-C.
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventData {
    RunStarted {
        run_id: String,
        pipeline: String,
        version: String,
        previous_version: String,
        plan_file: String,
        nodes: usize,
        max_parallel: usize,
        on_failure: String,
        /// `--env` given: only these environments' stages run.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        environments: Vec<String>,
        /// `--limit` given: only these hosts (names and globs).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        limit: Vec<String>,
    },
    /// A node started; with `host`, one host of a targeted stage started an attempt.
    NodeStarted {
        node: String,
        kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
        /// On the node-level event of a targeted stage: its hosts.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hosts: Vec<String>,
    },
    /// One line a step printed (secrets already replaced by `***`).
    StepOutput {
        node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        stream: Stream,
        line: String,
        /// The line comes from a rollback step.
        #[serde(default, skip_serializing_if = "is_false")]
        rollback: bool,
        /// The line comes from a lifecycle hook (`start`, `success`, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hook: Option<String>,
    },
    /// A `run` step started its shell on this machine, in a process group
    /// of its own (`pgid`, the shell's pid), or (`remote`) on an SSH host,
    /// where the remote shell leads the group. Journaled as it starts so
    /// that `deploy status`, `deploy resume` and a run that takes the lock
    /// over find the groups a killed runner left running.
    ProcessStarted {
        node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        /// The step's number in its list (1-based).
        step: usize,
        pid: u32,
        pgid: u32,
        /// The process's start time (`/proc/PID/stat`), so a reused pid is
        /// not taken for it.
        pid_start: String,
        /// The machine it runs on (`/etc/machine-id`; `ssh:HOST` for a remote group).
        machine: String,
        #[serde(default, skip_serializing_if = "is_false")]
        rollback: bool,
        /// The group runs on the SSH host `host` (`pid_start` is empty).
        #[serde(default, skip_serializing_if = "is_false")]
        remote: bool,
        /// A remote group's watcher of its lifeline (ended first when the
        /// group is ended: transport/remote_script.rs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        watcher: Option<u32>,
    },
    /// The shell of a [`EventData::ProcessStarted`] ended (its group was
    /// killed too when it was cancelled).
    ProcessEnded {
        node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        pid: u32,
    },
    /// `deploy resume` ended a process group a crashed runner left running,
    /// before running anything.
    ProcessReaped {
        node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        step: usize,
        pgid: u32,
        /// `terminated` (it ended on SIGTERM) or `killed` (SIGKILL after the grace period).
        how: String,
    },
    /// A node finished; with `host`, one host of a targeted stage finished.
    NodeFinished {
        node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        status: NodeStatus,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    NodeSkipped {
        node: String,
        reason: String,
    },
    /// An attempt failed and another one follows after `delay_ms`.
    Retry {
        node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        /// The attempt that comes next (2 for the first retry).
        attempt: u32,
        max_attempts: u32,
        delay_ms: u64,
        error: String,
    },
    /// A gate waits: for a `wait`, a `window` to open, or a `check` to pass.
    GateWaiting {
        node: String,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<String>,
        /// The stage the gate is evaluated for (`analysis`, `verify`, `monitor`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
    },
    /// One evaluation (poll) of a gate's `check`.
    GateEvaluation {
        node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
        /// `analysis`, `verify` or `monitor` when evaluated for a stage.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        /// 1 for the first poll.
        attempt: u32,
        outcome: EvaluationOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// Time left before `within` (or the monitor's period) runs out.
        remaining_ms: u64,
    },
    /// A gate's decision (a `check` after its last poll; a refused approval;
    /// a gate `timeout`).
    GateOutcome {
        node: String,
        outcome: GateOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        /// What the outcome makes the run do: `continue`, `rollback`, `pause`, `abort`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<String>,
    },
    /// An approval is asked for on the terminal.
    ApprovalRequested {
        node: String,
        question: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        by: Vec<String>,
        approver: String,
    },
    /// An approval was given (`--yes`, `--approve`, or on the terminal).
    Approved {
        node: String,
        approver: String,
        question: String,
        /// `flag` (`--yes`/`--approve`) or `terminal`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        how: Option<String>,
    },
    /// An approval was refused: the approver is not in `by`, or said no.
    ApprovalRefused {
        node: String,
        approver: String,
        reason: String,
    },
    /// A batch (rolling), step (canary) or phase (blue/green) of a rollout starts.
    RolloutStep {
        node: String,
        strategy: String,
        /// `batch`, `step`, `install`, `verify`, `switch`.
        phase: String,
        /// 1-based.
        index: usize,
        count: usize,
        label: String,
        hosts: Vec<String>,
        /// A canary by share of requests (`traffic = ROUTER`): the percent
        /// of requests this step sends to the new version (0 when the
        /// router sends everything back to the stable one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weight: Option<f64>,
    },
    /// A canary bakes between steps (`pause`).
    RolloutPause {
        node: String,
        duration_ms: u64,
        until: String,
    },
    /// `monitor = GATE for D` starts watching a stage.
    MonitorStarted {
        node: String,
        gate: String,
        /// The period after the rollout.
        duration_ms: u64,
    },
    /// A monitor ended: `pass` when the period ran out healthy.
    MonitorFinished {
        node: String,
        gate: String,
        outcome: GateOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// A lifecycle hook starts (`node` absent for the pipeline's hooks).
    HookStarted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
        event: String,
    },
    /// A lifecycle hook ended; a failure never changes the run's outcome.
    HookFinished {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
        event: String,
        status: HookStatus,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A blue/green rollout keeps the previous version for `keep_previous`:
    /// a later run may clean it up after `until`.
    PreviousKept {
        node: String,
        environment: String,
        version: String,
        hosts: Vec<String>,
        until: String,
    },
    /// The run stops starting new work.
    Stopping {
        reason: String,
        policy: String,
    },
    RollbackStarted {
        reason: String,
        /// The units to undo, in order: `node` or `node@host`.
        units: Vec<String>,
    },
    RollbackStepStarted {
        node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        /// A blue/green host switching back to the previous version.
        #[serde(default, skip_serializing_if = "is_false")]
        switch_back: bool,
    },
    RollbackStep {
        node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        switch_back: bool,
        status: RollbackStatus,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    RollbackFinished {
        succeeded: bool,
        duration_ms: u64,
        failed: Vec<String>,
    },
    /// Someone acted on the run from outside it (the HTTP API, the
    /// dashboard): approved or rejected a gate, resumed it, rolled its
    /// environment back, released its lock. The server journals it; no run
    /// emits it.
    Action {
        /// `approve`, `reject`, `resume`, `rollback`, `release_lock`.
        action: String,
        /// The identity of the bearer token.
        by: String,
        /// The gate approved or rejected.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
        /// What it did, for people.
        message: String,
    },
    /// Something the user should know that is not a node's status.
    Warning {
        /// What it is about: `run`, `lease`, `heartbeat`, `journal`, `signals`.
        #[serde(default)]
        kind: WarningKind,
        message: String,
    },
    RunFinished {
        status: RunStatus,
        exit_code: i32,
        duration_ms: u64,
        summary: Summary,
    },
}

/// Which part of a run an event is about: how the views group their
/// handlers. Every event has one; a new event must be given its family here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventFamily {
    /// The run as a whole: start, end, stopping, warnings, actions, processes.
    Run,
    /// A node: started, output, finished, skipped, retried.
    Node,
    /// Gates and monitors.
    Gate,
    /// Approvals.
    Approval,
    /// Rollout steps, pauses, a kept previous version.
    Rollout,
    /// Hooks.
    Hook,
    /// The rollback path.
    Rollback,
}

impl EventData {
    /// The family of this event (see [`EventFamily`]).
    pub fn family(&self) -> EventFamily {
        match self {
            EventData::RunStarted { .. }
            | EventData::RunFinished { .. }
            | EventData::Stopping { .. }
            | EventData::Warning { .. }
            | EventData::Action { .. }
            | EventData::ProcessStarted { .. }
            | EventData::ProcessEnded { .. }
            | EventData::ProcessReaped { .. } => EventFamily::Run,
            EventData::NodeStarted { .. }
            | EventData::StepOutput { .. }
            | EventData::NodeFinished { .. }
            | EventData::NodeSkipped { .. }
            | EventData::Retry { .. } => EventFamily::Node,
            EventData::GateWaiting { .. }
            | EventData::GateEvaluation { .. }
            | EventData::GateOutcome { .. }
            | EventData::MonitorStarted { .. }
            | EventData::MonitorFinished { .. } => EventFamily::Gate,
            EventData::ApprovalRequested { .. } | EventData::Approved { .. } | EventData::ApprovalRefused { .. } => {
                EventFamily::Approval
            }
            EventData::RolloutStep { .. } | EventData::RolloutPause { .. } | EventData::PreviousKept { .. } => {
                EventFamily::Rollout
            }
            EventData::HookStarted { .. } | EventData::HookFinished { .. } => EventFamily::Hook,
            EventData::RollbackStarted { .. }
            | EventData::RollbackStepStarted { .. }
            | EventData::RollbackStep { .. }
            | EventData::RollbackFinished { .. } => EventFamily::Rollback,
        }
    }

    /// A `warning` about the run itself (its options, a policy applied).
    pub fn warning(message: impl Into<String>) -> EventData {
        EventData::Warning { kind: WarningKind::Run, message: message.into() }
    }
}

fn is_false(flag: &bool) -> bool {
    !*flag
}

/// The final account of a run (in `run_finished`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub nodes: Vec<NodeSummary>,
    pub rollback: Vec<RollbackSummary>,
    /// Why the run failed, stopped or paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureSummary>,
    /// What to know although the run went on: each host whose failure its
    /// stage tolerated (`web-3 failed (tolerated): 2.0.0 may be broken there`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeSummary {
    pub node: String,
    pub kind: String,
    pub status: NodeStatus,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostSummary {
    pub host: String,
    pub status: NodeStatus,
    pub attempts: u32,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RollbackSummary {
    pub node: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub status: RollbackStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailureSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub message: String,
}

/// `node` or `node@host`.
pub fn unit_label(node: &str, host: Option<&str>) -> String {
    match host {
        Some(host) => format!("{node}@{host}"),
        None => node.to_string(),
    }
}

/// A duration in whole milliseconds, as events carry it.
pub fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What a `warning` event is about (docs/events.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The run's options or inputs (an `--approve` that names no gate).
    #[default]
    Run,
    /// The run no longer holds its lease.
    Lease,
    /// The heartbeat could not refresh the run's lease.
    Heartbeat,
    /// An event could not be written to the journal.
    Journal,
    /// Ctrl-C cannot be listened for: it stops deploy without a rollback.
    Signals,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json() {
        let event = Event {
            schema: SCHEMA_VERSION,
            seq: 3,
            time: "2024-01-01T00:00:00.000Z".into(),
            simulated: false,
            data: EventData::NodeFinished {
                node: "build".into(),
                host: Some("web-1".into()),
                status: NodeStatus::Failed,
                duration_ms: 12,
                attempt: Some(2),
                exit_code: Some(1),
                error: Some("boom".into()),
            },
        };
        let text = serde_json::to_string(&event).unwrap();
        assert!(text.contains(r#""type":"node_finished""#), "{text}");
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, event);
    }
}
