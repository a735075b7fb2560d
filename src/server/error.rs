//! Errors as JSON: `{"error": {"code": "...", "message": "..."}}` with a
//! 4xx or 5xx status, for every way a request can go wrong.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::session::{SessionError, SessionErrorKind};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The run that won a race for the same action, or holds the lock (409s).
    pub run_id: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), run_id: None }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> ApiError {
        let (status, code) = match error.kind {
            SessionErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            SessionErrorKind::Locked => (StatusCode::CONFLICT, "locked"),
            // Another request resumed or rolled back the run first.
            SessionErrorKind::Refused if error.place.run.is_some() => (StatusCode::CONFLICT, "conflict"),
            SessionErrorKind::Refused => (StatusCode::CONFLICT, "refused"),
            SessionErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            SessionErrorKind::Plan => (StatusCode::UNPROCESSABLE_ENTITY, "plan_errors"),
            SessionErrorKind::Usage => (StatusCode::BAD_REQUEST, "bad_request"),
            SessionErrorKind::State | SessionErrorKind::Runtime | SessionErrorKind::Run => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let message = if error.kind == SessionErrorKind::Plan {
            "the plan has errors (see the server's log, or run `deploy check`)".to_string()
        } else {
            error.message
        };
        ApiError { status, code, message, run_id: error.place.run.clone() }
    }
}

impl From<crate::state::StateError> for ApiError {
    fn from(error: crate::state::StateError) -> ApiError {
        ApiError::internal(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({ "code": self.code, "message": self.message });
        if let Some(run_id) = self.run_id {
            error["run_id"] = serde_json::Value::String(run_id);
        }
        let body = serde_json::json!({ "error": error });
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
