//! The control API under `/__control`: what a test uses instead of a human and a calendar.
//! JSON in, JSON out; errors in the API host's shape.

mod accounts;
mod behaviour;
mod device_codes;
mod spend_requests;
mod tokens;

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::body::parse_json_object;
use crate::clock::{MAX_SPAN, unix_seconds};
use crate::error::{Error, Result};
use crate::model::AppState;
use crate::model::spend_request::lifecycle::expire_due_requests;
use crate::model::store::Store;

use accounts::{
    add_merchant, add_payment_method, apply_seed, clear_approval_policy, create_user, list_users,
    set_approval_policy,
};
use behaviour::{
    arm_fault, change_settings, clear_faults, get_settings, list_faults, list_scripts,
    magic_inputs, script_next_device_code, script_next_spend_request,
};
use device_codes::{approve_device_code, deny_device_code, expire_device_code, list_device_codes};
use spend_requests::{get_spend_request, script_spend_request, set_spt_delay, spend_request_event};
use tokens::{expire_token, issue_tokens, list_tokens, revoke_tokens};

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
    store
        .clock
        .try_advance(by)
        .map_err(|refused| Error::invalid_param("seconds", refused.to_string()))?;
    expire_due_requests(&mut store);
    Ok(Json(clock_json(&store)))
}

async fn get_clock(State(state): State<AppState>) -> Json<Value> {
    Json(clock_json(&state.lock()))
}

async fn request_log(State(state): State<AppState>, uri: axum::http::Uri) -> Result<Json<Value>> {
    crate::model::request_log::page(&state.lock().request_log, uri.query()).map(Json)
}

async fn ledger(State(state): State<AppState>) -> Json<Value> {
    let store = state.lock();
    Json(json!({ "data": store.ledger }))
}

async fn reset(State(state): State<AppState>) -> Json<Value> {
    state.lock().reset();
    Json(json!({ "reset": true }))
}

async fn agent_observations(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.lock().agent_observations }))
}

/// A delay of `seconds` (0 to 100 years), or a 400 naming `param`.
fn delay_seconds(param: &str, seconds: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|delay| *delay <= MAX_SPAN)
        .ok_or_else(|| Error::invalid_param(param, "must be 0 to 100 years in seconds"))
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
