//! The control API under `/__control`: what a test uses instead of a human and a calendar.
//! JSON in, JSON out; errors in the API host's shape.

use std::borrow::Cow;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::accounts::{DEFAULT_USER_ID, Merchant, validate_approval_policy};
use crate::auth::{
    DEFAULT_SCOPE, DeviceCodeRef, decide_device_code, find_device_code, open_grant, revoke_token,
};
use crate::body::parse_json_object;
use crate::clock::{MAX_SPAN, later, unix_seconds};
use crate::error::{Error, Result};
use crate::faults::ArmedFault;
use crate::granted_tokens::Terms;
use crate::scripts::{DeviceScript, MAGIC_AMOUNTS, MAGIC_PAYMENT_METHODS, SpendRequestScript};
use crate::seed::{NewPaymentMethod, Seed, SeedUser};
use crate::server::AppState;
use crate::spend_requests::state_machine::{Event, Resolution};
use crate::spend_requests::{SpendRequest, apply_event, expire_due_requests};
use crate::store::{DeviceCode, Store};

pub use crate::request_log::LoggedRequest;

/// One line of the issuer's record: a credential issued, redeemed, or a redemption refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub at: i64,
    /// `issued`, `redeemed`, `redemption_refused` or `revoked` (test helper).
    /// (`Cow`: built from constants, read back from a `--state` database.)
    pub event: Cow<'static, str>,
    pub credential_type: Cow<'static, str>,
    /// The SPT id, or `card ending 1234` (never a full card number).
    pub credential: String,
    /// `spend_request` (Link minted it on approval) or `test_helper` (a seller made it).
    pub source: Cow<'static, str>,
    /// The spend request it was issued for; `null` for a test-helper token.
    pub spend_request_id: Option<String>,
    pub network_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    /// The network id of the merchant that tried to redeem.
    pub merchant_network_id: Option<String>,
    pub payment_intent: Option<String>,
    pub reason: Option<String>,
}

impl LedgerEntry {
    /// A credential issued on approval.
    pub fn issued(request: &SpendRequest, credential: String, now: std::time::SystemTime) -> Self {
        Self {
            at: unix_seconds(now),
            event: "issued".into(),
            credential_type: request.input.credential_type.as_str().into(),
            credential,
            source: "spend_request".into(),
            spend_request_id: Some(request.id.clone()),
            network_id: request.input.network_id.clone(),
            amount: request.input.amount,
            currency: request.input.currency.clone(),
            merchant_network_id: None,
            payment_intent: None,
            reason: None,
        }
    }

    /// An event of an SPT, however it was minted.
    pub fn for_token(
        event: &'static str,
        terms: &Terms,
        merchant_network_id: Option<&str>,
        payment_intent: Option<String>,
        reason: Option<String>,
        now: std::time::SystemTime,
    ) -> Self {
        Self {
            at: unix_seconds(now),
            event: event.into(),
            credential_type: "shared_payment_token".into(),
            credential: terms.id.clone(),
            source: terms.source().into(),
            spend_request_id: terms.spend_request_id.clone(),
            network_id: Some(terms.network_id.clone()),
            amount: terms.max_amount,
            currency: terms.currency.clone(),
            merchant_network_id: merchant_network_id.map(str::to_owned),
            payment_intent,
            reason,
        }
    }

    /// A redemption attempt: `payment_intent` when it succeeded, `reason` when refused.
    pub fn redemption(
        terms: &Terms,
        merchant_network_id: &str,
        payment_intent: Option<String>,
        reason: Option<String>,
        now: std::time::SystemTime,
    ) -> Self {
        let event = if payment_intent.is_some() {
            "redeemed"
        } else {
            "redemption_refused"
        };
        Self::for_token(
            event,
            terms,
            Some(merchant_network_id),
            payment_intent,
            reason,
            now,
        )
    }
}

fn parse<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T> {
    let object = parse_json_object(headers, body)?;
    serde_json::from_value(Value::Object(object)).map_err(|error| {
        Error::api(
            StatusCode::BAD_REQUEST,
            "parameter_invalid",
            format!("invalid control request: {error}"),
        )
    })
}

/// Names a device code by its phrase or its device code.
#[derive(Debug, Deserialize)]
struct DeviceCodeSelector {
    user_code: Option<String>,
    device_code: Option<String>,
    /// Who approves (default: the seeded user).
    user_id: Option<String>,
}

