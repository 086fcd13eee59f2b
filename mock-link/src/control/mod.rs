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
    parse_tagged(headers, body, &[])
}

/// As [`parse`], for a body holding internally tagged enums: each of `tags` (a JSON pointer
/// such as `/outcome`) must be a string when present, since serde alone also reads a
/// variant's index there (`"outcome": 0` would be `approve`).
fn parse_tagged<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
    tags: &[&str],
) -> Result<T> {
    let object = Value::Object(parse_json_object(headers, body)?);
    for tag in tags {
        if object.pointer(tag).is_some_and(|value| !value.is_string()) {
            let param = tag.trim_start_matches('/').replace('/', ".");
            return Err(Error::invalid_param(
                &param,
                "must be a string naming a variant",
            ));
        }
    }
    serde_json::from_value(object).map_err(|error| {
        Error::api(
            StatusCode::BAD_REQUEST,
            "parameter_invalid",
            format!("invalid control request: {error}"),
        )
    })
}

/// `POST /__control/clock/advance`: seconds, 0 to 100 years.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct AdvanceClockBody {
    #[schema(minimum = 0)]
    seconds: f64,
}

/// The virtual clock as [`clock_json`] shows it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ClockObject {
    /// Unix seconds on the virtual clock.
    now: i64,
    /// How far the virtual clock runs ahead of the real one.
    offset_seconds: f64,
}

/// What `POST /__control/reset` answers.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ResetAnswer {
    /// Always `true`.
    reset: bool,
}

fn clock_json(store: &Store) -> Value {
    json!({
        "now": unix_seconds(store.now()),
        "offset_seconds": store.clock.offset().as_secs_f64(),
    })
}

#[utoipa::path(
    post,
    path = "/__control/clock/advance",
    tag = "control",
    request_body(content = AdvanceClockBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The clock after the jump", body = ClockObject),
        (status = 400, response = crate::error::ApiErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/__control/clock",
    tag = "control",
    responses(
        (status = 200, description = "The virtual clock", body = ClockObject),
    )
)]
async fn get_clock(State(state): State<AppState>) -> Json<Value> {
    Json(clock_json(&state.lock()))
}

#[utoipa::path(
    get,
    path = "/__control/requests",
    tag = "control",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "All when absent"), ("starting_after" = Option<String>, Query, description = "An entry id (`req_...`)")),
    responses(
        (status = 200, description = "What clients sent, oldest first, secrets redacted", body = crate::api_schemas::RequestLogPage),
        (status = 400, response = crate::error::ApiErrorBody),
    )
)]
async fn request_log(State(state): State<AppState>, uri: axum::http::Uri) -> Result<Json<Value>> {
    crate::model::request_log::page(&state.lock().request_log, uri.query()).map(Json)
}

#[utoipa::path(
    get,
    path = "/__control/ledger",
    tag = "control",
    responses(
        (status = 200, description = "Every credential issued, redeemed, refused or revoked", body = crate::api_schemas::LedgerList),
    )
)]
async fn ledger(State(state): State<AppState>) -> Json<Value> {
    let store = state.lock();
    Json(json!({ "data": store.ledger }))
}

#[utoipa::path(
    post,
    path = "/__control/reset",
    tag = "control",
    request_body(content = Value, content_type = "application/json", description = "Ignored (send `{}`): control writes are JSON"),
    responses(
        (status = 200, description = "Everything but the seed forgotten", body = ResetAnswer),
    )
)]
async fn reset(State(state): State<AppState>) -> Json<Value> {
    state.lock().reset();
    Json(json!({ "reset": true }))
}

#[utoipa::path(
    get,
    path = "/__control/agent_observations",
    tag = "control",
    responses(
        (status = 200, description = "Every observation agents reported, with its user", body = crate::api_schemas::DataList),
    )
)]
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

