//! What every request and response passes, matched route or not: a Host
//! header that does not name this server is refused (421), so a page on
//! another name resolving to this machine (DNS rebinding) reads nothing; a
//! URL longer than [`MAX_URL`] gets 414; every error is JSON, the
//! rejections of axum's extractors (`?limit=abc`, a body over
//! [`BODY_LIMIT`]) included; every response carries the security headers
//! ([`SECURITY_HEADERS`]).

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

/// The longest path and query served (414 beyond).
pub const MAX_URL: usize = 8 * 1024;

/// The largest request body read (413 beyond).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = checked(&state, request, next).await;
    let mut response = as_json(response).await;
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
    let length = request.uri().path_and_query().map_or(0, |path| path.as_str().len());
    if length > MAX_URL {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the URL is {length} bytes long; at most {MAX_URL} are served"),
        )
        .into_response();
    }
    // A body announced too large is refused before it is read (a client
    // waiting for `100 Continue` sends none of it).
    let announced = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > BODY_LIMIT as u64) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {BODY_LIMIT} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}

/// An error response that is not JSON (an extractor's rejection) as the
/// JSON error of docs/api.md, with the same status and its text as the message.
async fn as_json(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ if status.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text };
    let mut answer = ApiError::new(status, code, message).into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}
