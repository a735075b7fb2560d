//! What a simulated run ended with, as a reviewer reads it: the outcome and
//! the exit code the real run would have, every host's end state, the
//! irreversible stages it reached, and the timeline on the virtual clock.

use serde::Serialize;

use crate::check::model::{NodeKind, Plan, RollbackSpec};
use crate::engine::RunReport;
use crate::record::event::{unit_label, Event, EventData, NodeStatus, RollbackStatus, RunStatus, Summary};

/// How one simulated run ended, in the words of `--explore`'s table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    RolledBack,
    Paused,
    RollbackFailed,
    /// Rolled back, but an irreversible stage had run: it stays done.
    IrreversibleStepReached,
    Aborted,
    Interrupted,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::RolledBack => "rolled back",
            Outcome::Paused => "paused",
            Outcome::RollbackFailed => "rollback failed",
            Outcome::IrreversibleStepReached => "irreversible step reached",
            Outcome::Aborted => "aborted",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// Where a host ends, over every stage of the run that targets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Nothing ran there: the old version.
    Untouched,
    /// Every stage for it completed: the new version.
    NewVersion,
    /// What ran there was undone: the old version again.
    Undone,
    /// Part new, part old, or a step or rollback that stopped half-way.
    Mixed,
}

impl HostState {
    pub fn word(self) -> &'static str {
        match self {
            HostState::Untouched => "old version (untouched)",
            HostState::NewVersion => "new version",
            HostState::Undone => "old version (undone)",
            HostState::Mixed => "mixed",
        }
    }
}

/// One stage on one host at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitState {
    NotRun,
    Done,
    Undone,
    /// Irreversible: done, and the rollback could not undo it.
    KeptIrreversible,
    /// Failed or cancelled mid-way and not undone, or its rollback failed.
    Unknown,
}

