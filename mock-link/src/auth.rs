//! The auth host: the OAuth device authorization grant, refresh with rotation, revocation,
//! and the bearer-token check every API-host handler runs first.

use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::body::{Form, parse_form};
use crate::clock::{later, seconds_until};
use crate::error::{Error, ErrorShape, Result};
use crate::ids::{random_id, random_index, random_secret};
use crate::model::AppState;
use crate::model::accounts::{DEFAULT_USER_ID, User};
use crate::model::scripts::DeviceOutcome;
use crate::model::store::{AccessToken, DeviceCode, DeviceDecision, Grant, RefreshToken, Store};

/// The scope a device code gets when the client asks for none.
pub const DEFAULT_SCOPE: &str = "userinfo:read payment_methods.agentic";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

const PHRASE_WORDS: &[&str] = &[
    "amber", "apple", "arrow", "badger", "basil", "beacon", "birch", "bison", "cactus", "canyon",
    "cedar", "cherry", "cobalt", "comet", "coral", "cricket", "dahlia", "delta", "ember", "falcon",
    "fern", "fjord", "garnet", "ginger", "glacier", "harbor", "hazel", "heron", "indigo", "iris",
    "jasper", "juniper", "kestrel", "kiwi", "lagoon", "lemon", "lilac", "lotus", "maple", "meadow",
    "mango", "nebula", "nutmeg", "oasis", "olive", "orchid", "otter", "pebble", "pepper", "plum",
    "quartz", "quill", "raven", "river", "saffron", "sage", "tidal", "tulip", "umber", "velvet",
    "walnut", "willow", "yarrow", "zephyr",
];

/// The phrase as a person may type it (`Amber Otter  plum`) in its canonical form (`amber-otter-plum`).
pub fn normalize_phrase(typed: &str) -> String {
    typed
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

fn new_phrase() -> String {
    (0..3)
        .map(|_| PHRASE_WORDS[random_index(PHRASE_WORDS.len())])
        .collect::<Vec<_>>()
        .join("-")
}

/// Reads `authorization_details` either as a JSON string or in the bracket form
/// `authorization_details[][type]=source&authorization_details[][actions][]=read_balances`.
fn authorization_details(form: &Form) -> Result<Vec<Value>> {
    if let Some(raw) = form.non_empty("authorization_details") {
        return match serde_json::from_str::<Value>(raw) {
            Ok(Value::Array(entries)) => Ok(entries),
            Ok(entry @ Value::Object(_)) => Ok(vec![entry]),
            _ => Err(Error::oauth(
                "invalid_authorization_details",
                "authorization_details must be a JSON array of objects",
            )),
        };
    }
    let mut entries: Vec<Map<String, Value>> = Vec::new();
    for (key, value) in &form.pairs {
        let Some(rest) = key.strip_prefix("authorization_details[]") else {
            continue;
        };
        let rest = rest.trim_start_matches('[');
        let (field, is_list) = match rest.strip_suffix("][]") {
            Some(field) => (field, true),
            None => (rest.trim_end_matches(']'), false),
        };
        if field.is_empty() {
            return Err(Error::oauth(
                "invalid_authorization_details",
                format!("cannot read authorization_details entry {key}"),
            ));
        }
        if field == "type" || entries.is_empty() {
            entries.push(Map::new());
        }
        let entry = entries.last_mut().expect("pushed above");
        if is_list {
            let list = entry
                .entry(field.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = list {
                items.push(Value::String(value.clone()));
            }
        } else {
            entry.insert(field.to_owned(), Value::String(value.clone()));
        }
    }
    Ok(entries.into_iter().map(Value::Object).collect())
}

/// The `POST /device/code` form (RFC 8628 section 3.1).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The OpenAPI schema of a form read field by field.
pub(crate) struct DeviceCodeForm {
    #[schema(min_length = 1)]
    client_id: String,
    /// Space-separated; default `userinfo:read payment_methods.agentic`.
    scope: Option<String>,
    connection_label: Option<String>,
    client_hint: Option<String>,
    /// A JSON array of objects (or the `authorization_details[][field]` bracket form).
    authorization_details: Option<String>,
}

/// The device authorization response `device_code` answers (RFC 8628 section 3.2).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct DeviceCodeResponse {
    pub(crate) device_code: String,
    /// The phrase the user confirms, e.g. `amber-otter-plum`.
    pub(crate) user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    /// Seconds.
    expires_in: u64,
    /// Seconds between polls.
    interval: u64,
}

/// `POST /device/code`
#[utoipa::path(
    post,
    path = "/device/code",
    tag = "auth",
    request_body(content = DeviceCodeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A device code to poll with", body = DeviceCodeResponse),
        (status = 400, response = crate::error::OAuthErrorBody),
    )
)]
pub async fn device_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let form = parse_form(&headers, &body, ErrorShape::OAuth)?;
    let client_id = form
        .non_empty("client_id")
        .ok_or_else(|| Error::oauth("invalid_request", "client_id is required"))?
        .to_owned();
    let details = authorization_details(&form)?;
    let mut store = state.lock();
    let now = store.now();
    let code = DeviceCode {
        device_code: random_secret("ldc_"),
        user_code: new_phrase(),
        client_id,
        scope: form.non_empty("scope").unwrap_or(DEFAULT_SCOPE).to_owned(),
        connection_label: form.non_empty("connection_label").map(str::to_owned),
        client_hint: form.non_empty("client_hint").map(str::to_owned),
        authorization_details: details,
        created_at: now,
        expires_at: later(now, store.config.device_code_lifetime),
        decision: DeviceDecision::Pending,
        last_polled_at: None,
        polls: 0,
        interval: store.config.device_poll_interval,
        script: store.device_scripts.pop_front(),
    };
    let verification_uri = format!("{}/verify", store.base_url);
    let body = json!({
        "device_code": code.device_code,
        "user_code": code.user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": format!("{verification_uri}?code={}", code.user_code),
        "expires_in": seconds_until(now, code.expires_at),
        "interval": store.config.device_poll_interval.as_secs_f64().ceil() as u64,
    });
    // The phrase approves the device on the verification page: it is not logged.
    tracing::info!(client_hint = ?code.client_hint, "device code issued");
    store.device_codes.insert(code.device_code.clone(), code);
    Ok(Json(body))
}

