//! Who makes a request: the identity of its bearer token, and whether a
//! read without one is allowed (loopback clients, or `open_reads`).

use std::net::SocketAddr;

use axum::http::HeaderMap;

use super::error::{ApiError, ApiResult};
use super::AppState;

/// The token after `Authorization: Bearer `.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The identity a write is made as; 401 without a known token.
pub fn writer(state: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    if state.config.tokens.is_empty() {
        return Err(ApiError::unauthorized("this server has no --token-file: it accepts no writes"));
    }
    let token = bearer(headers).ok_or_else(|| ApiError::unauthorized("a write needs `Authorization: Bearer TOKEN`"))?;
    state
        .config
        .tokens
        .identity(token)
        .map(str::to_string)
        .ok_or_else(|| ApiError::unauthorized("the bearer token is not in the server's --token-file"))
}

/// Reads: open from loopback (or everywhere with `open_reads`), else a token.
pub fn reader(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> ApiResult<()> {
    if state.config.open_reads || peer.ip().is_loopback() {
        return Ok(());
    }
    writer(state, headers).map(|_| ())
}
