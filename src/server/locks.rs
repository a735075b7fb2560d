//! `POST /api/locks/release`: releases the lock of a pipeline (or of one
//! of its environments) whose holder is gone — a crashed run's lock, which
//! the next run would otherwise wait on until it expires. A holder that
//! looks alive keeps its lock (409); `deploy lock release --force` on the
//! machine is the way to take a live one. The release is journaled in the
//! holder's run with the token's identity.

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::Json;
use serde::Deserialize;

use super::actions::body;
use super::api::{blocking, open};
use super::auth::Identity;
use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::session::action::Action;
use crate::session::overview::lock_views;
use crate::session::SessionError;
use crate::state::Holder;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseBody {
    pipeline: String,
    environment: Option<String>,
}

pub async fn release(
    State(state): State<AppState>,
    Extension(Identity(identity)): Extension<Identity>,
    bytes: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let request: ReleaseBody = body(&bytes)?;
    let released = blocking(move || {
        let mut store = open(&state)?;
        let views: Vec<_> = lock_views(store.leases()?, &Holder::current(""))
            .into_iter()
            .filter(|view| {
                view.lease.pipeline == request.pipeline
                    && request.environment.as_ref().map_or(true, |env| &view.lease.environment == env)
            })
            .collect();
        if views.is_empty() {
            return Err(ApiError::not_found(format!("`{}` is not locked", request.pipeline)));
        }
        if let Some(live) = views.iter().find(|view| view.stale.is_none()) {
            return Err(SessionError::refused(format!(
                "`{}` is held by {} (pid {} on {}, run {}), which looks alive; only a stale lock is released here",
                live.lease.scope, live.lease.owner, live.lease.pid, live.lease.machine, live.lease.run_id
            ))
            .into());
        }
        let dropped = store.force_release(&request.pipeline, request.environment.as_deref())?;
        let mut released = Vec::new();
        for lease in dropped {
            if store.deployment(&lease.run_id)?.is_some() {
                let action = Action {
                    action: "release_lock",
                    by: &identity,
                    node: None,
                    message: format!("{identity} released the stale lock `{}` of this run", lease.scope),
                };
                crate::session::action::record(store.as_mut(), &lease.run_id, action)?;
            }
            released.push(serde_json::json!({ "scope": lease.scope, "owner": lease.owner, "run_id": lease.run_id }));
        }
        Ok(released)
    })
    .await?;
    Ok(Json(serde_json::json!({ "released": released })))
}
