//! What every request and response passes, matched route or not: a Host
//! header that does not name this server is refused (421), so a page on
//! another name resolving to this machine (DNS rebinding) reads nothing.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !super::origin::host_allowed(request.headers(), state.config.public_host.as_deref()) {
        let host = request.headers().get(axum::http::header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("");
        return ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "wrong_host",
            format!(
                "the Host header `{host}` does not name this server (an IP address, localhost, or the host of \
                 --public-url)"
            ),
        )
        .into_response();
    }
    next.run(request).await
}
