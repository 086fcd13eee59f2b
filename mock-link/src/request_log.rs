//! The request log: every request to the auth, API and Stripe paths with secrets redacted,
//! recorded by a middleware that also enforces the body-size limit.

use std::collections::{BTreeMap, VecDeque};
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
use crate::serve::BodyReadTimeout;
use crate::server::AppState;

/// The most entries the request log keeps; older ones are dropped.
pub const MAX_LOGGED_REQUESTS: usize = 10_000;

/// The most bytes the whole log keeps (entries as JSON); the oldest go first.
pub const MAX_LOGGED_BYTES: usize = 4 * 1024 * 1024;

/// The most bytes of one body the log keeps (as redacted JSON); longer ones are cut and the
/// entry says `truncated: true`.
pub const MAX_LOGGED_BODY_BYTES: usize = 8 * 1024;

/// The most bytes of a path, a query or one header value the log keeps.
const MAX_LOGGED_TEXT_BYTES: usize = 2 * 1024;

/// Numbers the entries (`req_1`, `req_2`, ...) for `starting_after`.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

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
    "link_at_",
    "link_rt_",
    "ldc_",
    "spt_",
    "lpt_",
    "sk_test_",
    "sk_live_",
    crate::control_access::CONTROL_TOKEN_PREFIX,
];

/// One logged request.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    /// `req_<n>`, increasing: the cursor of `GET /__control/requests?starting_after=`.
    pub id: String,
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
    /// Whether the body (or the path, the query, a header value) was cut to its bound.
    pub truncated: bool,
    /// Bytes of this entry as JSON, counted against [`MAX_LOGGED_BYTES`].
    #[serde(skip)]
    pub size: usize,
}

/// `text` cut to at most `limit` bytes (at a character boundary), and whether it was cut.
fn bounded(text: String, limit: usize) -> (String, bool) {
    if text.len() <= limit {
        return (text, false);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

impl LoggedRequest {
    /// Cuts every part to its bound (after redaction, so a cut never uncovers a secret) and
    /// measures the entry.
    fn bound(mut self) -> Self {
        let mut truncated = false;
        let mut cut = |text: &mut String, limit| {
            let (kept, was_cut) = bounded(std::mem::take(text), limit);
            *text = kept;
            truncated |= was_cut;
        };
        cut(&mut self.path, MAX_LOGGED_TEXT_BYTES);
        if let Some(query) = &mut self.query {
            cut(query, MAX_LOGGED_TEXT_BYTES);
        }
        for value in self.headers.values_mut() {
            cut(value, MAX_LOGGED_TEXT_BYTES);
        }
        let body = self.body.to_string();
        if body.len() > MAX_LOGGED_BODY_BYTES {
            let (kept, _) = bounded(body, MAX_LOGGED_BODY_BYTES);
            self.body = Value::String(kept);
            truncated = true;
        }
        self.truncated = truncated;
        self.size = serde_json::to_vec(&self).map_or(0, |json| json.len());
        self
    }
}

/// The kept requests, oldest first, with their total size, so that an append costs the same
/// however full the log is (summing the sizes and draining the front of a `Vec` on every
/// request moved the whole log: a third of a busy mock-link's time, docs/benchmarks.md).
#[derive(Debug, Default, Clone)]
pub struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    bytes: usize,
}

/// Appends `entry`, then drops the oldest entries until the log is within its count and byte
/// caps.
fn append(log: &mut RequestLog, entry: LoggedRequest) {
    let entry = entry.bound();
    log.bytes += entry.size;
    log.entries.push_back(entry);
    while log.entries.len() > 1
        && (log.bytes > MAX_LOGGED_BYTES || log.entries.len() > MAX_LOGGED_REQUESTS)
    {
        if let Some(oldest) = log.entries.pop_front() {
            log.bytes -= oldest.size;
        }
    }
}

/// One page of the log, oldest first: `{object: "list", data, has_more}`. `limit` (1-10000)
/// and `starting_after` (an entry id) are optional; without them every entry is answered.
pub fn page(log: &RequestLog, query: Option<&str>) -> Result<Value, Error> {
    let log = &log.entries;
    let query = crate::body::parse_query(query)?;
    let limit = match query.get("limit") {
        None => None,
        Some(text) => Some(
            text.parse::<usize>()
                .ok()
                .filter(|limit| (1..=MAX_LOGGED_REQUESTS).contains(limit))
                .ok_or_else(|| {
                    Error::invalid_param(
                        "limit",
                        format!("limit must be an integer from 1 to {MAX_LOGGED_REQUESTS}"),
                    )
                })?,
        ),
    };
    let start = match query.get("starting_after") {
        None => 0,
        Some(id) => {
            log.iter().position(|entry| entry.id == id).ok_or_else(|| {
                Error::invalid_param(
                    "starting_after",
                    "starting_after must be the id of an entry still in the log",
                )
            })? + 1
        }
    };
    let rest = log.len().saturating_sub(start);
    let end = limit.map_or(rest, |limit| limit.min(rest));
    let data: Vec<&LoggedRequest> = log.range(start..start + end).collect();
    Ok(serde_json::json!({
        "object": "list",
        "data": data,
        "has_more": end < rest,
    }))
}

/// Bytes a token may continue with after its prefix (the token68 set of RFC 7235, plus `.`):
/// a foreign token with a `-` or `.` in it is hidden whole, not only up to the first dash.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b'~' | b'+' | b'/' | b'=')
}

