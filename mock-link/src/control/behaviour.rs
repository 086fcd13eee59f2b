//! How the API behaves from now on: armed faults, scripted outcomes, settings, and the
//! list of magic inputs.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::faults::ArmedFault;
use crate::model::AppState;
use crate::model::scripts::{
    DeviceScript, MAGIC_AMOUNTS, MAGIC_PAYMENT_METHODS, SpendRequestScript,
};
use crate::model::store::Store;

use super::{delay_seconds, parse, parse_tagged};

#[utoipa::path(
    post,
    path = "/__control/faults",
    tag = "control",
    request_body(content = ArmedFault, content_type = "application/json"),
    responses(
        (status = 200, description = "The faults armed", body = FaultList),
        (status = 400, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn arm_fault(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let fault: ArmedFault = parse_tagged(&headers, &body, &["/fault/kind"])?;
    fault.validate()?;
    let mut store = state.lock();
    store.faults.push(fault);
    Ok(Json(json!({ "data": store.faults })))
}

#[utoipa::path(
    get,
    path = "/__control/faults",
    tag = "control",
    responses(
        (status = 200, description = "The faults armed", body = FaultList),
    )
)]
pub(super) async fn list_faults(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.lock().faults }))
}

#[utoipa::path(
    delete,
    path = "/__control/faults",
    tag = "control",
    responses(
        (status = 200, description = "None armed any more", body = FaultList),
    )
)]
pub(super) async fn clear_faults(State(state): State<AppState>) -> Json<Value> {
    state.lock().faults.clear();
    Json(json!({ "data": [] }))
}

#[utoipa::path(
    post,
    path = "/__control/scripts/device_codes",
    tag = "control",
    request_body(content = DeviceScript, content_type = "application/json"),
    responses(
        (status = 200, description = "The queued scripts", body = ScriptsObject),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn script_next_device_code(
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

#[utoipa::path(
    post,
    path = "/__control/scripts/spend_requests",
    tag = "control",
    request_body(content = SpendRequestScript, content_type = "application/json"),
    responses(
        (status = 200, description = "The queued scripts", body = ScriptsObject),
        (status = 400, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn script_next_spend_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let script: SpendRequestScript = parse_tagged(&headers, &body, &["/outcome"])?;
    let mut store = state.lock();
    store.spend_request_scripts.push_back(script);
    Ok(Json(scripts_json(&store)))
}

/// The queued scripts as [`scripts_json`] shows them.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ScriptsObject {
    device_codes: Vec<DeviceScript>,
    spend_requests: Vec<SpendRequestScript>,
}

/// The faults armed, in the order they apply.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct FaultList {
    data: Vec<ArmedFault>,
}

/// One magic input of [`magic_inputs`].
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct MagicInput {
    payment_details: String,
    /// The amount that has the same effect, if one does.
    amount: Option<i64>,
    effect: String,
}

/// What `GET /__control/magic` answers.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct MagicInputList {
    data: Vec<MagicInput>,
}

fn scripts_json(store: &Store) -> Value {
    json!({
        "device_codes": store.device_scripts,
        "spend_requests": store.spend_request_scripts,
    })
}

#[utoipa::path(
    get,
    path = "/__control/scripts",
    tag = "control",
    responses(
        (status = 200, description = "The queued scripts", body = ScriptsObject),
    )
)]
pub(super) async fn list_scripts(State(state): State<AppState>) -> Json<Value> {
    Json(scripts_json(&state.lock()))
}

/// Knobs that change how the API behaves from now on (until a reset).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    /// Replaces the OAuth client ids allowed to send `expires_at`.
    expires_at_clients: Option<Vec<String>>,
    /// Seconds after approval before an SPT shows (requests without their own delay).
    spt_delay_seconds: Option<f64>,
}

/// The settings as [`settings_json`] shows them.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct SettingsObject {
    expires_at_clients: Vec<String>,
    spt_delay_seconds: f64,
}

fn settings_json(store: &Store) -> Value {
    json!({
        "expires_at_clients": store.expires_at_clients,
        "spt_delay_seconds": store.spt_delay.as_secs_f64(),
    })
}

#[utoipa::path(
    get,
    path = "/__control/settings",
    tag = "control",
    responses(
        (status = 200, description = "The settings", body = SettingsObject),
    )
)]
pub(super) async fn get_settings(State(state): State<AppState>) -> Json<Value> {
    Json(settings_json(&state.lock()))
}

#[utoipa::path(
    post,
    path = "/__control/settings",
    tag = "control",
    request_body(content = SettingsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The settings from now on", body = SettingsObject),
        (status = 400, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn change_settings(
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

#[utoipa::path(
    get,
    path = "/__control/magic",
    tag = "control",
    responses(
        (status = 200, description = "Payment methods and amounts that script outcomes", body = MagicInputList),
    )
)]
pub(super) async fn magic_inputs() -> Json<Value> {
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
