//! How a node ended ([`NodeResult`]), what a gate decided
//! ([`GateDecision`]), and a stage's monitor still watching after its
//! rollout ([`MonitorHandle`]): what the scheduler gets back from a node.

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::check::model::{FailurePolicy, NodeId};
use crate::record::event::{HostSummary, NodeStatus};

/// How a node (all its hosts) ended, and what a failure makes the run do.
#[derive(Debug)]
pub struct NodeResult {
    pub status: NodeStatus,
    pub error: Option<String>,
    pub exit_code: Option<i32>,
    pub failed_host: Option<String>,
    pub hosts: Vec<HostSummary>,
    /// For a failure: `on_failure` of the pipeline, or the gate outcome's policy.
    pub policy: FailurePolicy,
    /// A stage's `monitor`, still watching after the rollout.
    pub monitor: Option<MonitorHandle>,
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
        NodeResult { status, error, exit_code: None, failed_host: None, hosts: Vec::new(), policy, monitor: None }
    }
}

/// What a gate decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateDecision {
    Pass,
    /// Stop the run under `policy` (rollback, pause or abort).
    Stop {
        message: String,
        policy: FailurePolicy,
    },
    Cancelled,
}

/// A running monitor.
pub struct MonitorHandle {
    pub stage: NodeId,
    pub(super) rollout_end: watch::Sender<Option<Instant>>,
    pub(super) cancel: CancellationToken,
    pub task: JoinHandle<GateDecision>,
}

impl std::fmt::Debug for MonitorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorHandle").field("stage", &self.stage).finish()
    }
}

impl MonitorHandle {
    /// The rollout finished: watch for the monitor's period from now on.
    pub fn rollout_finished(&self) {
        let _ = self.rollout_end.send(Some(Instant::now()));
    }

    /// Stops watching (the stage failed or the run stops).
    pub fn stop(&self) {
        self.cancel.cancel();
    }
}