impl DeviceCodeSelector {
    fn reference(&self) -> Result<DeviceCodeRef<'_>> {
        match (&self.user_code, &self.device_code) {
            (Some(user_code), _) => Ok(DeviceCodeRef::Phrase(user_code)),
            (None, Some(device_code)) => Ok(DeviceCodeRef::DeviceCode(device_code)),
            (None, None) => Err(Error::missing_param("user_code")),
        }
    }
}

async fn device_code_decision(
    state: AppState,
    headers: HeaderMap,
    body: Bytes,
    approve: bool,
) -> Result<Json<Value>> {
    let selector: DeviceCodeSelector = parse(&headers, &body)?;
    let mut store = state.lock();
    let code = decide_device_code(
        &mut store,
        selector.reference()?,
        selector.user_id.as_deref(),
        approve,
    )?;
    Ok(Json(device_code_json(&code)))
}

fn device_code_json(code: &DeviceCode) -> Value {
    json!({
        "user_code": code.user_code,
        "client_id": code.client_id,
        "scope": code.scope,
        "connection_label": code.connection_label,
        "client_hint": code.client_hint,
        "authorization_details": code.authorization_details,
        "decision": code.decision,
        "polls": code.polls,
        "expires_at": unix_seconds(code.expires_at),
    })
}

async fn approve_device_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    device_code_decision(state, headers, body, true).await
}

async fn deny_device_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    device_code_decision(state, headers, body, false).await
}

async fn expire_device_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let selector: DeviceCodeSelector = parse(&headers, &body)?;
    let mut store = state.lock();
    let now = store.now();
    let code = find_device_code(&mut store, selector.reference()?)?;
    code.expires_at = now;
    Ok(Json(device_code_json(code)))
}

async fn list_device_codes(State(state): State<AppState>) -> Json<Value> {
    let store = state.lock();
    let data: Vec<Value> = store
        .device_codes
        .iter()
        .rev()
        .map(device_code_json)
        .collect();
    Json(json!({ "data": data }))
}

/// The full spend request as the issuer sees it (credentials included once approved).
fn spend_request_json(store: &Store, id: &str) -> Result<Value> {
    let request = store
        .spend_requests
        .iter()
        .find(|request| request.id == id)
        .ok_or_else(|| Error::not_found("spend request", id))?;
    Ok(request.to_json(store, true, true))
}

/// Overrides for the `payment_status_details` a `succeed` or `fail` records; a member given as
/// `null` sets `null` (e.g. `"decline_code": null`).
#[derive(Debug, Default)]
struct PaymentOutcomeBody {
    code: Option<Option<String>>,
    decline_code: Option<Option<String>>,
    amount: Option<i64>,
    currency: Option<String>,
    refund_details: Option<Value>,
}

/// The body of `POST /__control/spend_requests/{id}/{event}`; which members apply depends on
/// the event, the others are ignored.
#[derive(Debug, Default)]
struct SpendRequestEventBody {
    /// `require_action` only.
    resolution: Option<Resolution>,
    /// `succeed` and `fail` only.
    outcome: PaymentOutcomeBody,
}

impl SpendRequestEventBody {
    fn parse(headers: &HeaderMap, body: &Bytes) -> Result<Self> {
        let object = parse_json_object(headers, body)?;
        let nullable_string = |key: &str| -> Result<Option<Option<String>>> {
            match object.get(key) {
                None => Ok(None),
                Some(Value::Null) => Ok(Some(None)),
                Some(Value::String(text)) => Ok(Some(Some(text.clone()))),
                Some(_) => Err(Error::invalid_param(key, "must be a string or null")),
            }
        };
        let resolution = match object.get("resolution") {
            None | Some(Value::Null) => None,
            Some(value) => Some(serde_json::from_value(value.clone()).map_err(|_| {
                Error::invalid_param(
                    "resolution",
                    "must be auto_resume, create_new_spend_request or                      create_new_spend_request_after_completion",
                )
            })?),
        };
        let amount = match object.get("amount") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_i64()
                    .ok_or_else(|| Error::invalid_param("amount", "must be an integer"))?,
            ),
        };
        let currency = nullable_string("currency")?.flatten();
        Ok(Self {
            resolution,
            outcome: PaymentOutcomeBody {
                code: nullable_string("code")?,
                decline_code: nullable_string("decline_code")?,
                amount,
                currency,
                refund_details: object.get("refund_details").cloned(),
            },
        })
    }
}

