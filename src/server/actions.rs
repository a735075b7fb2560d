//! The write side of the API over runs and environments: approving or
//! rejecting a gate of a paused run, resuming a paused or crashed run, and
//! rolling an environment back (with its preview). Each needs a bearer
//! token; each claims its run through [`crate::session`] (of many requests
//! at once exactly one claims it, the others get 409 with the winner's id),
//! journals an `action` event with the token's identity
//! ([`crate::session::action`]), starts the run on a thread of its own and
//! answers `202 Accepted` with the run's id. A rejection answers the gate's
//! approval "no" (its `on_fail` policy, a rollback by default, decides); a
//! resume continues where the run paused (a gate still without an approval
//! pauses it again). Releasing a lock lives in `locks.rs`.

use std::sync::Arc;

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
use crate::session::resume::{ClaimedResume, PreparedResume};
use crate::session::rollback::ClaimedRollback;
use crate::session::{LockWait, ResumeRequest, RollbackRequest};

/// A JSON body, or 400 saying what is wrong with it. An empty body is `{}`.
pub(crate) fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(text)
        .map_err(|error| ApiError::bad_request(format!("the body is not valid JSON for this request: {error}")))
}

/// The views a run started by the server has: its log on stdout.
fn server_views() -> Vec<Box<dyn crate::engine::EventSink>> {
    vec![Box::new(crate::engine::view::PlainView::new(std::io::stdout()))]
}

/// The run `id` loaded to continue, answering as `identity`.
fn prepare_resume(state: &AppState, id: &str, identity: &str) -> ApiResult<PreparedResume> {
    let resume = ResumeRequest {
        location: state.config.state.clone(),
        run: Some(id.to_string()),
        plan: None,
        allow_changed_plan: false,
        approvals: Approvals { approver: identity.to_string(), ..Approvals::default() },
        max_parallel: None,
        lock: LockWait::default(),
        views: server_views(),
        interrupts: crate::session::Interrupts::Signals,
    };
    Ok(crate::session::resume::prepare(resume, &StderrReporter)?)
}

/// Starts a claimed resume on a thread of its own. Started before the
/// answer: a client that goes away cannot strand the claim.
fn start_resume(state: &AppState, claimed: ClaimedResume) -> ApiResult<String> {
    let run_id = claimed.run_id().to_string();
    state
        .runs
        .spawn(&run_id, move |interrupts, reporter| claimed.with_interrupts(interrupts).execute(reporter))
        .map_err(|error| ApiError::internal(format!("cannot start the run: {error}")))?;
    Ok(run_id)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateBody {
    gate: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResumeBody {}

/// `POST /api/runs/{id}/approve` `{"gate": NAME}`: approves the gate and
/// resumes the run.
pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(Identity(identity)): Extension<Identity>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let request: GateBody = body(&bytes)?;
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
        // Of many approvals at once, the one whose resume claims the run goes on.
        let claimed = prepare_resume(&shared, &id, &identity)
            .and_then(|prepared| Ok(prepared.claim(&StderrReporter)?))
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
        start_resume(&shared, claimed)?;
        Ok(approved)
    })
    .await?;
    let answer = serde_json::json!({ "run_id": approved.run_id, "gate": approved.gate, "approver": approved.approver, "resumed": true });
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// `POST /api/runs/{id}/reject` `{"gate": NAME}`: only an identity the gate
/// allows to approve may reject it.
pub async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(Identity(identity)): Extension<Identity>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let request: GateBody = body(&bytes)?;
    let shared = state.clone();
    let rejecter = identity.clone();
    let (gate, run_id) = blocking(move || {
        let mut store = open(&shared)?;
        let question = ApproveRequest {
            run: Some(id.clone()),
            plan: None,
            gate: request.gate.clone(),
            approver: identity.clone(),
            check_by: true,
        };
        crate::session::approve::answerable(store.as_mut(), &question)?;
        let rejection = crate::session::reject::Rejection { gate: request.gate.clone() };
        // Of many answers at once, the one whose resume claims the run goes on.
        let claimed =
            prepare_resume(&shared, &id, &identity)?.with_prompt(Arc::new(rejection)).claim(&StderrReporter)?;
        let action = Action {
            action: "reject",
            by: &identity,
            node: Some(&request.gate),
            message: format!("{identity} rejected {}", request.gate),
        };
        crate::session::action::record(store.as_mut(), &id, action)?;
        let run_id = start_resume(&shared, claimed)?;
        Ok((request.gate, run_id))
    })
    .await?;
    let answer = serde_json::json!({ "run_id": run_id, "gate": gate, "rejected_by": rejecter, "resumed": true });
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// `POST /api/runs/{id}/resume` `{}`: continues a paused (or crashed) run.
pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(Identity(identity)): Extension<Identity>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let _: ResumeBody = body(&bytes)?;
    let shared = state.clone();
    let who = identity.clone();
    let run_id = blocking(move || {
        // Of many resumes at once, the one that claims the run goes on.
        let claimed = prepare_resume(&shared, &id, &who)?.claim(&StderrReporter)?;
        let action = Action { action: "resume", by: &who, node: None, message: format!("{who} resumed the run") };
        crate::session::action::record(open(&shared)?.as_mut(), &id, action)?;
        start_resume(&shared, claimed)
    })
    .await?;
    let answer = serde_json::json!({ "run_id": run_id, "resumed_by": identity, "resumed": true });
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

/// A rollback of `environment` as `identity` asks for it (`to`, `with_gates`).
fn rollback_request(
    state: &AppState,
    environment: String,
    body: RollbackBody,
    identity: &str,
    views: Vec<Box<dyn crate::engine::EventSink>>,
) -> RollbackRequest {
    RollbackRequest {
        run_id: crate::engine::context::new_run_id(),
        location: state.config.state.clone(),
        file: state.config.plan.get(),
        environment: Some(environment),
        to: body.to,
        with_gates: body.with_gates,
        sets: Vec::new(),
        approvals: Approvals { approver: identity.to_string(), ..Approvals::default() },
        lock: LockWait::default(),
        views,
        interrupts: crate::session::Interrupts::Signals,
    }
}

/// `POST /api/environments/{env}/rollback` `{"to"?: V, "with_gates"?: bool}`.
pub async fn rollback(
    State(state): State<AppState>,
    Path(environment): Path<String>,
    Extension(Identity(identity)): Extension<Identity>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let request: RollbackBody = body(&bytes)?;
    let shared = state.clone();
    let run_id = blocking(move || {
        let rollback = rollback_request(&shared, environment, request, &identity, server_views());
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
        let rollback = rollback_request(&state, environment, RollbackBody::default(), "", Vec::new());
        Ok(crate::session::rollback::prepare(rollback, &StderrReporter)?.preview())
    })
    .await?;
    Ok(Json(preview))
}
