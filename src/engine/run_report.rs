//! What a run ended with, and the failure it becomes for the front ends.

use crate::check::model::Plan;
use crate::record::event::{RunStatus, Summary};
use crate::record::failure::{Failure, FailureKind, Place};

/// What a run ended with.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub status: RunStatus,
    pub summary: Summary,
    pub duration_ms: u64,
}

impl RunReport {
    /// The failure of a run that did not succeed (a pause is no failure):
    /// its status as the code, the node and host that failed first, why.
    pub fn failure(&self, plan: &Plan) -> Option<Failure> {
        let code = match self.status {
            RunStatus::Succeeded | RunStatus::Paused => return None,
            RunStatus::RolledBack => "rolled_back",
            RunStatus::Aborted => "aborted",
            RunStatus::RollbackFailed => "rollback_failed",
            RunStatus::Interrupted => "interrupted",
        };
        let mut failure = Failure::new(FailureKind::Run, format!("the run {}", self.status.word())).with_code(code);
        if let Some(summary) = &self.summary.failure {
            failure = failure.caused_by(&summary.message);
            if let Some(node) = &summary.node {
                failure = failure.with_place(Place::of_node(plan, node, summary.host.as_deref()));
            }
        }
        Some(failure)
    }
}