/// The event a control path segment names.
fn spend_request_event_named(name: &str, body: &SpendRequestEventBody) -> Result<Event> {
    Ok(match name {
        "approve" => Event::Approve,
        "deny" => Event::Deny,
        "expire" => Event::Expire,
        "complete_action" => Event::CompleteAction,
        "submit" => Event::Submit,
        "succeed" => Event::Redeem,
        "fail" => Event::Fail,
        "require_action" => Event::RequireAction(
            body.resolution
                .ok_or_else(|| Error::missing_param("resolution"))?,
        ),
        other => {
            return Err(Error::api(
                StatusCode::NOT_FOUND,
                "resource_missing",
                format!(
                    "no spend-request event '{other}' (approve, deny, expire, require_action, \
                     complete_action, submit, succeed, fail)"
                ),
            ));
        }
    })
}

/// `payment_status_details` of a payment made with the credential (outside the Stripe subset,
/// e.g. a card typed into a checkout) that settled: `success` or `failure`, with overrides.
fn payment_status_details(
    request: &SpendRequest,
    success: bool,
    overrides: PaymentOutcomeBody,
    now: std::time::SystemTime,
) -> Value {
    let (code, decline_code) = if success {
        (None, None)
    } else {
        (
            Some("card_declined".to_owned()),
            Some("generic_decline".to_owned()),
        )
    };
    json!({
        "outcome": if success { "success" } else { "failure" },
        "code": overrides.code.unwrap_or(code),
        "decline_code": overrides.decline_code.unwrap_or(decline_code),
        "amount": overrides.amount.unwrap_or(request.input.amount),
        "currency": overrides.currency.unwrap_or_else(|| request.input.currency.clone()),
        "created": unix_seconds(now),
        "refund_details": overrides.refund_details.unwrap_or(Value::Null),
    })
}

/// `POST /__control/spend_requests/{id}/{event}`: one state-machine event, as the human or the
/// payment network would cause it.
async fn spend_request_event(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body = SpendRequestEventBody::parse(&headers, &body)?;
    let event = spend_request_event_named(&name, &body)?;
    let mut store = state.lock();
    apply_event(&mut store, &id, event)?;
    let now = store.now();
    if let Some(request) = store.spend_request_mut(&id) {
        match event {
            Event::Expire => request.expires_at = now,
            Event::Redeem | Event::Fail => {
                let details =
                    payment_status_details(request, event == Event::Redeem, body.outcome, now);
                request.payment_status = Some(details);
            }
            _ => {}
        }
    }
    spend_request_json(&store, &id).map(Json)
}

async fn get_spend_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let mut store = state.lock();
    expire_due_requests(&mut store);
    spend_request_json(&store, &id).map(Json)
}

#[derive(Debug, Deserialize)]
struct AdvanceClockBody {
    seconds: f64,
}

fn clock_json(store: &Store) -> Value {
    json!({
        "now": unix_seconds(store.now()),
        "offset_seconds": store.clock.offset().as_secs_f64(),
    })
}

async fn advance_clock(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body: AdvanceClockBody = parse(&headers, &body)?;
    let by = Duration::try_from_secs_f64(body.seconds)
        .ok()
        .filter(|by| *by <= MAX_SPAN)
        .ok_or_else(|| {
            Error::invalid_param("seconds", "must be a number from 0 to 100 years of seconds")
        })?;
    let mut store = state.lock();
    if store.clock.offset().saturating_add(by) > MAX_SPAN {
        // Answering 200 without moving would leave a test believing time passed.
        return Err(Error::invalid_param(
            "seconds",
            format!(
                "the clock is {} s ahead and can be at most 100 years ({} s) ahead",
                store.clock.offset().as_secs(),
                MAX_SPAN.as_secs()
            ),
        ));
    }
    store.clock.advance(by);
    expire_due_requests(&mut store);
    Ok(Json(clock_json(&store)))
}

async fn get_clock(State(state): State<AppState>) -> Json<Value> {
    Json(clock_json(&state.lock()))
}

async fn request_log(State(state): State<AppState>, uri: axum::http::Uri) -> Result<Json<Value>> {
    crate::request_log::page(&state.lock().request_log, uri.query()).map(Json)
}

async fn ledger(State(state): State<AppState>) -> Json<Value> {
    let store = state.lock();
    Json(json!({ "data": store.ledger }))
}

async fn reset(State(state): State<AppState>) -> Json<Value> {
    state.lock().reset();
    Json(json!({ "reset": true }))
}