/// The token response [`issue_tokens`] builds (RFC 6749 section 5.1).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct TokenResponse {
    /// `link_at_...`
    pub(crate) access_token: String,
    /// `link_rt_...`; rotates on every refresh.
    refresh_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds.
    expires_in: u64,
    scope: String,
    /// The device code's `authorization_details`, when it had any.
    #[serde(default)]
    pub(crate) authorization_details: Option<Vec<Value>>,
}

/// Issues a fresh access/refresh pair in `grant_id` and returns the token response.
pub fn issue_tokens(store: &mut Store, grant_id: &str) -> Value {
    let now = store.now();
    let access_token = random_secret("link_at_");
    let refresh_token = random_secret("link_rt_");
    let access_expires_at = later(now, store.config.access_token_lifetime);
    store.access_tokens.insert(
        access_token.clone(),
        AccessToken {
            grant_id: grant_id.to_owned(),
            expires_at: access_expires_at,
        },
    );
    store.refresh_tokens.insert(
        refresh_token.clone(),
        RefreshToken {
            grant_id: grant_id.to_owned(),
            expires_at: later(now, store.config.refresh_token_lifetime),
            used: false,
        },
    );
    let grant = &store.grants[grant_id];
    let mut body = json!({
        "access_token": access_token,
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": seconds_until(now, access_expires_at),
        "scope": grant.scope,
    });
    if !grant.authorization_details.is_empty() {
        body["authorization_details"] = Value::Array(grant.authorization_details.clone());
    }
    body
}

