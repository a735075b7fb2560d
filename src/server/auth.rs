//! The one authorization layer every route passes (see [`super::routes`]):
//! who makes a request and whether it may. Reads are open to loopback
//! clients (and to everyone with `--open-reads`); from elsewhere they need
//! a token — `Authorization: Bearer TOKEN`, or, so a browser can open the
//! pages, the token as the password of HTTP Basic authentication. Writes
//! need `Authorization: Bearer TOKEN` (never Basic, which a browser would
//! send along with another site's form). Tokens are read from no other
//! place (not the query string). A write's identity reaches its handler as
//! an [`Identity`] extension.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::access::{Access, RouteAccess};
use super::error::{ApiError, ApiResult};
use super::AppState;

/// Who a write is made as: the identity of its bearer token.
#[derive(Clone, Debug)]
pub struct Identity(pub String);

/// The token after `Authorization: Bearer `.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The password of `Authorization: Basic` (the user name is not looked at).
fn basic_password(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = decode_base64(encoded.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(_, password)| password.to_string())
}

/// Standard base64 (with or without padding); `None` for anything else.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let value = |byte: u8| -> Option<u32> {
        Some(u32::from(match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let digits = text.trim_end_matches('=').as_bytes();
    if digits.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut bits = 0u32;
        for (index, byte) in chunk.iter().enumerate() {
            bits |= value(*byte)? << (18 - 6 * index);
        }
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// The identity a write is made as; 401 without a known bearer token.
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
pub fn reader(state: &AppState, client: IpAddr, headers: &HeaderMap) -> ApiResult<()> {
    if state.config.open_reads || client.is_loopback() {
        return Ok(());
    }
    if state.config.tokens.is_empty() {
        return Err(ApiError::unauthorized(format!(
            "a read from {client} needs a token, and this server has no --token-file \
             (read from loopback, or start it with --open-reads)"
        )));
    }
    let token = bearer(headers).map(str::to_string).or_else(|| basic_password(headers)).ok_or_else(|| {
        ApiError::unauthorized(format!(
            "a read from {client} needs a token: `Authorization: Bearer TOKEN`, or the token as the password \
             of HTTP Basic authentication"
        ))
    })?;
    match state.config.tokens.identity(&token) {
        Some(_) => Ok(()),
        None => Err(ApiError::unauthorized("the token is not in the server's --token-file")),
    }
}

/// The layer: the access the route was declared with decides. A route
/// missing from the table is refused (it cannot be: the router is built
/// from the table).
pub async fn authorize(
    State((state, table)): State<(AppState, Arc<RouteAccess>)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    matched: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Response {
    let method = if request.method() == Method::HEAD { Method::GET } else { request.method().clone() };
    let access = matched.as_ref().and_then(|path| table.access(path.as_str(), &method));
    let client = super::origin::client(peer.ip(), request.headers(), &state.config.trusted_proxies);
    let page = !request.uri().path().starts_with("/api/");
    let decided = match access {
        Some(Access::Read) => reader(&state, client, request.headers()),
        Some(Access::Write) => writer(&state, request.headers()).map(|identity| {
            request.extensions_mut().insert(Identity(identity));
        }),
        Some(Access::Signed | Access::Asset) => Ok(()),
        None => Err(ApiError::internal("this route has no declared access")),
    };
    match decided {
        Ok(()) => next.run(request).await,
        Err(error) => {
            let basic = page && access == Some(Access::Read);
            let mut response = error.into_response();
            let challenge = if basic { "Basic realm=\"deploy\", charset=\"UTF-8\"" } else { "Bearer realm=\"deploy\"" };
            if response.status() == axum::http::StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes() {
        assert_eq!(super::decode_base64("YWxpY2U6czNjcmV0").as_deref(), Some(&b"alice:s3cret"[..]));
        assert_eq!(super::decode_base64("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(super::decode_base64("YWI").as_deref(), Some(&b"ab"[..]));
        assert_eq!(super::decode_base64("Y"), None);
        assert_eq!(super::decode_base64("!!!!"), None);
    }
}
