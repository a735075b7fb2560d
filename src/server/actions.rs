//! The write side of the API: approving a gate of a paused run (which then
//! resumes it in this process) and rolling an environment back. Both need
//! a bearer token; both start their run through [`crate::session`] on a
//! thread of its own and answer `202 Accepted` with the run's id. Each is
//! journaled as an `action` event with the token's identity
//! ([`crate::session::action`]); rejecting, resuming and releasing a lock
//! live beside this file.

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::api::{blocking, open};
use super::auth::Identity;
use super::error::{ApiError, ApiResult};
use super::reporter::StderrReporter;
use super::AppState;
use crate::engine::Approvals;
use crate::session::action::Action;
use crate::session::approve::ApproveRequest;
use crate::session::rollback::ClaimedRollback;
use crate::session::{LockWait, ResumeRequest, RollbackRequest};

/// A JSON body, or 400 saying what is wrong with it. An empty body is `{}`.
pub(crate) fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(text)
        .map_err(|error| ApiError::bad_request(format!("the body is not valid JSON for this request: {error}")))
}

/// The views a run started by the server has: its log on stdout.
pub(crate) fn server_views() -> Vec<Box<dyn crate::engine::EventSink>> {
    vec![Box::new(crate::engine::view::PlainView::new(std::io::stdout()))]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    gate: String,
}

pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(Identity(identity)): Extension<Identity>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let request: ApproveBody = body(&bytes)?;
    let shared = state.clone();
    let approved = blocking(move || {
        let mut store = open(&shared)?;
        let approve = ApproveRequest {
            run: Some(id.clone()),
            plan: None,
            gate: request.gate,
            approver: identity.clone(),
            check_by: true,
        };
        let approved = crate::session::approve::approve(store.as_mut(), &approve)?;
        let resume = ResumeRequest {
            location: shared.config.state.clone(),
            run: Some(id),
            plan: None,
            allow_changed_plan: false,
            approvals: Approvals { approver: identity, ..Approvals::default() },
            max_parallel: None,
            lock: LockWait::default(),
            views: server_views(),
            interrupts: crate::session::Interrupts::Signals,
        };
        // Of many approvals at once, the one whose resume claims the run goes on.
        let claimed = crate::session::resume::prepare(resume, &StderrReporter)
            .and_then(|prepared| prepared.claim(&StderrReporter))
            .map_err(ApiError::from)
            .map_err(|error| match error.run_id {
                Some(_) => error,
                None => {
                    ApiError { message: format!("approved, but the run cannot be resumed: {}", error.message), ..error }
                }
            })?;
        let action = Action {
            action: "approve",
            by: &approved.approver,
            node: Some(&approved.gate),
            message: format!("{} approved {} and resumed the run", approved.approver, approved.gate),
        };
        crate::session::action::record(store.as_mut(), &approved.run_id, action)?;
        // Started here, not after the answer: a client that goes away cannot strand the claim.
        start(&shared, claimed)?;
        Ok(approved)
    })
    .await?;
    let answer = serde_json::json!({ "run_id": approved.run_id, "gate": approved.gate, "approver": approved.approver, "resumed": true });
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    /// Roll back to this version instead of the previous one.
    to: Option<String>,
    #[serde(default)]
    with_gates: bool,
}

pub async fn rollback(
    State(state): State<AppState>,
    Path(environment): Path<String>,
    Extension(Identity(identity)): Extension<Identity>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let request: RollbackBody = body(&bytes)?;
    let shared = state.clone();
    let run_id = blocking(move || {
        let rollback = RollbackRequest {
            run_id: crate::engine::context::new_run_id(),
            location: shared.config.state.clone(),
            file: shared.config.plan.get(),
            environment: Some(environment),
            to: request.to,
            with_gates: request.with_gates,
            sets: Vec::new(),
            approvals: Approvals { approver: identity.clone(), ..Approvals::default() },
            lock: LockWait::default(),
            views: server_views(),
            interrupts: crate::session::Interrupts::Signals,
        };
        // Of many rollbacks at once, the one that claims the undone run goes on.
        let claimed = crate::session::rollback::prepare(rollback, &StderrReporter)?.claim(&StderrReporter)?;
        record_rollback(&shared, &claimed, &identity)?;
        let run_id = claimed.run_id().to_string();
        shared
            .runs
            .spawn(&run_id, move |interrupts, reporter| claimed.with_interrupts(interrupts).execute(reporter))
            .map_err(|error| ApiError::internal(format!("cannot start the rollback: {error}")))?;
        Ok(run_id)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "run_id": run_id }))))
}

/// Starts a claimed resume on a thread of its own.
pub(crate) fn start(state: &AppState, claimed: crate::session::resume::ClaimedResume) -> ApiResult<()> {
    let run_id = claimed.run_id().to_string();
    state
        .runs
        .spawn(&run_id, move |interrupts, reporter| claimed.with_interrupts(interrupts).execute(reporter))
        .map_err(|error| ApiError::internal(format!("cannot start the run: {error}")))
}

/// Journals the rollback in the run it undoes (the rollback run journals itself).
fn record_rollback(state: &AppState, prepared: &ClaimedRollback, identity: &str) -> ApiResult<()> {
    let preview = prepared.preview();
    let action = Action {
        action: "rollback",
        by: identity,
        node: None,
        message: format!(
            "{identity} rolled back {} from {} to {} (run {}): {}",
            preview.environments.join(", "),
            preview.from_version,
            preview.to_version,
            prepared.run_id(),
            preview.units.join(", ")
        ),
    };
    crate::session::action::record(open(state)?.as_mut(), &preview.undoes, action)?;
    Ok(())
}

/// `GET /api/environments/{env}/rollback`: what a rollback would undo, and
/// to which version; nothing runs.
pub async fn rollback_preview(
    State(state): State<AppState>,
    Path(environment): Path<String>,
) -> ApiResult<Json<crate::session::rollback::RollbackPreview>> {
    let preview = blocking(move || {
        let rollback = RollbackRequest {
            run_id: crate::engine::context::new_run_id(),
            location: state.config.state.clone(),
            file: state.config.plan.get(),
            environment: Some(environment),
            to: None,
            with_gates: false,
            sets: Vec::new(),
            approvals: Approvals::default(),
            lock: LockWait::default(),
            views: Vec::new(),
            interrupts: crate::session::Interrupts::Signals,
        };
        Ok(crate::session::rollback::prepare(rollback, &StderrReporter)?.preview())
    })
    .await?;
    Ok(Json(preview))
}