/// Opens a new login session for `user_id` and issues its first token pair.
pub fn open_grant(
    store: &mut Store,
    user_id: &str,
    scope: &str,
    client_id: &str,
    connection_label: Option<String>,
    authorization_details: Vec<Value>,
) -> Value {
    let grant_id = random_id("grant_");
    store.grants.insert(
        grant_id.clone(),
        Grant {
            user_id: user_id.to_owned(),
            scope: scope.to_owned(),
            client_id: client_id.to_owned(),
            connection_label,
            authorization_details,
            revoked: false,
        },
    );
    issue_tokens(store, &grant_id)
}

/// The `POST /device/token` form: a device-code grant or a refresh.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The OpenAPI schema of a form read field by field.
pub(crate) struct TokenForm {
    #[schema(pattern = "^(urn:ietf:params:oauth:grant-type:device_code|refresh_token)$")]
    grant_type: String,
    device_code: Option<String>,
    client_id: Option<String>,
    refresh_token: Option<String>,
}

/// `POST /device/token`
#[utoipa::path(
    post,
    path = "/device/token",
    tag = "auth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A fresh token pair", body = TokenResponse),
        (status = 400, response = crate::error::OAuthErrorBody),
    )
)]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let form = parse_form(&headers, &body, ErrorShape::OAuth)?;
    let grant_type = form
        .non_empty("grant_type")
        .ok_or_else(|| Error::oauth("invalid_request", "grant_type is required"))?;
    let mut store = state.lock();
    match grant_type {
        DEVICE_CODE_GRANT => device_code_grant(&mut store, &form).map(Json),
        "refresh_token" => refresh_grant(&mut store, &form).map(Json),
        other => Err(Error::oauth(
            "unsupported_grant_type",
            format!("grant_type {other} is not supported"),
        )),
    }
}

fn device_code_grant(store: &mut Store, form: &Form) -> Result<Value> {
    let device_code = form
        .non_empty("device_code")
        .ok_or_else(|| Error::oauth("invalid_request", "device_code is required"))?;
    let now = store.now();
    let code = store
        .device_codes
        .get_mut(device_code)
        .ok_or_else(|| Error::oauth("invalid_grant", "unknown device_code"))?;
    if let Some(client_id) = form.non_empty("client_id")
        && client_id != code.client_id
    {
        return Err(Error::oauth(
            "invalid_grant",
            "device_code was issued to another client_id",
        ));
    }
    if code.decision == DeviceDecision::Redeemed {
        return Err(Error::oauth(
            "invalid_grant",
            "device_code was already used",
        ));
    }
    if now >= code.expires_at {
        return Err(Error::oauth("expired_token", "the device code has expired"));
    }
    let previous_poll = code.last_polled_at.replace(now);
    code.polls += 1;
    if let Some(previous) = previous_poll
        && now.duration_since(previous).unwrap_or_default() < code.interval
    {
        return Err(slow_down(code));
    }
    // A scripted slow_down is rate limiting: it applies whatever the user decided.
    if let Some(script) = code.script.clone()
        && code.polls > script.after_polls
        && (code.decision == DeviceDecision::Pending || script.outcome == DeviceOutcome::SlowDown)
    {
        code.script = None;
        match script.outcome {
            DeviceOutcome::Approve => {
                code.decision = DeviceDecision::Approved {
                    user_id: script.user_id.unwrap_or_else(|| DEFAULT_USER_ID.into()),
                };
            }
            DeviceOutcome::Deny => code.decision = DeviceDecision::Denied,
            DeviceOutcome::Expire => {
                code.expires_at = now;
                return Err(Error::oauth("expired_token", "the device code has expired"));
            }
            DeviceOutcome::SlowDown => return Err(slow_down(code)),
        }
    }
    match code.decision.clone() {
        DeviceDecision::Pending => Err(Error::oauth(
            "authorization_pending",
            "the user has not approved the device yet",
        )),
        DeviceDecision::Denied => Err(Error::oauth("access_denied", "the user denied the device")),
        DeviceDecision::Redeemed => Err(Error::oauth(
            "invalid_grant",
            "device_code was already used",
        )),
        DeviceDecision::Approved { user_id } => {
            code.decision = DeviceDecision::Redeemed;
            let scope = code.scope.clone();
            let client_id = code.client_id.clone();
            let label = code.connection_label.clone();
            let details = code.authorization_details.clone();
            if let Some(eligibility) = store
                .user(&user_id)
                .and_then(|user| user.eligibility(&scope))
            {
                return Err(Error::oauth(
                    "account_ineligible",
                    "the account cannot grant every requested scope",
                )
                .with_extra("eligibility", eligibility));
            }
            tracing::info!(%user_id, "device code redeemed for tokens");
            Ok(open_grant(
                store, &user_id, &scope, &client_id, label, details,
            ))
        }
    }
}

