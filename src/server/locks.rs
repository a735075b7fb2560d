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
use crate::session::release_lock::{release_lock, ReleaseRequest};

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
        let release = ReleaseRequest {
            pipeline: &request.pipeline,
            environment: request.environment.as_deref(),
            force: false,
            by: &identity,
        };
        let dropped = release_lock(store.as_mut(), &release)?;
        let released: Vec<serde_json::Value> = dropped
            .iter()
            .map(|lease| serde_json::json!({ "scope": lease.scope, "owner": lease.owner, "run_id": lease.run_id }))
            .collect();
        Ok::<_, ApiError>(released)
    })
    .await?;
    Ok(Json(serde_json::json!({ "released": released })))
}
