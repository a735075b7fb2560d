//! `POST /hooks/git`: push webhooks. GitHub's (`X-Hub-Signature-256:
//! sha256=<HMAC-SHA256 of the body>`) or GitLab's (`X-Gitlab-Token`), both
//! checked against `--webhook-secret-file` in constant time. A valid push
//! to the watched branch wakes the watcher for an immediate fetch; a bad or
//! missing signature gets 401 and wakes nothing; other events and branches
//! get 200 and are ignored. GitHub's form-encoded deliveries
//! (`application/x-www-form-urlencoded`, the JSON in `payload=`) count like
//! JSON ones (the signature is over the body as sent). A delivery whose id
//! (`X-GitHub-Delivery`, `X-Gitlab-Event-UUID`) was seen before — a
//! redelivery — is answered 200 and wakes nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::error::{ApiError, ApiResult};
use super::AppState;

/// What a webhook can wake: `deploy watch`.
pub trait PushTarget: Send + Sync {
    /// The branch it deploys (`main`).
    fn branch(&self) -> String;
    /// Fetch now instead of at the next poll.
    fn wake(&self, commit: Option<String>);
    /// What it does and waits for, for `/api/status`.
    fn status(&self) -> serde_json::Value;
}

/// The shared secret of the webhooks.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// Reads the file; surrounding whitespace (a final newline) is not part of it.
    pub fn read(path: &std::path::Path) -> Result<WebhookSecret, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read the webhook secret {}: {error}", path.display()))?;
        let secret = text.trim();
        if secret.len() < 16 {
            return Err(format!("the webhook secret in {} is shorter than 16 characters", path.display()));
        }
        Ok(WebhookSecret(secret.as_bytes().to_vec()))
    }

    /// GitHub: `sha256=` and the hex HMAC-SHA256 of the body.
    pub fn github_signature_ok(&self, header: &str, body: &[u8]) -> bool {
        let Some(hex) = header.trim().strip_prefix("sha256=") else { return false };
        let Some(given) = decode_hex(hex) else { return false };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else { return false };
        mac.update(body);
        // verify_slice compares in constant time.
        mac.verify_slice(&given).is_ok()
    }

    /// GitLab: the secret itself.
    pub fn gitlab_token_ok(&self, header: &str) -> bool {
        bool::from(self.0.as_slice().ct_eq(header.as_bytes()))
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok()).collect()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Checks the signature; the event's name (`push`, `Push Hook`, ...).
fn authenticate(secret: Option<&WebhookSecret>, headers: &HeaderMap, body: &[u8]) -> ApiResult<String> {
    let Some(secret) = secret else {
        return Err(ApiError::unauthorized("webhooks are off: the server has no --webhook-secret-file"));
    };
    if let Some(signature) = header(headers, "x-hub-signature-256") {
        if secret.github_signature_ok(signature, body) {
            return Ok(header(headers, "x-github-event").unwrap_or("").to_string());
        }
        return Err(ApiError::unauthorized("bad X-Hub-Signature-256"));
    }
    if let Some(token) = header(headers, "x-gitlab-token") {
        if secret.gitlab_token_ok(token) {
            return Ok(header(headers, "x-gitlab-event").unwrap_or("").to_string());
        }
        return Err(ApiError::unauthorized("bad X-Gitlab-Token"));
    }
    Err(ApiError::unauthorized("no X-Hub-Signature-256 or X-Gitlab-Token: the webhook is not signed"))
}

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let event = authenticate(state.config.webhook_secret.as_ref(), &headers, &body)?;
    let ignored = |why: String| Ok((StatusCode::OK, Json(serde_json::json!({ "triggered": false, "ignored": why }))));
    if !matches!(event.as_str(), "push" | "Push Hook") {
        return ignored(format!("`{event}` is not a push event"));
    }
    if let Some(delivery) = header(&headers, "x-github-delivery").or_else(|| header(&headers, "x-gitlab-event-uuid")) {
        if !state.deliveries.first_time(delivery) {
            return ignored(format!("delivery {delivery} was received before"));
        }
    }
    let form = header(&headers, "content-type")
        .is_some_and(|kind| kind.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let json = if form {
        form_payload(&body).ok_or_else(|| ApiError::bad_request("the form-encoded push has no `payload` field"))?
    } else {
        body.to_vec()
    };
    let push: serde_json::Value = serde_json::from_slice(&json)
        .map_err(|error| ApiError::bad_request(format!("the push event is not JSON: {error}")))?;
    let Some(watcher) = &state.config.watcher else {
        return ignored("this server watches no repository (deploy serve)".into());
    };
    let branch = watcher.branch();
    let pushed = push.get("ref").and_then(|value| value.as_str()).unwrap_or("");
    if pushed != format!("refs/heads/{branch}") {
        return ignored(format!("the push is to `{pushed}`, not to refs/heads/{branch}"));
    }
    let commit = push.get("after").and_then(|value| value.as_str()).map(str::to_string);
    watcher.wake(commit.clone());
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "triggered": true, "branch": branch, "commit": commit }))))
}

/// The deliveries seen lately (the last [`Deliveries::KEPT`]), so a redelivery wakes nothing.
#[derive(Default)]
pub struct Deliveries(std::sync::Mutex<std::collections::VecDeque<String>>);

impl Deliveries {
    const KEPT: usize = 1024;

    /// Whether `id` is new; it is remembered.
    pub fn first_time(&self, id: &str) -> bool {
        let Ok(mut seen) = self.0.lock() else { return true };
        if seen.iter().any(|known| known == id) {
            return false;
        }
        if seen.len() == Self::KEPT {
            seen.pop_front();
        }
        seen.push_back(id.to_string());
        true
    }
}

/// The `payload` field of a form-encoded body, decoded.
fn form_payload(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let value = text.split('&').find_map(|pair| pair.strip_prefix("payload="))?;
    percent_decode(value)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(at + 1..at + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                at += 2;
            }
            byte => out.push(byte),
        }
        at += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_signatures_are_checked() {
        let secret = WebhookSecret(b"0123456789abcdef".to_vec());
        let mut mac = Hmac::<Sha256>::new_from_slice(b"0123456789abcdef").unwrap();
        mac.update(b"{}");
        let hex: String = mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect();
        assert!(secret.github_signature_ok(&format!("sha256={hex}"), b"{}"));
        assert!(!secret.github_signature_ok(&format!("sha256={hex}"), b"{ }"));
        assert!(!secret.github_signature_ok(&hex, b"{}"));
        assert!(!secret.github_signature_ok("sha256=zz", b"{}"));
        assert!(secret.gitlab_token_ok("0123456789abcdef"));
        assert!(!secret.gitlab_token_ok("0123456789abcdeF"));
    }

    #[test]
    fn form_payloads_are_decoded_and_deliveries_remembered() {
        assert_eq!(form_payload(b"payload=%7B%22a%22%3A+1%7D").as_deref(), Some(&b"{\"a\": 1}"[..]));
        assert_eq!(form_payload(b"x=1&payload=%7B%7D").as_deref(), Some(&b"{}"[..]));
        assert_eq!(form_payload(b"x=1"), None);
        assert_eq!(form_payload(b"payload=%zz"), None);
        let seen = Deliveries::default();
        assert!(seen.first_time("a") && seen.first_time("b") && !seen.first_time("a"));
    }
}