/// How much `slow_down` raises a device code's polling interval (RFC 8628, section 3.5: "by 5
/// seconds for this and all subsequent requests").
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Answers `slow_down` and raises the interval this code is held to from now on.
fn slow_down(code: &mut DeviceCode) -> Error {
    code.interval += SLOW_DOWN_STEP;
    Error::oauth(
        "slow_down",
        format!(
            "polled too fast: wait {} s between polls from now on",
            code.interval.as_secs_f64()
        ),
    )
}

fn refresh_grant(store: &mut Store, form: &Form) -> Result<Value> {
    let presented = form
        .non_empty("refresh_token")
        .ok_or_else(|| Error::oauth("invalid_request", "refresh_token is required"))?;
    let now = store.now();
    let token = store
        .refresh_tokens
        .get_mut(presented)
        .ok_or_else(|| Error::oauth("invalid_grant", "unknown refresh token"))?;
    if token.used {
        return Err(Error::oauth(
            "invalid_grant",
            "the refresh token was already used (refresh tokens rotate)",
        ));
    }
    if now >= token.expires_at {
        return Err(Error::oauth(
            "invalid_grant",
            "the refresh token has expired",
        ));
    }
    let grant_id = token.grant_id.clone();
    if store
        .grants
        .get(&grant_id)
        .is_none_or(|grant| grant.revoked)
    {
        return Err(Error::oauth(
            "invalid_grant",
            "the refresh token was revoked",
        ));
    }
    if let Some(token) = store.refresh_tokens.get_mut(presented) {
        token.used = true;
    }
    Ok(issue_tokens(store, &grant_id))
}

/// Revokes the whole login session `token` belongs to; unknown tokens are ignored.
/// Returns whether a session was found.
pub fn revoke_token(store: &mut Store, token: &str) -> bool {
    let grant_id = store
        .access_tokens
        .get(token)
        .map(|access| access.grant_id.clone())
        .or_else(|| {
            store
                .refresh_tokens
                .get(token)
                .map(|refresh| refresh.grant_id.clone())
        });
    match grant_id.and_then(|id| store.grants.get_mut(&id)) {
        Some(grant) => {
            grant.revoked = true;
            true
        }
        None => false,
    }
}

/// The `POST /device/revoke` form (RFC 7009).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The OpenAPI schema of a form read field by field.
pub(crate) struct RevokeForm {
    /// An access or refresh token: its whole login session is revoked.
    #[schema(min_length = 1)]
    token: String,
}

/// `POST /device/revoke` (idempotent; unknown tokens also get 200, as RFC 7009 asks).
#[utoipa::path(
    post,
    path = "/device/revoke",
    tag = "auth",
    request_body(content = RevokeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked (or unknown): an empty object", body = crate::api_schemas::EmptyObject),
        (status = 400, response = crate::error::OAuthErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let form = parse_form(&headers, &body, ErrorShape::OAuth)?;
    let token = form
        .non_empty("token")
        .ok_or_else(|| Error::oauth("invalid_request", "token is required"))?;
    let mut store = state.lock();
    revoke_token(&mut store, token);
    Ok(Json(json!({})))
}

/// The user id behind the request's `Authorization: Bearer` access token, or a 401.
pub fn authenticated_user_id(store: &Store, headers: &HeaderMap) -> Result<String> {
    authenticated_grant(store, headers).map(|grant| grant.user_id.clone())
}

/// The login session (user, OAuth client, scope) behind the request's access token, or a 401.
pub fn authenticated_grant<'a>(store: &'a Store, headers: &HeaderMap) -> Result<&'a Grant> {
    let header_value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Error::unauthorized("missing Authorization: Bearer <access token>"))?;
    let token = header_value
        .to_str()
        .ok()
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            Error::unauthorized("the Authorization header must be Bearer <access token>")
        })?;
    let access = store
        .access_tokens
        .get(token)
        .ok_or_else(|| Error::unauthorized("the access token is not valid"))?;
    let grant = store
        .grants
        .get(&access.grant_id)
        .ok_or_else(|| Error::unauthorized("the access token is not valid"))?;
    if grant.revoked {
        return Err(Error::unauthorized("the access token was revoked"));
    }
    if store.now() >= access.expires_at {
        return Err(Error::api(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "the access token has expired",
        ));
    }
    Ok(grant)
}