async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body: SeedUser = parse(&headers, &body)?;
    let user = body.build()?;
    let json = serde_json::to_value(&user).unwrap_or(Value::Null);
    let mut store = state.lock();
    store.users.retain(|existing| existing.id != user.id);
    store.users.push(user);
    Ok(Json(json))
}

async fn apply_seed(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let seed: Seed = parse(&headers, &body)?;
    let users = seed.apply(&mut state.lock())?;
    Ok(Json(json!({ "users": users, "merchants": seed.merchants })))
}

async fn list_users(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.lock().users }))
}

async fn add_payment_method(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body: NewPaymentMethod = parse(&headers, &body)?;
    let method = body.build()?;
    let mut store = state.lock();
    let user = store
        .user_mut(&user_id)
        .ok_or_else(|| Error::not_found("user", &user_id))?;
    user.add_payment_method(method);
    Ok(Json(serde_json::to_value(&*user).unwrap_or(Value::Null)))
}

async fn add_merchant(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let merchant: Merchant = parse(&headers, &body)?;
    if !merchant.secret_key.starts_with("sk_test_") {
        return Err(Error::invalid_param(
            "secret_key",
            "must start with sk_test_",
        ));
    }
    let mut store = state.lock();
    store
        .merchants
        .retain(|existing| existing.secret_key != merchant.secret_key);
    store.merchants.push(merchant.clone());
    Ok(Json(serde_json::to_value(merchant).unwrap_or(Value::Null)))
}

#[derive(Debug, Deserialize)]
struct IssueTokensBody {
    user_id: Option<String>,
    scope: Option<String>,
    /// The OAuth client the login belongs to (default `control`).
    client_id: Option<String>,
}

async fn issue_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body: IssueTokensBody = parse(&headers, &body)?;
    let user_id = body.user_id.unwrap_or(DEFAULT_USER_ID.into());
    let mut store = state.lock();
    if store.user(&user_id).is_none() {
        return Err(Error::not_found("user", &user_id));
    }
    let scope = body.scope.unwrap_or(DEFAULT_SCOPE.into());
    let client_id = body.client_id.unwrap_or("control".into());
    Ok(Json(open_grant(
        &mut store,
        &user_id,
        &scope,
        &client_id,
        Some("control API".into()),
        Vec::new(),
    )))
}

/// Which tokens a token control call acts on: one token by value, or every session of a
/// user (so a suite outside this process, which never sees token values, can act too).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSelector {
    token: Option<String>,
    user_id: Option<String>,
}

enum Selected {
    Token(String),
    User(String),
}

impl TokenSelector {
    fn resolve(self, store: &Store) -> Result<Selected> {
        match (self.token, self.user_id) {
            (Some(token), None) => Ok(Selected::Token(token)),
            (None, Some(user_id)) => {
                if store.user(&user_id).is_none() {
                    return Err(Error::not_found("user", &user_id));
                }
                Ok(Selected::User(user_id))
            }
            (None, None) => Err(Error::missing_param("token")),
            (Some(_), Some(_)) => Err(Error::invalid_param(
                "user_id",
                "give either token or user_id, not both",
            )),
        }
    }
}

/// The ids of the live (not revoked) grants of `user_id`.
fn live_grants_of(store: &Store, user_id: &str) -> Vec<String> {
    store
        .grants
        .iter()
        .filter(|(_, grant)| grant.user_id == user_id && !grant.revoked)
        .map(|(id, _)| id.clone())
        .collect()
}

async fn revoke_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let selector: TokenSelector = parse(&headers, &body)?;
    let mut store = state.lock();
    match selector.resolve(&store)? {
        Selected::Token(token) => {
            if !revoke_token(&mut store, &token) {
                return Err(Error::not_found("token", "[REDACTED]"));
            }
            Ok(Json(json!({ "revoked": true, "grants": 1 })))
        }
        Selected::User(user_id) => {
            let grants = live_grants_of(&store, &user_id);
            for id in &grants {
                if let Some(grant) = store.grants.get_mut(id) {
                    grant.revoked = true;
                }
            }
            Ok(Json(json!({ "revoked": true, "grants": grants.len() })))
        }
    }
}

