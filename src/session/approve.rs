//! Recording an approval for a gate (or protected stage) of a paused run;
//! resuming the run then passes the gate. The engine checks the approver
//! against the gate's `by` list when it resumes; [`ApproveRequest::check_by`]
//! checks it before anything is recorded.

use std::path::{Path, PathBuf};

use super::error::{SessionError, SessionErrorKind, SessionResult};
use super::liveness::effective_status;
use crate::state::{now_ms, Deployment, DeploymentQuery, DeploymentStatus, Holder, StateStore};

pub struct ApproveRequest {
    /// The paused run [default: the latest paused run (of `plan`)].
    pub run: Option<String>,
    pub plan: Option<PathBuf>,
    pub gate: String,
    pub approver: String,
    /// Refuse an approver the gate's `by` list does not name.
    pub check_by: bool,
}

/// What was recorded.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Approved {
    pub run_id: String,
    pub gate: String,
    pub approver: String,
}

/// Records the approval.
pub fn approve(store: &mut dyn StateStore, request: &ApproveRequest) -> SessionResult<Approved> {
    let deployment = answerable(store, request)?;
    store.add_approval(&deployment.run_id, &request.gate, &request.approver, now_ms())?;
    Ok(Approved { run_id: deployment.run_id, gate: request.gate.clone(), approver: request.approver.clone() })
}

/// The paused run whose gate `request` answers, once the gate is known to
/// be one of its nodes and (with `check_by`) the approver one it allows.
pub fn answerable(store: &mut dyn StateStore, request: &ApproveRequest) -> SessionResult<Deployment> {
    let me = Holder::current("");
    let deployment = find(store, request.run.as_deref(), request.plan.as_deref())?;
    let status = effective_status(&deployment, &me);
    if !matches!(status, DeploymentStatus::Paused | DeploymentStatus::Crashed) {
        let holder = deployment.undone_by.clone().unwrap_or_else(|| deployment.run_id.clone());
        return Err(SessionError::refused(format!(
            "run {} is {}, not paused: there is nothing to approve",
            deployment.run_id,
            status.as_str()
        ))
        .with_winner(holder));
    }
    // The gate must be a node of the run (its summary lists every node).
    let mut names: Vec<String> = store.node_runs(&deployment.run_id)?.into_iter().map(|node| node.node).collect();
    names.extend(plan_nodes(&deployment.plan_text));
    names.sort();
    names.dedup();
    if !names.iter().any(|name| name == &request.gate) {
        let mut error =
            SessionError::not_found(format!("run {} has no gate or stage `{}`", deployment.run_id, request.gate));
        if let Some(close) = crate::diagnostic::did_you_mean(&request.gate, names.iter().map(String::as_str)) {
            error = error.with_help(format!("did you mean `{close}`?"));
        }
        return Err(error);
    }
    if request.check_by {
        let allowed = allowed_approvers(&deployment, &request.gate);
        if !allowed.is_empty() && !allowed.contains(&request.approver) {
            return Err(SessionError::new(
                SessionErrorKind::Forbidden,
                format!(
                    "{} may only be approved by {}; `{}` is not one of them",
                    request.gate,
                    allowed.join(", "),
                    request.approver
                ),
            ));
        }
    }
    Ok(deployment)
}

fn find(store: &mut dyn StateStore, run: Option<&str>, plan: Option<&Path>) -> SessionResult<Deployment> {
    if let Some(run) = run {
        return store
            .deployment(run)?
            .ok_or_else(|| SessionError::not_found(format!("no run `{run}` in the state (see `deploy history`)")));
    }
    let plan_file = plan.map(|plan| std::fs::canonicalize(plan).unwrap_or_else(|_| plan.to_path_buf()));
    store
        .deployments(&DeploymentQuery::default())?
        .into_iter()
        .find(|deployment| {
            deployment.status == DeploymentStatus::Paused
                && plan_file.as_ref().map_or(true, |file| Path::new(&deployment.plan_file) == file.as_path())
        })
        .ok_or_else(|| SessionError::not_found("no paused run to approve (see `deploy status`)"))
}

/// Who may approve `gate` of the run's plan: the gate's `by` list, or the
/// protected environment's for a stage; empty when anyone may (or the plan
/// no longer loads: the engine checks again when the run resumes).
pub fn allowed_approvers(deployment: &Deployment, gate: &str) -> Vec<String> {
    let checked = crate::check::check_file_with(Path::new(&deployment.plan_file), &[]);
    let Some(plan) = checked.plan else { return Vec::new() };
    let Some(node) = plan.node_named(gate) else { return Vec::new() };
    if let Some(approval) = node.gate.as_ref().and_then(|gate| gate.approve.as_ref()) {
        return approval.by.clone();
    }
    node.target.map(|target| plan.environment(target).protect.approvers.clone()).unwrap_or_default()
}

/// The names of the stages and gates declared in a plan's text.
fn plan_nodes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let rest = line.strip_prefix("stage ").or_else(|| line.strip_prefix("gate "))?;
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-').collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}