/// Whether a field or header name labels a card security code.
fn names_a_cvc(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("cvc") || name.contains("cvv")
}

/// Whether a field named `key` always holds a secret. A bracketed form key is judged by its
/// last segment (`payment_method_data[card][cvc]` is a `cvc`).
pub fn is_secret_field(key: &str) -> bool {
    let last = key
        .trim_end_matches(']')
        .rsplit('[')
        .next()
        .filter(|segment| !segment.is_empty())
        .unwrap_or(key);
    [key, last].iter().any(|name| {
        SECRET_FIELDS
            .iter()
            .any(|secret| secret.eq_ignore_ascii_case(name))
            || names_a_cvc(name)
    })
}

/// The end of the card-number-shaped run starting at `start` (a digit) and how many digits it
/// holds: digits, where a single space or dash between two digits keeps the run going.
fn digit_run(bytes: &[u8], start: usize) -> (usize, usize) {
    let (mut end, mut digits) = (start, 0);
    while end < bytes.len() {
        if bytes[end].is_ascii_digit() {
            digits += 1;
            end += 1;
        } else if matches!(bytes[end], b' ' | b'-')
            && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
        {
            end += 1;
        } else {
            break;
        }
    }
    (end, digits)
}

/// Replaces secrets in free text by what they are, wherever they sit (also glued to other
/// words: `abclink_at_...`, `mpp_<challenge id>_spt_...`, `ch_4242...`): a token prefix and
/// the token after it, a run of 13 or more digits (card-number shaped, spaces and dashes
/// allowed), and the digits following a `cvc`/`cvv` label (`cvc: 123`, `card[cvc]=123`).
pub fn redact_text(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    // Set after a cvc/cvv label until the next word: its digits are the code.
    let mut after_cvc_label = false;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if let Some(prefix) = SECRET_PREFIXES
            .iter()
            .filter(|prefix| prefix.as_bytes()[0] == rest[0])
            .find(|prefix| rest.starts_with(prefix.as_bytes()))
        {
            out.push_str(prefix);
            out.push_str(REDACTED);
            at += prefix.len();
            while at < bytes.len() && is_token_byte(bytes[at]) {
                at += 1;
            }
            after_cvc_label = false;
        } else if rest[0].is_ascii_digit() {
            let (end, digits) = digit_run(bytes, at);
            if digits >= 13 || after_cvc_label {
                out.push_str(REDACTED);
            } else {
                out.push_str(&text[at..end]);
            }
            at = end;
            after_cvc_label = false;
        } else if rest.len() >= 3
            && (rest[..3].eq_ignore_ascii_case(b"cvc") || rest[..3].eq_ignore_ascii_case(b"cvv"))
        {
            // The label and the rest of its word (`cvc_check`, `CVV`), then its value.
            let end = rest
                .iter()
                .position(|byte| !(byte.is_ascii_alphabetic() || *byte == b'_'))
                .map_or(bytes.len(), |length| at + length);
            out.push_str(&text[at..end]);
            at = end;
            after_cvc_label = true;
        } else {
            let character = text[at..].chars().next().unwrap_or_default();
            if character.is_alphabetic() {
                after_cvc_label = false;
            }
            out.push(character);
            at += character.len_utf8();
        }
    }
    out
}