/// Expires one token (access or refresh) by value, or every access token of a user's live
/// sessions (their refresh tokens stay valid, so a client can refresh).
async fn expire_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let selector: TokenSelector = parse(&headers, &body)?;
    let mut store = state.lock();
    let now = store.now();
    match selector.resolve(&store)? {
        Selected::Token(token) => {
            if let Some(access) = store.access_tokens.get_mut(&token) {
                access.expires_at = now;
            } else if let Some(refresh) = store.refresh_tokens.get_mut(&token) {
                refresh.expires_at = now;
            } else {
                return Err(Error::not_found("token", "[REDACTED]"));
            }
            Ok(Json(json!({ "expired": true, "tokens": 1 })))
        }
        Selected::User(user_id) => {
            let grants = live_grants_of(&store, &user_id);
            let mut expired = 0;
            for access in store.access_tokens.values_mut() {
                if grants.contains(&access.grant_id) && access.expires_at > now {
                    access.expires_at = now;
                    expired += 1;
                }
            }
            Ok(Json(json!({ "expired": true, "tokens": expired })))
        }
    }
}

/// Every token issued, with its user and state: the control API is for tests, so values are
/// shown in full (a suite checks that none of them leaks into a client's output).
async fn list_tokens(State(state): State<AppState>) -> Json<Value> {
    let store = state.lock();
    let now = store.now();
    let describe = |token: &str, kind: &str, grant_id: &str, expires_at, used: bool| {
        let grant = store.grants.get(grant_id);
        json!({
            "token": token,
            "kind": kind,
            "user_id": grant.map(|g| g.user_id.as_str()),
            "grant_id": grant_id,
            "expires_at": unix_seconds(expires_at),
            "expired": expires_at <= now,
            "used": used,
            "revoked": grant.is_none_or(|g| g.revoked),
        })
    };
    let access = store
        .access_tokens
        .iter()
        .map(|(token, t)| describe(token, "access", &t.grant_id, t.expires_at, false));
    let refresh = store
        .refresh_tokens
        .iter()
        .map(|(token, t)| describe(token, "refresh", &t.grant_id, t.expires_at, t.used));
    let mut data: Vec<Value> = access.chain(refresh).collect();
    data.sort_by(|a, b| a["token"].as_str().cmp(&b["token"].as_str()));
    Json(json!({ "data": data }))
}

async fn arm_fault(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let fault: ArmedFault = parse(&headers, &body)?;
    fault.validate()?;
    let mut store = state.lock();
    store.faults.push(fault);
    Ok(Json(json!({ "data": store.faults })))
}

async fn list_faults(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.lock().faults }))
}

async fn clear_faults(State(state): State<AppState>) -> Json<Value> {
    state.lock().faults.clear();
    Json(json!({ "data": [] }))
}

async fn script_next_device_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let script: DeviceScript = parse(&headers, &body)?;
    let mut store = state.lock();
    if let Some(user_id) = &script.user_id
        && store.user(user_id).is_none()
    {
        return Err(Error::not_found("user", user_id));
    }
    store.device_scripts.push_back(script);
    Ok(Json(scripts_json(&store)))
}

async fn script_next_spend_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let script: SpendRequestScript = parse(&headers, &body)?;
    let mut store = state.lock();
    store.spend_request_scripts.push_back(script);
    Ok(Json(scripts_json(&store)))
}

async fn script_spend_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let script: SpendRequestScript = parse(&headers, &body)?;
    let mut store = state.lock();
    let request = store
        .spend_request_mut(&id)
        .ok_or_else(|| Error::not_found("spend request", &id))?;
    request.script = Some(script);
    request.polls = 0;
    spend_request_json(&store, &id).map(Json)
}

fn scripts_json(store: &Store) -> Value {
    json!({
        "device_codes": store.device_scripts,
        "spend_requests": store.spend_request_scripts,
    })
}

async fn list_scripts(State(state): State<AppState>) -> Json<Value> {
    Json(scripts_json(&state.lock()))
}

async fn agent_observations(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.lock().agent_observations }))
}

/// Knobs that change how the API behaves from now on (until a reset).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    /// Replaces the OAuth client ids allowed to send `expires_at`.
    expires_at_clients: Option<Vec<String>>,
    /// Seconds after approval before an SPT shows (requests without their own delay).
    spt_delay_seconds: Option<f64>,
}

fn settings_json(store: &Store) -> Value {
    json!({
        "expires_at_clients": store.expires_at_clients,
        "spt_delay_seconds": store.spt_delay.as_secs_f64(),
    })
}

