//! What every request and response passes, matched route or not: a Host
//! header that does not name this server is refused (421), so a page on
//! another name resolving to this machine (DNS rebinding) reads nothing;
//! every response carries the security headers ([`SECURITY_HEADERS`]).

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

/// The page may load only its own script and stylesheet (and talk only to
/// this server); no other site may frame it or learn its URLs.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
];

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = checked(&state, request, next).await;
    for (name, value) in SECURITY_HEADERS {
        response.headers_mut().insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    response
}

async fn checked(state: &AppState, request: Request, next: Next) -> Response {
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