#[derive(Clone, Debug, Serialize)]
pub struct HostEnd {
    pub environment: String,
    pub host: String,
    pub state: HostState,
    pub stages: Vec<(String, UnitState)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TimelineEntry {
    pub at_ms: u64,
    pub what: String,
}

/// Everything a simulation concluded.
#[derive(Clone, Debug, Serialize)]
pub struct Conclusion {
    pub outcome: Outcome,
    pub status: RunStatus,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub hosts: Vec<HostEnd>,
    pub irreversible_reached: Vec<String>,
    pub duration_ms: u64,
    pub timeline: Vec<TimelineEntry>,
}

impl Conclusion {
    pub fn mixed_hosts(&self) -> Vec<String> {
        self.hosts.iter().filter(|h| h.state == HostState::Mixed).map(|h| h.host.clone()).collect()
    }
}

pub fn conclude(plan: &Plan, report: &RunReport, events: &[Event]) -> Conclusion {
    let summary = &report.summary;
    let hosts = host_ends(plan, summary);
    let irreversible_reached = irreversible_reached(plan, summary);
    let outcome = match report.status {
        RunStatus::Succeeded => Outcome::Succeeded,
        RunStatus::RollbackFailed => Outcome::RollbackFailed,
        RunStatus::RolledBack if !irreversible_reached.is_empty() => Outcome::IrreversibleStepReached,
        RunStatus::RolledBack => Outcome::RolledBack,
        RunStatus::Paused => Outcome::Paused,
        RunStatus::Aborted => Outcome::Aborted,
        RunStatus::Interrupted => Outcome::Interrupted,
    };
    let failure = summary.failure.as_ref().map(|failure| match &failure.node {
        Some(node) => format!("{node}: {}", failure.message),
        None => failure.message.clone(),
    });
    Conclusion {
        outcome,
        status: report.status,
        exit_code: report.status.exit_code().code(),
        failure,
        hosts,
        irreversible_reached,
        duration_ms: report.duration_ms,
        timeline: timeline(events),
    }
}

/// Every host of every environment a stage targets, in plan order.
fn host_ends(plan: &Plan, summary: &Summary) -> Vec<HostEnd> {
    let mut out: Vec<HostEnd> = Vec::new();
    for environment in &plan.environments {
        let stages: Vec<&crate::check::model::NodeDef> = plan
            .nodes
            .iter()
            .filter(|node| node.kind == NodeKind::Stage && node.target == Some(environment.id))
            .collect();
        if stages.is_empty() {
            continue;
        }
        for host in &environment.hosts {
            let units: Vec<(String, UnitState)> =
                stages.iter().map(|stage| (stage.name.clone(), unit_state(plan, summary, &stage.name, host))).collect();
            out.push(HostEnd {
                environment: environment.name.clone(),
                host: host.clone(),
                state: host_state(&units),
                stages: units,
            });
        }
    }
    out
}

fn unit_state(plan: &Plan, summary: &Summary, stage: &str, host: &str) -> UnitState {
    let forward = summary
        .nodes
        .iter()
        .find(|node| node.node == stage)
        .and_then(|node| node.hosts.iter().find(|h| h.host == host))
        .map_or(NodeStatus::NotStarted, |h| h.status);
    let undo: Vec<RollbackStatus> = summary
        .rollback
        .iter()
        .filter(|entry| entry.node == stage && entry.host.as_deref() == Some(host))
        .map(|entry| entry.status)
        .collect();
    let ran = matches!(forward, NodeStatus::Succeeded | NodeStatus::Failed | NodeStatus::Cancelled);
    if !ran {
        return UnitState::NotRun;
    }
    if undo.is_empty() {
        return if forward == NodeStatus::Succeeded { UnitState::Done } else { UnitState::Unknown };
    }
    if undo.iter().all(|status| *status == RollbackStatus::Succeeded) {
        return UnitState::Undone;
    }
    let irreversible =
        plan.node_named(stage).is_some_and(|node| matches!(node.rollback, RollbackSpec::Irreversible(_)));
    if irreversible && undo.iter().all(|status| *status == RollbackStatus::Irreversible) {
        return UnitState::KeptIrreversible;
    }
    UnitState::Unknown
}

fn host_state(units: &[(String, UnitState)]) -> HostState {
    let all = |wanted: &[UnitState]| units.iter().all(|(_, state)| wanted.contains(state));
    if all(&[UnitState::NotRun]) {
        HostState::Untouched
    } else if all(&[UnitState::Done]) {
        HostState::NewVersion
    } else if all(&[UnitState::Undone, UnitState::NotRun]) {
        HostState::Undone
    } else {
        HostState::Mixed
    }
}

/// Irreversible stages that ran (on any host) in a run that did not succeed.
fn irreversible_reached(plan: &Plan, summary: &Summary) -> Vec<String> {
    summary
        .nodes
        .iter()
        .filter(|node| {
            plan.node_named(&node.node).is_some_and(|def| matches!(def.rollback, RollbackSpec::Irreversible(_)))
        })
        .filter(|node| {
            matches!(node.status, NodeStatus::Succeeded | NodeStatus::Failed)
                || node.hosts.iter().any(|h| matches!(h.status, NodeStatus::Succeeded | NodeStatus::Failed))
        })
        .filter(|_| summary.failure.is_some())
        .map(|node| node.node.clone())
        .collect()
}

/// What happened when, from the start of the run.
fn timeline(events: &[Event]) -> Vec<TimelineEntry> {
    let parse = |text: &str| chrono::DateTime::parse_from_rfc3339(text).ok();
    let Some(start) = events.first().and_then(|event| parse(&event.time)) else {
        return Vec::new();
    };
    events
        .iter()
        .filter_map(|event| {
            let what = describe(&event.data)?;
            let at = parse(&event.time).map_or(0, |time| (time - start).num_milliseconds().max(0));
            Some(TimelineEntry { at_ms: u64::try_from(at).unwrap_or(0), what })
        })
        .collect()
}

fn describe(data: &EventData) -> Option<String> {
    Some(match data {
        EventData::NodeStarted { node, host: None, .. } => format!("{node} started"),
        EventData::NodeStarted { node, host: Some(host), attempt, .. } => match attempt {
            Some(n) if *n > 1 => format!("{node}@{host} started (attempt {n})"),
            _ => format!("{node}@{host} started"),
        },
        EventData::NodeFinished { node, host, status, error, .. } => {
            let label = unit_label(node, host.as_deref());
            match error {
                Some(error) => format!("{label} {}: {error}", status.word()),
                None => format!("{label} {}", status.word()),
            }
        }
        EventData::NodeSkipped { node, reason } => format!("{node} skipped: {reason}"),
        EventData::Retry { node, host, attempt, max_attempts, .. } => {
            format!("{} retries (attempt {attempt} of {max_attempts})", unit_label(node, host.as_deref()))
        }
        EventData::GateOutcome { node, outcome, stage, policy, .. } => {
            let place = stage.as_ref().map(|stage| format!(" for {stage}")).unwrap_or_default();
            let policy = policy.as_ref().map(|p| format!(" → {p}")).unwrap_or_default();
            format!("gate {node}{place}: {}{policy}", serde_json::to_value(outcome).ok()?.as_str()?)
        }
        EventData::Approved { node, approver, .. } => format!("{node} approved by {approver}"),
        EventData::ApprovalRefused { node, reason, .. } => format!("{node} refused: {reason}"),
        EventData::Stopping { reason, policy } => format!("stopping ({policy}): {reason}"),
        EventData::RollbackStarted { units, .. } => format!("rollback starts: {}", units.join(", ")),
        EventData::RollbackStep { node, host, status, switch_back, .. } => {
            let what = if *switch_back { "switch back" } else { "undo" };
            let status = serde_json::to_value(status).ok()?.as_str()?.to_string();
            format!("{what} {}: {status}", unit_label(node, host.as_deref()))
        }
        EventData::RunFinished { status, exit_code, .. } => format!("run {} (exit {exit_code})", status.word()),
        _ => return None,
    })
}