/// The user behind the request's access token, or a 401.
pub fn authenticate<'a>(store: &'a Store, headers: &HeaderMap) -> Result<&'a User> {
    let user_id = authenticated_user_id(store, headers)?;
    store
        .user(&user_id)
        .ok_or_else(|| Error::unauthorized("the account behind this token no longer exists"))
}

/// Whether a device code may still be decided by the user (not expired, still pending).
pub fn device_code_is_open(code: &DeviceCode, now: SystemTime) -> bool {
    code.decision == DeviceDecision::Pending && now < code.expires_at
}

/// How the user (page) or a test (control API) names a device code.
#[derive(Debug, Clone, Copy)]
pub enum DeviceCodeRef<'a> {
    /// The phrase shown on the device (`user_code`).
    Phrase(&'a str),
    /// The secret the device polls with.
    DeviceCode(&'a str),
}

/// The newest device code matching `which`, or a 404.
pub fn find_device_code<'a>(
    store: &'a mut Store,
    which: DeviceCodeRef<'_>,
) -> Result<&'a mut DeviceCode> {
    let found = match which {
        DeviceCodeRef::Phrase(phrase) => {
            let phrase = normalize_phrase(phrase);
            store
                .device_codes
                .rfind_mut(|code| code.user_code == phrase)
        }
        DeviceCodeRef::DeviceCode(device_code) => store.device_codes.get_mut(device_code),
    };
    found.ok_or_else(|| match which {
        DeviceCodeRef::Phrase(phrase) => Error::not_found("device code", phrase),
        DeviceCodeRef::DeviceCode(_) => Error::not_found("device code", "[REDACTED]"),
    })
}

/// The user approves (as `user_id`, default the seeded user) or denies a pending device code.
pub fn decide_device_code(
    store: &mut Store,
    which: DeviceCodeRef<'_>,
    user_id: Option<&str>,
    approve: bool,
) -> Result<DeviceCode> {
    let user_id = user_id.unwrap_or(DEFAULT_USER_ID).to_owned();
    if approve && store.user(&user_id).is_none() {
        return Err(Error::not_found("user", &user_id));
    }
    let now = store.now();
    let code = find_device_code(store, which)?;
    if now >= code.expires_at {
        return Err(Error::api(
            StatusCode::BAD_REQUEST,
            "expired_token",
            "the device code has expired",
        ));
    }
    if code.decision != DeviceDecision::Pending {
        return Err(Error::api(
            StatusCode::BAD_REQUEST,
            "device_code_already_decided",
            "the device code was already approved or denied",
        ));
    }
    code.decision = if approve {
        DeviceDecision::Approved { user_id }
    } else {
        DeviceDecision::Denied
    };
    Ok(code.clone())
}

#[cfg(test)]
mod tests {
    use super::normalize_phrase;

    #[test]
    fn typed_phrases_normalize_to_the_issued_form() {
        assert_eq!(normalize_phrase("  Amber OTTER\tplum "), "amber-otter-plum");
        assert_eq!(normalize_phrase("amber-otter-plum"), "amber-otter-plum");
        assert_eq!(normalize_phrase("amber_otter--plum"), "amber-otter-plum");
    }
}