/// Percent-decodes `text` (`+` is kept); invalid escapes stay as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                at += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// A path or query component as the log shows it: as sent when it holds no secret, else
/// decoded and redacted (a secret percent-encoded to slip past the patterns is found too).
fn redact_encoded(raw: &str, plus_is_space: bool) -> String {
    let decoded = if plus_is_space {
        percent_decode(&raw.replace('+', " "))
    } else {
        percent_decode(raw)
    };
    let redacted = redact_text(&decoded);
    if redacted == decoded {
        redact_text(raw)
    } else {
        redacted
    }
}

/// The query as the log shows it: each `key=value` pair kept as sent unless its key names a
/// secret (value replaced) or its value holds one (decoded and redacted).
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded_key = percent_decode(&key.replace('+', " "));
            let shown_key = redact_encoded(key, true);
            if is_secret_field(&decoded_key) {
                format!("{shown_key}={REDACTED}")
            } else if pair.contains('=') {
                format!("{shown_key}={}", redact_encoded(value, true))
            } else {
                shown_key
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A JSON number that could be a card number (13 or more digits) is hidden too.
fn redact_number(number: &serde_json::Number) -> Value {
    let digits = number
        .to_string()
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    if digits >= 13 {
        Value::String(REDACTED.into())
    } else {
        Value::Number(number.clone())
    }
}

/// Redacts secret fields and secret-looking strings anywhere in a JSON value.
pub fn redact_json(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let redacted = if is_secret_field(key) && !value.is_null() {
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
        Value::Number(number) => redact_number(number),
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
                name if is_secret_field(&name.replace('-', "_"))
                    || ["token", "secret", "password", "api_key", "api-key"]
                        .iter()
                        .any(|word| name.contains(word)) =>
                {
                    REDACTED.to_owned()
                }
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
                let shown = if is_secret_field(&key) {
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
    let body_read_timeout = parts
        .extensions
        .get::<BodyReadTimeout>()
        .map_or(Duration::from_secs(30), |timeout| timeout.0);
    let Ok(read) = tokio::time::timeout(body_read_timeout, to_bytes(body, MAX_BODY_BYTES)).await
    else {
        // A body shorter than its Content-Length (or a trickle): answer instead of waiting.
        let mut response = Error::in_shape(
            shape,
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            &format!("the body did not arrive within {body_read_timeout:?}"),
        )
        .into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return response;
    };
    let Ok(bytes) = read else {
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
        id: format!(
            "req_{}",
            NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ),
        at: unix_seconds(now),
        at_ms: unix_millis(now),
        method: parts.method.to_string(),
        // A token can be in the path (`/v1/shared_payment/granted_tokens/spt_...`).
        path: redact_encoded(&path, false),
        query: parts.uri.query().map(redact_query),
        headers: redact_headers(&parts.headers),
        body: redact_body(&parts.headers, &bytes),
        status: 0,
        truncated: false,
        size: 0,
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
            tracing::info!(%method, path = %redact_encoded(&path, false), "injected fault");
            response
        }
        None => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            json_rejection(response, shape).await
        }
    };
    tracing::info!(%method, path = %redact_encoded(&path, false), status = response.status().as_u16(), "request");
    if let Some(mut entry) = entry.take() {
        entry.status = response.status().as_u16();
        append(&mut state.lock().unsaved_mut().request_log, entry);
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
        // Glued to letters too: a secret is hidden by what it is, not by what precedes it.
        assert_eq!(
            redact_text("abclink_at_x pm_card_visa"),
            "abclink_at_[REDACTED] pm_card_visa"
        );
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

    #[test]
    fn cvc_labels_hide_their_digits_but_not_other_words_or_short_numbers() {
        assert_eq!(
            redact_text("cvc: 123, cvc_check: pass, amount 2500"),
            "cvc: [REDACTED], cvc_check: pass, amount 2500"
        );
        assert_eq!(
            redact_text("card 4242-4242-4242-4242 on 2026-01-15"),
            "card [REDACTED] on 2026-01-15"
        );
    }
}
