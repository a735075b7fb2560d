//! What keeps the watcher from starting the next commit: a run of the
//! pipeline that is running (here or in another process), paused (until it
//! is approved and resumed, or superseded), or crashed (resumed first).

use crate::session::liveness::effective_status;
use crate::state::{Deployment, DeploymentKind, DeploymentQuery, DeploymentStatus, Holder, StateResult, StateStore};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hold {
    Running(String),
    Paused { run_id: String, reason: String },
    Crashed(String),
}

impl Hold {
    /// What the watcher waits for, for people.
    pub fn describe(&self) -> String {
        match self {
            Hold::Running(run) => format!("run {run} is running"),
            Hold::Paused { run_id, reason } => format!(
                "run {run_id} is paused ({reason}); approve it (`deploy approve GATE --run {run_id}` then \
                 `deploy resume {run_id}`, or POST /api/runs/{run_id}/approve) or supersede it"
            ),
            Hold::Crashed(run) => format!("run {run} crashed; resuming it"),
        }
    }
}

/// The latest run of `pipeline` when it holds the queue.
pub fn hold(store: &mut dyn StateStore, pipeline: &str, me: &Holder) -> StateResult<Option<Hold>> {
    let query = DeploymentQuery {
        pipeline: Some(pipeline.to_string()),
        kind: Some(DeploymentKind::Run),
        limit: Some(20),
        ..Default::default()
    };
    for deployment in store.deployments(&query)? {
        if deployment.undone_by.is_some() {
            continue;
        }
        match effective_status(&deployment, me) {
            DeploymentStatus::Running => return Ok(Some(Hold::Running(deployment.run_id))),
            DeploymentStatus::Paused => {
                let reason = pause_reason(store, &deployment)?;
                return Ok(Some(Hold::Paused { run_id: deployment.run_id, reason }));
            }
            DeploymentStatus::Crashed => return Ok(Some(Hold::Crashed(deployment.run_id))),
            _ => {}
        }
    }
    // A rollback going on holds the queue too.
    let rollbacks = DeploymentQuery {
        pipeline: Some(pipeline.to_string()),
        kind: Some(DeploymentKind::Rollback),
        limit: Some(5),
        ..Default::default()
    };
    for deployment in store.deployments(&rollbacks)? {
        if effective_status(&deployment, me) == DeploymentStatus::Running {
            return Ok(Some(Hold::Running(deployment.run_id)));
        }
    }
    Ok(None)
}

/// Why a paused run stopped: its last `stopping` event's reason.
fn pause_reason(store: &mut dyn StateStore, deployment: &Deployment) -> StateResult<String> {
    let journal = store.journal(&deployment.run_id)?;
    let reason = journal
        .iter()
        .rev()
        .filter(|entry| entry.kind == "stopping")
        .find_map(|entry| serde_json::from_str::<serde_json::Value>(&entry.event).ok())
        .and_then(|event| event.get("reason").and_then(|reason| reason.as_str()).map(str::to_string));
    Ok(reason.unwrap_or_else(|| "waiting for a decision".to_string()))
}