/// The control API's operations, for the OpenAPI document (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    reset,
    get_clock,
    advance_clock,
    request_log,
    ledger,
    agent_observations,
    device_codes::list_device_codes,
    device_codes::approve_device_code,
    device_codes::deny_device_code,
    device_codes::expire_device_code,
    spend_requests::get_spend_request,
    spend_requests::spend_request_event,
    spend_requests::set_spt_delay,
    spend_requests::script_spend_request,
    behaviour::arm_fault,
    behaviour::list_faults,
    behaviour::clear_faults,
    behaviour::list_scripts,
    behaviour::script_next_device_code,
    behaviour::script_next_spend_request,
    behaviour::magic_inputs,
    behaviour::get_settings,
    behaviour::change_settings,
    accounts::apply_seed,
    accounts::create_user,
    accounts::list_users,
    accounts::add_payment_method,
    accounts::set_approval_policy,
    accounts::clear_approval_policy,
    accounts::add_merchant,
    tokens::issue_tokens,
    tokens::list_tokens,
    tokens::revoke_tokens,
    tokens::expire_token,
))]
pub(crate) struct ControlApi;

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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::accounts::SeedAnswer;
    use super::behaviour::{FaultList, MagicInputList, ScriptsObject, SettingsObject};
    use super::device_codes::{DeviceCodeRecord, DeviceCodeRecordList};
    use super::tokens::{ExpiredAnswer, RevokedAnswer, TokenRecordList};
    use super::{ClockObject, ResetAnswer};
    use crate::api_schemas::{
        DataList, EmptyObject, JsonObject, LedgerList, RequestLogPage, conforms,
    };
    use crate::auth::TokenResponse;
    use crate::{DEFAULT_USER_ID, MockLink};

    /// Every hand-built answer of the control API matches the schema the document gives it.
    #[tokio::test]
    async fn control_answers_match_their_schemas() {
        let link = MockLink::start().await;
        let control = link.control();
        let http = reqwest::Client::new();
        let code: Value = http
            .post(format!("{}/device/code", link.base_url()))
            .form(&[("client_id", "lwlpk_schema"), ("client_hint", "schema")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let user_code = code["user_code"].as_str().unwrap();
        conforms::<DeviceCodeRecord>(control.approve_device(user_code).await.unwrap());
        conforms::<DeviceCodeRecordList>(control.get("/device_codes").await.unwrap());
        let tokens: TokenResponse = conforms(control.issue_tokens(DEFAULT_USER_ID).await.unwrap());
        conforms::<TokenRecordList>(control.get("/tokens").await.unwrap());
        conforms::<ExpiredAnswer>(control.expire_token(&tokens.access_token).await.unwrap());
        conforms::<RevokedAnswer>(control.revoke_user_sessions(DEFAULT_USER_ID).await.unwrap());
        conforms::<ClockObject>(control.get("/clock").await.unwrap());
        conforms::<ClockObject>(
            control
                .post("/clock/advance", json!({"seconds": 1.5}))
                .await
                .unwrap(),
        );
        conforms::<SettingsObject>(control.get("/settings").await.unwrap());
        conforms::<SettingsObject>(
            control
                .post("/settings", json!({"spt_delay_seconds": 0}))
                .await
                .unwrap(),
        );
        conforms::<ScriptsObject>(
            control
                .post(
                    "/scripts/spend_requests",
                    json!({"outcome": "require_action", "resolution": "auto_resume"}),
                )
                .await
                .unwrap(),
        );
        conforms::<ScriptsObject>(
            control
                .post("/scripts/device_codes", json!({"outcome": "deny"}))
                .await
                .unwrap(),
        );
        conforms::<MagicInputList>(control.get("/magic").await.unwrap());
        conforms::<FaultList>(
            control
                .post(
                    "/faults",
                    json!({"path": "/userinfo", "fault": {"kind": "status", "status": 503}}),
                )
                .await
                .unwrap(),
        );
        conforms::<FaultList>(control.http_delete("/faults").await.unwrap());
        conforms::<RequestLogPage>(control.get("/requests").await.unwrap());
        conforms::<LedgerList>(control.get("/ledger").await.unwrap());
        conforms::<DataList>(control.get("/users").await.unwrap());
        conforms::<DataList>(control.get("/agent_observations").await.unwrap());
        conforms::<SeedAnswer>(
            control
                .post(
                    "/seed",
                    json!({"users": [{"id": "usr_schema", "payment_methods": [{"brand": "amex"}]}],
                           "merchants": [{"secret_key": "sk_test_schema", "network_id": "profile_schema"}]}),
                )
                .await
                .unwrap(),
        );
        conforms::<JsonObject>(
            control
                .post(
                    "/users/usr_schema/payment_methods",
                    json!({"last4": "1111"}),
                )
                .await
                .unwrap(),
        );
        conforms::<EmptyObject>(
            control
                .http_delete("/users/usr_schema/approval_policy")
                .await
                .unwrap(),
        );
        conforms::<ResetAnswer>(control.reset().await.unwrap());
        link.shutdown().await;
    }
}
