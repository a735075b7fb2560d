//! Rejecting a gate of a paused run and resuming a paused run, over the
//! API. Both resume the run in this process like an approval does: a
//! rejection answers the gate's approval "no" (its `on_fail` policy, a
//! rollback by default, decides); a resume continues where the run paused
//! (a gate still without an approval pauses it again). Both are journaled
//! with the token's identity before the run continues.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::actions::{body, server_views, start};
use super::api::{blocking, open};
use super::auth::Identity;
use super::error::ApiResult;
use super::reporter::StderrReporter;
use super::AppState;
use crate::engine::Approvals;
use crate::session::action::Action;
use crate::session::approve::ApproveRequest;
use crate::session::resume::PreparedResume;
use crate::session::{LockWait, ResumeRequest};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateBody {
    gate: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResumeBody {}

/// The run `id` loaded to continue, answering as `identity`.
fn prepare(state: &AppState, id: &str, identity: &str) -> ApiResult<PreparedResume> {
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
        let claimed = prepare(&shared, &id, &identity)?.with_prompt(Arc::new(rejection)).claim(&StderrReporter)?;
        let action = Action {
            action: "reject",
            by: &identity,
            node: Some(&request.gate),
            message: format!("{identity} rejected {}", request.gate),
        };
        crate::session::action::record(store.as_mut(), &id, action)?;
        let run_id = claimed.run_id().to_string();
        start(&shared, claimed)?;
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
        let claimed = prepare(&shared, &id, &who)?.claim(&StderrReporter)?;
        let action = Action { action: "resume", by: &who, node: None, message: format!("{who} resumed the run") };
        crate::session::action::record(open(&shared)?.as_mut(), &id, action)?;
        let run_id = claimed.run_id().to_string();
        start(&shared, claimed)?;
        Ok(run_id)
    })
    .await?;
    let answer = serde_json::json!({ "run_id": run_id, "resumed_by": identity, "resumed": true });
    Ok((StatusCode::ACCEPTED, Json(answer)))
}
