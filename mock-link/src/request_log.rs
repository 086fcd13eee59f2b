//! The request log: every request to the auth, API and Stripe paths with secrets redacted,
//! recorded by a middleware that also enforces the body-size limit.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::body::MAX_BODY_BYTES;
use crate::clock::{unix_millis, unix_seconds};
use crate::error::{Error, ErrorShape};
use crate::faults;
use crate::server::AppState;

/// The most entries the request log keeps; older ones are dropped.
pub const MAX_LOGGED_REQUESTS: usize = 10_000;

/// The replacement text for a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Field names whose values are always secrets.
const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "token",
    "device_code",
    "number",
    "cvc",
    "shared_payment_granted_token",
    "payment_method_data[shared_payment_granted_token]",
    "spt",
    "grantedToken",
    "client_secret",
    "password",
    "link_pay_token",
];

/// Prefixes of secrets that may appear anywhere in text.
const SECRET_PREFIXES: &[&str] = &[
    "link_at_", "link_rt_", "ldc_", "spt_", "lpt_", "sk_test_", "sk_live_",
];

/// One logged request.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    /// Unix seconds on the virtual clock.
    pub at: i64,
    /// Unix milliseconds on the virtual clock (for checks of polling intervals).
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
    pub status: u16,
}

/// Where a secret starts in `word`: at its start or after a `_`, so that a secret glued to an
/// id (an idempotency key `mpp_<challenge id>_spt_...`) is found too.
fn secret_start(word: &str) -> Option<(usize, &'static str)> {
    SECRET_PREFIXES
        .iter()
        .filter_map(|prefix| {
            word.match_indices(prefix)
                .find(|(at, _)| *at == 0 || word.as_bytes()[at - 1] == b'_')
                .map(|(at, _)| (at, *prefix))
        })
        .min_by_key(|(at, _)| *at)
}

/// Replaces secret-looking words (token prefixes, 13-19 digit card numbers) in free text.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if let Some((at, prefix)) = secret_start(word) {
            out.push_str(&word[..at]);
            out.push_str(prefix);
            out.push_str(REDACTED);
        } else if (13..=19).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(REDACTED);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for character in text.chars() {
        if character.is_ascii_alphanumeric() || character == '_' {
            word.push(character);
        } else {
            flush(&mut word, &mut out);
            out.push(character);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Redacts secret fields and secret-looking strings anywhere in a JSON value.
pub fn redact_json(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let redacted = if SECRET_FIELDS.contains(&key.as_str()) && !value.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact_json(value)
                    };
                    (key.clone(), redacted)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        Value::String(text) => Value::String(redact_text(text)),
        other => other.clone(),
    }
}

fn redact_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let text = value.to_str().unwrap_or("[binary]");
            let shown = match name.as_str() {
                "authorization" | "proxy-authorization" => {
                    let scheme = text.split(' ').next().unwrap_or_default();
                    format!("{scheme} {REDACTED}")
                }
                "cookie" | "set-cookie" => REDACTED.to_owned(),
                _ => redact_text(text),
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// The body as the log shows it: JSON or form fields redacted, other text redacted by pattern.
fn redact_body(headers: &HeaderMap, body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded")
        && let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
    {
        let fields = pairs
            .into_iter()
            .map(|(key, value)| {
                let shown = if SECRET_FIELDS.contains(&key.as_str()) {
                    REDACTED.to_owned()
                } else {
                    redact_text(&value)
                };
                (key, Value::String(shown))
            })
            .collect();
        return Value::Object(fields);
    }
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return redact_json(&value);
    }
    Value::String(redact_text(&String::from_utf8_lossy(body)))
}

/// Turns a plain-text 4xx from an axum extractor (a path that is not valid UTF-8, a query a
/// page cannot read) into a JSON error in the host's shape, so no client sees a bare text error.
async fn json_rejection(response: Response, shape: ErrorShape) -> Response {
    let is_plain_text = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    if !response.status().is_client_error() || !is_plain_text {
        return response;
    }
    let status = response.status();
    let text = to_bytes(response.into_body(), MAX_BODY_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    Error::in_shape(shape, status, "invalid_request", &text).into_response()
}

/// Middleware: buffers the body (413 above the limit), runs the handler, records the exchange.
/// Control-API and page traffic is not logged; the log is about what clients sent.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let shape = ErrorShape::for_path(&path);
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return Error::in_shape(
            shape,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            &format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        )
        .into_response();
    };
    let logged = !path.starts_with("/__control");
    let now = state.lock().now();
    let mut entry = logged.then(|| LoggedRequest {
        at: unix_seconds(now),
        at_ms: unix_millis(now),
        method: parts.method.to_string(),
        // A token can be in the path (`/v1/shared_payment/granted_tokens/spt_...`).
        path: redact_text(&path),
        query: parts.uri.query().map(redact_text),
        headers: redact_headers(&parts.headers),
        body: redact_body(&parts.headers, &bytes),
        status: 0,
    });
    let method = parts.method.clone();
    let fault = if logged {
        faults::take(&mut state.lock().unsaved_mut().faults, &method, &path)
    } else {
        None
    };
    let injected = fault
        .as_ref()
        .and_then(|fault| faults::response(fault, &path));
    if let Some(faults::Fault::Latency { millis }) = fault {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
    let response = match injected {
        Some(response) => {
            tracing::info!(%method, path = %redact_text(&path), "injected fault");
            response
        }
        None => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            json_rejection(response, shape).await
        }
    };
    tracing::info!(%method, path = %redact_text(&path), status = response.status().as_u16(), "request");
    if let Some(mut entry) = entry.take() {
        entry.status = response.status().as_u16();
        let mut store = state.lock();
        let store = store.unsaved_mut();
        if store.request_log.len() >= MAX_LOGGED_REQUESTS {
            store.request_log.drain(..MAX_LOGGED_REQUESTS / 10);
        }
        store.request_log.push(entry);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_redaction_hides_tokens_and_card_numbers_but_keeps_ids() {
        let text = "token=link_at_abc123 spt_9f8e lpt_77 number 4000001234567899 lsrq_abc";
        let redacted = redact_text(text);
        assert_eq!(
            redacted,
            "token=link_at_[REDACTED] spt_[REDACTED] lpt_[REDACTED] number [REDACTED] lsrq_abc"
        );
    }

    #[test]
    fn secrets_glued_to_ids_by_underscores_are_redacted() {
        assert_eq!(
            redact_text("mpp_ch1-x_spt_9f8e /v1/shared_payment/granted_tokens/spt_1a"),
            "mpp_ch1-x_spt_[REDACTED] /v1/shared_payment/granted_tokens/spt_[REDACTED]"
        );
        assert_eq!(redact_text("unspt_x pm_card_visa"), "unspt_x pm_card_visa");
    }

    #[test]
    fn json_redaction_hides_secret_fields_at_any_depth() {
        let value = serde_json::json!({"card": {"number": "4242", "cvc": "123", "brand": "visa"}, "refresh_token": "x"});
        let redacted = redact_json(&value);
        assert_eq!(redacted["card"]["number"], REDACTED);
        assert_eq!(redacted["card"]["cvc"], REDACTED);
        assert_eq!(redacted["card"]["brand"], "visa");
        assert_eq!(redacted["refresh_token"], REDACTED);
    }
}