/// A delay of `seconds` (0 to 100 years), or a 400 naming `param`.
fn delay_seconds(param: &str, seconds: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|delay| *delay <= MAX_SPAN)
        .ok_or_else(|| Error::invalid_param(param, "must be 0 to 100 years in seconds"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SptDelayBody {
    seconds: f64,
}

/// `POST /__control/spend_requests/{id}/spt_delay {seconds}`: its SPT shows that long after
/// approval (after approval: it hides the minted token for `seconds` from now).
async fn set_spt_delay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body: SptDelayBody = parse(&headers, &body)?;
    let delay = delay_seconds("seconds", body.seconds)?;
    let mut store = state.lock();
    let now = store.now();
    let request = store
        .spend_request_mut(&id)
        .ok_or_else(|| Error::not_found("spend request", &id))?;
    request.spt_delay = Some(delay);
    // Already approved: the minted token hides for `seconds` from now.
    if request.spt_available_at.is_some() {
        request.spt_available_at = Some(later(now, delay));
    }
    spend_request_json(&store, &id).map(Json)
}

async fn get_settings(State(state): State<AppState>) -> Json<Value> {
    Json(settings_json(&state.lock()))
}

async fn change_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body: SettingsBody = parse(&headers, &body)?;
    let mut store = state.lock();
    if let Some(seconds) = body.spt_delay_seconds {
        store.spt_delay = delay_seconds("spt_delay_seconds", seconds)?;
    }
    if let Some(clients) = body.expires_at_clients {
        store.expires_at_clients = clients.into_iter().collect();
    }
    Ok(Json(settings_json(&store)))
}

/// `POST /__control/users/{id}/approval_policy`: the user's policy from now on.
async fn set_approval_policy(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let policy = validate_approval_policy(&Value::Object(parse_json_object(&headers, &body)?))?;
    let mut store = state.lock();
    if store.user(&user_id).is_none() {
        return Err(Error::not_found("user", &user_id));
    }
    store.approval_policies.insert(user_id, policy.clone());
    Ok(Json(policy))
}

/// `DELETE /__control/users/{id}/approval_policy`: the user has no policy again.
async fn clear_approval_policy(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Result<Json<Value>> {
    let mut store = state.lock();
    if store.user(&user_id).is_none() {
        return Err(Error::not_found("user", &user_id));
    }
    store.approval_policies.remove(&user_id);
    Ok(Json(json!({})))
}

async fn magic_inputs() -> Json<Value> {
    let data: Vec<Value> = MAGIC_PAYMENT_METHODS
        .iter()
        .map(|(id, effect)| {
            let amount = MAGIC_AMOUNTS
                .iter()
                .find(|(_, behaviour)| behaviour == id)
                .map(|(amount, _)| *amount);
            json!({ "payment_details": id, "amount": amount, "effect": effect })
        })
        .collect();
    Json(json!({ "data": data }))
}

/// The `/__control` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/__control/reset", post(reset))
        .route("/__control/clock", get(get_clock))
        .route("/__control/clock/advance", post(advance_clock))
        .route("/__control/device_codes", get(list_device_codes))
        .route("/__control/device_codes/approve", post(approve_device_code))
        .route("/__control/device_codes/deny", post(deny_device_code))
        .route("/__control/device_codes/expire", post(expire_device_code))
        .route("/__control/spend_requests/{id}", get(get_spend_request))
        .route(
            "/__control/spend_requests/{id}/{event}",
            post(spend_request_event),
        )
        .route(
            "/__control/spend_requests/{id}/spt_delay",
            post(set_spt_delay),
        )
        .route(
            "/__control/faults",
            post(arm_fault).get(list_faults).delete(clear_faults),
        )
        .route("/__control/scripts", get(list_scripts))
        .route(
            "/__control/scripts/device_codes",
            post(script_next_device_code),
        )
        .route(
            "/__control/scripts/spend_requests",
            post(script_next_spend_request),
        )
        .route(
            "/__control/spend_requests/{id}/script",
            post(script_spend_request),
        )
        .route("/__control/magic", get(magic_inputs))
        .route(
            "/__control/settings",
            get(get_settings).post(change_settings),
        )
        .route("/__control/agent_observations", get(agent_observations))
        .route("/__control/requests", get(request_log))
        .route("/__control/ledger", get(ledger))
        .route("/__control/seed", post(apply_seed))
        .route("/__control/users", post(create_user).get(list_users))
        .route(
            "/__control/users/{id}/payment_methods",
            post(add_payment_method),
        )
        .route(
            "/__control/users/{id}/approval_policy",
            post(set_approval_policy).delete(clear_approval_policy),
        )
        .route("/__control/merchants", post(add_merchant))
        .route("/__control/tokens", post(issue_tokens).get(list_tokens))
        .route("/__control/tokens/revoke", post(revoke_tokens))
        .route("/__control/tokens/expire", post(expire_token))
}
